//! The checked-in manifests are what the code renders at the defaults, the image matches what
//! the pod expects of it, and options reach the objects they name.

use std::path::Path;

use lagoa_statefulset::{BINARY, RUN_AS, RenderOptions, S3_PORT, SQL_PORT, ServiceType, render, s3a_settings};
use serde_json::Value;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every document of a rendering, parsed back.
fn objects(options: &RenderOptions) -> Vec<Value> {
    render(options)
        .unwrap()
        .files
        .iter()
        .flat_map(|f| f.documents.iter())
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn checked_in_manifests_are_the_rendering_at_the_defaults() {
    let dir = crate_dir().join("manifests");
    let rendered = render(&RenderOptions::default()).unwrap().folder();
    let fix = "re-render them: cargo run -- k8s render --out statefulset/manifests";
    for (name, text) in &rendered {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            on_disk == *text,
            "statefulset/manifests/{name} differs from the rendering; {fix}"
        );
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    let mut expected: Vec<String> = rendered.iter().map(|(n, _)| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(present, expected, "files in statefulset/manifests; {fix}");
}

#[test]
fn the_printed_stream_is_the_files_in_order() {
    let manifests = render(&RenderOptions::default()).unwrap();
    let joined: String = manifests
        .folder()
        .iter()
        .filter(|(n, _)| *n != "kustomization.yaml")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(manifests.multi_document(), joined);
}

#[test]
fn the_image_is_what_the_pod_expects() {
    let containerfile = std::fs::read_to_string(crate_dir().join("Containerfile")).unwrap();
    let last_stage = containerfile.rsplit("\nFROM ").next().unwrap();
    assert!(
        last_stage.contains(&format!("ENTRYPOINT [\"{BINARY}\"]")),
        "entrypoint is not {BINARY}"
    );
    assert!(last_stage.contains(&format!("COPY --from=build /out/lagoa {BINARY}")));
    assert!(
        last_stage.contains(&format!("\nUSER {RUN_AS}:{RUN_AS}\n")),
        "the image does not run as {RUN_AS}"
    );
    assert!(last_stage.contains(&format!("EXPOSE {S3_PORT} {SQL_PORT}")));
    assert!(containerfile.contains("cargo build --release --locked -p lagoa"));
    // The build stage's Rust is the toolchain the workspace needs.
    let manifest = std::fs::read_to_string(crate_dir().join("../Cargo.toml")).unwrap();
    let rust = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        containerfile.contains(&format!("rust:{rust}-bookworm")),
        "build image is not Rust {rust}"
    );
}

#[test]
fn options_reach_their_objects() {
    let options = RenderOptions {
        namespace: "lake".into(),
        replicas: 0,
        storage_class: "local-path".into(),
        storage: "200Gi".into(),
        image: "registry.example/lagoa:test".into(),
        service_type: ServiceType::LoadBalancer,
        ingress_host: Some("s3.lake.example".into()),
        ingress_class: "nginx".into(),
        compute_memory: "8Gi".into(),
    };
    let all = objects(&options);
    for o in &all {
        if o["kind"] != "Namespace" {
            assert_eq!(o["metadata"]["namespace"], "lake", "{}", o["kind"]);
        }
    }
    let sts = find(&all, "StatefulSet", "lagoa");
    assert_eq!(sts["spec"]["replicas"], 0);
    let claim = &sts["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(claim["storageClassName"], "local-path");
    assert_eq!(claim["resources"]["requests"]["storage"], "200Gi");
    let containers = sts["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert!(containers.iter().all(|c| c["image"] == "registry.example/lagoa:test"));
    let compute = containers.iter().find(|c| c["name"] == "compute").unwrap();
    assert_eq!(compute["resources"]["limits"]["memory"], "8Gi");
    let args: Vec<&str> = compute["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--memory-limit=7680MiB"), "{args:?}");
    assert!(args.contains(&"--spill-limit=40GiB"), "{args:?}");
    let service = find(&all, "Service", "lagoa");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    let ingress = find(&all, "Ingress", "lagoa-s3");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "s3.lake.example");
    let conf = find(&all, "ConfigMap", "spark-defaults")["data"]["spark-defaults.conf"]
        .as_str()
        .unwrap();
    assert!(conf.contains("http://lagoa.lake.svc.cluster.local:9000"), "{conf}");
    assert!(
        s3a_settings(&options)
            .iter()
            .any(|(k, v)| k == "spark.hadoop.fs.s3a.endpoint" && v.contains(".lake.svc"))
    );
    let app = find(&all, "SparkApplication", "olist-geocoded-report");
    assert_eq!(
        app["spec"]["sparkConf"]["spark.hadoop.fs.s3a.endpoint"],
        "http://lagoa.lake.svc.cluster.local:9000"
    );

    let defaults = objects(&RenderOptions::default());
    assert!(
        defaults.iter().all(|o| o["kind"] != "Ingress"),
        "an Ingress without --ingress-host"
    );
}

#[test]
fn bad_options_render_nothing() {
    let options = RenderOptions {
        replicas: 2,
        ..Default::default()
    };
    let err = render(&options).unwrap_err().to_string();
    assert!(err.contains("--replicas") && err.contains("not a cluster"), "{err}");
}

#[test]
fn the_crate_stays_a_leaf() {
    // What `cargo build -p lagoa-statefulset` compiles: never the store's RocksDB or DataFusion.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "lagoa-statefulset",
            "-e",
            "normal,build",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(crate_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.contains("k8s-openapi"), "{tree}");
    for heavy in [
        "rocksdb",
        "datafusion",
        "arrow",
        "lagoa-store",
        "lagoa-s3-api",
        "lagoa-compute",
        "s3s",
    ] {
        assert!(
            !tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(heavy) || l.starts_with(&format!("{heavy}-"))),
            "lagoa-statefulset depends on {heavy}"
        );
    }
}

