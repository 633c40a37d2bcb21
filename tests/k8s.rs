//! Lagoa's Kubernetes manifests, as `lagoa k8s render` prints them, checked without a cluster:
//! - a "kubelet simulation" runs the StatefulSet's two containers exactly as written (command,
//!   args, env from the Secret, the volume as a temp dir at its mountPath), probes them as the
//!   probes say, uses them through the ports the Service targets (S3, SQL, S3 Select forwarded
//!   to the sidecar), then SIGTERMs both and holds them to terminationGracePeriodSeconds;
//! - every flag and environment variable the containers use exists in the binary's `--help`;
//! - every document validates against Kubernetes' schemas (tests/k8s/validate_manifests.py);
//! - the s3a settings for Spark are the ones the compatibility matrix proves.
//!
//! The simulation starts processes from the manifest rather than through the shared test
//! harness on purpose: what is under test is the command line the manifest writes.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::FileHeaderInfo;
use lagoa_conformance::s3a_settings::{parse_properties, proven_s3a_settings};
use lagoa_statefulset::k8s_openapi::api::apps::v1::StatefulSet;
use lagoa_statefulset::k8s_openapi::api::core::v1::{ConfigMap, Container, Probe, Secret, Service};
use lagoa_statefulset::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// The documents `lagoa k8s render` prints with `args`.
fn render(args: &[&str]) -> Vec<Value> {
    let out = Command::new(common::binary())
        .args(["k8s", "render"])
        .args(args)
        .output()
        .expect("running lagoa k8s render");
    assert!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 YAML");
    serde_saphyr::from_multiple::<Value>(&text).expect("the output is YAML")
}

/// The object of `kind` named `name`, typed.
fn object<T: serde::de::DeserializeOwned>(docs: &[Value], kind: &str, name: &str) -> T {
    let doc = docs
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"));
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

/// A Secret's values, from `stringData` or `data` (base64), as the API server merges them.
fn secret_values(secret: &Secret) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).expect("UTF-8 secret")))
        .collect();
    values.extend(secret.string_data.clone().unwrap_or_default());
    values
}

fn stateful_set_containers(docs: &[Value]) -> (StatefulSet, Vec<Container>) {
    let sts: StatefulSet = object(docs, "StatefulSet", "lagoa");
    let containers = sts
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| p.containers.clone())
        .expect("a pod spec");
    (sts, containers)
}

/// The container port a probe or Service names (by name or number).
fn container_port(containers: &[Container], port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => {
            containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("no container port named {name}"))
                .container_port
        }
    }
}

/// One container started the way a kubelet would start it.
struct Running {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A failed test must not leave a container holding its port.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `container`: its command (the image's binary is this build's), args and env exactly
/// as written, env from `secret`, volume mounts at temp dirs. The working directory is an empty
/// dir and TMPDIR/HOME point nowhere writable, standing in for the read-only root filesystem.
fn start(
    container: &Container,
    secret: &Secret,
    volumes: &BTreeMap<String, PathBuf>,
    scratch: &Path,
    user: Option<(u32, u32)>,
) -> Running {
    let command = container.command.clone().expect("the container names its command");
    assert_eq!(command, [lagoa_statefulset::BINARY], "{}: command", container.name);
    // The kubelet probes the pod's IP and Services route to it: a listener on loopback only
    // would never be ready.
    for arg in container.args.iter().flatten() {
        if let Some(address) = arg.strip_prefix("--address=") {
            assert!(
                address.starts_with("0.0.0.0:") || address.starts_with("[::]:"),
                "{}: listens on {address}",
                container.name
            );
        }
    }
    let mounts: Vec<(String, PathBuf)> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.mount_path.clone(), volumes[&m.name].clone()))
        .collect();
    let at_volume = |text: &str| {
        let mut text = text.to_owned();
        for (mount, dir) in &mounts {
            if text == *mount || text.starts_with(&format!("{mount}/")) {
                text = format!("{}{}", dir.display(), &text[mount.len()..]);
            } else if let Some((flag, value)) = text.split_once('=')
                && (value == mount || value.starts_with(&format!("{mount}/")))
            {
                text = format!("{flag}={}{}", dir.display(), &value[mount.len()..]);
            }
        }
        text
    };
    let secrets = secret_values(secret);
    let secret_name = secret.metadata.name.clone().unwrap_or_default();
    let mut cmd = Command::new(scratch.join("bin/lagoa"));
    cmd.args(container.args.iter().flatten().map(|a| at_volume(a)));
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TMPDIR", scratch.join("no-tmp-on-a-read-only-root"));
    cmd.env("HOME", scratch.join("no-home-on-a-read-only-root"));
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), None) => at_volume(v),
            (None, Some(from)) => {
                let r = from.secret_key_ref.as_ref().expect("only secretKeyRef is simulated");
                assert_eq!(r.name, secret_name, "{} reads another Secret", var.name);
                match secrets.get(&r.key) {
                    Some(v) => v.clone(),
                    // As the kubelet: an optional key that is absent leaves the variable unset.
                    None if r.optional == Some(true) => continue,
                    None => panic!("Secret {secret_name} has no key {}", r.key),
                }
            }
            _ => panic!("env {} is neither a value nor a secretKeyRef", var.name),
        };
        cmd.env(&var.name, value);
    }
    // Owned by whoever runs the test: read-only for the pod's user when that is another one.
    let workdir = scratch.join(format!("{}-root", container.name));
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::set_permissions(&workdir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = scratch.join(format!("{}.log", container.name));
    let file = std::fs::File::create(&log).unwrap();
    cmd.current_dir(&workdir)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let child = cmd.spawn().expect("starting the container's command");
    Running {
        name: container.name.clone(),
        child,
        log,
    }
}

