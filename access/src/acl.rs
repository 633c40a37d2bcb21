//! S3 access control lists: who a bucket or object grants READ, WRITE, READ_ACP, WRITE_ACP or
//! FULL_CONTROL, from a canned ACL (`public-read`, …) or explicit grants, and which actions each
//! permission allows (AWS's "mapping of ACL permissions and access policy permissions").
//! Canonical user ids are Lagoa access keys. ACLs count only in buckets whose ownership mode
//! enables them (`ObjectWriter`, `BucketOwnerPreferred`); under `BucketOwnerEnforced` they are
//! disabled, as on AWS.

use serde_json::{Value, json};

use crate::policy::Requester;

/// The group of everyone, signed or not.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed caller.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// S3's log-delivery group (accepted, matches no caller here).
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A canonical user id (an access key).
    User(String),
    /// A predefined group, by URI.
    Group(&'static str),
}

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

impl Permission {
    /// S3's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::ReadAcp => "READ_ACP",
            Self::WriteAcp => "WRITE_ACP",
            Self::FullControl => "FULL_CONTROL",
        }
    }

    /// A permission from S3's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "READ" => Self::Read,
            "WRITE" => Self::Write,
            "READ_ACP" => Self::ReadAcp,
            "WRITE_ACP" => Self::WriteAcp,
            "FULL_CONTROL" => Self::FullControl,
            _ => return None,
        })
    }
}

/// A group URI as one of the known groups.
pub fn group(uri: &str) -> Option<&'static str> {
    [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY].into_iter().find(|g| *g == uri)
}

/// An ACL: its owner and grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub owner: String,
    pub grants: Vec<(Grantee, Permission)>,
}

/// The bucket document that holds its ACL ([`Acl::to_json`]); absent: private to the owner.
/// (Stored by the S3 layer; read by every writer that must know whose new objects are.)
pub const ACL_DOC: &str = "acl";
/// The bucket's object ownership mode; absent: `BucketOwnerEnforced`.
pub const OWNERSHIP_DOC: &str = "ownership";

/// The ownership document of a bucket whose controls were deleted.
pub const NO_CONTROLS: &str = "none";

/// S3's object ownership modes (`x-amz-object-ownership`, PutBucketOwnershipControls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// ACLs disabled; the bucket owner owns every object (AWS's default for new buckets).
    BucketOwnerEnforced,
    /// ACLs enabled; objects written with `bucket-owner-full-control` belong to the bucket
    /// owner, others to their writer.
    BucketOwnerPreferred,
    /// ACLs enabled; objects belong to their writer.
    ObjectWriter,
}

impl Ownership {
    /// S3's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BucketOwnerEnforced => "BucketOwnerEnforced",
            Self::BucketOwnerPreferred => "BucketOwnerPreferred",
            Self::ObjectWriter => "ObjectWriter",
        }
    }

    /// A mode from S3's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::BucketOwnerEnforced, Self::BucketOwnerPreferred, Self::ObjectWriter]
            .into_iter()
            .find(|o| o.as_str() == text)
    }

    /// The stored mode: absent (buckets made before ownership controls, or new ones without
    /// `x-amz-object-ownership`) is enforced, ACLs off; deleted controls (`none`) behave as
    /// `ObjectWriter`, as on AWS.
    pub fn of_doc(doc: Option<&[u8]>) -> Self {
        match doc.and_then(|raw| std::str::from_utf8(raw).ok()) {
            Some(NO_CONTROLS) => Self::ObjectWriter,
            Some(text) => Self::parse(text).unwrap_or(Self::BucketOwnerEnforced),
            None => Self::BucketOwnerEnforced,
        }
    }

    /// Whether ACLs decide anything in such a bucket.
    pub fn acls_enabled(self) -> bool {
        self != Self::BucketOwnerEnforced
    }
}

/// The canned ACL names S3 knows.
pub const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

