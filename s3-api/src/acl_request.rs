//! The ACL a request asks for — a canned ACL (`x-amz-acl`, a POST form's `acl` field) or
//! explicit grants (`x-amz-grant-*`, an AccessControlPolicy body) — checked and turned into
//! the ACL a bucket or object gets under its bucket's ownership mode:
//!
//! - `BucketOwnerEnforced` (the default): ACLs are disabled; only ACLs that grant nothing
//!   beyond the owner (`private`, `bucket-owner-full-control`, an owner-only policy) are
//!   accepted, anything else is S3's `400 AccessControlListNotSupported`.
//! - `BucketOwnerPreferred`: an object written with `bucket-owner-full-control` belongs to the
//!   bucket owner, any other to its writer; `ObjectWriter`: objects belong to their writer.
//!
//! Grantees are canonical user ids (Lagoa access keys, which must exist), the AllUsers,
//! AuthenticatedUsers and LogDelivery groups; e-mail grantees are S3's
//! `400 UnresolvableGrantByEmailAddress` (no account has one here). A public ACL in a bucket
//! with `BlockPublicAcls` is `403 AccessDenied`.

use lagoa_access::acl::{self, Acl, Grantee, Permission};
use s3s::dto::{AccessControlPolicy, Grant};
use s3s::{S3Result, s3_error};

use crate::access::rules::{BucketAccess, Ownership};
use crate::errors::custom;
use crate::identity::Directory;

/// The grant headers and the permission each gives.
const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
    ("x-amz-grant-full-control", Permission::FullControl),
];

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AclAsk {
    /// Nothing: the default (private).
    Default,
    /// A canned ACL by name.
    Canned(String),
    /// Explicit grants (an owner, when a policy body names one).
    Grants(Vec<(Grantee, Permission)>),
}

impl AclAsk {
    /// The ask of a write's headers; `canned` is the canned ACL s3s parsed (the header, or a
    /// POST form's field).
    pub(crate) fn of(headers: &http::HeaderMap, canned: Option<&str>) -> S3Result<Self> {
        let canned = canned
            .map(str::to_owned)
            .or_else(|| headers.get("x-amz-acl").and_then(|v| v.to_str().ok()).map(str::to_owned));
        let mut grants = Vec::new();
        for (header, permission) in GRANT_HEADERS {
            for value in headers.get_all(header) {
                let text = value
                    .to_str()
                    .map_err(|_| s3_error!(InvalidArgument, "The {header} header is not text"))?;
                for grantee in parse_grantees(text)? {
                    grants.push((grantee, permission));
                }
            }
        }
        match (canned, grants.is_empty()) {
            (Some(_), false) => Err(s3_error!(
                InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            )),
            (Some(name), true) => {
                let name = name.trim().to_owned();
                if !acl::CANNED_ACLS.contains(&name.as_str()) {
                    return Err(s3_error!(InvalidArgument, "Unknown canned ACL {name:?}"));
                }
                Ok(Self::Canned(name))
            }
            (None, false) => Ok(Self::Grants(grants)),
            (None, true) => Ok(Self::Default),
        }
    }

    /// The ask of an AccessControlPolicy body.
    pub(crate) fn of_policy(policy: &AccessControlPolicy) -> S3Result<Self> {
        let grants = policy
            .grants
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(grant_of)
            .collect::<S3Result<Vec<_>>>()?;
        Ok(Self::Grants(grants))
    }

    /// Whether the request names an ACL at all.
    pub(crate) fn is_set(&self) -> bool {
        *self != Self::Default
    }

    /// The ACL of a resource owned by `owner` in a bucket owned by `bucket_owner`.
    fn acl(&self, owner: &str, bucket_owner: &str) -> Acl {
        match self {
            Self::Default => Acl::private(owner),
            Self::Canned(name) => Acl::canned(name, owner, bucket_owner).unwrap_or_else(|| Acl::private(owner)),
            Self::Grants(grants) => Acl {
                owner: owner.to_owned(),
                grants: grants.clone(),
            },
        }
    }
}

/// `id="…", uri="…", emailAddress="…"` (comma-separated) of a grant header.
fn parse_grantees(text: &str) -> S3Result<Vec<Grantee>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, value) = part
            .split_once('=')
            .ok_or_else(|| s3_error!(InvalidArgument, "Invalid grant {part:?}: expected id=, uri= or emailAddress="))?;
        let value = value.trim().trim_matches('"');
        out.push(grantee(&kind.trim().to_ascii_lowercase(), value)?);
    }
    Ok(out)
}

fn grantee(kind: &str, value: &str) -> S3Result<Grantee> {
    match kind {
        "id" | "canonicaluser" => Ok(Grantee::User(value.to_owned())),
        "uri" | "group" => acl::group(value)
            .map(Grantee::Group)
            .ok_or_else(|| s3_error!(InvalidArgument, "Invalid group uri {value:?}")),
        "emailaddress" | "amazoncustomerbyemail" => Err(custom(
            "UnresolvableGrantByEmailAddress",
            http::StatusCode::BAD_REQUEST,
            "The e-mail address you provided does not match any account on record.",
        )),
        other => Err(s3_error!(InvalidArgument, "Invalid grantee type {other:?}")),
    }
}

