//! Every identity at one moment: the root user, the users file's users and the admin API's,
//! with their policies resolved. Requests read an `Arc` of it; changes build a new one.

use std::collections::BTreeMap;
use std::sync::Arc;

use lagoa_access::{Policy, PolicyKind};

use super::stored::IamState;

/// Where a user or a policy was defined: the admin API changes only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// MinIO's canned policies (`readonly`, `readwrite`, `writeonly`, `consoleAdmin`).
    Canned,
    /// The `--users` file.
    UsersFile,
    /// The admin API (stored in the store).
    Admin,
}

/// A named policy.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub document: String,
    pub policy: Arc<Policy>,
    pub origin: Origin,
    /// Unix seconds (admin policies only).
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// A user other than root.
#[derive(Debug, Clone)]
pub struct User {
    pub secret_key: String,
    pub enabled: bool,
    /// Attached policy names; `None` for a users-file user that names none (it may create
    /// buckets and use its own).
    pub policy_names: Option<Vec<String>>,
    /// The attached policies, resolved.
    pub policies: Option<Vec<Arc<Policy>>>,
    pub origin: Origin,
    /// Unix seconds of the last change (admin users only).
    pub updated_at: Option<i64>,
}

/// The users file's part of the directory: fixed for the process's life.
#[derive(Debug, Clone)]
pub(super) struct FileIdentities {
    pub root: (String, String),
    pub users: BTreeMap<String, (String, Option<Vec<String>>)>,
    /// Canned policies and the file's own.
    pub policies: BTreeMap<String, NamedPolicy>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Directory {
    root: (String, String),
    users: BTreeMap<String, User>,
    policies: BTreeMap<String, NamedPolicy>,
    stored: IamState,
}

impl Directory {
    /// The file's identities plus the stored ones. A stored user or policy may not shadow a
    /// file one (the admin API refuses to create such); a stored user's attachment to a
    /// policy that no longer exists is dropped (the admin API refuses to remove one in use).
    pub(super) fn build(file: &FileIdentities, stored: IamState) -> Result<Self, String> {
        let mut policies = file.policies.clone();
        for (name, entry) in &stored.policies {
            if policies.contains_key(name) {
                return Err(format!("stored policy {name:?} shadows a canned or users-file policy"));
            }
            let policy =
                Policy::parse(&entry.document, PolicyKind::Identity).map_err(|e| format!("stored policy {name:?}: {e}"))?;
            policies.insert(
                name.clone(),
                NamedPolicy {
                    document: entry.document.clone(),
                    policy: Arc::new(policy),
                    origin: Origin::Admin,
                    created_at: Some(entry.created_at),
                    updated_at: Some(entry.updated_at),
                },
            );
        }
        let resolve = |names: &[String]| -> Vec<Arc<Policy>> {
            names
                .iter()
                .filter_map(|n| policies.get(n))
                .map(|p| p.policy.clone())
                .collect()
        };
        let mut users = BTreeMap::new();
        for (key, (secret, names)) in &file.users {
            users.insert(
                key.clone(),
                User {
                    secret_key: secret.clone(),
                    enabled: true,
                    policies: names.as_deref().map(resolve),
                    policy_names: names.clone(),
                    origin: Origin::UsersFile,
                    updated_at: None,
                },
            );
        }
        for (key, entry) in &stored.users {
            if users.contains_key(key) || *key == file.root.0 {
                return Err(format!("stored user {key:?} shadows root or a users-file user"));
            }
            users.insert(
                key.clone(),
                User {
                    secret_key: entry.secret_key.clone(),
                    enabled: entry.enabled,
                    policies: Some(resolve(&entry.policies)),
                    policy_names: Some(entry.policies.clone()),
                    origin: Origin::Admin,
                    updated_at: Some(entry.updated_at),
                },
            );
        }
        Ok(Self {
            root: file.root.clone(),
            users,
            policies,
            stored,
        })
    }

    /// Whether `access_key` is the root user, who may do everything.
    pub fn is_root(&self, access_key: &str) -> bool {
        access_key == self.root.0
    }

    /// The root access key.
    pub fn root(&self) -> &str {
        &self.root.0
    }

    /// The secret of an access key that may sign requests (root, or an enabled user).
    pub fn secret_key(&self, access_key: &str) -> Option<&str> {
        if self.is_root(access_key) {
            return Some(&self.root.1);
        }
        self.users
            .get(access_key)
            .filter(|u| u.enabled)
            .map(|u| u.secret_key.as_str())
    }

    /// The policies attached to a user; `None` for a users-file user that attaches none.
    pub fn policies_of(&self, access_key: &str) -> Option<&[Arc<Policy>]> {
        self.users.get(access_key).and_then(|u| u.policies.as_deref())
    }

    /// A user other than root.
    pub fn user(&self, access_key: &str) -> Option<&User> {
        self.users.get(access_key)
    }

    /// Every user but root, by access key.
    pub fn users(&self) -> &BTreeMap<String, User> {
        &self.users
    }

    /// Every named policy.
    pub fn policies(&self) -> &BTreeMap<String, NamedPolicy> {
        &self.policies
    }

    /// What the admin API has stored (to change and store again).
    pub fn stored(&self) -> &IamState {
        &self.stored
    }
}
