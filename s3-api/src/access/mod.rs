//! Authorization of every S3 request in one place: s3s calls [`AccessGate`] after checking the
//! signature and before the operation runs (and before its body is read); the gate names the
//! operation's IAM action ([`operations`]), gathers the bucket's rules ([`rules`]) and the
//! request's condition values ([`context`]), and asks `lagoa_access::decide`. Handlers that act
//! on several resources (DeleteObjects' keys, ListBuckets' buckets, a copy's source) ask the
//! same [`Authorizer`] per resource.

mod context;
pub(crate) mod operations;
pub(crate) mod rules;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use lagoa_access::{Caller, Decision, Request, Requester};
use lagoa_store::Store;
use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Request, S3Result, s3_error};

use self::context::{Principal, RequestContext};
use self::operations::Target;
use self::rules::BucketRulesCache;
use crate::identity::{Directory, Identities};

/// The client's address, put in the request's extensions by the front door
/// (`aws:SourceIp`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Who the client is behind a trusted reverse proxy (`--trusted-proxies`): the address the proxy
/// reports in `X-Forwarded-For` and whether it took the request over TLS (`X-Forwarded-Proto`).
/// Present only for requests from a trusted proxy; others are judged by their TCP peer.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded {
    pub client: Option<IpAddr>,
    pub secure: bool,
}

impl Forwarded {
    /// What a request from `peer` says about its client, if `peer` is one of `trusted`: the
    /// right-most `X-Forwarded-For` address that is not itself a trusted proxy (addresses left
    /// of it were written by whoever the client is, so they prove nothing), and the last
    /// `X-Forwarded-Proto`.
    pub fn of(peer: IpAddr, headers: &http::HeaderMap, trusted: &[ipnet::IpNet]) -> Option<Self> {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
        if !is_trusted(&peer) {
            return None;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        let client = hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied();
        let secure = headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Some(Self { client, secure })
    }
}

/// A signed caller of a non-S3 endpoint (SQL, a forwarded Select), as conditions see it.
#[derive(Debug, Clone)]
pub struct OnBehalf {
    pub access_key: String,
    /// The request's headers (`aws:UserAgent`, `aws:Referer`, …).
    pub headers: http::HeaderMap,
    /// The client's address (`aws:SourceIp`).
    pub peer: Option<IpAddr>,
    /// Whether a trusted proxy took the request over TLS (`aws:SecureTransport`).
    pub secure: bool,
}

impl OnBehalf {
    /// The caller of a request as the front door saw it (its address, or what a trusted proxy
    /// reported). Only headers behind global condition keys are kept (`User-Agent`,
    /// `Referer`): `x-amz-*` headers on a SQL request describe nothing its reads and writes do
    /// (a query's writes carry no SSE, ACL, tags or lock), so they must not satisfy conditions
    /// on `s3:x-amz-*` keys.
    pub fn of(access_key: &str, headers: &http::HeaderMap, extensions: &http::Extensions) -> Self {
        let uri = http::Uri::from_static("/");
        let facts = Facts::from_parts(headers, &uri, extensions);
        let mut kept = http::HeaderMap::new();
        for name in [http::header::USER_AGENT, http::header::REFERER] {
            if let Some(value) = headers.get(&name) {
                kept.insert(name, value.clone());
            }
        }
        Self {
            access_key: access_key.to_owned(),
            headers: kept,
            peer: facts.peer,
            secure: facts.secure,
        }
    }
}

/// Who sent a request, as the gate established it; handlers read it from the extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    Anonymous,
    Root(String),
    User(String),
}

impl Who {
    /// The access key, if the request was signed.
    pub(crate) fn access_key(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Root(k) | Self::User(k) => Some(k),
        }
    }
}

/// A browser POST's key is only known once the form is read: the gate leaves the check to the
/// `put_object` hook, which s3s calls with the form's key.
#[derive(Debug, Clone, Copy)]
struct PostObjectPending;

