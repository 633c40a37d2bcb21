//! What decides access to each bucket — owner, bucket policy, public-access block — kept in
//! memory, compiled, so that a request pays a hash lookup instead of a database read and a
//! JSON parse. Every change goes through this process, which drops the bucket's entry after
//! writing; a load that raced with a change is not kept (see [`BucketRulesCache::get`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use lagoa_access::{Acl, Policy, PolicyKind, PublicAccessBlock};
use lagoa_store::Store;
use s3s::S3Result;

use crate::errors::StoreResultExt;

/// Names of the access documents in the store's bucket configurations.
pub(crate) const POLICY_DOC: &str = "policy";
pub(crate) const PUBLIC_ACCESS_BLOCK_DOC: &str = "public-access-block";
pub(crate) use lagoa_access::acl::{ACL_DOC, NO_CONTROLS, OWNERSHIP_DOC, Ownership};

/// A bucket's access rules.
#[derive(Debug)]
pub(crate) struct BucketAccess {
    pub owner: String,
    pub policy: Option<Arc<Policy>>,
    pub block: PublicAccessBlock,
    /// Whether the stored public-access block exists (GetPublicAccessBlock's 404 otherwise).
    pub block_set: bool,
    /// The stored policy no longer parses (a newer server's stricter validation): only the
    /// owner and root get in until it is replaced — never silently open or closed.
    pub sealed: bool,
    pub ownership: Ownership,
    /// The bucket's ACL, when its ownership mode enables ACLs.
    pub acl: Option<Acl>,
}

impl BucketAccess {
    /// The view `lagoa_access::decide` takes, for a request on an object with `object_acl`.
    pub(crate) fn rules<'a>(&'a self, object_acl: Option<&'a Acl>) -> lagoa_access::BucketRules<'a> {
        lagoa_access::BucketRules {
            owner: &self.owner,
            policy: self.policy.as_deref(),
            block: self.block,
            acl: self.acl.as_ref(),
            object_acl,
        }
    }
}

/// See the module docs.
pub(crate) struct BucketRulesCache {
    store: Store,
    /// Off where the rules change in another process (the sidecar): every get loads.
    cached: bool,
    entries: RwLock<HashMap<String, Arc<BucketAccess>>>,
    /// Bumped by every change: a load that started before a change is not cached.
    generation: AtomicU64,
}

impl BucketRulesCache {
    pub(crate) fn new(store: Store, cached: bool) -> Self {
        Self {
            store,
            cached,
            entries: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The rules of `bucket`, `None` if it does not exist.
    pub(crate) async fn get(&self, bucket: &str) -> S3Result<Option<Arc<BucketAccess>>> {
        if !self.cached {
            return Ok(self.load(bucket).await?.map(Arc::new));
        }
        if let Some(found) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(bucket) {
            return Ok(Some(found.clone()));
        }
        let started = self.generation.load(Ordering::Acquire);
        let Some(access) = self.load(bucket).await? else {
            return Ok(None);
        };
        let access = Arc::new(access);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == started {
            entries.insert(bucket.to_owned(), access.clone());
        }
        Ok(Some(access))
    }

    /// Forgets `bucket`'s rules after a change to them (or to the bucket's existence).
    pub(crate) fn changed(&self, bucket: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(bucket);
    }

    async fn load(&self, bucket: &str) -> S3Result<Option<BucketAccess>> {
        let Some((meta, docs)) = self
            .store
            .bucket_with_configs(bucket, &[POLICY_DOC, PUBLIC_ACCESS_BLOCK_DOC, ACL_DOC, OWNERSHIP_DOC])
            .await
            .s3()?
        else {
            return Ok(None);
        };
        let [policy, block, acl, ownership]: [Option<Vec<u8>>; 4] = docs
            .try_into()
            .map_err(|_| s3s::s3_error!(InternalError, "the store returned the wrong number of documents"))?;
        let (policy, sealed) = match policy {
            None => (None, false),
            Some(raw) => match Policy::parse(&String::from_utf8_lossy(&raw), PolicyKind::Bucket(bucket)) {
                Ok(parsed) => (Some(Arc::new(parsed)), false),
                Err(e) => {
                    tracing::error!(bucket, err = %e, "the stored bucket policy does not parse: only the owner and root may use the bucket until it is replaced");
                    (None, true)
                }
            },
        };
        let (block, block_set) = match block {
            None => (PublicAccessBlock::default(), false),
            Some(raw) => (decode_block(&raw), true),
        };
        let ownership = Ownership::of_doc(ownership.as_deref());
        let acl = ownership.acls_enabled().then(|| stored_acl(acl.as_deref(), &meta.owner));
        Ok(Some(BucketAccess {
            owner: meta.owner,
            policy,
            block,
            block_set,
            sealed,
            ownership,
            acl,
        }))
    }
}

/// The stored form of a public-access block: four flags, one byte each.
pub(crate) fn encode_block(block: &PublicAccessBlock) -> Vec<u8> {
    vec![
        u8::from(block.block_public_acls),
        u8::from(block.ignore_public_acls),
        u8::from(block.block_public_policy),
        u8::from(block.restrict_public_buckets),
    ]
}

fn decode_block(raw: &[u8]) -> PublicAccessBlock {
    let flag = |i: usize| raw.get(i).is_some_and(|b| *b != 0);
    PublicAccessBlock {
        block_public_acls: flag(0),
        ignore_public_acls: flag(1),
        block_public_policy: flag(2),
        restrict_public_buckets: flag(3),
    }
}

/// A stored ACL document (bucket or object); absent or unreadable: private to `owner`.
pub(crate) fn stored_acl(doc: Option<&[u8]>, owner: &str) -> Acl {
    doc.and_then(|raw| std::str::from_utf8(raw).ok())
        .and_then(Acl::from_json)
        .unwrap_or_else(|| Acl::private(owner))
}
