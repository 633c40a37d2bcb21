//! Put/Get/DeleteBucketCors: a bucket's CORS rules (answered and applied by `cors.rs`).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::cors::{CORS_DOC, CorsRules};
use crate::errors::{StoreResultExt, custom};
use crate::lagoa::Lagoa;

impl Lagoa {
    pub(crate) async fn do_put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        crate::ops::object_lock::require_integrity(&req.headers)?;
        let input = req.input;
        let rules = CorsRules::from_request(input.cors_configuration)?;
        let doc = serde_json::to_vec(&rules).map_err(|e| s3s::s3_error!(InternalError, "encoding the CORS rules: {e}"))?;
        self.store.set_bucket_config(&input.bucket, CORS_DOC, Some(doc)).await.s3()?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(crate) async fn do_get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let not_found = || {
            custom(
                "NoSuchCORSConfiguration",
                http::StatusCode::NOT_FOUND,
                "The CORS configuration does not exist",
            )
        };
        let doc = self
            .store
            .bucket_config(&req.input.bucket, CORS_DOC)
            .await
            .s3()?
            .ok_or_else(not_found)?;
        let rules: CorsRules =
            serde_json::from_slice(&doc).map_err(|e| s3s::s3_error!(InternalError, "the stored CORS rules do not parse: {e}"))?;
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(rules.to_response()),
        }))
    }

    pub(crate) async fn do_delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        self.store.set_bucket_config(&req.input.bucket, CORS_DOC, None).await.s3()?;
        let mut res = S3Response::new(DeleteBucketCorsOutput::default());
        res.status = Some(http::StatusCode::NO_CONTENT);
        Ok(res)
    }
}