fn grant_of(grant: &Grant) -> S3Result<(Grantee, Permission)> {
    let permission = grant
        .permission
        .as_ref()
        .and_then(|p| Permission::parse(p.as_str()))
        .ok_or_else(|| s3_error!(MalformedACLError, "A grant has no valid Permission"))?;
    let dto = grant
        .grantee
        .as_ref()
        .ok_or_else(|| s3_error!(MalformedACLError, "A grant has no Grantee"))?;
    let who = match dto.type_.as_str() {
        "CanonicalUser" => grantee("id", dto.id.as_deref().unwrap_or_default())?,
        "Group" => grantee("uri", dto.uri.as_deref().unwrap_or_default())?,
        "AmazonCustomerByEmail" => grantee("emailaddress", dto.email_address.as_deref().unwrap_or_default())?,
        other => return Err(s3_error!(MalformedACLError, "Unknown grantee type {other:?}")),
    };
    Ok((who, permission))
}

/// The ACL a resource gets, after S3's checks: `None` where ACLs are disabled (the owner-only
/// default), else the ACL to store.
pub(crate) fn resolve(ask: &AclAsk, rules: &BucketAccess, writer: Option<&str>, identities: &Directory) -> S3Result<Option<Acl>> {
    let bucket_owner = rules.owner.as_str();
    if !rules.ownership.acls_enabled() {
        let harmless = match ask {
            AclAsk::Default => true,
            AclAsk::Canned(name) => name == "private" || name == "bucket-owner-full-control",
            AclAsk::Grants(grants) => grants
                .iter()
                .all(|(g, p)| *g == Grantee::User(bucket_owner.to_owned()) && *p == Permission::FullControl),
        };
        return match harmless {
            true => Ok(None),
            false => Err(not_supported()),
        };
    }
    // Anonymous writes (a public-read-write bucket) belong to the bucket owner.
    let writer = writer.unwrap_or(bucket_owner);
    let owner = match (rules.ownership, ask) {
        (Ownership::BucketOwnerPreferred, AclAsk::Canned(name)) if name == "bucket-owner-full-control" => bucket_owner,
        _ => writer,
    };
    let acl = ask.acl(owner, bucket_owner);
    check(&acl, rules, identities)?;
    Ok(Some(acl))
}

/// A new ACL for a resource that already has `owner`.
pub(crate) fn replace(ask: &AclAsk, owner: &str, rules: &BucketAccess, identities: &Directory) -> S3Result<Option<Acl>> {
    if !rules.ownership.acls_enabled() {
        return resolve(ask, rules, Some(owner), identities);
    }
    let acl = ask.acl(owner, &rules.owner);
    check(&acl, rules, identities)?;
    Ok(Some(acl))
}

/// Grantees must exist; public ACLs must not be blocked.
fn check(acl: &Acl, rules: &BucketAccess, identities: &Directory) -> S3Result<()> {
    for (grantee, _) in &acl.grants {
        if let Grantee::User(id) = grantee
            && !identities.is_root(id)
            && identities.user(id).is_none()
        {
            return Err(s3_error!(InvalidArgument, "Invalid id {id:?}: no such canonical user"));
        }
    }
    if acl.is_public() && rules.block.block_public_acls {
        return Err(s3_error!(
            AccessDenied,
            "Access Denied: the bucket's public access block (BlockPublicAcls) refuses public ACLs"
        ));
    }
    Ok(())
}

/// S3's answer to an ACL in a bucket that disables them.
pub(crate) fn not_supported() -> s3s::S3Error {
    custom(
        "AccessControlListNotSupported",
        http::StatusCode::BAD_REQUEST,
        "The bucket does not allow ACLs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn asks_are_read_from_canned_acls_and_grant_headers() {
        assert_eq!(AclAsk::of(&headers(&[]), None).unwrap(), AclAsk::Default);
        assert_eq!(
            AclAsk::of(&headers(&[("x-amz-acl", "public-read")]), None).unwrap(),
            AclAsk::Canned("public-read".into())
        );
        let grants = AclAsk::of(
            &headers(&[
                (
                    "x-amz-grant-read",
                    r#"uri="http://acs.amazonaws.com/groups/global/AllUsers", id="alice""#,
                ),
                ("x-amz-grant-full-control", "id=bob"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            grants,
            AclAsk::Grants(vec![
                (Grantee::Group(acl::ALL_USERS), Permission::Read),
                (Grantee::User("alice".into()), Permission::Read),
                (Grantee::User("bob".into()), Permission::FullControl),
            ])
        );
        assert!(AclAsk::of(&headers(&[("x-amz-acl", "private"), ("x-amz-grant-read", "id=x")]), None).is_err());
        assert!(AclAsk::of(&headers(&[("x-amz-acl", "public")]), None).is_err());
        assert!(AclAsk::of(&headers(&[("x-amz-grant-read", "emailAddress=a@b.c")]), None).is_err());
        assert!(AclAsk::of(&headers(&[("x-amz-grant-read", "uri=http://example.com/group")]), None).is_err());
    }
}