/// The request facts conditions read.
pub(crate) struct Facts<'a> {
    pub headers: &'a http::HeaderMap,
    pub uri: &'a http::Uri,
    /// The client's address: the TCP peer, or what a trusted proxy reported.
    pub peer: Option<IpAddr>,
    /// The request reached the trusted proxy over TLS.
    pub secure: bool,
}

impl<'a> Facts<'a> {
    /// The facts of an s3s request.
    pub(crate) fn of<T>(req: &'a S3Request<T>) -> Self {
        Self::from_parts(&req.headers, &req.uri, &req.extensions)
    }

    /// The facts of a request whose input has been taken apart.
    pub(crate) fn from_parts(headers: &'a http::HeaderMap, uri: &'a http::Uri, extensions: &http::Extensions) -> Self {
        let forwarded = extensions.get::<Forwarded>();
        Self {
            headers,
            uri,
            peer: forwarded
                .and_then(|f| f.client)
                .or_else(|| extensions.get::<PeerAddr>().map(|p| p.0.ip())),
            secure: forwarded.is_some_and(|f| f.secure),
        }
    }
}

/// Decides requests: identities (with their policies) and every bucket's rules.
pub struct Authorizer {
    identities: Arc<Identities>,
    store: Store,
    rules: BucketRulesCache,
}

/// The answer to a denied request, as S3 words it.
pub(crate) fn access_denied() -> s3s::S3Error {
    s3_error!(AccessDenied, "Access Denied")
}

impl Authorizer {
    pub(crate) fn new(identities: Arc<Identities>, store: Store) -> Self {
        Self {
            identities,
            rules: BucketRulesCache::new(store.clone(), true),
            store,
        }
    }

    /// An authorizer over a volume another process serves (the compute sidecar reading `lagoa
    /// serve`'s store): bucket rules are read for every decision, never cached, because they
    /// change in the other process.
    pub fn reading(identities: Identities, store: Store) -> Self {
        Self {
            identities: Arc::new(identities),
            rules: BucketRulesCache::new(store.clone(), false),
            store,
        }
    }

    /// Whether `caller` may take `action` on `bucket` (`key`) for a request that is not itself
    /// an S3 operation but reaches S3 resources — a SQL query's listings, reads and writes:
    /// the decision an S3 request with the caller's headers and address would get; `prefix` is
    /// what `s3:prefix` sees for a listing. Rules that cannot be read refuse.
    pub async fn allows_on_behalf(
        &self,
        caller: &OnBehalf,
        action: &str,
        bucket: &str,
        key: Option<&str>,
        prefix: Option<&str>,
    ) -> bool {
        let who = self.who(Some(&caller.access_key));
        // Conditions read the query string (`s3:prefix`); the key is passed on its own.
        let path = match prefix {
            Some(prefix) => format!(
                "/{bucket}?prefix={}",
                form_urlencoded::byte_serialize(prefix.as_bytes()).collect::<String>()
            ),
            None => format!("/{bucket}"),
        };
        let Ok(uri) = path.parse::<http::Uri>() else {
            return false;
        };
        let facts = Facts {
            headers: &caller.headers,
            uri: &uri,
            peer: caller.peer,
            secure: caller.secure,
        };
        match self.allows(&who, action, bucket, key, &facts).await {
            Ok(allowed) => allowed,
            Err(err) => {
                tracing::warn!(bucket, %err, "cannot read a bucket's access rules; refusing");
                false
            }
        }
    }

    /// The cache of bucket rules, for the handlers that change them.
    pub(crate) fn rules(&self) -> &BucketRulesCache {
        &self.rules
    }

    /// Who signed (or did not sign) a request.
    pub(crate) fn who(&self, access_key: Option<&str>) -> Who {
        match access_key {
            None => Who::Anonymous,
            Some(k) if self.identities.is_root(k) => Who::Root(k.to_owned()),
            Some(k) => Who::User(k.to_owned()),
        }
    }

