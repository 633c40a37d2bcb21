//! How the pieces combine, as AWS evaluates a request within one account: an explicit Deny
//! anywhere wins; otherwise the resource's owner, an identity policy, the bucket policy or (in
//! buckets with ACLs) an ACL grant may allow; anonymous callers are allowed only by a bucket policy (and not at all through a
//! public one when the bucket restricts public buckets). The root user is Lagoa's
//! administrator (MinIO's root) and is never refused.

use crate::acl::{Acl, AclOf};
use crate::policy::{Outcome, Policy, Request, Requester};

/// Who calls, with what identity policies.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// An unsigned request.
    Anonymous,
    /// The root user.
    Root,
    /// A signed request by a user.
    User {
        access_key: &'a str,
        /// The user's attached policies; `None` for a user without any, who may create
        /// buckets and list their own (Lagoa's rule before policies, kept for users files
        /// that attach none).
        policies: Option<&'a [std::sync::Arc<Policy>]>,
    },
}

/// S3's four public-access switches of a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Treat public ACLs as absent.
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy.
    pub block_public_policy: bool,
    /// With a public bucket policy, only the owner's account (authenticated users) gets in.
    pub restrict_public_buckets: bool,
}

/// What a bucket contributes to a decision.
#[derive(Debug, Clone, Copy)]
pub struct BucketRules<'a> {
    /// The access key of the bucket's owner.
    pub owner: &'a str,
    pub policy: Option<&'a Policy>,
    pub block: PublicAccessBlock,
    /// The bucket's ACL when its ownership mode enables ACLs; `None`: ACLs are disabled
    /// (`BucketOwnerEnforced`).
    pub acl: Option<&'a Acl>,
    /// The object's ACL, for a request on an object of a bucket with ACLs.
    pub object_acl: Option<&'a Acl>,
}

