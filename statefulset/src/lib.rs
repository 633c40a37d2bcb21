//! Lagoa on Kubernetes: the manifests of the whole MinIO-on-microk8s setup with Lagoa in MinIO's
//! place — the StatefulSet (S3 server + compute sidecar on one hostPath volume per pod), its
//! Services, Secret and disruption budget, and what Spark needs to use Lagoa as its `s3a`
//! endpoint (RBAC for `spark-submit --deploy-mode cluster`, `spark-defaults.conf`, a
//! spark-operator `SparkApplication`).
//!
//! Everything is built from typed `k8s-openapi` objects and serialised with serde-saphyr, so a
//! misspelt field does not compile. This crate is a leaf: it must never depend on the store,
//! s3-api or compute (no RocksDB, no DataFusion in its build); `lagoa k8s render` prints what it
//! renders, and `statefulset/manifests/` holds the same output at the defaults.

pub mod access;
pub mod network;
mod options;
pub mod pod;
pub mod spark;
mod yaml;

pub use k8s_openapi;
pub use options::{RenderError, RenderOptions, ServiceType, parse_quantity};
pub use spark::{S3A_CREDENTIAL_PROVIDER, s3a_settings};
pub use yaml::{KUSTOMIZATION, ManifestFile, Manifests};

/// Where the image puts the binary (`statefulset/Containerfile`); the containers' command.
pub const BINARY: &str = "/usr/local/bin/lagoa";
/// The user and group the image and the pod run as (distroless's `nonroot`).
pub const RUN_AS: i64 = 65532;
/// Where each container mounts the pod's data volume.
pub const DATA_MOUNT: &str = "/data";
/// The S3 port (the server) and the SQL port (the compute sidecar), as Lagoa's defaults.
pub const S3_PORT: i32 = 9000;
/// See [`S3_PORT`].
pub const SQL_PORT: i32 = 9100;
/// The Secret holding the root credentials, and its keys (the names MinIO's chart uses).
pub const ROOT_SECRET: &str = "lagoa-root";
/// See [`ROOT_SECRET`].
pub const ROOT_USER_KEY: &str = "rootUser";
/// See [`ROOT_SECRET`].
pub const ROOT_PASSWORD_KEY: &str = "rootPassword";
/// The key of the root Secret that holds the master key for encryption at rest
/// (`LAGOA_KMS_SECRET_KEY`, `name:base64`); optional: without it SSE-S3/SSE-KMS answer 501.
pub const KMS_SECRET_KEY: &str = "kmsSecretKey";
/// Seconds the S3 server gives in-flight requests after SIGTERM (`--shutdown-grace-secs`).
pub const SHUTDOWN_GRACE_SECS: i64 = 30;
/// Seconds the compute sidecar gives in-flight queries after SIGTERM. The server's preStop
/// hook sleeps this long first, so queries finishing during the sidecar's drain can still
/// write their results back through it.
pub const SIDECAR_GRACE_SECS: i64 = 25;
/// Time after the drain for the server to close its store (flush and sync) before the kubelet
/// would SIGKILL.
pub const CLOSE_MARGIN_SECS: i64 = 10;
/// `terminationGracePeriodSeconds`: the server's preStop wait, its drain and its close.
pub const TERMINATION_GRACE_SECS: i64 = SIDECAR_GRACE_SECS + SHUTDOWN_GRACE_SECS + CLOSE_MARGIN_SECS;

/// Renders every manifest for `options`: the files of `statefulset/manifests/`.
pub fn render(options: &RenderOptions) -> Result<Manifests, RenderError> {
    options.validate()?;
    let mut lagoa = vec![
        yaml::document(&access::lagoa_service_account(options))?,
        yaml::document(&network::headless_service(options))?,
        yaml::document(&network::client_service(options))?,
        yaml::document(&pod::stateful_set(options))?,
        yaml::document(&network::disruption_budget(options))?,
    ];
    if let Some(ingress) = network::ingress(options) {
        lagoa.push(yaml::document(&ingress)?);
    }
    let spark = vec![
        yaml::document(&spark::service_account(options))?,
        yaml::document(&spark::driver_role(options))?,
        yaml::document(&spark::driver_role_binding(options))?,
        yaml::document(&spark::defaults_config_map(options))?,
    ];
    let application = vec![yaml::document(&spark::geocoded_report_application(options))?];
    Ok(Manifests {
        files: vec![
            ManifestFile::new(
                "namespace.yaml",
                "The namespace (kubectl create namespace does the same; outside the kustomization, so deleting that never deletes the namespace and, with it, the data volume's claim)",
                vec![yaml::document(&access::namespace(options))?],
            ),
            ManifestFile::new(
                "lagoa.yaml",
                "Lagoa: the StatefulSet, its Services and disruption budget",
                lagoa,
            ),
            ManifestFile::new(
                "root-secret.yaml",
                "An EXAMPLE of the root credentials Secret, with placeholders: create the real one with `kubectl create secret` (README)",
                vec![yaml::document(&access::root_secret(options))?],
            ),
            ManifestFile::new(
                "spark.yaml",
                "Spark on Kubernetes against Lagoa: RBAC and spark-defaults.conf",
                spark,
            ),
            ManifestFile::new(
                "spark-application.yaml",
                "A spark-operator SparkApplication reading the geocoded Olist Parquet (needs the operator's CRD)",
                application,
            ),
        ],
    })
}

/// Labels every Lagoa object carries; the selector of the pods.
fn lagoa_labels() -> std::collections::BTreeMap<String, String> {
    [("app.kubernetes.io/name", "lagoa"), ("app.kubernetes.io/part-of", "lagoa")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Object metadata: a name in the rendered namespace with Lagoa's labels.
fn meta(options: &RenderOptions, name: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(options.namespace.clone()),
        labels: Some(lagoa_labels()),
        ..Default::default()
    }
}