    fn caller<'a>(who: &'a Who, identities: &'a Directory) -> Caller<'a> {
        match who {
            Who::Anonymous => Caller::Anonymous,
            Who::Root(_) => Caller::Root,
            Who::User(key) => Caller::User {
                access_key: key,
                policies: identities.policies_of(key),
            },
        }
    }

    /// Whether `who` may take `action` on `bucket` (and `key`). A bucket that does not exist
    /// is allowed through: the operation then answers `NoSuchBucket`, as S3 does for everyone.
    pub(crate) async fn allows(
        &self,
        who: &Who,
        action: &str,
        bucket: &str,
        key: Option<&str>,
        facts: &Facts<'_>,
    ) -> S3Result<bool> {
        self.allows_version(who, action, bucket, key, version_of(facts.uri).as_deref(), facts)
            .await
    }

    /// [`Authorizer::allows`] for a named version of `key` (a copy's source names its own).
    async fn allows_version(
        &self,
        who: &Who,
        action: &str,
        bucket: &str,
        key: Option<&str>,
        version: Option<&str>,
        facts: &Facts<'_>,
    ) -> S3Result<bool> {
        if matches!(who, Who::Root(_)) {
            return Ok(true);
        }
        let Some(access) = self.rules.get(bucket).await? else {
            return Ok(true);
        };
        let owner = who.access_key() == Some(access.owner.as_str());
        if access.sealed {
            return Ok(owner && action.ends_with("BucketPolicy"));
        }
        let identities = self.identities.current();
        let mut ctx = RequestContext::new(principal(who), facts);
        let reads_tags = self.reads_object_tags(&access, Self::caller(who, &identities));
        let reads_acl = access.acl.is_some()
            && matches!(
                lagoa_access::acl::permission_for(action),
                Some((lagoa_access::acl::AclOf::Object, _))
            );
        let mut object_acl = None;
        if let Some(key) = key
            && (reads_tags || reads_acl)
        {
            // The version asked for; a missing object has no tags (conditions on them see no
            // value) and no ACL (the operation answers 404 to whoever may know that).
            let meta = self.store.object_version(bucket, key, version).await.ok();
            if let Some(meta) = meta {
                object_acl =
                    reads_acl.then(|| rules::stored_acl(meta.attributes.acl.as_deref().map(str::as_bytes), &access.owner));
                ctx.object_tags = Some(meta.attributes.tags);
            }
        }
        let resource = lagoa_access::resource_arn(bucket, key);
        Ok(self.decide(who, action, &resource, &ctx, Some(&access.rules(object_acl.as_ref()))))
    }

    /// Whether an identity policy of `who` explicitly denies `action` on the service.
    fn explicitly_denied(&self, who: &Who, action: &str, facts: &Facts<'_>) -> bool {
        let Who::User(key) = who else { return false };
        let identities = self.identities.current();
        let Some(policies) = identities.policies_of(key) else {
            return false;
        };
        let context = RequestContext::new(principal(who), facts);
        let request = Request {
            requester: requester(who),
            action,
            // Matched by statements naming `*` or `arn:aws:s3:::*` alike.
            resource: "arn:aws:s3:::*",
            context: &context,
        };
        policies.iter().any(|p| p.evaluate(&request) == lagoa_access::Outcome::Denied)
    }

    /// Whether `who` may take an action outside any existing bucket (CreateBucket).
    fn allows_without_bucket(&self, who: &Who, action: &str, resource: &str, facts: &Facts<'_>) -> bool {
        let ctx = RequestContext::new(principal(who), facts);
        self.decide(who, action, resource, &ctx, None)
    }

    fn decide(
        &self,
        who: &Who,
        action: &str,
        resource: &str,
        context: &RequestContext<'_>,
        bucket: Option<&lagoa_access::BucketRules<'_>>,
    ) -> bool {
        let request = Request {
            requester: requester(who),
            action,
            resource,
            context,
        };
        let identities = self.identities.current();
        lagoa_access::decide(&request, Self::caller(who, &identities), bucket) == Decision::Allowed
    }

