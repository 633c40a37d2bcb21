//! Bucket versioning (Put/GetBucketVersioning) and the version ids requests name and responses
//! show.

use lagoa_store::{BucketMeta, NULL_VERSION_ID, Versioning};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::Lagoa;

/// A `versionId` query parameter, checked: S3 answers a malformed id with 400 InvalidArgument
/// (a well-formed id that names nothing is a 404 later).
pub(crate) fn version_param(version: Option<&str>) -> S3Result<Option<&str>> {
    match version {
        Some(v) if !lagoa_store::is_valid_version_id(v) => Err(s3_error!(InvalidArgument, "Invalid version id specified")),
        other => Ok(other),
    }
}

/// The `x-amz-version-id` a read carries: none in a bucket that never had versioning, else the
/// version's id or `null` (S3 names the null version on GET/HEAD/tagging of a versioned bucket).
pub(crate) fn shown_version(bucket: &BucketMeta, id: Option<&str>) -> Option<String> {
    match (id, bucket.versioning) {
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(_)) => Some(NULL_VERSION_ID.to_owned()),
        (None, None) => None,
    }
}

/// The `x-amz-version-id` a write (PUT, copy, completion) carries: only a real version id. S3
/// sends no header for a write in a suspended bucket, whose result is the null version.
pub(crate) fn written_version(id: Option<&str>) -> Option<String> {
    id.map(str::to_owned)
}

impl Lagoa {
    pub(crate) async fn do_put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let config = input.versioning_configuration;
        match config.mfa_delete.as_ref().map(|m| m.as_str()) {
            None | Some(MFADelete::DISABLED) => {}
            Some(MFADelete::ENABLED) => {
                return Err(s3_error!(
                    NotImplemented,
                    "MFA delete is not supported by this server (it has no MFA devices); the versioning configuration was not changed"
                ));
            }
            Some(_) => return Err(malformed()),
        }
        // As S3: no Status is an illegal configuration, an unknown one malformed XML.
        let state = match config.status.as_ref().map(|s| s.as_str()) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            Some(_) => return Err(malformed()),
            None => {
                return Err(s3_error!(
                    IllegalVersioningConfigurationException,
                    "The Versioning element must be specified"
                ));
            }
        };
        self.store.set_versioning(&input.bucket, state).await.s3()?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    pub(crate) async fn do_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let meta = self.existing_bucket(&req.input.bucket).await?;
        // A bucket that never had versioning answers an empty configuration, as S3 does.
        let status = meta.versioning.map(|v| {
            BucketVersioningStatus::from_static(match v {
                Versioning::Enabled => BucketVersioningStatus::ENABLED,
                Versioning::Suspended => BucketVersioningStatus::SUSPENDED,
            })
        });
        Ok(S3Response::new(GetBucketVersioningOutput {
            status,
            mfa_delete: None,
        }))
    }
}

fn malformed() -> s3s::S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema (Status is Enabled or Suspended, MfaDelete Enabled or Disabled)"
    )
}
