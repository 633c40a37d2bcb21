//! Who may talk to Lagoa: the root user (from `LAGOA_ROOT_*`, else `MINIO_ROOT_*`, else the
//! MinIO default with a loud warning), the users of an optional TOML file and the users the
//! admin API adds (stored in the store), each with the policies attached to them (MinIO's
//! canned `readonly`, `readwrite`, `writeonly`, `consoleAdmin`, ones the file defines, or ones
//! created through the admin API).

mod directory;
mod stored;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use lagoa_access::{Policy, PolicyKind};
use lagoa_store::Store;
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Result, s3_error};
use serde::Deserialize;

use directory::FileIdentities;
pub use directory::{Directory, NamedPolicy, Origin, User};
pub use stored::{IAM_DOCUMENT, IamState, StoredPolicy, StoredUser};

/// The identities every listener and the compute engine share: cheap to clone, and a change
/// made through the admin API is seen by all clones at once.
#[derive(Debug, Clone)]
pub struct Identities {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    file: FileIdentities,
    current: RwLock<Arc<Directory>>,
    /// One admin change at a time (read, change, store, publish).
    changes: Arc<tokio::sync::Mutex<()>>,
}

/// Problems reading the identities.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read users file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("users file {path} is not valid TOML of the form [[users]] access_key = \"…\" secret_key = \"…\": {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("users file {path}: {why}")]
    Invalid { path: String, why: String },
    #[error("the users and policies stored by the admin API cannot be used: {0}")]
    Stored(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    policies: Vec<PolicyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    access_key: String,
    secret_key: String,
    /// Names of attached policies; absent: the user may create buckets and use their own.
    policies: Option<Vec<String>>,
}

/// A named policy the file defines (IAM JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyEntry {
    name: String,
    document: String,
}

/// MinIO's well-known default credentials, used when nothing is configured.
pub const DEFAULT_ROOT: (&str, &str) = ("minioadmin", "minioadmin");

impl Identities {
    /// Root credentials plus users from `users_file` (if given); the admin API's users come
    /// later, from the store ([`Identities::restore`]).
    pub fn load(root_user: &str, root_password: &str, users_file: Option<&Path>) -> Result<Self, IdentityError> {
        let mut users = BTreeMap::new();
        let mut named = named_policies(&[]).map_err(|why| IdentityError::Invalid {
            path: String::new(),
            why,
        })?;
        if let Some(path) = users_file {
            let shown = path.display().to_string();
            let invalid = |why: String| IdentityError::Invalid {
                path: shown.clone(),
                why,
            };
            let text = std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
                path: shown.clone(),
                source,
            })?;
            let file: UsersFile = toml::from_str(&text).map_err(|source| IdentityError::Parse {
                path: shown.clone(),
                source,
            })?;
            named = named_policies(&file.policies).map_err(invalid)?;
            for user in file.users {
                for name in user.policies.iter().flatten() {
                    if !named.contains_key(name) {
                        return Err(invalid(format!(
                            "user {:?}: no policy named {name:?} (canned: readonly, readwrite, writeonly, consoleAdmin; others need a [[policies]] entry)",
                            user.access_key
                        )));
                    }
                }
                if user.access_key.len() < 3 || user.secret_key.len() < 8 {
                    return Err(invalid(format!(
                        "user {:?}: access keys need ≥ 3 and secret keys ≥ 8 characters",
                        user.access_key
                    )));
                }
                if user.access_key == root_user
                    || users
                        .insert(user.access_key.clone(), (user.secret_key, user.policies))
                        .is_some()
                {
                    return Err(invalid(format!("access key {:?} is defined twice", user.access_key)));
                }
            }
        }
        let file = FileIdentities {
            root: (root_user.to_owned(), root_password.to_owned()),
            users,
            policies: named,
        };
        let directory = Directory::build(&file, IamState::default()).map_err(IdentityError::Stored)?;
        Ok(Self {
            shared: Arc::new(Shared {
                file,
                current: RwLock::new(Arc::new(directory)),
                changes: Arc::default(),
            }),
        })
    }

    /// The identities as of now.
    pub fn current(&self) -> Arc<Directory> {
        self.shared.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn publish(&self, directory: Directory) {
        *self.shared.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(directory);
    }

    /// Takes the admin API's users and policies from their stored document (`None`: nothing
    /// stored yet): at start, and in the compute sidecar whenever the document changes.
    pub fn restore(&self, stored: Option<&[u8]>) -> Result<(), IdentityError> {
        let state = IamState::decode(stored).map_err(|e| IdentityError::Stored(e.to_string()))?;
        if *self.current().stored() == state {
            return Ok(());
        }
        let directory = Directory::build(&self.shared.file, state).map_err(IdentityError::Stored)?;
        self.publish(directory);
        Ok(())
    }

    /// One admin change: `change` edits a copy of the stored state (and says what to answer);
    /// the result is checked, written to the store, and only then used. Changes run one at a
    /// time, so none is lost to another.
    pub async fn change<T>(&self, store: &Store, change: impl FnOnce(&mut IamState, &Directory) -> S3Result<T>) -> S3Result<T> {
        let one_at_a_time = self.shared.changes.clone().lock_owned().await;
        let current = self.current();
        let mut state = current.stored().clone();
        let answer = change(&mut state, &current)?;
        let encoded = state.encode();
        let directory = Directory::build(&self.shared.file, state)
            .map_err(|why| s3_error!(InternalError, "the change would leave the identities unusable: {why}"))?;
        // Stored and published in a task of its own: a client that hangs up mid-change cannot
        // leave the stored state ahead of the one in use (a removed user still let in).
        let (identities, store) = (self.clone(), store.clone());
        tokio::spawn(async move {
            let _one_at_a_time = one_at_a_time;
            store
                .set_site_config(IAM_DOCUMENT, Some(encoded))
                .await
                .map_err(|e| s3_error!(InternalError, "storing the users and policies failed: {e}"))?;
            identities.publish(directory);
            Ok::<(), s3s::S3Error>(())
        })
        .await
        .map_err(|e| s3_error!(InternalError, "the change's task failed: {e}"))??;
        Ok(answer)
    }

    /// Whether `access_key` is the root user, who may do everything.
    pub fn is_root(&self, access_key: &str) -> bool {
        self.shared.file.root.0 == access_key
    }

    /// The root access key.
    pub fn root(&self) -> &str {
        &self.shared.file.root.0
    }

    /// The secret of an access key that may sign requests, for the signature checks Lagoa
    /// makes itself (SigV2 paths).
    pub(crate) fn secret_key(&self, access_key: &str) -> Option<String> {
        self.current().secret_key(access_key).map(str::to_owned)
    }
}

