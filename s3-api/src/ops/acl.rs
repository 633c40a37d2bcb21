//! ACLs and object ownership controls. A bucket's ownership mode decides whether ACLs count:
//! `BucketOwnerEnforced` (the default of new buckets, as on AWS) disables them — Get*Acl
//! report the owner's FULL_CONTROL, Put*Acl accept only what grants nothing more — while
//! `ObjectWriter` and `BucketOwnerPreferred` enable them: bucket and object ACLs are stored
//! and the access gate honours their grants (see `lagoa_access::acl`, `acl_request`).

use lagoa_access::acl::{Acl, Grantee as AclGrantee};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::access::rules::{ACL_DOC, BucketAccess, NO_CONTROLS, OWNERSHIP_DOC, Ownership, stored_acl};
use crate::acl_request::{self, AclAsk};
use crate::errors::{StoreResultExt, custom};
use crate::lagoa::Lagoa;
use crate::ops::versioning::version_param;

/// An ACL as S3's response DTOs.
fn acl_dto(acl: &Acl) -> (Owner, Vec<Grant>) {
    let grants = acl
        .grants
        .iter()
        .map(|(grantee, permission)| {
            let grantee = match grantee {
                AclGrantee::User(id) => Grantee {
                    display_name: Some(id.clone()),
                    email_address: None,
                    id: Some(id.clone()),
                    type_: Type::from_static(Type::CANONICAL_USER),
                    uri: None,
                },
                AclGrantee::Group(uri) => Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: Type::from_static(Type::GROUP),
                    uri: Some((*uri).to_owned()),
                },
            };
            Grant {
                grantee: Some(grantee),
                permission: Some(Permission::from(permission.as_str().to_owned())),
            }
        })
        .collect();
    (Lagoa::owner(&acl.owner), grants)
}

/// The ACL a Put*Acl asks for: a body, or headers, not both; one of them is required.
fn ask_of(headers: &http::HeaderMap, canned: Option<&str>, body: Option<&AccessControlPolicy>) -> S3Result<AclAsk> {
    let from_headers = AclAsk::of(headers, canned)?;
    match (body, from_headers.is_set()) {
        (Some(_), true) => Err(s3_error!(
            UnexpectedContent,
            "This request does not support content: send an ACL in the headers or the body, not both"
        )),
        (Some(policy), false) => AclAsk::of_policy(policy),
        (None, true) => Ok(from_headers),
        (None, false) => Err(custom(
            "MissingSecurityHeader",
            http::StatusCode::BAD_REQUEST,
            "Your request was missing a required header: x-amz-acl, an x-amz-grant-* header or an AccessControlPolicy",
        )),
    }
}

impl Lagoa {
    /// Stores (or with `None` removes) one of a bucket's access documents — policy, public
    /// access block, ACL, ownership — and drops the bucket's cached rules.
    pub(crate) async fn set_access_doc(&self, bucket: &str, name: &str, value: Option<Vec<u8>>) -> S3Result<()> {
        self.store.set_bucket_config(bucket, name, value).await.s3()?;
        self.access.rules().changed(bucket);
        Ok(())
    }

    /// A bucket's access rules (owner, ownership mode, ACL); `NoSuchBucket` if it is gone.
    pub(crate) async fn bucket_rules(&self, bucket: &str) -> S3Result<std::sync::Arc<BucketAccess>> {
        self.access
            .rules()
            .get(bucket)
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }

    /// The ACL a new object gets from its write's ACL headers (`canned`: s3s's parse of
    /// `x-amz-acl` or a POST form's field), as the stored document (`None`: owner-only).
    pub(crate) async fn new_object_acl(
        &self,
        bucket: &str,
        headers: &http::HeaderMap,
        canned: Option<&ObjectCannedACL>,
        writer: &str,
    ) -> S3Result<Option<String>> {
        let ask = AclAsk::of(headers, canned.map(|c| c.as_str()))?;
        let rules = self.bucket_rules(bucket).await?;
        let acl = acl_request::resolve(&ask, &rules, Some(writer), &self.identities.current())?;
        Ok(acl.map(|acl| acl.to_json()))
    }

