//! SelectObjectContent: s3-api authenticates and authorises the request (the caller may read
//! the bucket, the object exists) and hands it to the [`SelectPort`] the binary plugs in —
//! compute in this process or a sidecar. s3-api itself never runs SQL.

use std::sync::Arc;

use s3s::dto::SelectObjectContentEventStream;
use s3s::dto::{SelectObjectContentInput, SelectObjectContentOutput, SelectObjectContentRequest};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::Lagoa;

/// An authorised Select: who asks, and for what.
pub struct SelectCall {
    /// The caller's access key.
    pub access_key: String,
    /// The caller's secret key: a sidecar is called with the caller's own signature.
    pub secret_key: String,
    /// The caller as policy conditions see it, for the reads the query makes.
    pub caller: crate::access::OnBehalf,
    /// The server's policy evaluator (the query's reads are decided like S3 requests).
    pub authorizer: Arc<crate::access::Authorizer>,
    /// The object's bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The SSE-C key the request proved for the object, if it is SSE-C encrypted.
    pub customer_key: Option<lagoa_store::sealing::Key>,
    /// The request as the client sent it.
    pub request: SelectObjectContentRequest,
}

/// Runs Selects. Errors returned here are answered as ordinary S3 XML errors; once a stream
/// is returned, failures travel inside it.
#[async_trait::async_trait]
pub trait SelectPort: Send + Sync + 'static {
    /// Plans and starts `call`.
    async fn select(&self, call: SelectCall) -> S3Result<SelectObjectContentEventStream>;
}

/// The port of a server without compute: S3 Select is not implemented.
pub(crate) struct NoSelect;

#[async_trait::async_trait]
impl SelectPort for NoSelect {
    async fn select(&self, _call: SelectCall) -> S3Result<SelectObjectContentEventStream> {
        Err(s3_error!(
            NotImplemented,
            "S3 Select needs compute: this server runs with --no-compute and no --compute-url"
        ))
    }
}

impl Lagoa {
    /// Answers SelectObjectContent through `port`.
    pub fn with_select(mut self, port: Arc<dyn SelectPort>) -> Self {
        self.select = port;
        self
    }

    pub(crate) async fn do_select_object_content(
        &self,
        req: S3Request<SelectObjectContentInput>,
    ) -> S3Result<S3Response<SelectObjectContentOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let credentials = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed"))?;
        let input = req.input;
        let meta = self.store.object(&input.bucket, &input.key).await.s3()?;
        // SSE-C: S3's answers for a missing or wrong key; the right one opens the object for
        // this query only.
        let customer_key = crate::encryption::read_key(meta.encryption.as_ref(), crate::encryption::customer_fields_of!(input))?;
        let call = SelectCall {
            access_key: credentials.access_key.clone(),
            secret_key: credentials.secret_key.expose().to_owned(),
            caller: crate::access::OnBehalf::of(&credentials.access_key, &req.headers, &req.extensions),
            authorizer: self.access.clone(),
            bucket: input.bucket,
            key: input.key,
            customer_key,
            request: input.request,
        };
        let stream = self.select.select(call).await?;
        Ok(S3Response::new(SelectObjectContentOutput { payload: Some(stream) }))
    }
}