impl Acl {
    /// The owner alone, with FULL_CONTROL (what `private` and no ACL mean).
    pub fn private(owner: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            grants: vec![(Grantee::User(owner.to_owned()), Permission::FullControl)],
        }
    }

    /// A canned ACL for a resource owned by `owner` in a bucket owned by `bucket_owner`;
    /// `None` for an unknown name.
    pub fn canned(name: &str, owner: &str, bucket_owner: &str) -> Option<Self> {
        let mut acl = Self::private(owner);
        let mut add = |grantee: Grantee, permission| acl.grants.push((grantee, permission));
        match name {
            "private" => {}
            "public-read" => add(Grantee::Group(ALL_USERS), Permission::Read),
            "public-read-write" => {
                add(Grantee::Group(ALL_USERS), Permission::Read);
                add(Grantee::Group(ALL_USERS), Permission::Write);
            }
            "authenticated-read" => add(Grantee::Group(AUTHENTICATED_USERS), Permission::Read),
            // EC2's read access: no EC2 here, so nothing beyond the owner.
            "aws-exec-read" => {}
            "bucket-owner-read" if owner != bucket_owner => add(Grantee::User(bucket_owner.to_owned()), Permission::Read),
            "bucket-owner-full-control" if owner != bucket_owner => {
                add(Grantee::User(bucket_owner.to_owned()), Permission::FullControl)
            }
            "bucket-owner-read" | "bucket-owner-full-control" => {}
            "log-delivery-write" => {
                add(Grantee::Group(LOG_DELIVERY), Permission::Write);
                add(Grantee::Group(LOG_DELIVERY), Permission::ReadAcp);
            }
            _ => return None,
        }
        Some(acl)
    }

    /// Whether anything is granted to everyone or every signed caller.
    pub fn is_public(&self) -> bool {
        self.grants
            .iter()
            .any(|(g, _)| matches!(g, Grantee::Group(uri) if *uri == ALL_USERS || *uri == AUTHENTICATED_USERS))
    }

    /// Whether anything is granted to someone other than the owner.
    pub fn grants_others(&self) -> bool {
        self.grants.iter().any(|(g, _)| *g != Grantee::User(self.owner.clone()))
    }

    /// Whether `requester` holds `permission` (FULL_CONTROL holds every one); with
    /// `ignore_public`, grants to the public groups count for nothing (IgnorePublicAcls).
    pub fn grants(&self, requester: Requester<'_>, permission: Permission, ignore_public: bool) -> bool {
        self.grants.iter().any(|(grantee, granted)| {
            let holds = *granted == permission || *granted == Permission::FullControl;
            let matches = match grantee {
                Grantee::User(id) => matches!(requester, Requester::User(k) if k == id),
                Grantee::Group(uri) if *uri == ALL_USERS => !ignore_public,
                Grantee::Group(uri) if *uri == AUTHENTICATED_USERS => !ignore_public && matches!(requester, Requester::User(_)),
                Grantee::Group(_) => false,
            };
            holds && matches
        })
    }

    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        let grants: Vec<Value> = self
            .grants
            .iter()
            .map(|(grantee, permission)| match grantee {
                Grantee::User(id) => json!({"id": id, "permission": permission.as_str()}),
                Grantee::Group(uri) => json!({"uri": uri, "permission": permission.as_str()}),
            })
            .collect();
        json!({"owner": self.owner, "grants": grants}).to_string()
    }

    /// An ACL from its stored form; `None` if it is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let owner = value.get("owner")?.as_str()?.to_owned();
        let mut grants = Vec::new();
        for grant in value.get("grants")?.as_array()? {
            let permission = Permission::parse(grant.get("permission")?.as_str()?)?;
            let grantee = match (
                grant.get("id").and_then(Value::as_str),
                grant.get("uri").and_then(Value::as_str),
            ) {
                (Some(id), None) => Grantee::User(id.to_owned()),
                (None, Some(uri)) => Grantee::Group(group(uri)?),
                _ => return None,
            };
            grants.push((grantee, permission));
        }
        Some(Self { owner, grants })
    }
}

/// The ACL permission an action needs, on the bucket's ACL (`Bucket`) or the object's
/// (`Object`); `None` for actions no ACL grants (policy, lifecycle, … configuration).
pub fn permission_for(action: &str) -> Option<(AclOf, Permission)> {
    use AclOf::{Bucket, Object};
    use Permission::*;
    Some(match action {
        "s3:ListBucket" | "s3:ListBucketVersions" | "s3:ListBucketMultipartUploads" => (Bucket, Read),
        "s3:PutObject" | "s3:DeleteObject" | "s3:DeleteObjectVersion" => (Bucket, Write),
        "s3:GetBucketAcl" => (Bucket, ReadAcp),
        "s3:PutBucketAcl" => (Bucket, WriteAcp),
        "s3:GetObject" | "s3:GetObjectVersion" | "s3:GetObjectTorrent" => (Object, Read),
        "s3:GetObjectAcl" | "s3:GetObjectVersionAcl" => (Object, ReadAcp),
        "s3:PutObjectAcl" | "s3:PutObjectVersionAcl" => (Object, WriteAcp),
        _ => return None,
    })
}

/// Which ACL a permission is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclOf {
    Bucket,
    Object,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canned_acls_grant_what_s3_documents() {
        let read = |acl: &Acl, who| acl.grants(who, Permission::Read, false);
        let public = Acl::canned("public-read", "o", "o").unwrap();
        assert!(read(&public, Requester::Anonymous) && read(&public, Requester::User("x")));
        assert!(!public.grants(Requester::Anonymous, Permission::Write, false));
        assert!(
            !public.grants(Requester::Anonymous, Permission::Read, true),
            "IgnorePublicAcls"
        );
        let signed = Acl::canned("authenticated-read", "o", "o").unwrap();
        assert!(!read(&signed, Requester::Anonymous) && read(&signed, Requester::User("x")));
        let for_bucket = Acl::canned("bucket-owner-full-control", "writer", "b-owner").unwrap();
        assert!(for_bucket.grants(Requester::User("b-owner"), Permission::WriteAcp, false));
        assert!(!read(&for_bucket, Requester::User("x")));
        let private = Acl::canned("private", "o", "b").unwrap();
        assert!(!private.grants_others() && !private.is_public());
        assert!(private.grants(Requester::User("o"), Permission::WriteAcp, false));
        assert!(Acl::canned("public", "o", "o").is_none());
        for name in CANNED_ACLS {
            let acl = Acl::canned(name, "o", "b").unwrap();
            assert_eq!(Acl::from_json(&acl.to_json()), Some(acl), "{name}");
        }
        assert_eq!(permission_for("s3:PutObject"), Some((AclOf::Bucket, Permission::Write)));
        assert_eq!(permission_for("s3:GetObjectVersion"), Some((AclOf::Object, Permission::Read)));
        assert_eq!(permission_for("s3:PutBucketPolicy"), None);
    }
}
