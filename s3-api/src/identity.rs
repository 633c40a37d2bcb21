//! Who may talk to Lagoa: the root user (from `LAGOA_ROOT_*`, else `MINIO_ROOT_*`, else the
//! MinIO default with a loud warning) plus the users of an optional TOML file, each with the
//! policies attached to them (MinIO's canned `readonly`, `readwrite`, `writeonly`,
//! `consoleAdmin`, or ones the file defines).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lagoa_access::{Policy, PolicyKind};

use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Result, s3_error};
use serde::Deserialize;

/// The configured identities.
#[derive(Debug, Clone)]
pub struct Identities {
    root: String,
    /// access key → secret key, root included.
    keys: BTreeMap<String, String>,
    /// access key → attached policies, for users whose entry names any (`policies = […]`).
    policies: BTreeMap<String, Vec<Arc<Policy>>>,
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
    /// Root credentials plus users from `users_file` (if given).
    pub fn load(root_user: &str, root_password: &str, users_file: Option<&Path>) -> Result<Self, IdentityError> {
        let mut keys = BTreeMap::new();
        let mut policies = BTreeMap::new();
        keys.insert(root_user.to_owned(), root_password.to_owned());
        if let Some(path) = users_file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
                path: shown.clone(),
                source,
            })?;
            let file: UsersFile = toml::from_str(&text).map_err(|source| IdentityError::Parse {
                path: shown.clone(),
                source,
            })?;
            let named = named_policies(&file.policies).map_err(|why| IdentityError::Invalid {
                path: shown.clone(),
                why,
            })?;
            for user in file.users {
                if let Some(names) = &user.policies {
                    let attached = names
                        .iter()
                        .map(|name| {
                            named.get(name.as_str()).cloned().ok_or_else(|| IdentityError::Invalid {
                                path: shown.clone(),
                                why: format!(
                                    "user {:?}: no policy named {name:?} (canned: readonly, readwrite, writeonly, consoleAdmin; others need a [[policies]] entry)",
                                    user.access_key
                                ),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    policies.insert(user.access_key.clone(), attached);
                }
                if user.access_key.len() < 3 || user.secret_key.len() < 8 {
                    return Err(IdentityError::Invalid {
                        path: shown,
                        why: format!(
                            "user {:?}: access keys need ≥ 3 and secret keys ≥ 8 characters",
                            user.access_key
                        ),
                    });
                }
                if keys.insert(user.access_key.clone(), user.secret_key).is_some() {
                    return Err(IdentityError::Invalid {
                        path: shown,
                        why: format!("access key {:?} is defined twice", user.access_key),
                    });
                }
            }
        }
        Ok(Self {
            root: root_user.to_owned(),
            keys,
            policies,
        })
    }

    /// The policies attached to a user; `None` when the users file attaches none (the user may
    /// create buckets and use their own).
    pub fn policies_of(&self, access_key: &str) -> Option<&[Arc<Policy>]> {
        self.policies.get(access_key).map(Vec::as_slice)
    }

    /// Whether `access_key` is the root user, who may do everything.
    pub fn is_root(&self, access_key: &str) -> bool {
        access_key == self.root
    }

    /// The root access key.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The secret of an access key, for the signature checks Lagoa makes itself (SigV2 paths).
    pub(crate) fn secret_key(&self, access_key: &str) -> Option<&str> {
        self.keys.get(access_key).map(String::as_str)
    }
}

/// The canned policies plus those a users file defines, by name.
fn named_policies(entries: &[PolicyEntry]) -> Result<BTreeMap<String, Arc<Policy>>, String> {
    let mut named = BTreeMap::new();
    for (name, doc) in lagoa_access::CANNED_POLICIES {
        let policy = Policy::parse(doc, PolicyKind::Identity).map_err(|e| format!("canned policy {name}: {e}"))?;
        named.insert((*name).to_owned(), Arc::new(policy));
    }
    for entry in entries {
        if named.contains_key(&entry.name) {
            return Err(format!(
                "policy {:?} is defined twice (or shadows a canned policy)",
                entry.name
            ));
        }
        let policy = Policy::parse(&entry.document, PolicyKind::Identity).map_err(|e| format!("policy {:?}: {e}", entry.name))?;
        named.insert(entry.name.clone(), Arc::new(policy));
    }
    Ok(named)
}

/// Secret-key lookup for s3s's signature checks. An unknown access key is `InvalidAccessKeyId`,
/// as S3 and MinIO answer (s3s's `SimpleAuth` would say `NotSignedUp`).
#[async_trait::async_trait]
impl S3Auth for Identities {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.keys
            .get(access_key)
            .map(|sk| SecretKey::from(sk.as_str()))
            .ok_or_else(|| {
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
        assert!(ids.policies_of("plain").is_none());
        assert_eq!(ids.policies_of("reader").map(<[_]>::len), Some(2));
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
