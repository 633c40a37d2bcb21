//! Bucket default encryption (Put/Get/DeleteBucketEncryption) and the choice of sealing for a new
//! object: what the request asks for, else the bucket's default.

use lagoa_store::sealing::NewSealing;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::encryption::{self, DEFAULT_ENCRYPTION_DOC, DefaultEncryption, SseRequest};
use crate::errors::{StoreResultExt, custom};
use crate::lagoa::Lagoa;

/// Validates a PutBucketEncryption configuration as S3 does: exactly one rule with a default.
fn default_of(config: ServerSideEncryptionConfiguration) -> S3Result<DefaultEncryption> {
    let [rule] = <[ServerSideEncryptionRule; 1]>::try_from(config.rules)
        .map_err(|_| s3_error!(MalformedXML, "The configuration must hold exactly one Rule"))?;
    if rule.bucket_key_enabled == Some(true) {
        return Err(s3_error!(
            NotImplemented,
            "S3 Bucket Keys are not implemented by this server; the configuration was not stored"
        ));
    }
    let by_default = rule
        .apply_server_side_encryption_by_default
        .ok_or_else(|| s3_error!(MalformedXML, "The Rule needs ApplyServerSideEncryptionByDefault"))?;
    let algorithm = by_default.sse_algorithm.as_str().to_owned();
    match (algorithm.as_str(), &by_default.kms_master_key_id) {
        ("AES256", None) | ("aws:kms", _) => {}
        ("AES256", Some(_)) => {
            return Err(s3_error!(
                InvalidArgument,
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
            ));
        }
        ("aws:kms:dsse", _) => {
            return Err(s3_error!(
                NotImplemented,
                "Dual-layer SSE-KMS is not implemented by this server; the configuration was not stored"
            ));
        }
        (other, _) => return Err(s3_error!(MalformedXML, "Unsupported SSEAlgorithm {other:?}")),
    }
    let kms_key_id = by_default.kms_master_key_id.map(|id| {
        match (encryption::SseFields {
            algorithm: Some("aws:kms"),
            kms_key_id: Some(&id),
            ..Default::default()
        })
        .request()
        {
            Ok(SseRequest::Kms(Some(name))) => name,
            _ => id,
        }
    });
    Ok(DefaultEncryption { algorithm, kms_key_id })
}

impl Lagoa {
    /// How a new object is sealed: as the request asks, else as the bucket's default says, else
    /// not at all. Refused before the body is read when the keys it needs are missing.
    pub(crate) async fn sealing_for_write(&self, bucket: &str, request: SseRequest) -> S3Result<Option<NewSealing>> {
        let request = match request {
            SseRequest::None => match self.default_encryption(bucket).await? {
                Some(default) => encryption::default_request(&default),
                None => SseRequest::None,
            },
            explicit => explicit,
        };
        encryption::new_sealing(&request, self.store.keyring())
    }

    async fn default_encryption(&self, bucket: &str) -> S3Result<Option<DefaultEncryption>> {
        let Some(doc) = self.store.bucket_config(bucket, DEFAULT_ENCRYPTION_DOC).await.s3()? else {
            return Ok(None);
        };
        serde_json::from_slice(&doc)
            .map(Some)
            .map_err(|e| s3_error!(InternalError, "the bucket's default encryption does not parse: {e}"))
    }

    pub(crate) async fn do_put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let default = default_of(input.server_side_encryption_configuration)?;
        // A default that could not seal a single object is refused now, not at the next PUT.
        encryption::new_sealing(&encryption::default_request(&default), self.store.keyring())?;
        let doc = serde_json::to_vec(&default).map_err(|e| s3_error!(InternalError, "encoding the configuration: {e}"))?;
        self.store
            .set_bucket_config(&input.bucket, DEFAULT_ENCRYPTION_DOC, Some(doc))
            .await
            .s3()?;
        Ok(S3Response::new(PutBucketEncryptionOutput::default()))
    }

    pub(crate) async fn do_get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        // MinIO's answer (AWS answers with an implicit SSE-S3 default since 2023; Lagoa does not
        // encrypt objects of a bucket without a configuration, so it says so).
        let default = self.default_encryption(&req.input.bucket).await?.ok_or_else(|| {
            custom(
                "ServerSideEncryptionConfigurationNotFoundError",
                http::StatusCode::NOT_FOUND,
                "The server side encryption configuration was not found",
            )
        })?;
        let rule = ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::from(default.algorithm),
                kms_master_key_id: default.kms_key_id,
            }),
            bucket_key_enabled: Some(false),
        };
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration { rules: vec![rule] }),
        }))
    }

    pub(crate) async fn do_delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        self.store
            .set_bucket_config(&req.input.bucket, DEFAULT_ENCRYPTION_DOC, None)
            .await
            .s3()?;
        let mut res = S3Response::new(DeleteBucketEncryptionOutput::default());
        res.status = Some(http::StatusCode::NO_CONTENT);
        Ok(res)
    }
}