/// One HTTP GET of a probe: success is a status in 200..400, as the kubelet counts it.
async fn probe_once(client: &reqwest::Client, probe: &Probe, containers: &[Container]) -> bool {
    let get = probe.http_get.as_ref().expect("HTTP probes");
    assert_eq!(get.scheme.as_deref().unwrap_or("HTTP"), "HTTP");
    let port = container_port(containers, &get.port);
    let url = format!("http://127.0.0.1:{port}{}", get.path.as_deref().unwrap_or("/"));
    let timeout = Duration::from_secs(probe.timeout_seconds.unwrap_or(1) as u64);
    match client.get(&url).timeout(timeout).send().await {
        Ok(res) => (200..400).contains(&res.status().as_u16()),
        Err(_) => false,
    }
}

/// Waits out a readiness probe: its initial delay, then one try per period until it passes.
async fn until_ready(client: &reqwest::Client, probe: &Probe, containers: &[Container], started: Instant, what: &str) {
    tokio::time::sleep_until((started + secs(probe.initial_delay_seconds)).into()).await;
    let period = secs(probe.period_seconds.or(Some(10)));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !probe_once(client, probe, containers).await {
        assert!(Instant::now() < deadline, "{what} never became ready");
        tokio::time::sleep(period).await;
    }
}

/// A liveness probe as the kubelet runs it: after the initial delay, `failureThreshold`
/// failures in a row would restart the container.
async fn stays_alive(client: &reqwest::Client, probe: &Probe, containers: &[Container], started: Instant, what: &str) {
    tokio::time::sleep_until((started + secs(probe.initial_delay_seconds)).into()).await;
    let threshold = probe.failure_threshold.unwrap_or(3);
    for failures in 1..=threshold {
        if probe_once(client, probe, containers).await {
            return;
        }
        assert!(
            failures < threshold,
            "{what} failed its liveness probe {threshold} times: restarted"
        );
        tokio::time::sleep(secs(probe.period_seconds.or(Some(10)))).await;
    }
}

