//! Bucket operations: create, head, list, delete, location.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::access::rules::{ACL_DOC, BucketAccess, OWNERSHIP_DOC, Ownership};
use crate::acl_request::{self, AclAsk};
use crate::errors::{StoreResultExt, custom};
use crate::lagoa::{Lagoa, timestamp};

impl Lagoa {
    pub(crate) async fn do_create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let caller = self.caller(&req)?;
        let (ownership, acl) = self.new_bucket_acl(&req, &caller)?;
        let input = req.input;
        if crate::lagoa::reserved_bucket_name(&input.bucket) {
            return Err(s3_error!(InvalidBucketName, "The specified bucket is not valid."));
        }
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
        if input.object_lock_enabled_for_bucket == Some(true) {
            // Object lock turns versioning on for good (as S3).
            self.store.create_locked_bucket(&input.bucket, &caller, &region).await.s3()?;
        } else {
            self.store.create_bucket(&input.bucket, &caller, &region).await.s3()?;
        }
        if let Some(ownership) = ownership {
            self.store
                .set_bucket_config(&input.bucket, OWNERSHIP_DOC, Some(ownership.as_str().as_bytes().to_vec()))
                .await
                .s3()?;
        }
        if let Some(acl) = acl {
            self.store
                .set_bucket_config(&input.bucket, ACL_DOC, Some(acl.to_json().into_bytes()))
                .await
                .s3()?;
        }
        self.access.rules().changed(&input.bucket);
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", input.bucket)),
        }))
    }

    pub(crate) async fn do_head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let meta = self.existing_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(meta.region),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let caller = self.caller(&req)?;
        let who = self.who(&req);
        let input = req.input;
        let max = match input.max_buckets {
            None => usize::MAX,
            Some(n @ 1..=10_000) => n as usize,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "max-buckets must be an integer between 1 and 10000"
                ));
            }
        };
        let after = input
            .continuation_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| decode_token(t).ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect")))
            .transpose()?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let facts = crate::access::Facts::from_parts(&req.headers, &req.uri, &req.extensions);
        let mut candidates = self.store.list_buckets().await.s3()?.into_iter().filter(|(name, meta)| {
            name.starts_with(&prefix)
                && after.as_ref().is_none_or(|a| name > a)
                && input.bucket_region.as_ref().is_none_or(|r| meta.region == *r)
        });
        // A bucket is listed to its owner, root, and whoever may list or locate it (MinIO's
        // rule, so a `readonly` user sees the buckets it can read).
        let mut visible = Vec::new();
        while visible.len() <= max
            && let Some((name, meta)) = candidates.next()
        {
            let shown = meta.owner == caller
                || self.access.allows(&who, "s3:ListBucket", &name, None, &facts).await?
                || self.access.allows(&who, "s3:GetBucketLocation", &name, None, &facts).await?;
            if shown {
                visible.push((name, meta));
            }
        }
        let mut visible = visible.into_iter().peekable();
        let mut buckets = Vec::new();
        while buckets.len() < max
            && let Some((name, meta)) = visible.next()
        {
            buckets.push(Bucket {
                name: Some(name),
                creation_date: Some(timestamp(meta.created_nanos)),
                bucket_region: Some(meta.region),
            });
        }
        let truncated = visible.peek().is_some();
        let continuation_token = truncated
            .then(|| buckets.last().and_then(|b| b.name.as_deref()).map(encode_token))
            .flatten();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Self::owner(&caller)),
            prefix: input.prefix,
            continuation_token,
        }))
    }

    pub(crate) async fn do_delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        self.store.delete_bucket(&req.input.bucket).await.s3()?;
        self.access.rules().changed(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(crate) async fn do_get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let meta = self.existing_bucket(&req.input.bucket).await?;
        // S3 reports us-east-1 as an empty LocationConstraint.
        let constraint = (meta.region != "us-east-1").then(|| BucketLocationConstraint::from(meta.region));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: constraint,
        }))
    }
}

/// ListBuckets continuation tokens: the last name of the previous page, opaque to clients.
fn encode_token(last: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

fn decode_token(token: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(raw).ok()
}

impl Lagoa {
    /// A new bucket's ownership mode (`x-amz-object-ownership`; none: BucketOwnerEnforced, as
    /// AWS) and ACL (`x-amz-acl`, `x-amz-grant-*`), checked before the bucket is created so that
    /// a refused ACL leaves no bucket behind.
    fn new_bucket_acl(
        &self,
        req: &S3Request<CreateBucketInput>,
        caller: &str,
    ) -> S3Result<(Option<Ownership>, Option<lagoa_access::Acl>)> {
        let ownership = match &req.input.object_ownership {
            Some(o) => Some(
                Ownership::parse(o.as_str())
                    .ok_or_else(|| s3_error!(InvalidArgument, "Invalid x-amz-object-ownership {:?}", o.as_str()))?,
            ),
            None => None,
        };
        let ask = AclAsk::of(&req.headers, req.input.acl.as_ref().map(|a| a.as_str()))?;
        let rules = BucketAccess {
            owner: caller.to_owned(),
            policy: None,
            block: lagoa_access::PublicAccessBlock::default(),
            block_set: false,
            sealed: false,
            ownership: ownership.unwrap_or(Ownership::BucketOwnerEnforced),
            acl: None,
        };
        let acl = acl_request::replace(&ask, caller, &rules, &self.identities.current()).map_err(|e| {
            if *e.code() == s3s::S3ErrorCode::Custom("AccessControlListNotSupported".into()) {
                custom(
                    "InvalidBucketAclWithObjectOwnership",
                    http::StatusCode::BAD_REQUEST,
                    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                )
            } else {
                e
            }
        })?;
        Ok((ownership, acl))
    }
}