/// The canned policies plus those a users file defines, by name.
fn named_policies(entries: &[PolicyEntry]) -> Result<BTreeMap<String, NamedPolicy>, String> {
    let named_policy = |document: &str, origin: Origin| -> Result<NamedPolicy, String> {
        Ok(NamedPolicy {
            policy: Arc::new(Policy::parse(document, PolicyKind::Identity).map_err(|e| e.to_string())?),
            document: document.to_owned(),
            origin,
            created_at: None,
            updated_at: None,
        })
    };
    let mut named = BTreeMap::new();
    for (name, doc) in lagoa_access::CANNED_POLICIES {
        let policy = named_policy(doc, Origin::Canned).map_err(|e| format!("canned policy {name}: {e}"))?;
        named.insert((*name).to_owned(), policy);
    }
    for entry in entries {
        if named.contains_key(&entry.name) {
            return Err(format!(
                "policy {:?} is defined twice (or shadows a canned policy)",
                entry.name
            ));
        }
        let policy = named_policy(&entry.document, Origin::UsersFile).map_err(|e| format!("policy {:?}: {e}", entry.name))?;
        named.insert(entry.name.clone(), policy);
    }
    Ok(named)
}

/// Secret-key lookup for s3s's signature checks. An unknown (or disabled) access key is
/// `InvalidAccessKeyId`, as S3 and MinIO answer (s3s's `SimpleAuth` would say `NotSignedUp`).
#[async_trait::async_trait]
impl S3Auth for Identities {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        // A disabled user is unknown, as in MinIO.
        self.current().secret_key(access_key).map(SecretKey::from).ok_or_else(|| {
            s3_error!(
                InvalidAccessKeyId,
                "The Access Key Id you provided does not exist in our records."
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Identities, IdentityError> {
        let dir = std::env::temp_dir().join(format!("lagoa-users-{}-{}", std::process::id(), toml.len()));
        std::fs::write(&dir, toml).unwrap();
        let loaded = Identities::load("root", "root-secret", Some(&dir));
        std::fs::remove_file(&dir).ok();
        loaded
    }

    #[test]
    fn users_get_canned_or_defined_policies_and_bad_ones_stop_the_load() {
        let ids = load(
            r#"
[[users]]
access_key = "plain"
secret_key = "plain-secret"

[[users]]
access_key = "reader"
secret_key = "reader-secret"
policies = ["readonly", "mine"]

[[policies]]
name = "mine"
document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}'
"#,
        )
        .unwrap();
        assert!(ids.current().policies_of("plain").is_none());
        assert_eq!(ids.current().policies_of("reader").map(<[_]>::len), Some(2));
        let unknown = load("[[users]]\naccess_key = \"u1\"\nsecret_key = \"u1-secret\"\npolicies = [\"nope\"]\n");
        assert!(unknown.unwrap_err().to_string().contains("no policy named \"nope\""));
        let invalid = load("[[policies]]\nname = \"x\"\ndocument = '{\"Statement\":[{\"Effect\":\"Allow\"}]}'\n");
        assert!(invalid.unwrap_err().to_string().contains("policy \"x\""));
        let shadow = load("[[policies]]\nname = \"readonly\"\ndocument = '{}'\n");
        assert!(shadow.is_err());
        let typo = load("[[users]]\naccess_key = \"u1\"\nsecret_key = \"u1-secret\"\npolicy = [\"readonly\"]\n");
        assert!(typo.is_err(), "an unknown field must not silently drop a policy");
    }
}
