//! Who may talk to Lagoa: the root user (from `LAGOA_ROOT_*`, else `MINIO_ROOT_*`, else the
//! MinIO default with a loud warning) plus the users of an optional TOML file.

use std::collections::BTreeMap;
use std::path::Path;

use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Result, s3_error};
use serde::Deserialize;

/// The configured identities.
#[derive(Debug, Clone)]
pub struct Identities {
    root: String,
    /// access key → secret key, root included.
    keys: BTreeMap<String, String>,
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
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
}

#[derive(Deserialize)]
struct UserEntry {
    access_key: String,
    secret_key: String,
}

/// MinIO's well-known default credentials, used when nothing is configured.
pub const DEFAULT_ROOT: (&str, &str) = ("minioadmin", "minioadmin");

impl Identities {
    /// Root credentials plus users from `users_file` (if given).
    pub fn load(root_user: &str, root_password: &str, users_file: Option<&Path>) -> Result<Self, IdentityError> {
        let mut keys = BTreeMap::new();
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
            for user in file.users {
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
        })
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
