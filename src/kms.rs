//! The master keys for SSE-S3 and SSE-KMS, from the environment or a key file: the same
//! `name:base64` form as MinIO's `MINIO_KMS_SECRET_KEY`, so a MinIO deployment's key carries over.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use lagoa_store::sealing::Keyring;

/// Where `lagoa serve` and `lagoa compute` find their master keys (both need the same ones: the
/// sidecar opens SSE-S3 objects for queries).
#[derive(Args, Clone, Default)]
pub struct KmsArgs {
    /// Master key for SSE-S3/SSE-KMS: `name:base64` (as MINIO_KMS_SECRET_KEY) or a bare base64
    /// 32-byte key. Without any key, encryption requests answer 501.
    #[arg(long, env = "LAGOA_KMS_SECRET_KEY", hide_env_values = true)]
    kms_secret_key: Option<String>,
    /// File of master keys, one `name:base64` per line (the first is the SSE-S3 default unless
    /// --kms-secret-key is also given).
    #[arg(long, env = "LAGOA_KMS_KEY_FILE")]
    kms_key_file: Option<PathBuf>,
}

impl KmsArgs {
    /// The configured keys (empty when none is).
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let mut text = self.kms_secret_key.clone().unwrap_or_default();
        if let Some(path) = &self.kms_key_file {
            let file = std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()))?;
            text.push('\n');
            text.push_str(&file);
        }
        Keyring::parse(&text).map_err(|e| anyhow::anyhow!("invalid master key configuration: {e}"))
    }
}