fn secs(s: Option<i32>) -> Duration {
    Duration::from_secs(s.unwrap_or(0).max(0) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_simulation_runs_the_pod_as_written() {
    let docs = render(&[]);
    let secret: Secret = object(&docs, "Secret", lagoa_statefulset::ROOT_SECRET);
    let service: Service = object(&docs, "Service", "lagoa");
    let (sts, containers) = stateful_set_containers(&docs);
    let spec = sts.spec.clone().unwrap();
    let pod = spec.template.spec.clone().unwrap();
    assert_eq!(containers.len(), 2, "a server and its compute sidecar");

    // The image: the binary at a path the pod's user can reach. As root (CI), the containers run
    // as the pod's runAsUser/runAsGroup, as a kubelet would start them.
    let scratch = tempfile::tempdir().unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(scratch.path().join("bin")).unwrap();
    std::fs::copy(common::binary(), scratch.path().join("bin/lagoa")).unwrap();
    std::fs::set_permissions(scratch.path().join("bin/lagoa"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let security = pod.security_context.clone().unwrap_or_default();
    assert_eq!(security.run_as_non_root, Some(true));
    // SAFETY: geteuid has no preconditions.
    let run_as = (unsafe { libc::geteuid() } == 0).then(|| {
        let uid = security.run_as_user.expect("runAsUser") as u32;
        (uid, security.run_as_group.map_or(uid, |g| g as u32))
    });
    // Every volume mount is a claim template of the StatefulSet; all containers share it. Its
    // directory is made as microk8s-hostpath makes it: mode 0777.
    let volumes: BTreeMap<String, PathBuf> = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|claim| {
            let name = claim.metadata.name.clone().unwrap();
            let dir = scratch.path().join(format!("pv-{name}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            (name, dir)
        })
        .collect();
    let started = Instant::now();
    let mut running: Vec<Running> = containers
        .iter()
        .map(|c| start(c, &secret, &volumes, scratch.path(), run_as))
        .collect();

    let http = reqwest::Client::new();
    let probes = containers.iter().map(|c| {
        let (http, containers, name) = (http.clone(), containers.clone(), c.name.clone());
        let readiness = c.readiness_probe.clone().expect("a readiness probe");
        let liveness = c.liveness_probe.clone().expect("a liveness probe");
        async move {
            tokio::join!(
                until_ready(&http, &readiness, &containers, started, &name),
                stays_alive(&http, &liveness, &containers, started, &name),
            );
        }
    });
    let probed = tokio::time::timeout(Duration::from_secs(150), futures::future::join_all(probes)).await;
    if probed.is_err() {
        let logs: Vec<String> = running.iter().map(|r| format!("{}:\n{}", r.name, r.log())).collect();
        panic!("the probes did not settle:\n{}", logs.join("\n"));
    }

    // Through the ports the client Service targets, with the Secret's credentials.
    let target = |name: &str| {
        let port = service
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|ports| ports.iter().find(|p| p.name.as_deref() == Some(name)))
            .unwrap_or_else(|| panic!("the Service has no port {name}"));
        let target = port.target_port.clone().unwrap_or(IntOrString::Int(port.port));
        format!("http://127.0.0.1:{}", container_port(&containers, &target))
    };
    let (s3, sql) = (target("s3"), target("sql"));
    let values = secret_values(&secret);
    let (user, password) = (
        &values[lagoa_statefulset::ROOT_USER_KEY],
        &values[lagoa_statefulset::ROOT_PASSWORD_KEY],
    );
    let client = lagoa_conformance::client_for(&s3, user, password);
    client.create_bucket().bucket("lake").send().await.expect("CreateBucket");
    let csv = "city,state,customers\nsao paulo,SP,15540\nrio de janeiro,RJ,6882\nbelo horizonte,MG,2773\n";
    client
        .put_object()
        .bucket("lake")
        .key("cities.csv")
        .body(ByteStream::from_static(csv.as_bytes()))
        .send()
        .await
        .expect("PutObject");
    let got = client
        .get_object()
        .bucket("lake")
        .key("cities.csv")
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.body.collect().await.unwrap().into_bytes(), csv.as_bytes());

    // SQL on the compute port (the sidecar, reading the server's volume).
    let out = Command::new(common::binary())
        .args(["sql", "--endpoint", &sql, "--format", "csv"])
        .arg("SELECT state FROM 's3://lake/cities.csv' WHERE customers > 5000 ORDER BY customers")
        .env("LAGOA_ACCESS_KEY", user)
        .env("LAGOA_SECRET_KEY", password)
        .output()
        .unwrap();
    assert!(out.status.success(), "lagoa sql: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "state\nRJ\nSP\n");

    // S3 Select on the S3 port: `serve --no-compute` forwards it to the sidecar.
    let selected = common::select(
        &client,
        "cities.csv",
        "SELECT s.city FROM S3Object s WHERE s.state = 'MG'",
        common::csv_in(FileHeaderInfo::Use),
        common::csv_out(),
        None,
        false,
    )
    .await
    .expect("SelectObjectContent");
    let records = selected.records;
    assert_eq!(records, "belo horizonte\n");

    // Both containers wrote only to the volume.
    for c in &containers {
        let root = scratch.path().join(format!("{}-root", c.name));
        assert_eq!(
            std::fs::read_dir(&root).unwrap().count(),
            0,
            "{} wrote outside its volume",
            c.name
        );
    }
    assert!(
        volumes["data"].join("compute").is_dir(),
        "the sidecar keeps its scratch on the volume"
    );
    if let Some((uid, _)) = run_as {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(volumes["data"].join("compute")).unwrap().uid();
        assert_eq!(owner, uid, "the containers did not run as the pod's user");
    }

    // Pod deletion, as the kubelet does it: each container's preStop hook (a sleep here), then
    // SIGTERM; all must exit cleanly within terminationGracePeriodSeconds, counted from the
    // start. While the server waits out its hook it still serves (the sidecar's last
    // write-backs go through it).
    let grace = Duration::from_secs(pod.termination_grace_period_seconds.unwrap_or(30) as u64);
    let pre_stop: Vec<Duration> = containers
        .iter()
        .map(|c| {
            let hook = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref());
            if let Some(hook) = hook {
                assert!(
                    hook.exec.is_none() && hook.http_get.is_none(),
                    "only sleep hooks are simulated"
                );
            }
            Duration::from_secs(hook.and_then(|h| h.sleep.as_ref()).map_or(0, |s| s.seconds) as u64)
        })
        .collect();
    assert!(pre_stop.iter().all(|d| *d < grace), "a preStop hook as long as the grace");
    let deleting = Instant::now();
    let mut signalled = vec![false; running.len()];
    let mut exited: Vec<Option<std::process::ExitStatus>> = vec![None; running.len()];
    let mut served_while_waiting = false;
    while exited.iter().any(Option::is_none) {
        for (i, r) in running.iter_mut().enumerate() {
            if !signalled[i] && deleting.elapsed() >= pre_stop[i] {
                // SAFETY: kill(2) with a pid of our own child and a valid signal number.
                let rc = unsafe { libc::kill(r.child.id() as i32, libc::SIGTERM) };
                assert_eq!(rc, 0, "signalling {}", r.name);
                signalled[i] = true;
            }
            if exited[i].is_none() {
                exited[i] = r.child.try_wait().unwrap();
            }
            assert!(
                exited[i].is_some() || deleting.elapsed() < grace,
                "{} did not exit within terminationGracePeriodSeconds ({grace:?}):\n{}",
                r.name,
                r.log()
            );
        }
        let sidecar_gone = containers
            .iter()
            .zip(&exited)
            .any(|(c, e)| c.name == "compute" && e.is_some());
        if sidecar_gone && !served_while_waiting && exited.iter().any(Option::is_none) {
            client
                .put_object()
                .bucket("lake")
                .key("during-pre-stop")
                .body(ByteStream::from_static(b"still serving"))
                .send()
                .await
                .expect("the server serves while its preStop hook waits");
            served_while_waiting = true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (r, status) in running.iter().zip(&exited) {
        let status = status.unwrap();
        assert!(status.success(), "{} exited with {status}:\n{}", r.name, r.log());
    }
    assert!(served_while_waiting, "the server stopped with its sidecar");
}

/// `lagoa <sub> --help` (clap's long help lists each flag and its `[env: …]`).
fn help(subcommand: &str) -> String {
    let out = Command::new(common::binary()).args([subcommand, "--help"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_flag_and_variable_the_pod_uses_is_in_the_help() {
    let docs = render(&[]);
    let (_, containers) = stateful_set_containers(&docs);
    for c in &containers {
        let args = c.args.clone().unwrap_or_default();
        let subcommand = &args[0];
        let help = help(subcommand);
        for arg in &args[1..] {
            let flag = arg.split('=').next().unwrap();
            assert!(flag.starts_with("--"), "{}: argument {arg} is not a --flag", c.name);
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{}: `lagoa {subcommand} --help` has no {flag}",
                c.name
            );
        }
        for var in c.env.iter().flatten() {
            assert!(
                help.contains(&var.name),
                "{}: `lagoa {subcommand} --help` does not mention {}",
                c.name,
                var.name
            );
        }
    }
    // The check itself can fail: a flag the binary lacks is caught.
    assert!(!help("serve").contains("--compute-memory-pool "));
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let variant = tempfile::tempdir().unwrap();
    let out = Command::new(common::binary())
        .args(["k8s", "render", "--namespace", "lake", "--service-type", "LoadBalancer"])
        .args(["--ingress-host", "s3.lake.example", "--storage", "200Gi", "--replicas", "0"])
        .arg("--out")
        .arg(variant.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("python3")
        .arg(repo.join("tests/k8s/validate_manifests.py"))
        .arg(repo.join("statefulset/manifests"))
        .arg(variant.path())
        .output()
        .expect("python3 (scripts/test installs kubernetes-validate)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "validation failed:\n{report}");
    // Both folders were checked document by document.
    assert!(report.matches(" document validations, 0 errors").count() == 2, "{report}");
}

#[test]
fn bad_render_options_are_refused() {
    for args in [
        &["--replicas", "3"][..],
        &["--namespace", "Data_Lake"],
        &["--storage", "fifty"],
        &["--service-type", "NodePort"],
    ] {
        let out = Command::new(common::binary())
            .args(["k8s", "render"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(out.stdout.is_empty(), "{args:?} printed manifests anyway");
    }
}

#[test]
fn spark_s3a_settings_are_the_ones_the_matrix_proves() {
    let proven = proven_s3a_settings();
    assert!(proven.len() >= 5, "conformance/s3a.conf lists {proven:?}");
    for namespace in ["ml-data-engg", "lake"] {
        let docs = render(&["--namespace", namespace]);
        let config: ConfigMap = object(&docs, "ConfigMap", "spark-defaults");
        let conf = parse_properties(&config.data.unwrap()["spark-defaults.conf"]);
        let get = |key: &str| conf.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        for (key, value) in &proven {
            assert_eq!(get(key), Some(value.as_str()), "{key} in spark-defaults.conf");
        }
        // Any other s3a setting only says where Lagoa is and who Spark is.
        for (key, value) in conf.iter().filter(|(k, _)| k.starts_with("spark.hadoop.fs.s3a.")) {
            if proven.iter().any(|(k, _)| k == key) {
                continue;
            }
            match key.as_str() {
                "spark.hadoop.fs.s3a.endpoint" => {
                    assert_eq!(value, &format!("http://lagoa.{namespace}.svc.cluster.local:9000"))
                }
                "spark.hadoop.fs.s3a.endpoint.region" => assert_eq!(value, "us-east-1"),
                "spark.hadoop.fs.s3a.aws.credentials.provider" => {
                    assert_eq!(value, lagoa_statefulset::S3A_CREDENTIAL_PROVIDER)
                }
                other => panic!("{other} is not proven by the compatibility matrix"),
            }
        }
        // That provider reads AWS_* from the environment: driver and executors get them from
        // the Secret Lagoa itself reads, by keys it has.
        let secret = secret_values(&object(&docs, "Secret", lagoa_statefulset::ROOT_SECRET));
        for role in ["driver", "executor"] {
            for (env, key) in [
                ("AWS_ACCESS_KEY_ID", lagoa_statefulset::ROOT_USER_KEY),
                ("AWS_SECRET_ACCESS_KEY", lagoa_statefulset::ROOT_PASSWORD_KEY),
            ] {
                let reference = format!("{}:{key}", lagoa_statefulset::ROOT_SECRET);
                assert_eq!(
                    get(&format!("spark.kubernetes.{role}.secretKeyRef.{env}")),
                    Some(reference.as_str())
                );
                assert!(secret.contains_key(key));
            }
        }
        // The SparkApplication carries the same settings.
        let app = docs.iter().find(|d| d["kind"] == "SparkApplication").unwrap();
        for (key, value) in conf
            .iter()
            .filter(|(k, _)| k.starts_with("spark.hadoop.") || k.contains("secretKeyRef"))
        {
            assert_eq!(app["spec"]["sparkConf"][key], value.as_str(), "{key} in the SparkApplication");
        }
    }
}
