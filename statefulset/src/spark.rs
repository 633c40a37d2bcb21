//! Spark against Lagoa on the same cluster: the driver's ServiceAccount and RBAC for
//! `spark-submit --deploy-mode cluster`, `spark-defaults.conf` pointing `s3a` at the client
//! Service with the root credentials from the Secret, and a spark-operator `SparkApplication`.
//!
//! The `fs.s3a.*` settings are the ones the compatibility matrix proves (its `s3a-replay`
//! reads the same values from `conformance/s3a.conf`; a test compares them), plus where the
//! endpoint is and where credentials come from.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use serde_json::json;

use crate::network::CLIENT_SERVICE;
use crate::{ROOT_PASSWORD_KEY, ROOT_SECRET, ROOT_USER_KEY, RenderOptions, S3_PORT, meta};

/// The ServiceAccount Spark drivers run as.
pub const SPARK_SERVICE_ACCOUNT: &str = "spark";
/// The image of the driver and executors: Spark 3.5 with Python (hadoop 3.3.4 inside).
pub const SPARK_IMAGE: &str = "apache/spark:3.5.7";
/// The Spark version of that image.
pub const SPARK_VERSION: &str = "3.5.7";
/// hadoop-aws for the image's Hadoop (3.3.4); it brings the AWS SDK v1 bundle it was built with.
pub const HADOOP_AWS: &str = "org.apache.hadoop:hadoop-aws:3.3.4";
/// s3a's credential provider: the AWS keys from the pod's environment, which Spark fills from
/// the Secret. Hadoop 3.4 (Spark 4) maps this SDK v1 name to its SDK v2 equivalent.
pub const S3A_CREDENTIAL_PROVIDER: &str = "com.amazonaws.auth.EnvironmentVariableCredentialsProvider";
/// Where the PySpark job of the SparkApplication lives (uploaded with `mc cp`, README).
pub const REPORT_JOB: &str = "s3a://datalake/jobs/geocoded_report.py";

/// The name of the ConfigMap holding `spark-defaults.conf`.
pub const SPARK_DEFAULTS: &str = "spark-defaults";

/// Every `spark.hadoop.fs.s3a.*` setting, in file order.
pub fn s3a_settings(options: &RenderOptions) -> Vec<(String, String)> {
    let endpoint = format!("http://{CLIENT_SERVICE}.{}.svc.cluster.local:{S3_PORT}", options.namespace);
    [
        ("impl", "org.apache.hadoop.fs.s3a.S3AFileSystem".to_owned()),
        ("endpoint", endpoint),
        ("endpoint.region", "us-east-1".to_owned()),
        ("path.style.access", "true".to_owned()),
        ("connection.ssl.enabled", "false".to_owned()),
        ("aws.credentials.provider", S3A_CREDENTIAL_PROVIDER.to_owned()),
        ("change.detection.mode", "server".to_owned()),
        ("change.detection.source", "etag".to_owned()),
        ("directory.marker.retention", "delete".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (format!("spark.hadoop.fs.s3a.{key}"), value))
    .collect()
}

/// Spark's own settings for a driver in this namespace: image, RBAC identity, hadoop-aws, the
/// AWS keys from the Secret in driver and executors, and uploads of local files to Lagoa.
fn spark_settings(options: &RenderOptions) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = vec![
        ("spark.kubernetes.namespace".into(), options.namespace.clone()),
        (
            "spark.kubernetes.authenticate.driver.serviceAccountName".into(),
            SPARK_SERVICE_ACCOUNT.into(),
        ),
        ("spark.kubernetes.container.image".into(), SPARK_IMAGE.into()),
        ("spark.jars.packages".into(), HADOOP_AWS.into()),
        // The image's home is not writable; Ivy's cache goes to /tmp.
        ("spark.jars.ivy".into(), "/tmp/.ivy2".into()),
        (
            "spark.kubernetes.file.upload.path".into(),
            "s3a://datalake/spark-uploads".into(),
        ),
    ];
    for role in ["driver", "executor"] {
        for (env, key) in [
            ("AWS_ACCESS_KEY_ID", ROOT_USER_KEY),
            ("AWS_SECRET_ACCESS_KEY", ROOT_PASSWORD_KEY),
        ] {
            settings.push((
                format!("spark.kubernetes.{role}.secretKeyRef.{env}"),
                format!("{ROOT_SECRET}:{key}"),
            ));
        }
    }
    settings
}

