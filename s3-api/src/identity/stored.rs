//! The users and policies the admin API manages, as one document in the store (written whole
//! on every change, so a change is atomic and the compute sidecar reads a consistent view).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The site document's name in the store (`Store::site_config`).
pub const IAM_DOCUMENT: &str = "iam";

/// Everything the admin API has set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamState {
    #[serde(default)]
    pub users: BTreeMap<String, StoredUser>,
    #[serde(default)]
    pub policies: BTreeMap<String, StoredPolicy>,
}

/// A user added through the admin API (`mc admin user add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUser {
    pub secret_key: String,
    pub enabled: bool,
    /// Names of attached policies (none: the user may do nothing, as in MinIO).
    #[serde(default)]
    pub policies: Vec<String>,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// A policy created through the admin API (`mc admin policy create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    /// The IAM JSON as the client sent it.
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IamState {
    /// The state stored in `raw` (an absent document is the empty state).
    pub fn decode(raw: Option<&[u8]>) -> Result<Self, serde_json::Error> {
        raw.map_or_else(|| Ok(Self::default()), serde_json::from_slice)
    }

    /// The document to store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
