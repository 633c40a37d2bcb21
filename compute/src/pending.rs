//! A request's writes take effect together, when the request has succeeded: each object a
//! statement writes is staged (a durable body in the store, or an S3 multipart upload on the
//! server beside the sidecar whose completion is held back) and committed only after the last
//! statement's result has streamed out without error. A failed, cancelled or abandoned request
//! commits nothing; its staged bodies are removed and its uploads aborted. So a job of several
//! `COPY` statements (`lagoa geocode`) never leaves half its outputs in the bucket, and later
//! statements of a request read the lake as it was when the request began.

use std::sync::Mutex;

use datafusion::object_store::{self, MultipartUpload, PutPayload, PutResult, UploadPart};
use lagoa_store::{NewObject, StagedBody, Store};

/// One staged object.
enum Staged {
    /// A body on the volume, to be recorded by the store.
    Store {
        store: Store,
        bucket: String,
        key: String,
        owner: String,
        body: StagedBody<()>,
        sealed: Option<Box<Sealed>>,
    },
    /// An upload on the S3 server, to be completed.
    Remote {
        bucket: String,
        key: String,
        upload: Box<dyn MultipartUpload>,
    },
}

/// What a sealed body's record needs besides its bytes: its data key, sealed, and the ETag of
/// its plaintext (the stored bytes' MD5 is not the object's).
pub(crate) struct Sealed {
    pub encryption: lagoa_store::sealing::Encryption,
    pub etag: String,
}

/// The staged writes of one request, in the order they were made.
#[derive(Default)]
pub struct PendingWrites {
    staged: Mutex<Vec<Staged>>,
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "lagoa",
        source: message.into(),
    }
}

impl PendingWrites {
    /// Holds `body` for `bucket/key` until [`commit`](Self::commit); returns its ETag.
    pub(crate) fn stage_body(
        &self,
        store: Store,
        bucket: &str,
        key: &str,
        owner: &str,
        body: StagedBody<()>,
        sealed: Option<Sealed>,
    ) -> String {
        let etag = sealed.as_ref().map_or_else(|| body.md5_hex(), |s| s.etag.clone());
        self.push(Staged::Store {
            store,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            owner: owner.to_owned(),
            body,
            sealed: sealed.map(Box::new),
        });
        etag
    }

    /// Holds a remote upload whose parts are all sent until [`commit`](Self::commit).
    pub(crate) fn stage_upload(&self, bucket: &str, key: &str, upload: Box<dyn MultipartUpload>) {
        self.push(Staged::Remote {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload,
        });
    }

    fn push(&self, staged: Staged) {
        self.staged.lock().unwrap_or_else(|p| p.into_inner()).push(staged);
    }

    fn take(&self) -> Vec<Staged> {
        std::mem::take(&mut *self.staged.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Commits every staged write, in order; returns the (bucket, key)s committed. On an error
    /// the writes not yet committed are dropped (bodies removed, uploads aborted).
    pub(crate) async fn commit(&self) -> object_store::Result<Vec<(String, String)>> {
        let mut done = Vec::new();
        let mut staged = self.take().into_iter();
        while let Some(write) = staged.next() {
            let result = match write {
                Staged::Store {
                    store,
                    bucket,
                    key,
                    owner,
                    body,
                    sealed,
                } => {
                    let (encryption, etag) = sealed.map_or((None, None), |s| (Some(s.encryption), Some(s.etag)));
                    let attributes = match writer_owned_acl(&store, &bucket, &owner).await {
                        Ok(acl) => lagoa_store::ObjectAttributes {
                            acl,
                            ..Default::default()
                        },
                        Err(e) => {
                            abandon(staged.collect());
                            return Err(generic(format!("committing s3://{bucket}/{key}: {e}")));
                        }
                    };
                    let new = NewObject {
                        owner,
                        attributes,
                        encryption,
                        etag,
                        ..NewObject::default()
                    };
                    match store.put_object(&bucket, &key, body, new).await {
                        Ok(_) => Ok((bucket, key)),
                        Err(e) => Err(generic(format!("committing s3://{bucket}/{key}: {e}"))),
                    }
                }
                Staged::Remote { bucket, key, mut upload } => match upload.complete().await {
                    Ok(_) => Ok((bucket, key)),
                    Err(e) => Err(generic(format!("committing s3://{bucket}/{key}: {e}"))),
                },
            };
            match result {
                Ok(id) => done.push(id),
                Err(e) => {
                    abandon(staged.collect());
                    return Err(e);
                }
            }
        }
        Ok(done)
    }
}

/// The ACL a query's new object gets: in a bucket whose ownership mode enables ACLs the writer
/// owns what it writes (as through S3), elsewhere the bucket owner does (no ACL stored).
async fn writer_owned_acl(store: &Store, bucket: &str, writer: &str) -> lagoa_store::StoreResult<Option<String>> {
    use lagoa_access::acl::{Acl, OWNERSHIP_DOC, Ownership};
    let mode = Ownership::of_doc(store.bucket_config(bucket, OWNERSHIP_DOC).await?.as_deref());
    Ok(mode.acls_enabled().then(|| Acl::private(writer).to_json()))
}

/// Drops staged writes: bodies remove their files when dropped; uploads are aborted in the
/// background (the server's stale-upload sweep catches any that cannot be).
fn abandon(staged: Vec<Staged>) {
    let uploads: Vec<Box<dyn MultipartUpload>> = staged
        .into_iter()
        .filter_map(|s| match s {
            Staged::Remote { upload, .. } => Some(upload),
            Staged::Store { .. } => None,
        })
        .collect();
    if uploads.is_empty() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            for mut upload in uploads {
                if let Err(err) = upload.abort().await {
                    tracing::debug!(%err, "aborting an uncommitted upload");
                }
            }
        });
    }
}

impl Drop for PendingWrites {
    fn drop(&mut self) {
        abandon(self.take());
    }
}

/// A remote multipart upload whose completion waits for the request to succeed.
pub(crate) struct DeferredUpload {
    inner: Option<Box<dyn MultipartUpload>>,
    bucket: String,
    key: String,
    files: std::sync::Arc<crate::near_data::QueryFiles>,
}

impl std::fmt::Debug for DeferredUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeferredUpload(s3://{}/{})", self.bucket, self.key)
    }
}

impl DeferredUpload {
    pub(crate) fn new(
        inner: Box<dyn MultipartUpload>,
        bucket: String,
        key: String,
        files: std::sync::Arc<crate::near_data::QueryFiles>,
    ) -> Self {
        Self {
            inner: Some(inner),
            bucket,
            key,
            files,
        }
    }
}

#[async_trait::async_trait]
impl MultipartUpload for DeferredUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        match self.inner.as_mut() {
            Some(inner) => inner.put_part(data),
            None => Box::pin(async { Err(generic("the upload is already complete".into())) }),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| generic("the upload is already complete".into()))?;
        self.files.pending().stage_upload(&self.bucket, &self.key, inner);
        Ok(PutResult {
            e_tag: None,
            version: None,
        })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        match self.inner.take() {
            Some(mut inner) => inner.abort().await,
            None => Ok(()),
        }
    }
}
