//! Bucket policies and public-access blocks: Put/Get/DeleteBucketPolicy,
//! GetBucketPolicyStatus, Put/Get/DeletePublicAccessBlock. Policies are validated as S3
//! validates them (lagoa_access), stored as sent (GetBucketPolicy returns the caller's text)
//! and take effect for the next request: the access cache forgets the bucket after each change.

use lagoa_access::{Policy, PolicyKind, PublicAccessBlock};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::access::rules::{POLICY_DOC, PUBLIC_ACCESS_BLOCK_DOC, encode_block};
use crate::errors::StoreResultExt;
use crate::lagoa::Lagoa;

/// S3's limit on a bucket policy.
const MAX_POLICY_BYTES: usize = 20 * 1024;

impl Lagoa {
    pub(crate) async fn do_put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let input = req.input;
        let access = self.bucket_access(&input.bucket).await?;
        if input.policy.len() > MAX_POLICY_BYTES {
            return Err(s3_error!(
                MalformedPolicy,
                "Policy exceeds the maximum allowed document size."
            ));
        }
        let policy = Policy::parse(&input.policy, PolicyKind::Bucket(&input.bucket))
            .map_err(|e| s3s::S3Error::with_message(s3s::S3ErrorCode::MalformedPolicy, e.message().to_owned()))?;
        if access.block.block_public_policy && policy.is_public() {
            return Err(s3_error!(
                AccessDenied,
                "Access Denied: the bucket's public access block (BlockPublicPolicy) refuses a public policy"
            ));
        }
        self.set_access_doc(&input.bucket, POLICY_DOC, Some(input.policy.into_bytes()))
            .await?;
        Ok(no_content(PutBucketPolicyOutput {}))
    }

    pub(crate) async fn do_get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let raw = self.store.bucket_config(&req.input.bucket, POLICY_DOC).await.s3()?;
        let policy = raw.ok_or_else(no_such_policy)?;
        Ok(S3Response::new(GetBucketPolicyOutput {
            policy: Some(String::from_utf8_lossy(&policy).into_owned()),
        }))
    }

    pub(crate) async fn do_delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        self.set_access_doc(&req.input.bucket, POLICY_DOC, None).await?;
        Ok(no_content(DeleteBucketPolicyOutput {}))
    }

    pub(crate) async fn do_get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let access = self.bucket_access(&req.input.bucket).await?;
        let policy = access.policy.as_ref().ok_or_else(no_such_policy)?;
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus {
                is_public: Some(policy.is_public()),
            }),
        }))
    }

    pub(crate) async fn do_put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        crate::ops::object_lock::require_integrity(&req.headers)?;
        let input = req.input;
        self.existing_bucket(&input.bucket).await?;
        let c = input.public_access_block_configuration;
        let block = PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        };
        self.set_access_doc(&input.bucket, PUBLIC_ACCESS_BLOCK_DOC, Some(encode_block(&block)))
            .await?;
        Ok(S3Response::new(PutPublicAccessBlockOutput {}))
    }

    pub(crate) async fn do_get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        let access = self.bucket_access(&req.input.bucket).await?;
        if !access.block_set {
            return Err(crate::errors::custom(
                "NoSuchPublicAccessBlockConfiguration",
                http::StatusCode::NOT_FOUND,
                "The public access block configuration was not found",
            ));
        }
        let b = access.block;
        Ok(S3Response::new(GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(PublicAccessBlockConfiguration {
                block_public_acls: Some(b.block_public_acls),
                ignore_public_acls: Some(b.ignore_public_acls),
                block_public_policy: Some(b.block_public_policy),
                restrict_public_buckets: Some(b.restrict_public_buckets),
            }),
        }))
    }

    pub(crate) async fn do_delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        self.set_access_doc(&req.input.bucket, PUBLIC_ACCESS_BLOCK_DOC, None).await?;
        Ok(no_content(DeletePublicAccessBlockOutput {}))
    }

    /// A bucket's access rules, or `NoSuchBucket`.
    async fn bucket_access(&self, bucket: &str) -> S3Result<std::sync::Arc<crate::access::rules::BucketAccess>> {
        self.access
            .rules()
            .get(bucket)
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }
}

fn no_such_policy() -> s3s::S3Error {
    s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")
}

/// S3 answers policy writes and deletions with 204.
fn no_content<T>(output: T) -> S3Response<T> {
    let mut res = S3Response::new(output);
    res.status = Some(http::StatusCode::NO_CONTENT);
    res
}
