//! Which S3 action (IAM's name) each operation is, and on what: the one table every request's
//! authorization starts from.

/// What an operation's action is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Nothing in a bucket (ListBuckets).
    Service,
    /// The bucket's ARN.
    Bucket,
    /// The object's ARN.
    Object,
    /// Each key of the request body, checked by the handler (DeleteObjects).
    EachKey,
}

/// An operation's action, with the variant used when the request names a version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OperationAction {
    pub action: &'static str,
    pub versioned: &'static str,
    pub target: Target,
}

const fn op(action: &'static str, target: Target) -> OperationAction {
    OperationAction {
        action,
        versioned: action,
        target,
    }
}

const fn versioned(action: &'static str, versioned: &'static str) -> OperationAction {
    OperationAction {
        action,
        versioned,
        target: Target::Object,
    }
}

/// s3s operation name → action, as AWS documents the permission each operation needs.
/// Operations missing here are answered only for the bucket owner and root (they are
/// `501 NotImplemented` for everyone else anyway).
const ACTIONS: &[(&str, OperationAction)] = &[
    ("AbortMultipartUpload", op("s3:AbortMultipartUpload", Target::Object)),
    ("CompleteMultipartUpload", op("s3:PutObject", Target::Object)),
    ("CopyObject", op("s3:PutObject", Target::Object)),
    ("CreateBucket", op("s3:CreateBucket", Target::Bucket)),
    ("CreateMultipartUpload", op("s3:PutObject", Target::Object)),
    ("DeleteBucket", op("s3:DeleteBucket", Target::Bucket)),
    ("DeleteBucketCors", op("s3:PutBucketCORS", Target::Bucket)),
    ("DeleteBucketEncryption", op("s3:PutEncryptionConfiguration", Target::Bucket)),
    ("DeleteBucketLifecycle", op("s3:PutLifecycleConfiguration", Target::Bucket)),
    (
        "DeleteBucketOwnershipControls",
        op("s3:PutBucketOwnershipControls", Target::Bucket),
    ),
    ("DeleteBucketPolicy", op("s3:DeleteBucketPolicy", Target::Bucket)),
    ("DeleteBucketTagging", op("s3:PutBucketTagging", Target::Bucket)),
    ("DeleteObject", versioned("s3:DeleteObject", "s3:DeleteObjectVersion")),
    (
        "DeleteObjectTagging",
        versioned("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    ),
    ("DeleteObjects", op("s3:DeleteObject", Target::EachKey)),
    ("DeletePublicAccessBlock", op("s3:PutBucketPublicAccessBlock", Target::Bucket)),
    ("GetBucketAcl", op("s3:GetBucketAcl", Target::Bucket)),
    ("GetBucketCors", op("s3:GetBucketCORS", Target::Bucket)),
    ("GetBucketEncryption", op("s3:GetEncryptionConfiguration", Target::Bucket)),
    (
        "GetBucketLifecycleConfiguration",
        op("s3:GetLifecycleConfiguration", Target::Bucket),
    ),
    ("GetBucketLocation", op("s3:GetBucketLocation", Target::Bucket)),
    (
        "GetBucketOwnershipControls",
        op("s3:GetBucketOwnershipControls", Target::Bucket),
    ),
    ("GetBucketPolicy", op("s3:GetBucketPolicy", Target::Bucket)),
    ("GetBucketPolicyStatus", op("s3:GetBucketPolicyStatus", Target::Bucket)),
    ("GetBucketTagging", op("s3:GetBucketTagging", Target::Bucket)),
    ("GetBucketVersioning", op("s3:GetBucketVersioning", Target::Bucket)),
    ("GetObject", versioned("s3:GetObject", "s3:GetObjectVersion")),
    ("GetObjectAcl", versioned("s3:GetObjectAcl", "s3:GetObjectVersionAcl")),
    (
        "GetObjectAttributes",
        versioned("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    ),
    ("GetObjectLegalHold", op("s3:GetObjectLegalHold", Target::Object)),
    (
        "GetObjectLockConfiguration",
        op("s3:GetBucketObjectLockConfiguration", Target::Bucket),
    ),
    ("GetObjectRetention", op("s3:GetObjectRetention", Target::Object)),
    (
        "GetObjectTagging",
        versioned("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    ),
    ("GetPublicAccessBlock", op("s3:GetBucketPublicAccessBlock", Target::Bucket)),
    ("HeadBucket", op("s3:ListBucket", Target::Bucket)),
    ("HeadObject", versioned("s3:GetObject", "s3:GetObjectVersion")),
    ("ListBuckets", op("s3:ListAllMyBuckets", Target::Service)),
    ("ListMultipartUploads", op("s3:ListBucketMultipartUploads", Target::Bucket)),
    ("ListObjectVersions", op("s3:ListBucketVersions", Target::Bucket)),
    ("ListObjects", op("s3:ListBucket", Target::Bucket)),
    ("ListObjectsV2", op("s3:ListBucket", Target::Bucket)),
    ("ListParts", op("s3:ListMultipartUploadParts", Target::Object)),
    ("PostObject", op("s3:PutObject", Target::Object)),
    ("PutBucketAcl", op("s3:PutBucketAcl", Target::Bucket)),
    ("PutBucketCors", op("s3:PutBucketCORS", Target::Bucket)),
    ("PutBucketEncryption", op("s3:PutEncryptionConfiguration", Target::Bucket)),
    (
        "PutBucketLifecycleConfiguration",
        op("s3:PutLifecycleConfiguration", Target::Bucket),
    ),
    (
        "PutBucketOwnershipControls",
        op("s3:PutBucketOwnershipControls", Target::Bucket),
    ),
    ("PutBucketPolicy", op("s3:PutBucketPolicy", Target::Bucket)),
    ("PutBucketTagging", op("s3:PutBucketTagging", Target::Bucket)),
    ("PutBucketVersioning", op("s3:PutBucketVersioning", Target::Bucket)),
    ("PutObject", op("s3:PutObject", Target::Object)),
    ("PutObjectAcl", versioned("s3:PutObjectAcl", "s3:PutObjectVersionAcl")),
    ("PutObjectLegalHold", op("s3:PutObjectLegalHold", Target::Object)),
    (
        "PutObjectLockConfiguration",
        op("s3:PutBucketObjectLockConfiguration", Target::Bucket),
    ),
    ("PutObjectRetention", op("s3:PutObjectRetention", Target::Object)),
    (
        "PutObjectTagging",
        versioned("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    ),
    ("PutPublicAccessBlock", op("s3:PutBucketPublicAccessBlock", Target::Bucket)),
    ("SelectObjectContent", op("s3:GetObject", Target::Object)),
    ("UploadPart", op("s3:PutObject", Target::Object)),
    ("UploadPartCopy", op("s3:PutObject", Target::Object)),
];

/// The action of an s3s operation, if Lagoa maps it.
pub(crate) fn action_of(operation: &str) -> Option<OperationAction> {
    ACTIONS
        .binary_search_by(|(name, _)| (*name).cmp(operation))
        .ok()
        .map(|i| ACTIONS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_names_only_known_actions() {
        assert!(ACTIONS.windows(2).all(|w| w[0].0 < w[1].0), "sorted for binary search");
        for (name, action) in ACTIONS {
            assert!(lagoa_access::kind_of(action.action).is_some(), "{name}: {}", action.action);
            assert!(
                lagoa_access::kind_of(action.versioned).is_some(),
                "{name}: {}",
                action.versioned
            );
        }
        assert_eq!(action_of("GetObject").map(|a| a.versioned), Some("s3:GetObjectVersion"));
        assert!(action_of("GetBucketWebsite").is_none());
    }
}