    pub(crate) async fn do_get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        let rules = self.bucket_rules(&req.input.bucket).await?;
        let acl = rules.acl.clone().unwrap_or_else(|| Acl::private(&rules.owner));
        let (owner, grants) = acl_dto(&acl);
        Ok(S3Response::new(GetBucketAclOutput {
            owner: Some(owner),
            grants: Some(grants),
        }))
    }

    pub(crate) async fn do_put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
        let rules = self.bucket_rules(&req.input.bucket).await?;
        let canned = req.input.acl.as_ref().map(|a| a.as_str());
        let ask = ask_of(&req.headers, canned, req.input.access_control_policy.as_ref())?;
        if let Some(acl) = acl_request::replace(&ask, &rules.owner, &rules, &self.identities.current())? {
            self.set_access_doc(&req.input.bucket, ACL_DOC, Some(acl.to_json().into_bytes()))
                .await?;
        }
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    /// An object version's ACL as it counts: the stored one where ACLs are enabled (private to
    /// the bucket owner when none is stored), the bucket owner's FULL_CONTROL where they are not.
    async fn object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<(std::sync::Arc<BucketAccess>, Acl)> {
        let rules = self.bucket_rules(bucket).await?;
        let meta = self
            .store
            .object_version(bucket, key, version_param(version_id)?)
            .await
            .s3()?;
        let acl = match rules.ownership.acls_enabled() {
            true => stored_acl(meta.attributes.acl.as_deref().map(str::as_bytes), &rules.owner),
            false => Acl::private(&rules.owner),
        };
        Ok((rules, acl))
    }

    pub(crate) async fn do_get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
        let input = &req.input;
        let (_, acl) = self
            .object_acl(&input.bucket, &input.key, input.version_id.as_deref())
            .await?;
        let (owner, grants) = acl_dto(&acl);
        Ok(S3Response::new(GetObjectAclOutput {
            owner: Some(owner),
            grants: Some(grants),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
        let input = &req.input;
        let (rules, current) = self
            .object_acl(&input.bucket, &input.key, input.version_id.as_deref())
            .await?;
        let canned = input.acl.as_ref().map(|a| a.as_str());
        let ask = ask_of(&req.headers, canned, input.access_control_policy.as_ref())?;
        if let Some(acl) = acl_request::replace(&ask, &current.owner, &rules, &self.identities.current())? {
            let version = version_param(input.version_id.as_deref())?;
            self.store
                .set_object_acl(&input.bucket, &input.key, version, Some(acl.to_json()))
                .await
                .s3()?;
        }
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    pub(crate) async fn do_get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let doc = self.store.bucket_config(&req.input.bucket, OWNERSHIP_DOC).await.s3()?;
        if doc.as_deref() == Some(NO_CONTROLS.as_bytes()) {
            return Err(custom(
                "OwnershipControlsNotFoundError",
                http::StatusCode::NOT_FOUND,
                "The bucket ownership controls were not found",
            ));
        }
        let ownership = Ownership::of_doc(doc.as_deref());
        Ok(S3Response::new(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ObjectOwnership::from(ownership.as_str().to_owned()),
                }],
            }),
        }))
    }

    pub(crate) async fn do_put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        let rules = self.bucket_rules(&req.input.bucket).await?;
        let [rule] = req.input.ownership_controls.rules.as_slice() else {
            return Err(s3_error!(MalformedXML, "OwnershipControls needs exactly one Rule"));
        };
        let ownership = Ownership::parse(rule.object_ownership.as_str())
            .ok_or_else(|| s3_error!(MalformedXML, "Unknown ObjectOwnership {:?}", rule.object_ownership.as_str()))?;
        self.set_ownership(&req.input.bucket, &rules, ownership).await?;
        Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
    }

    pub(crate) async fn do_delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        self.bucket_rules(&req.input.bucket).await?;
        self.set_access_doc(&req.input.bucket, OWNERSHIP_DOC, Some(NO_CONTROLS.as_bytes().to_vec()))
            .await?;
        Ok(S3Response::with_status(
            DeleteBucketOwnershipControlsOutput::default(),
            http::StatusCode::NO_CONTENT,
        ))
    }

    /// Stores an ownership mode. Enforcing bucket ownership while the bucket's ACL grants
    /// others is refused, as on AWS (the grants would silently stop counting).
    pub(crate) async fn set_ownership(&self, bucket: &str, rules: &BucketAccess, ownership: Ownership) -> S3Result<()> {
        if !ownership.acls_enabled() && rules.acl.as_ref().is_some_and(Acl::grants_others) {
            return Err(custom(
                "InvalidBucketAclWithObjectOwnership",
                http::StatusCode::BAD_REQUEST,
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            ));
        }
        self.set_access_doc(bucket, OWNERSHIP_DOC, Some(ownership.as_str().as_bytes().to_vec()))
            .await?;
        Ok(())
    }
}
