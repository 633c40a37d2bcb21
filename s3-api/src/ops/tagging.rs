//! Object tagging: Put/Get/DeleteObjectTagging.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, validate_tags};

impl Lagoa {
    pub(crate) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        let input = req.input;
        let tags: Vec<(String, String)> = input
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        validate_tags(&tags)?;
        self.store.set_tags(&input.bucket, &input.key, tags).await.s3()?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    pub(crate) async fn do_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        let mut tags = self
            .store
            .object(&req.input.bucket, &req.input.key)
            .await
            .s3()?
            .attributes
            .tags;
        // S3 returns the tag set sorted by key, whatever order it was given in.
        tags.sort();
        let tag_set = tags
            .into_iter()
            .map(|(k, v)| Tag {
                key: Some(k),
                value: Some(v),
            })
            .collect();
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set,
            version_id: None,
        }))
    }

    pub(crate) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        self.store
            .set_tags(&req.input.bucket, &req.input.key, Vec::new())
            .await
            .s3()?;
        Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
    }
}
