//! Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, validate_bucket_tags, validate_tags};
use crate::ops::versioning::{shown_version, version_param};

/// A request's tag set as (key, value) pairs, in the order given.
fn tag_pairs(set: TagSet) -> Vec<(String, String)> {
    set.into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect()
}

/// Stored pairs back to a response's tag set.
fn tag_set(pairs: Vec<(String, String)>) -> TagSet {
    pairs
        .into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

impl Lagoa {
    pub(crate) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let tags = tag_pairs(input.tagging.tag_set);
        validate_tags(&tags)?;
        let version = version_param(input.version_id.as_deref())?;
        let version_id = self.store.set_tags(&input.bucket, &input.key, version, tags).await.s3()?;
        Ok(S3Response::new(PutObjectTaggingOutput { version_id }))
    }

    pub(crate) async fn do_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let version = version_param(req.input.version_id.as_deref())?;
        let meta = self
            .store
            .object_version(&req.input.bucket, &req.input.key, version)
            .await
            .s3()?;
        let mut tags = meta.attributes.tags;
        // S3 returns the tag set sorted by key, whatever order it was given in.
        tags.sort();
        let tag_set = tag_set(tags);
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set,
            version_id: shown_version(&bucket, meta.version_id.as_deref()),
        }))
    }

    pub(crate) async fn do_put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        crate::ops::object_lock::require_integrity(&req.headers)?;
        let input = req.input;
        let tags = tag_pairs(input.tagging.tag_set);
        validate_bucket_tags(&tags)?;
        self.store.set_bucket_tags(&input.bucket, Some(tags)).await.s3()?;
        Ok(S3Response::new(PutBucketTaggingOutput::default()))
    }

    pub(crate) async fn do_get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let Some(tags) = self.store.bucket_tags(&req.input.bucket).await.s3()? else {
            return Err(crate::errors::custom(
                "NoSuchTagSet",
                http::StatusCode::NOT_FOUND,
                "The TagSet does not exist",
            ));
        };
        let tag_set = tag_set(tags);
        Ok(S3Response::new(GetBucketTaggingOutput { tag_set }))
    }

    pub(crate) async fn do_delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        self.store.set_bucket_tags(&req.input.bucket, None).await.s3()?;
        Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
    }

    pub(crate) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let version = version_param(req.input.version_id.as_deref())?;
        let version_id = self
            .store
            .set_tags(&req.input.bucket, &req.input.key, version, Vec::new())
            .await
            .s3()?;
        Ok(S3Response::new(DeleteObjectTaggingOutput { version_id }))
    }
}
