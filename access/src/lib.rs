//! Lagoa's access decisions, in one place for every entry point (S3 operations, S3 Select and
//! the SQL endpoint): the IAM policy language — parsed and validated once, evaluated per
//! request — and the rule that combines a bucket's owner, the caller's identity policies, the
//! bucket policy and the bucket's public-access block into allow or deny.
//!
//! This crate knows no HTTP, no storage and no S3 wire format: callers describe a request as an
//! action on a resource with condition values ([`Context`]) and get a [`Decision`].

pub mod acl;
mod actions;
mod canned;
mod condition;
mod decide;
mod policy;
mod variables;
pub mod wildcard;

pub use acl::{Acl, Grantee, Permission};
pub use actions::{ResourceKind, S3_ACTIONS, kind_of};
pub use canned::{CANNED_POLICIES, canned_policy};
pub use condition::{Condition, Context};
pub use decide::{BucketRules, Caller, Decision, PublicAccessBlock, decide};
pub use policy::{Outcome, Policy, PolicyKind, Request, Requester};

/// A policy S3 would refuse, with the message of S3's `MalformedPolicy` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

impl PolicyError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// The ARN of a bucket or, with a key, of an object.
pub fn resource_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}