    /// `allows`, as an S3 answer.
    pub(crate) async fn require(
        &self,
        who: &Who,
        action: &str,
        bucket: &str,
        key: Option<&str>,
        facts: &Facts<'_>,
    ) -> S3Result<()> {
        if self.allows(who, action, bucket, key, facts).await? {
            Ok(())
        } else {
            Err(access_denied())
        }
    }

    fn reads_object_tags(&self, access: &rules::BucketAccess, caller: Caller<'_>) -> bool {
        access.policy.as_ref().is_some_and(|p| p.reads_object_tags())
            || matches!(caller, Caller::User { policies: Some(policies), .. } if policies.iter().any(|p| p.reads_object_tags()))
    }

    /// The gate's decision for one request (see the module docs).
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let who = self.who(cx.credentials().map(|c| c.access_key.as_str()));
        let (peer, secure) = {
            let extensions = cx.extensions_mut();
            let forwarded = extensions.get::<Forwarded>().copied();
            let peer = forwarded
                .and_then(|f| f.client)
                .or_else(|| extensions.get::<PeerAddr>().map(|p| p.0.ip()));
            (peer, forwarded.is_some_and(|f| f.secure))
        };
        cx.extensions_mut().insert(who.clone());
        if matches!(who, Who::Root(_)) {
            return Ok(());
        }
        let facts = Facts {
            headers: cx.headers(),
            uri: cx.uri(),
            peer,
            secure,
        };
        let operation = cx.s3_op().name();
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.as_ref()), None),
            S3Path::Object { bucket, key } => (Some(bucket.as_ref()), Some(key.as_ref())),
        };
        let Some(op) = operations::action_of(operation) else {
            // Not an operation Lagoa answers (501): only a bucket's owner gets that far.
            return match (bucket, &who) {
                (Some(bucket), Who::User(k)) => match self.rules.get(bucket).await? {
                    Some(access) if access.owner == *k => Ok(()),
                    None => Ok(()),
                    Some(_) => Err(access_denied()),
                },
                _ => Err(access_denied()),
            };
        };
        let action = if version_of(facts.uri).is_some() {
            op.versioned
        } else {
            op.action
        };
        match (op.target, bucket) {
            // ListBuckets lists what the caller may see (MinIO's rule: no s3:ListAllMyBuckets
            // grant needed); anonymous callers see nothing, and an identity policy that
            // explicitly denies the action refuses the call, as on AWS.
            (Target::Service, _) => match who {
                Who::Anonymous => Err(access_denied()),
                _ if self.explicitly_denied(&who, action, &facts) => Err(access_denied()),
                _ => Ok(()),
            },
            (_, Some(bucket)) if operation == "CreateBucket" => {
                let resource = lagoa_access::resource_arn(bucket, None);
                // An ACL or an ownership mode set at creation needs their own permissions too.
                let mut actions = vec![action];
                if sets_acl(facts.headers) {
                    actions.push("s3:PutBucketAcl");
                }
                if facts.headers.contains_key("x-amz-object-ownership") {
                    actions.push("s3:PutBucketOwnershipControls");
                }
                // Those are decided as on the new bucket, which the caller will own (a user
                // without policies sets up their own bucket as they like).
                let future = lagoa_access::BucketRules {
                    owner: who.access_key().unwrap_or_default(),
                    policy: None,
                    block: lagoa_access::PublicAccessBlock::default(),
                    acl: None,
                    object_acl: None,
                };
                let ctx = RequestContext::new(principal(&who), &facts);
                let allowed = self.allows_without_bucket(&who, action, &resource, &facts)
                    && actions[1..]
                        .iter()
                        .all(|a| who.access_key().is_some() && self.decide(&who, a, &resource, &ctx, Some(&future)));
                if allowed { Ok(()) } else { Err(access_denied()) }
            }
            (Target::EachKey, _) => Ok(()),
            (_, Some(_)) if operation == "PostObject" => {
                cx.extensions_mut().insert(PostObjectPending);
                Ok(())
            }
            (_, Some(bucket)) => {
                let key = if op.target == Target::Object { key } else { None };
                self.require(&who, action, bucket, key, &facts).await?;
                if op.target == Target::Object {
                    let versioned = version_of(facts.uri).is_some();
                    for implied in implied_actions(operation, facts.headers, versioned) {
                        self.require(&who, implied, bucket, key, &facts).await?;
                    }
                }
                Ok(())
            }
            (_, None) => Err(access_denied()),
        }
    }

    /// The source of a copy: the caller must be able to read it.
    async fn check_copy_source<T>(&self, req: &S3Request<T>, source: &s3s::dto::CopySource) -> S3Result<()> {
        let Some(who) = req.extensions.get::<Who>() else {
            return Err(access_denied());
        };
        let s3s::dto::CopySource::Bucket { bucket, key, version_id } = source else {
            return Err(access_denied());
        };
        let action = if version_id.is_some() {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        };
        let version = version_id.as_deref().filter(|v| !v.is_empty());
        let facts = Facts::of(req);
        if self.allows_version(who, action, bucket, Some(key), version, &facts).await? {
            Ok(())
        } else {
            Err(access_denied())
        }
    }
}

