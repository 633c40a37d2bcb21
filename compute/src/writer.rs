//! Where a query's writes (`COPY … TO 's3://…'`, `INSERT INTO` an external table) go: into the
//! store as ordinary objects when compute runs inside `lagoa serve`; through the S3 server
//! beside it, as the caller, when compute is the sidecar (which must never write the volume
//! itself). Either way a write is one object committed atomically, like a PUT — readers see the
//! old object or the new one — and only once the whole request has succeeded (`pending`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::object_store::{self, MultipartUpload, PutPayload, PutResult, UploadPart};
use lagoa_store::sealing::{DEFAULT_ENCRYPTION_CONFIG, DefaultEncryption, HashingSealer, NewSealing};
use lagoa_store::{BodyWriter, DeleteRequest, Store};
use tokio::sync::watch;

use crate::near_data::QueryFiles;

/// How a compute engine writes objects.
#[derive(Clone)]
pub enum Writer {
    /// Straight into the store (compute embedded in `lagoa serve`).
    Store(Store),
    /// Through the S3 server at `endpoint` (the sidecar), signed as the caller: the server
    /// authorises and commits the write like any PUT.
    S3 { endpoint: String, region: String },
}

impl Writer {
    /// An object_store client of `bucket` on the S3 server, signed as the caller.
    pub(crate) fn remote(
        &self,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
    ) -> object_store::Result<Option<Arc<dyn object_store::ObjectStore>>> {
        let Writer::S3 { endpoint, region } = self else {
            return Ok(None);
        };
        let client = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region(region)
            .with_bucket_name(bucket)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .build()?;
        Ok(Some(Arc::new(client)))
    }
}

/// One object being written.
pub struct ObjectWriter {
    store: Store,
    body: BodyWriter<()>,
    /// Set when the bucket's default encryption seals new objects.
    sealing: Option<Sealing>,
}

/// How query output is sealed on its way into a bucket with a default encryption, as the S3
/// layer seals a PUT that asked for nothing: a fresh data key per object, packages sealed as
/// they are written, the ETag of the plaintext.
struct Sealing {
    default: DefaultEncryption,
    sealing: NewSealing,
    sealer: HashingSealer,
}

impl Writer {
    /// Starts writing `bucket/key`, sealed when the bucket's default encryption says so.
    pub(crate) async fn begin(&self, bucket: &str, key: &str) -> object_store::Result<ObjectWriter> {
        match self {
            Writer::Store(store) => {
                let default = store
                    .bucket_config(bucket, DEFAULT_ENCRYPTION_CONFIG)
                    .await
                    .map_err(store_failure)?
                    .map(|doc| DefaultEncryption::decode(&doc))
                    .transpose()
                    .map_err(store_failure)?;
                let Some(default) = default else {
                    return Ok(ObjectWriter {
                        store: store.clone(),
                        body: store.body_writer(()),
                        sealing: None,
                    });
                };
                let sealing = default.new_sealing(store.keyring()).map_err(store_failure)?;
                Ok(ObjectWriter {
                    store: store.clone(),
                    body: store.sealed_body_writer(()),
                    sealing: Some(Sealing {
                        sealer: HashingSealer::new(&sealing.data_key),
                        default,
                        sealing,
                    }),
                })
            }
            Writer::S3 { .. } => Err(object_store::Error::Generic {
                store: "lagoa",
                source: format!("writing s3://{bucket}/{key} goes through the S3 server").into(),
            }),
        }
    }

    /// Deletes `bucket/key` as `owner` (missing keys are fine, as in S3; a versioned bucket
    /// gets a delete marker).
    pub(crate) async fn delete(&self, bucket: &str, key: &str, owner: &str) -> object_store::Result<()> {
        match self {
            Writer::Store(store) => store
                .delete_object(
                    bucket,
                    DeleteRequest {
                        key: key.to_owned(),
                        ..DeleteRequest::default()
                    },
                    owner,
                )
                .await
                .map(|_| ())
                .map_err(|e| object_store::Error::Generic {
                    store: "lagoa",
                    source: Box::new(e),
                }),
            Writer::S3 { .. } => Err(object_store::Error::Generic {
                store: "lagoa",
                source: format!("deleting s3://{bucket}/{key} goes through the S3 server").into(),
            }),
        }
    }
}

fn store_failure(e: lagoa_store::StoreError) -> object_store::Error {
    object_store::Error::Generic {
        store: "lagoa",
        source: Box::new(e),
    }
}

