//! The S3 actions a policy may name, with the kind of resource each applies to. Policies are
//! validated against this list as S3 validates them: an unknown action is `MalformedPolicy`,
//! and so is an action none of the statement's resources can be (`s3:GetObject` on a bucket
//! ARN) — the mistake that otherwise silently grants nothing.

/// What an action acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
    /// Not a bucket or object (`s3:ListAllMyBuckets`): only `*` applies.
    Service,
}

use ResourceKind::{Bucket, Object, Service};

/// Every S3 action of AWS's service authorization reference that concerns buckets and objects
/// (plus MinIO's bucket-notification listener), in their documented spelling.
pub const S3_ACTIONS: &[(&str, ResourceKind)] = &[
    ("s3:AbortMultipartUpload", Object),
    ("s3:BypassGovernanceRetention", Object),
    ("s3:CreateBucket", Bucket),
    ("s3:DeleteBucket", Bucket),
    ("s3:DeleteBucketOwnershipControls", Bucket),
    ("s3:DeleteBucketPolicy", Bucket),
    ("s3:DeleteBucketWebsite", Bucket),
    ("s3:DeleteObject", Object),
    ("s3:DeleteObjectTagging", Object),
    ("s3:DeleteObjectVersion", Object),
    ("s3:DeleteObjectVersionTagging", Object),
    ("s3:GetAccelerateConfiguration", Bucket),
    ("s3:GetAccountPublicAccessBlock", Service),
    ("s3:GetAnalyticsConfiguration", Bucket),
    ("s3:GetBucketAcl", Bucket),
    ("s3:GetBucketCORS", Bucket),
    ("s3:GetBucketLocation", Bucket),
    ("s3:GetBucketLogging", Bucket),
    ("s3:GetBucketNotification", Bucket),
    ("s3:GetBucketObjectLockConfiguration", Bucket),
    ("s3:GetBucketOwnershipControls", Bucket),
    ("s3:GetBucketPolicy", Bucket),
    ("s3:GetBucketPolicyStatus", Bucket),
    ("s3:GetBucketPublicAccessBlock", Bucket),
    ("s3:GetBucketRequestPayment", Bucket),
    ("s3:GetBucketTagging", Bucket),
    ("s3:GetBucketVersioning", Bucket),
    ("s3:GetBucketWebsite", Bucket),
    ("s3:GetEncryptionConfiguration", Bucket),
    ("s3:GetIntelligentTieringConfiguration", Bucket),
    ("s3:GetInventoryConfiguration", Bucket),
    ("s3:GetLifecycleConfiguration", Bucket),
    ("s3:GetMetricsConfiguration", Bucket),
    ("s3:GetObject", Object),
    ("s3:GetObjectAcl", Object),
    ("s3:GetObjectAttributes", Object),
    ("s3:GetObjectLegalHold", Object),
    ("s3:GetObjectRetention", Object),
    ("s3:GetObjectTagging", Object),
    ("s3:GetObjectTorrent", Object),
    ("s3:GetObjectVersion", Object),
    ("s3:GetObjectVersionAcl", Object),
    ("s3:GetObjectVersionAttributes", Object),
    ("s3:GetObjectVersionForReplication", Object),
    ("s3:GetObjectVersionTagging", Object),
    ("s3:GetObjectVersionTorrent", Object),
    ("s3:GetReplicationConfiguration", Bucket),
    ("s3:InitiateReplication", Object),
    ("s3:ListAllMyBuckets", Service),
    ("s3:ListBucket", Bucket),
    ("s3:ListBucketMultipartUploads", Bucket),
    ("s3:ListBucketVersions", Bucket),
    ("s3:ListenBucketNotification", Bucket),
    ("s3:ListenNotification", Service),
    ("s3:ListMultipartUploadParts", Object),
    ("s3:ObjectOwnerOverrideToBucketOwner", Object),
    ("s3:PutAccelerateConfiguration", Bucket),
    ("s3:PutAccountPublicAccessBlock", Service),
    ("s3:PutAnalyticsConfiguration", Bucket),
    ("s3:PutBucketAcl", Bucket),
    ("s3:PutBucketCORS", Bucket),
    ("s3:PutBucketLogging", Bucket),
    ("s3:PutBucketNotification", Bucket),
    ("s3:PutBucketObjectLockConfiguration", Bucket),
    ("s3:PutBucketOwnershipControls", Bucket),
    ("s3:PutBucketPolicy", Bucket),
    ("s3:PutBucketPublicAccessBlock", Bucket),
    ("s3:PutBucketRequestPayment", Bucket),
    ("s3:PutBucketTagging", Bucket),
    ("s3:PutBucketVersioning", Bucket),
    ("s3:PutBucketWebsite", Bucket),
    ("s3:PutEncryptionConfiguration", Bucket),
    ("s3:PutIntelligentTieringConfiguration", Bucket),
    ("s3:PutInventoryConfiguration", Bucket),
    ("s3:PutLifecycleConfiguration", Bucket),
    ("s3:PutMetricsConfiguration", Bucket),
    ("s3:PutObject", Object),
    ("s3:PutObjectAcl", Object),
    ("s3:PutObjectLegalHold", Object),
    ("s3:PutObjectRetention", Object),
    ("s3:PutObjectTagging", Object),
    ("s3:PutObjectVersionAcl", Object),
    ("s3:PutObjectVersionTagging", Object),
    ("s3:PutReplicationConfiguration", Bucket),
    ("s3:ReplicateDelete", Object),
    ("s3:ReplicateObject", Object),
    ("s3:ReplicateTags", Object),
    ("s3:RestoreObject", Object),
];

/// Services whose actions identity policies may name beyond `s3:` (MinIO's `consoleAdmin`
/// grants `admin:*` and `kms:*`); Lagoa answers no such action yet, so they grant nothing here.
pub const OTHER_SERVICES: &[&str] = &["admin:", "kms:", "sts:"];

/// The kind of resource `action` (exact, any case) applies to, if it is an S3 action.
pub fn kind_of(action: &str) -> Option<ResourceKind> {
    S3_ACTIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(action))
        .map(|&(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_sorted_unique_and_found_in_any_case() {
        let names: Vec<String> = S3_ACTIONS.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(kind_of("S3:getobject"), Some(Object));
        assert_eq!(kind_of("s3:ListBucket"), Some(Bucket));
        assert_eq!(kind_of("s3:Nope"), None);
    }
}
