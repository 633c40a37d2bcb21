//! Small aws-sdk-s3 helpers shared by the integration tests and the SDK suite of the matrix.
//! Errors come back as text with the S3 code, so callers can either fail a matrix cell or panic.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::CompletedPart;

/// GETs `bucket/key` and reads the whole body.
pub async fn get_bytes(c: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("GET {key}: {:?} {:?}", e.code(), e.message()))?;
    Ok(out
        .body
        .collect()
        .await
        .map_err(|e| format!("GET {key} body: {e}"))?
        .into_bytes()
        .to_vec())
}

/// Uploads `parts` as parts 1..=n of upload `id`, returning them ready for CompleteMultipartUpload.
pub async fn upload_parts(
    c: &Client,
    bucket: &str,
    key: &str,
    id: &str,
    parts: &[Vec<u8>],
) -> Result<Vec<CompletedPart>, String> {
    let mut done = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(p.clone().into())
            .send()
            .await
            .map_err(|e| format!("UploadPart {n}: {:?} {:?}", e.code(), e.message()))?;
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
    }
    Ok(done)
}