impl ObjectWriter {
    /// Appends bytes.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> object_store::Result<()> {
        let chunk = match &mut self.sealing {
            Some(sealing) => sealing.sealer.push(&chunk),
            None => chunk,
        };
        if chunk.is_empty() {
            return Ok(());
        }
        self.body.write(chunk).await.map_err(store_failure)
    }

    /// Stages the object (owned by `owner`) in `pending`, to be committed when the request
    /// succeeds; returns its ETag.
    pub(crate) async fn stage(
        mut self,
        pending: &crate::pending::PendingWrites,
        bucket: &str,
        key: &str,
        owner: &str,
    ) -> object_store::Result<String> {
        let Some(sealing) = self.sealing.take() else {
            let body = self.body.finish().await.map_err(store_failure)?;
            return Ok(pending.stage_body(self.store, bucket, key, owner, body, None));
        };
        let (last, md5) = sealing.sealer.finish();
        self.body.write(last).await.map_err(store_failure)?;
        let body = self.body.finish().await.map_err(store_failure)?;
        let etag = sealing.default.etag(&sealing.sealing.data_key, &md5);
        let sealed = crate::pending::Sealed {
            encryption: sealing.sealing.record,
            etag,
        };
        Ok(pending.stage_body(self.store, bucket, key, owner, body, Some(sealed)))
    }
}

/// object_store's multipart upload over one [`ObjectWriter`]: parts arrive in `put_part` call
/// order (object_store's contract), are queued in that order and written one after another by
/// whichever part future runs; each part's future resolves once its bytes are written, which
/// bounds the queue by the caller's concurrency.
pub(crate) struct SequentialUpload {
    shared: Arc<Shared>,
    /// Parts handed out so far.
    queued: u64,
    bucket: String,
    key: String,
    files: Arc<QueryFiles>,
}

struct Shared {
    state: tokio::sync::Mutex<WriteState>,
    queue: Mutex<VecDeque<PutPayload>>,
    /// Parts written so far.
    written: watch::Sender<u64>,
}

struct WriteState {
    writer: Option<ObjectWriter>,
    failed: Option<String>,
}

impl std::fmt::Debug for SequentialUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SequentialUpload(s3://{}/{})", self.bucket, self.key)
    }
}

impl SequentialUpload {
    pub(crate) fn start(writer: ObjectWriter, bucket: String, key: String, files: Arc<QueryFiles>) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: tokio::sync::Mutex::new(WriteState {
                    writer: Some(writer),
                    failed: None,
                }),
                queue: Mutex::default(),
                written: watch::channel(0).0,
            }),
            queued: 0,
            bucket,
            key,
            files,
        }
    }
}

impl Shared {
    /// Writes every queued part, in order. A part leaves the queue only once it is written (or
    /// the upload has failed), so a part future dropped halfway through a write leaves the
    /// upload failed, never with a part silently missing.
    async fn drain(&self) -> object_store::Result<()> {
        let mut state = self.state.lock().await;
        loop {
            let next = self.queue.lock().unwrap_or_else(|p| p.into_inner()).front().cloned();
            let Some(payload) = next else { break };
            if state.failed.is_none() {
                state.failed = Some("a part's write was cancelled halfway".into());
                let result = match state.writer.as_mut() {
                    Some(writer) => write_payload(writer, payload).await,
                    None => Err(object_store::Error::Generic {
                        store: "lagoa",
                        source: "the upload is already complete".into(),
                    }),
                };
                state.failed = result.err().map(|e| e.to_string());
            }
            self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            self.written.send_modify(|n| *n += 1);
        }
        match &state.failed {
            Some(e) => Err(object_store::Error::Generic {
                store: "lagoa",
                source: e.clone().into(),
            }),
            None => Ok(()),
        }
    }
}

async fn write_payload(writer: &mut ObjectWriter, payload: PutPayload) -> object_store::Result<()> {
    for chunk in payload {
        writer.write(chunk).await?;
    }
    Ok(())
}

#[async_trait]
impl MultipartUpload for SequentialUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(data);
        self.queued += 1;
        let (shared, mine) = (self.shared.clone(), self.queued);
        Box::pin(async move {
            shared.drain().await?;
            let mut written = shared.written.subscribe();
            written
                .wait_for(|n| *n >= mine)
                .await
                .map_err(|_| object_store::Error::Generic {
                    store: "lagoa",
                    source: "the upload was dropped".into(),
                })?;
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.shared.drain().await?;
        let writer = self
            .shared
            .state
            .lock()
            .await
            .writer
            .take()
            .ok_or_else(|| object_store::Error::Generic {
                store: "lagoa",
                source: "the upload is already complete".into(),
            })?;
        let etag = self.files.finish_upload(&self.bucket, &self.key, writer).await?;
        Ok(PutResult {
            e_tag: Some(format!("\"{etag}\"")),
            version: None,
        })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        // The staged body is removed when its writer is dropped; nothing was committed. Parts
        // still queued count as done (failed), so no part future waits forever.
        let mut state = self.shared.state.lock().await;
        state.failed = Some("the upload was aborted".into());
        state.writer.take();
        let cleared = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).drain(..).count() as u64;
        self.shared.written.send_modify(|n| *n += cleared);
        Ok(())
    }
}
