//! The policy decisions of a query: compute asks, per listing, object read and write, what
//! the S3 layer's evaluator would answer the caller's S3 request for the same thing.

use std::sync::Arc;

use lagoa_compute::ObjectAccess;
use lagoa_s3_api::{Authorizer, OnBehalf};

/// See the module docs.
pub struct PolicyAccess {
    pub authorizer: Arc<Authorizer>,
    pub caller: OnBehalf,
}

#[async_trait::async_trait]
impl ObjectAccess for PolicyAccess {
    async fn allows(&self, action: &'static str, bucket: &str, key: Option<&str>, prefix: Option<&str>) -> bool {
        self.authorizer
            .allows_on_behalf(&self.caller, action, bucket, key, prefix)
            .await
    }
}
