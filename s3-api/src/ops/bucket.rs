//! Bucket operations: create, head, list, delete, location, versioning status.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, timestamp};

impl Lagoa {
    pub(crate) async fn do_create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let caller = self.caller(&req)?;
        let input = req.input;
        let region = input
            .create_bucket_configuration
            .and_then(|c| c.location_constraint)
            .map(|l| l.as_str().to_owned())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| self.region.clone());
        if region != self.region && !(region == "US" && self.region == "us-east-1") {
            return Err(s3_error!(
                InvalidLocationConstraint,
                "The specified location-constraint {region} is not valid for this server (its region is {}).",
                self.region
            ));
        }
        self.store.create_bucket(&input.bucket, &caller, &region).await.s3()?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", input.bucket)),
        }))
    }

    pub(crate) async fn do_head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let meta = self.authorize_bucket(&req, &req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(meta.region),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let caller = self.caller(&req)?;
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let buckets = self
            .store
            .list_buckets()
            .await
            .s3()?
            .into_iter()
            .filter(|(name, meta)| (meta.owner == caller || self.identities.is_root(&caller)) && name.starts_with(&prefix))
            .map(|(name, meta)| Bucket {
                name: Some(name),
                creation_date: Some(timestamp(meta.created_nanos)),
                bucket_region: Some(meta.region),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Self::owner(&caller)),
            prefix: req.input.prefix,
            ..Default::default()
        }))
    }

    pub(crate) async fn do_delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        self.store.delete_bucket(&req.input.bucket).await.s3()?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(crate) async fn do_get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let meta = self.authorize_bucket(&req, &req.input.bucket).await?;
        // S3 reports us-east-1 as an empty LocationConstraint.
        let constraint = (meta.region != "us-east-1").then(|| BucketLocationConstraint::from(meta.region));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: constraint,
        }))
    }

    pub(crate) async fn do_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        // Versioning was never enabled: S3 answers with an empty configuration.
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }
}
