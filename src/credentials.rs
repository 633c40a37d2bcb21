//! Who may call Lagoa: the root user from the environment (Lagoa's or MinIO's variables) plus
//! the `--users` file. `serve`, `compute` and `sql` read them the same way, so one Kubernetes
//! Secret configures every container and the CLI.

use std::path::Path;

use anyhow::Context;
use lagoa_s3_api::{DEFAULT_ROOT, Identities};

/// Root credentials: LAGOA_ROOT_*, then MINIO_ROOT_*, then MinIO's default (with a warning when
/// `warn` — servers warn, the CLI does not).
pub fn root_credentials(warn: bool) -> (String, String) {
    let pick = |a: &str, b: &str| {
        std::env::var(a)
            .ok()
            .or_else(|| std::env::var(b).ok())
            .filter(|v| !v.is_empty())
    };
    match (
        pick("LAGOA_ROOT_USER", "MINIO_ROOT_USER"),
        pick("LAGOA_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"),
    ) {
        (Some(user), Some(password)) => (user, password),
        _ => {
            if warn {
                tracing::warn!(
                    "no root credentials configured: using the default {}/{} — set LAGOA_ROOT_USER and LAGOA_ROOT_PASSWORD before exposing this server",
                    DEFAULT_ROOT.0,
                    DEFAULT_ROOT.1
                );
            }
            (DEFAULT_ROOT.0.to_owned(), DEFAULT_ROOT.1.to_owned())
        }
    }
}

/// Credentials of a client command (`lagoa sql`, `olist load`, `geocode`): `LAGOA_ACCESS_KEY` /
/// `LAGOA_SECRET_KEY`, then the AWS SDKs' `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, then
/// the root user's.
pub fn client_credentials() -> (String, String) {
    for (key, secret) in [
        ("LAGOA_ACCESS_KEY", "LAGOA_SECRET_KEY"),
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    ] {
        if let (Ok(key), Ok(secret)) = (std::env::var(key), std::env::var(secret))
            && !key.is_empty()
        {
            return (key, secret);
        }
    }
    root_credentials(false)
}

/// The root user plus the users of `users_file`, for a server.
pub fn identities(users_file: Option<&Path>) -> anyhow::Result<Identities> {
    let (user, password) = root_credentials(true);
    Identities::load(&user, &password, users_file).context("loading identities")
}