impl BucketRules<'_> {
    /// Whether the bucket's or the object's ACL grants the request (AWS's mapping of ACL
    /// permissions to actions); public grants count for nothing under IgnorePublicAcls.
    fn acl_allows(&self, request: &Request<'_>) -> bool {
        let (Some(bucket_acl), Some((of, permission))) = (self.acl, crate::acl::permission_for(request.action)) else {
            return false;
        };
        let acl = match of {
            AclOf::Bucket => Some(bucket_acl),
            AclOf::Object => self.object_acl,
        };
        acl.is_some_and(|acl| acl.grants(request.requester, permission, self.block.ignore_public_acls))
    }

    /// Who owns the resource of `action`: the object's owner for object permissions in a
    /// bucket with ACLs (an object another account wrote is not the bucket owner's to read,
    /// as on AWS), else the bucket's owner.
    fn owner_of(&self, action: &str) -> &str {
        let object_permission = matches!(crate::acl::permission_for(action), Some((AclOf::Object, _)));
        match (self.acl, self.object_acl) {
            (Some(_), Some(object)) if object_permission => &object.owner,
            _ => self.owner,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
}

/// Actions the bucket owner keeps even when the bucket policy denies them, so that a policy
/// locking everyone out can still be read and removed (AWS keeps them for the account root).
const OWNER_KEEPS: &[&str] = &["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"];

/// Actions only callers of the owner's account (signed users here) may be granted.
const OWNER_ACCOUNT_ONLY: &[&str] = &[
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
];

fn is_one_of(actions: &[&str], action: &str) -> bool {
    actions.iter().any(|a| a.eq_ignore_ascii_case(action))
}

/// Actions a user without attached policies may take (besides using their own buckets).
const WITHOUT_POLICIES: &[&str] = &["s3:CreateBucket", "s3:ListAllMyBuckets"];

/// Decides `request` by `caller` on a resource of `bucket` (`None` for requests outside any
/// existing bucket: ListBuckets, CreateBucket).
pub fn decide(request: &Request<'_>, caller: Caller<'_>, bucket: Option<&BucketRules<'_>>) -> Decision {
    let (identity, owner) = match caller {
        Caller::Root => return Decision::Allowed,
        Caller::Anonymous => (Outcome::NotApplicable, false),
        Caller::User { access_key, policies } => {
            let identity = match policies {
                Some(policies) => combine(policies.iter().map(|p| p.evaluate(request))),
                None if is_one_of(WITHOUT_POLICIES, request.action) => Outcome::Allowed,
                None => Outcome::NotApplicable,
            };
            (identity, bucket.is_some_and(|b| b.owner_of(request.action) == access_key))
        }
    };
    let anonymous = request.requester == Requester::Anonymous;
    let resource = match bucket.and_then(|b| b.policy.map(|p| (p, b.block))) {
        None => Outcome::NotApplicable,
        Some((policy, block)) => match policy.evaluate(request) {
            Outcome::Allowed if anonymous && block.restrict_public_buckets && policy.is_public() => Outcome::NotApplicable,
            // Managing a bucket's policy and public-access block is for the owner's account
            // only (S3 answers others 405): a policy granting `s3:*` to `*` must not let an
            // anonymous caller replace it.
            Outcome::Allowed if anonymous && is_one_of(OWNER_ACCOUNT_ONLY, request.action) => Outcome::NotApplicable,
            outcome => outcome,
        },
    };
    if identity == Outcome::Denied || resource == Outcome::Denied {
        // The owner's exemption is from the bucket policy only: an identity Deny holds.
        let kept = owner && identity != Outcome::Denied && is_one_of(OWNER_KEEPS, request.action);
        return if kept { Decision::Allowed } else { Decision::Denied };
    }
    let acl = bucket.is_some_and(|b| b.acl_allows(request));
    if owner || identity == Outcome::Allowed || resource == Outcome::Allowed || acl {
        Decision::Allowed
    } else {
        Decision::Denied
    }
}

/// Several policies as one: any denial, else any allowance.
fn combine(outcomes: impl Iterator<Item = Outcome>) -> Outcome {
    let mut result = Outcome::NotApplicable;
    for outcome in outcomes {
        match outcome {
            Outcome::Denied => return Outcome::Denied,
            Outcome::Allowed => result = Outcome::Allowed,
            Outcome::NotApplicable => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;
    use std::borrow::Cow;
    use std::sync::Arc;

    struct NoContext;

    impl crate::Context for NoContext {
        fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>> {
            (key == "aws:sourceip").then(|| vec![Cow::Borrowed("10.0.0.1")])
        }
    }

    const PUBLIC_READ: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]},
        {"Effect":"Deny","Principal":{"AWS":["mallory"]},"Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#;

    /// Every caller kind against every bucket set-up, for a read and a write.
    #[test]
    fn decisions_follow_aws_evaluation_order() {
        let policy = Policy::parse(PUBLIC_READ, PolicyKind::Bucket("b")).unwrap();
        let readonly = vec![Arc::new(
            Policy::parse(crate::canned_policy("readonly").unwrap(), PolicyKind::Identity).unwrap(),
        )];
        let deny_all = vec![Arc::new(
            Policy::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
                PolicyKind::Identity,
            )
            .unwrap(),
        )];
        let open = BucketRules {
            owner: "owner",
            policy: Some(&policy),
            block: PublicAccessBlock::default(),
            acl: None,
            object_acl: None,
        };
        let restricted = BucketRules {
            block: PublicAccessBlock {
                restrict_public_buckets: true,
                ..Default::default()
            },
            ..open
        };
        let all = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#,
            PolicyKind::Bucket("b"),
        )
        .unwrap();
        let none = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#,
            PolicyKind::Bucket("b"),
        )
        .unwrap();
        let everything = BucketRules {
            owner: "owner",
            policy: Some(&all),
            block: PublicAccessBlock::default(),
            acl: None,
            object_acl: None,
        };
        let locked_out = BucketRules {
            owner: "owner",
            policy: Some(&none),
            block: PublicAccessBlock::default(),
            acl: None,
            object_acl: None,
        };
        let private = BucketRules {
            owner: "owner",
            policy: None,
            block: PublicAccessBlock::default(),
            acl: None,
            object_acl: None,
        };
        use Decision::{Allowed as A, Denied as D};
        let user = |key| Caller::User {
            access_key: key,
            policies: None,
        };
        let cases: Vec<(&str, Caller<'_>, &BucketRules<'_>, &str, Decision)> = vec![
            ("anonymous reads a public object", Caller::Anonymous, &open, "s3:GetObject", A),
            ("anonymous cannot write", Caller::Anonymous, &open, "s3:PutObject", D),
            (
                "anonymous is shut out by RestrictPublicBuckets",
                Caller::Anonymous,
                &restricted,
                "s3:GetObject",
                D,
            ),
            (
                "a user still reads with RestrictPublicBuckets",
                user("carol"),
                &restricted,
                "s3:GetObject",
                A,
            ),
            (
                "anonymous reads nothing private",
                Caller::Anonymous,
                &private,
                "s3:GetObject",
                D,
            ),
            ("the owner writes", user("owner"), &private, "s3:PutObject", A),
            ("another user cannot write", user("carol"), &open, "s3:PutObject", D),
            (
                "an explicit deny beats the public grant",
                user("mallory"),
                &open,
                "s3:GetObject",
                D,
            ),
            (
                "readonly reads any bucket",
                Caller::User {
                    access_key: "rita",
                    policies: Some(&readonly),
                },
                &private,
                "s3:GetObject",
                A,
            ),
            (
                "readonly cannot write",
                Caller::User {
                    access_key: "rita",
                    policies: Some(&readonly),
                },
                &private,
                "s3:PutObject",
                D,
            ),
            (
                "an identity deny beats ownership",
                Caller::User {
                    access_key: "owner",
                    policies: Some(&deny_all),
                },
                &private,
                "s3:GetObject",
                D,
            ),
            (
                "an identity deny holds for the owner's own policy too",
                Caller::User {
                    access_key: "owner",
                    policies: Some(&deny_all),
                },
                &private,
                "s3:DeleteBucketPolicy",
                D,
            ),
            (
                "the owner keeps the policy of a bucket that denies all",
                user("owner"),
                &locked_out,
                "s3:DeleteBucketPolicy",
                A,
            ),
            ("but nothing else in it", user("owner"), &locked_out, "s3:GetObject", D),
            ("root passes every rule", Caller::Root, &restricted, "s3:DeleteBucket", A),
            (
                "anonymous never manages the policy, even granted s3:*",
                Caller::Anonymous,
                &everything,
                "s3:PutBucketPolicy",
                D,
            ),
            (
                "nor the public-access block",
                Caller::Anonymous,
                &everything,
                "s3:PutBucketPublicAccessBlock",
                D,
            ),
            (
                "anonymous gets what s3:* grants otherwise",
                Caller::Anonymous,
                &everything,
                "s3:PutObject",
                A,
            ),
            (
                "a signed user may be granted policy management",
                user("carol"),
                &everything,
                "s3:PutBucketPolicy",
                A,
            ),
        ];
        for (what, caller, bucket, action, expected) in cases {
            let resource = if action.contains("Object") {
                "arn:aws:s3:::b/k"
            } else {
                "arn:aws:s3:::b"
            };
            let requester = match caller {
                Caller::Anonymous => Requester::Anonymous,
                Caller::Root => Requester::User("root"),
                Caller::User { access_key, .. } => Requester::User(access_key),
            };
            let request = Request {
                requester,
                action,
                resource,
                context: &NoContext,
            };
            assert_eq!(decide(&request, caller, Some(bucket)), expected, "{what}");
        }
    }

    #[test]
    fn users_without_policies_create_buckets_but_nothing_else_outside_their_own() {
        let request = |action| Request {
            requester: Requester::User("u"),
            action,
            resource: "arn:aws:s3:::x",
            context: &NoContext,
        };
        let caller = Caller::User {
            access_key: "u",
            policies: None,
        };
        assert_eq!(decide(&request("s3:CreateBucket"), caller, None), Decision::Allowed);
        assert_eq!(decide(&request("s3:ListBucket"), caller, None), Decision::Denied);
    }

    #[test]
    fn acl_grants_allow_where_acls_are_enabled_and_denials_still_win() {
        let bucket_acl = Acl::private("owner");
        let public_object = Acl::canned("public-read", "owner", "owner").unwrap();
        let writers_object = Acl::private("writer");
        let deny_anonymous = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret"}]}"#,
            PolicyKind::Bucket("b"),
        )
        .unwrap();
        let rules = |object_acl, enabled: bool, policy| BucketRules {
            owner: "owner",
            policy,
            block: PublicAccessBlock::default(),
            acl: enabled.then_some(&bucket_acl),
            object_acl,
        };
        let ask = |requester, action, resource, rules: &BucketRules<'_>| {
            let request = Request {
                requester,
                action,
                resource,
                context: &NoContext,
            };
            let caller = match requester {
                Requester::Anonymous => Caller::Anonymous,
                Requester::User(access_key) => Caller::User {
                    access_key,
                    policies: None,
                },
            };
            decide(&request, caller, Some(rules))
        };
        let anonymous = Requester::Anonymous;
        let object = "arn:aws:s3:::b/k";
        // A public-read object is readable by anyone, but only where ACLs count.
        assert_eq!(
            ask(anonymous, "s3:GetObject", object, &rules(Some(&public_object), true, None)),
            Decision::Allowed
        );
        assert_eq!(
            ask(anonymous, "s3:GetObject", object, &rules(Some(&public_object), false, None)),
            Decision::Denied
        );
        assert_eq!(
            ask(anonymous, "s3:PutObjectAcl", object, &rules(Some(&public_object), true, None)),
            Decision::Denied
        );
        // An explicit Deny beats an ACL grant.
        let secret = "arn:aws:s3:::b/secret";
        assert_eq!(
            ask(
                anonymous,
                "s3:GetObject",
                secret,
                &rules(Some(&public_object), true, Some(&deny_anonymous))
            ),
            Decision::Denied
        );
        // An object another user wrote (ObjectWriter) is theirs to read; the bucket owner may
        // still delete it.
        let theirs = rules(Some(&writers_object), true, None);
        assert_eq!(
            ask(Requester::User("owner"), "s3:GetObject", object, &theirs),
            Decision::Denied
        );
        assert_eq!(
            ask(Requester::User("writer"), "s3:GetObject", object, &theirs),
            Decision::Allowed
        );
        assert_eq!(
            ask(Requester::User("owner"), "s3:DeleteObject", object, &theirs),
            Decision::Allowed
        );
    }
}
