//! ACLs as S3 answers them for buckets whose ownership is `BucketOwnerEnforced` — the default of
//! new AWS buckets and the only mode Lagoa has: ACLs are disabled, the bucket owner owns every
//! object and has FULL_CONTROL, and access is decided by policies. Get*Acl report exactly that;
//! Put*Acl accept what changes nothing (`private`, `bucket-owner-full-control`, a policy granting
//! only the owner FULL_CONTROL); anything that would grant access is `501 NotImplemented`, as is
//! an ownership mode that enables ACLs.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::errors::{StoreResultExt, custom};
use crate::lagoa::Lagoa;
use crate::ops::versioning::version_param;
use crate::unsupported::{AclTarget, reject_acl};

/// The only ACL a bucket or object has: its bucket's owner, FULL_CONTROL.
fn owner_only(owner: &str) -> (Owner, Vec<Grant>) {
    let grant = Grant {
        grantee: Some(Grantee {
            display_name: Some(owner.to_owned()),
            email_address: None,
            id: Some(owner.to_owned()),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    };
    (Lagoa::owner(owner), vec![grant])
}

/// Accepts an ACL write that grants nothing beyond the owner's FULL_CONTROL.
fn accept_acl_write(
    headers: &http::HeaderMap,
    target: AclTarget,
    policy: Option<&AccessControlPolicy>,
    owner: &str,
) -> S3Result<()> {
    reject_acl(headers, target)?;
    let has_canned = headers.contains_key("x-amz-acl");
    let Some(policy) = policy else {
        return match has_canned {
            true => Ok(()),
            false => Err(custom(
                "MissingSecurityHeader",
                http::StatusCode::BAD_REQUEST,
                "Your request was missing a required header: x-amz-acl, an x-amz-grant-* header or an AccessControlPolicy",
            )),
        };
    };
    let owner_full_control = |g: &Grant| {
        g.permission.as_ref().is_some_and(|p| p.as_str() == Permission::FULL_CONTROL)
            && g.grantee
                .as_ref()
                .is_some_and(|e| e.type_.as_str() == Type::CANONICAL_USER && e.id.as_deref() == Some(owner))
    };
    let grants = policy.grants.as_deref().unwrap_or_default();
    if grants.is_empty() || !grants.iter().all(owner_full_control) {
        return Err(s3_error!(
            NotImplemented,
            "ACL grants other than the bucket owner's FULL_CONTROL are not implemented by this server (its buckets are BucketOwnerEnforced); the request was not executed"
        ));
    }
    Ok(())
}

impl Lagoa {
    /// The owner of an existing object (version): its bucket's owner, as under BucketOwnerEnforced.
    async fn object_owner(&self, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<String> {
        let owner = self.existing_bucket(bucket).await?.owner;
        let version = version_param(version_id)?;
        self.store.object_version(bucket, key, version).await.s3()?;
        Ok(owner)
    }

    pub(crate) async fn do_get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let (owner, grants) = owner_only(&bucket.owner);
        Ok(S3Response::new(GetBucketAclOutput {
            owner: Some(owner),
            grants: Some(grants),
        }))
    }

    pub(crate) async fn do_put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        accept_acl_write(
            &req.headers,
            AclTarget::Bucket,
            req.input.access_control_policy.as_ref(),
            &bucket.owner,
        )?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    pub(crate) async fn do_get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
        let owner = self
            .object_owner(&req.input.bucket, &req.input.key, req.input.version_id.as_deref())
            .await?;
        let (owner, grants) = owner_only(&owner);
        Ok(S3Response::new(GetObjectAclOutput {
            owner: Some(owner),
            grants: Some(grants),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
        let owner = self
            .object_owner(&req.input.bucket, &req.input.key, req.input.version_id.as_deref())
            .await?;
        accept_acl_write(
            &req.headers,
            AclTarget::Object,
            req.input.access_control_policy.as_ref(),
            &owner,
        )?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    pub(crate) async fn do_get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ObjectOwnership::from_static(ObjectOwnership::BUCKET_OWNER_ENFORCED),
                }],
            }),
        }))
    }

    pub(crate) async fn do_put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let rules = &req.input.ownership_controls.rules;
        if rules.is_empty() {
            return Err(s3_error!(MalformedXML, "OwnershipControls needs a Rule"));
        }
        if let Some(other) = rules
            .iter()
            .find(|r| r.object_ownership.as_str() != ObjectOwnership::BUCKET_OWNER_ENFORCED)
        {
            return Err(s3_error!(
                NotImplemented,
                "Object ownership {:?} (ACLs enabled) is not implemented by this server; its buckets are BucketOwnerEnforced",
                other.object_ownership.as_str()
            ));
        }
        Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
    }
}