/// `spark-defaults.conf`: Spark's settings, then s3a's, aligned like Spark's template.
pub fn spark_defaults_conf(options: &RenderOptions) -> String {
    let all: Vec<(String, String)> = spark_settings(options).into_iter().chain(s3a_settings(options)).collect();
    let width = all.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    let mut out = String::from("# Spark on Kubernetes with Lagoa as its s3a endpoint (rendered by `lagoa k8s render`).\n");
    for (key, value) in all {
        out.push_str(&format!("{key:width$}{value}\n"));
    }
    out
}

/// The ServiceAccount Spark drivers run as.
pub fn service_account(options: &RenderOptions) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(options, SPARK_SERVICE_ACCOUNT),
        ..Default::default()
    }
}

/// What a driver does in cluster mode: create and watch its executor pods, a Service for them
/// to reach it, ConfigMaps for their configuration and, with on-demand volumes, PVCs.
pub fn driver_role(options: &RenderOptions) -> Role {
    Role {
        metadata: meta(options, "spark-driver"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(
                ["pods", "services", "configmaps", "persistentvolumeclaims"]
                    .map(String::from)
                    .to_vec(),
            ),
            verbs: [
                "create",
                "get",
                "list",
                "watch",
                "update",
                "patch",
                "delete",
                "deletecollection",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        }]),
    }
}

/// Binds [`driver_role`] to the Spark ServiceAccount.
pub fn driver_role_binding(options: &RenderOptions) -> RoleBinding {
    RoleBinding {
        metadata: meta(options, "spark-driver"),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "spark-driver".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SPARK_SERVICE_ACCOUNT.into(),
            namespace: Some(options.namespace.clone()),
            ..Default::default()
        }]),
    }
}

/// `spark-defaults.conf` as a ConfigMap: `spark-submit` users copy it into `$SPARK_HOME/conf`
/// (README), and pods can mount it.
pub fn defaults_config_map(options: &RenderOptions) -> ConfigMap {
    ConfigMap {
        metadata: meta(options, SPARK_DEFAULTS),
        data: Some(BTreeMap::from([(
            "spark-defaults.conf".to_owned(),
            spark_defaults_conf(options),
        )])),
        ..Default::default()
    }
}

/// A spark-operator application reading the geocoded Olist Parquet (`lagoa geocode`'s output)
/// and writing a per-state report back to Lagoa. The same settings as `spark-defaults.conf`,
/// inline (the operator does not read that file). The AWS keys reach driver and executors
/// through Spark's own `secretKeyRef` settings, not the spec's `env`: those need the operator's
/// mutating webhook, and without it would be dropped silently.
pub fn geocoded_report_application(options: &RenderOptions) -> serde_json::Value {
    let conf: serde_json::Map<String, serde_json::Value> = spark_settings(options)
        .into_iter()
        .chain(s3a_settings(options))
        // These come from the spec's own fields below.
        .filter(|(key, _)| {
            ![
                "spark.kubernetes.container.image",
                "spark.jars.packages",
                "spark.kubernetes.authenticate.driver.serviceAccountName",
                "spark.kubernetes.namespace",
            ]
            .contains(&key.as_str())
        })
        .map(|(key, value)| (key, json!(value)))
        .collect();
    json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {
            "name": "olist-geocoded-report",
            "namespace": options.namespace,
            "labels": crate::lagoa_labels(),
        },
        "spec": {
            "type": "Python",
            "pythonVersion": "3",
            "mode": "cluster",
            "image": SPARK_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "sparkVersion": SPARK_VERSION,
            "mainApplicationFile": REPORT_JOB,
            "arguments": ["s3a://datalake/enriched/", "s3a://datalake/reports/customers_by_state/"],
            "deps": {"packages": [HADOOP_AWS]},
            "sparkConf": conf,
            "restartPolicy": {"type": "Never"},
            "driver": {
                "cores": 1,
                "memory": "1g",
                "serviceAccount": SPARK_SERVICE_ACCOUNT,
            },
            "executor": {
                "instances": 2,
                "cores": 1,
                "memory": "1g",
            },
        },
    })
}