/// The non-empty `versionId` of a request, decoded as s3s decodes it (a name spelled with
/// percent escapes still names the version, so it must not slip past the version actions).
fn version_of(uri: &http::Uri) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "versionId")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Whether a write's ACL headers grant anyone beyond the owner and the bucket owner: such a
/// write also needs `s3:PutObjectAcl` (`s3:PutBucketAcl` for CreateBucket), as on AWS. The
/// harmless `private` and `bucket-owner-full-control` (what Spark's s3a and many tools send
/// on every write) need only the write itself.
pub(crate) fn sets_acl(headers: &http::HeaderMap) -> bool {
    let canned = headers
        .get("x-amz-acl")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|acl| !matches!(acl.trim(), "private" | "bucket-owner-full-control"));
    canned
        || [
            "x-amz-grant-read",
            "x-amz-grant-write",
            "x-amz-grant-read-acp",
            "x-amz-grant-write-acp",
            "x-amz-grant-full-control",
        ]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// Permissions S3 requires beyond the operation's own when a write carries these headers:
/// a lock (`s3:PutObjectRetention`), a legal hold (`s3:PutObjectLegalHold`), tags
/// (`s3:PutObjectTagging`), and bypassing governance retention.
fn implied_actions(operation: &str, headers: &http::HeaderMap, versioned: bool) -> Vec<&'static str> {
    let has = |name: &str| headers.contains_key(name);
    let mut actions = Vec::new();
    // AWS: GetObjectAttributes needs read access as well as its own permission (it reveals the
    // ETag and the content's checksums).
    if operation == "GetObjectAttributes" {
        actions.push(if versioned { "s3:GetObjectVersion" } else { "s3:GetObject" });
    }
    if matches!(operation, "PutObject" | "CopyObject" | "CreateMultipartUpload") {
        if has("x-amz-object-lock-mode") || has("x-amz-object-lock-retain-until-date") {
            actions.push("s3:PutObjectRetention");
        }
        if has("x-amz-object-lock-legal-hold") {
            actions.push("s3:PutObjectLegalHold");
        }
        if has("x-amz-tagging") {
            actions.push("s3:PutObjectTagging");
        }
        if sets_acl(headers) {
            actions.push("s3:PutObjectAcl");
        }
    }
    let bypass = headers
        .get("x-amz-bypass-governance-retention")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if bypass {
        actions.push("s3:BypassGovernanceRetention");
    }
    actions
}