#[test]
fn selectors_find_the_pods() {
    let all = objects(&RenderOptions::default());
    let sts = find(&all, "StatefulSet", "lagoa");
    let pod_labels = sts["spec"]["template"]["metadata"]["labels"].as_object().unwrap();
    let selects = |selector: &Value, what: &str| {
        let selector = selector.as_object().unwrap_or_else(|| panic!("{what} has no selector"));
        assert!(!selector.is_empty(), "{what} selects everything");
        for (k, v) in selector {
            assert_eq!(pod_labels.get(k), Some(v), "{what} selects {k}={v}, which the pods lack");
        }
    };
    selects(&sts["spec"]["selector"]["matchLabels"], "the StatefulSet");
    selects(
        &find(&all, "PodDisruptionBudget", "lagoa")["spec"]["selector"]["matchLabels"],
        "the budget",
    );
    for service in ["lagoa", "lagoa-headless"] {
        let svc = find(&all, "Service", service);
        selects(&svc["spec"]["selector"], service);
        // Every port targets a port a container declares.
        let containers = sts["spec"]["template"]["spec"]["containers"].as_array().unwrap();
        for port in svc["spec"]["ports"].as_array().unwrap() {
            let target = &port["targetPort"];
            assert!(
                containers
                    .iter()
                    .flat_map(|c| c["ports"].as_array().unwrap())
                    .any(|p| p["name"] == *target || p["containerPort"] == *target),
                "{service} targets {target}, which no container declares"
            );
        }
    }
    // The governing Service is headless.
    let governing = sts["spec"]["serviceName"].as_str().unwrap();
    assert_eq!(find(&all, "Service", governing)["spec"]["clusterIP"], "None");
    // The Spark RoleBinding binds the Role to the account drivers run as.
    let binding = find(&all, "RoleBinding", "spark-driver");
    find(&all, "Role", binding["roleRef"]["name"].as_str().unwrap());
    let account = binding["subjects"][0]["name"].as_str().unwrap();
    find(&all, "ServiceAccount", account);
    let app = find(&all, "SparkApplication", "olist-geocoded-report");
    assert_eq!(app["spec"]["driver"]["serviceAccount"], account);
}
