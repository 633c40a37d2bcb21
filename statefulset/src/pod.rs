//! The Lagoa StatefulSet: one pod per volume, two containers sharing it — `lagoa serve` (S3 on
//! 9000, S3 Select forwarded to the sidecar) and `lagoa compute` (SQL on 9100, reading the same
//! volume read-only and writing results back through the server).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, Lifecycle, LifecycleHandler,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, SleepAction, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::network::{HEADLESS_SERVICE, S3_PORT_NAME, SQL_PORT_NAME};
use crate::{
    BINARY, DATA_MOUNT, KMS_SECRET_KEY, ROOT_PASSWORD_KEY, ROOT_SECRET, ROOT_USER_KEY, RUN_AS, RenderOptions, S3_PORT,
    SHUTDOWN_GRACE_SECS, SIDECAR_GRACE_SECS, SQL_PORT, TERMINATION_GRACE_SECS, lagoa_labels, meta, parse_quantity,
};

/// The volume claim template's name; pod `lagoa-0` gets claim `data-lagoa-0`.
pub const DATA_VOLUME: &str = "data";

/// The StatefulSet. Choices:
/// - `podManagementPolicy: Parallel`: Lagoa pods never wait for one another (each is its own
///   store), so a replaced pod starts at once instead of behind its ordinal predecessors.
/// - `updateStrategy: RollingUpdate`: a new image or setting replaces the pod right away —
///   drained gracefully, restarted on the same volume (data and metadata are crash-safe, and a
///   clean stop is faster to reopen); `OnDelete` would leave a changed spec silently unapplied.
/// - `persistentVolumeClaimRetentionPolicy: Retain` both ways: deleting or scaling the
///   StatefulSet to 0 never deletes data.
pub fn stateful_set(options: &RenderOptions) -> StatefulSet {
    StatefulSet {
        metadata: meta(options, "lagoa"),
        spec: Some(StatefulSetSpec {
            service_name: Some(HEADLESS_SERVICE.into()),
            replicas: Some(options.replicas),
            selector: LabelSelector {
                match_labels: Some(lagoa_labels()),
                ..Default::default()
            },
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Retain".into()),
                when_scaled: Some("Retain".into()),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(lagoa_labels()),
                    annotations: Some(BTreeMap::from([(
                        "kubectl.kubernetes.io/default-container".to_owned(),
                        "s3".to_owned(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(pod_spec(options)),
            },
            volume_claim_templates: Some(vec![data_claim(options)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod: non-root (the image's `nonroot` user), the runtime's default seccomp profile, no
/// API token (Lagoa calls no Kubernetes API), no Service environment variables (a Service named
/// `lagoa` would inject `LAGOA_PORT=tcp://…` and friends into Lagoa's own `LAGOA_*` namespace),
/// and a termination grace covering the server's preStop wait, its drain and the store's close.
///
/// The volume must be writable by that user. microk8s-hostpath creates its directories with
/// mode 0777, so it is; the kubelet ignores `fsGroup` on hostPath volumes, and `fsGroup` here
/// serves storage classes that support ownership management (most CSI drivers). A class that
/// makes root-owned 0755 directories and ignores `fsGroup` would leave the server unable to
/// open its store (README).
fn pod_spec(options: &RenderOptions) -> PodSpec {
    PodSpec {
        service_account_name: Some("lagoa".into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECS),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            fs_group_change_policy: Some("OnRootMismatch".into()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        containers: vec![s3_container(options), compute_container(options)],
        ..Default::default()
    }
}

/// `lagoa serve` without embedded compute: S3 Select goes to the sidecar on loopback. At pod
/// deletion both containers are told to stop at once; the server first waits out the
/// sidecar's drain (preStop sleep, no shell needed) so queries finishing in it can still write
/// their results back through the server.
fn s3_container(options: &RenderOptions) -> Container {
    let args = vec![
        "serve".to_owned(),
        format!("--data={DATA_MOUNT}"),
        format!("--address=0.0.0.0:{S3_PORT}"),
        "--no-compute".to_owned(),
        format!("--compute-url=http://127.0.0.1:{SQL_PORT}"),
        format!("--shutdown-grace-secs={SHUTDOWN_GRACE_SECS}"),
    ];
    let mut container = container(
        options,
        "s3",
        args,
        (S3_PORT_NAME, S3_PORT),
        resources("500m", "512Mi", "2", "2Gi"),
    );
    container.lifecycle = Some(Lifecycle {
        pre_stop: Some(LifecycleHandler {
            sleep: Some(SleepAction {
                seconds: SIDECAR_GRACE_SECS,
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    container
}

/// `lagoa compute` beside it: its query pool (`--memory-limit`) is the container's memory limit
/// minus the headroom the process needs outside the pool; spills go to the volume, bounded by
/// a fifth of it.
fn compute_container(options: &RenderOptions) -> Container {
    let spill_gib = (parse_quantity(&options.storage).unwrap_or(0) >> 30) / 5;
    let args = vec![
        "compute".to_owned(),
        format!("--data={DATA_MOUNT}"),
        format!("--address=0.0.0.0:{SQL_PORT}"),
        format!("--s3-url=http://127.0.0.1:{S3_PORT}"),
        format!("--memory-limit={}MiB", options.compute_pool_mib()),
        format!("--spill-limit={}GiB", spill_gib.max(1)),
        format!("--shutdown-grace-secs={SIDECAR_GRACE_SECS}"),
    ];
    let resources = resources("500m", "1Gi", "2", &options.compute_memory);
    container(options, "compute", args, (SQL_PORT_NAME, SQL_PORT), resources)
}

/// What both containers share: the image, the root credentials from the Secret, JSON logs, the
/// volume, MinIO's health probes on their own port, and a locked-down security context.
fn container(
    options: &RenderOptions,
    name: &str,
    args: Vec<String>,
    (port_name, port): (&str, i32),
    resources: ResourceRequirements,
) -> Container {
    Container {
        name: name.into(),
        image: Some(options.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![BINARY.into()]),
        args: Some(args),
        env: Some(vec![
            secret_env("LAGOA_ROOT_USER", ROOT_USER_KEY, false),
            secret_env("LAGOA_ROOT_PASSWORD", ROOT_PASSWORD_KEY, false),
            // Both containers: the sidecar opens SSE-S3 objects for queries too.
            secret_env("LAGOA_KMS_SECRET_KEY", KMS_SECRET_KEY, true),
            EnvVar {
                name: "LAGOA_LOG_FORMAT".into(),
                value: Some("json".into()),
                ..Default::default()
            },
        ]),
        ports: Some(vec![ContainerPort {
            name: Some(port_name.into()),
            container_port: port,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        // Ready once the store (or the sidecar's read-only view of it) is open; not ready while
        // the volume is below its free-space reserve. Out of the Service after 10 s of 503.
        readiness_probe: Some(probe("/minio/health/ready", port_name, 0, 5, 2, 2)),
        // Alive while the listener answers: restarted only after a minute without an answer.
        liveness_probe: Some(probe("/minio/health/live", port_name, 5, 10, 5, 6)),
        resources: Some(resources),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME.into(),
            mount_path: DATA_MOUNT.into(),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// An environment variable from the root Secret; an `optional` key may be absent.
fn secret_env(name: &str, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: ROOT_SECRET.into(),
                key: key.into(),
                optional: Some(optional),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn probe(path: &str, port: &str, initial_delay: i32, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    }
}

fn resources(cpu_request: &str, memory_request: &str, cpu_limit: &str, memory_limit: &str) -> ResourceRequirements {
    let pair = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ])
    };
    ResourceRequirements {
        requests: Some(pair(cpu_request, memory_request)),
        limits: Some(pair(cpu_limit, memory_limit)),
        ..Default::default()
    }
}

/// One volume per pod on the hostpath storage class.
fn data_claim(options: &RenderOptions) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            labels: Some(lagoa_labels()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(options.storage_class.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(options.storage.clone()))])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