/// Whether `access_key` may take an admin API action (`admin:CreateUser`, …): root always, a
/// user when an attached identity policy allows it (MinIO's `consoleAdmin` grants `admin:*`).
/// Admin actions concern no bucket, so only identity policies (and their conditions) apply.
pub(crate) fn allows_admin(identities: &Directory, access_key: &str, action: &str, facts: &Facts<'_>) -> bool {
    let who = if identities.is_root(access_key) {
        Who::Root(access_key.to_owned())
    } else {
        Who::User(access_key.to_owned())
    };
    let context = RequestContext::new(principal(&who), facts);
    let request = Request {
        requester: requester(&who),
        action,
        resource: "arn:aws:s3:::*",
        context: &context,
    };
    lagoa_access::decide(&request, Authorizer::caller(&who, identities), None) == Decision::Allowed
}

fn principal(who: &Who) -> Principal<'_> {
    match who {
        Who::Anonymous => Principal::Anonymous,
        Who::Root(k) => Principal::Root(k),
        Who::User(k) => Principal::User(k),
    }
}

fn requester(who: &Who) -> Requester<'_> {
    match who.access_key() {
        None => Requester::Anonymous,
        Some(k) => Requester::User(k),
    }
}

/// The s3s hook: see the module docs.
pub struct AccessGate(pub Arc<Authorizer>);

#[async_trait::async_trait]
impl S3Access for AccessGate {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        self.0.check(cx).await
    }

    async fn put_object(&self, req: &mut S3Request<s3s::dto::PutObjectInput>) -> S3Result<()> {
        if req.extensions.remove::<PostObjectPending>().is_some() {
            let who = req.extensions.get::<Who>().cloned().unwrap_or(Who::Anonymous);
            let facts = Facts::of(req);
            self.0
                .require(&who, "s3:PutObject", &req.input.bucket, Some(&req.input.key), &facts)
                .await?;
            // A form's `acl` field that shares the object needs s3:PutObjectAcl, as the header.
            let shares = req
                .input
                .acl
                .as_ref()
                .is_some_and(|acl| !matches!(acl.as_str(), "private" | "bucket-owner-full-control"));
            if shares {
                self.0
                    .require(&who, "s3:PutObjectAcl", &req.input.bucket, Some(&req.input.key), &facts)
                    .await?;
            }
        }
        Ok(())
    }

    async fn copy_object(&self, req: &mut S3Request<s3s::dto::CopyObjectInput>) -> S3Result<()> {
        self.0.check_copy_source(req, &req.input.copy_source).await
    }

    async fn upload_part_copy(&self, req: &mut S3Request<s3s::dto::UploadPartCopyInput>) -> S3Result<()> {
        self.0.check_copy_source(req, &req.input.copy_source).await
    }
}

#[cfg(test)]
mod forwarded_tests {
    use super::Forwarded;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_trusted_peers_name_the_client_right_most_untrusted_first() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 2.2.2.2, 10.0.0.5"),
            ("x-forwarded-proto", "https"),
        ]);
        let f = Forwarded::of("10.0.0.1".parse().unwrap(), &h, &trusted).unwrap();
        assert_eq!(f.client, Some("2.2.2.2".parse().unwrap()));
        assert!(f.secure);
        assert!(
            Forwarded::of("9.9.9.9".parse().unwrap(), &h, &trusted).is_none(),
            "untrusted peer"
        );
        let only_proxies = headers(&[("x-forwarded-for", "10.0.0.7"), ("x-forwarded-proto", "http")]);
        let f = Forwarded::of("::ffff:10.0.0.1".parse().unwrap(), &only_proxies, &trusted).unwrap();
        assert_eq!(f.client, Some("10.0.0.7".parse().unwrap()));
        assert!(!f.secure);
        let none = Forwarded::of(
            "10.0.0.1".parse().unwrap(),
            &headers(&[("x-forwarded-for", "junk")]),
            &trusted,
        )
        .unwrap();
        assert_eq!(none.client, None, "the TCP peer is used then");
    }
}
