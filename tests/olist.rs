//! The Olist workload end to end with the real commands: `lagoa olist generate`, `lagoa olist
//! load` into a real server, `lagoa geocode` on its compute, the outputs checked against an
//! independent pandas computation read back with pyarrow (tests/olist_check.py); and bad inputs
//! refused by file and column with nothing written.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ROOT_PASSWORD, ROOT_USER, TestServer, binary, server};

/// Runs `lagoa ARGS` as root against `s`.
fn lagoa(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("LAGOA_ACCESS_KEY", ROOT_USER)
        .env("LAGOA_SECRET_KEY", ROOT_PASSWORD)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running lagoa")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn compute(s: &TestServer) -> String {
    s.compute_endpoint.clone().expect("compute is embedded by default")
}

fn generate(dir: &Path, scale: &str, seed: &str) {
    let out = lagoa(&[
        "olist",
        "generate",
        "--scale",
        scale,
        "--seed",
        seed,
        "--out",
        &dir.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

fn geocode(s: &TestServer, bucket: &str) -> Output {
    lagoa(&["geocode", "--bucket", bucket, "--endpoint", &compute(s)])
}

async fn keys(s: &TestServer, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s
        .client()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("listing");
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

#[tokio::test]
async fn generate_load_and_geocode_match_an_independent_pandas_join() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "0.1", "11");
    // 5 MiB parts: the geolocation file (~6 MB) goes up as a multipart upload.
    let out = lagoa(&[
        "olist",
        "load",
        &dir.path().to_string_lossy(),
        "--endpoint",
        &s.endpoint,
        "--part-size-mib",
        "5",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let mut loaded = keys(&s, "datalake", "olist/").await;
    loaded.sort();
    let mut files: Vec<String> = lagoa_olist::FILES.iter().map(|f| format!("olist/{f}")).collect();
    files.sort();
    assert_eq!(loaded, files);
    // The bytes arrived intact; the big file as a multipart object (its ETag says so).
    for file in lagoa_olist::FILES {
        let body = common::get(&s.client(), "datalake", &format!("olist/{file}")).await;
        assert_eq!(body, std::fs::read(dir.path().join(file)).unwrap(), "{file}");
    }
    let head = s
        .client()
        .head_object()
        .bucket("datalake")
        .key("olist/olist_geolocation_dataset.csv")
        .send()
        .await
        .unwrap();
    assert!(head.e_tag().unwrap_or_default().ends_with("-2\""), "{:?}", head.e_tag());

    let out = geocode(&s, "datalake");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("customers") && stdout.contains("sellers"), "{stdout}");
    let mut written = keys(&s, "datalake", "enriched/").await;
    written.sort();
    assert_eq!(
        written,
        [
            "enriched/customers_geo/part-00000.parquet",
            "enriched/order_distances/part-00000.parquet",
            "enriched/sellers_geo/part-00000.parquet",
            "enriched/summary/part-00000.parquet",
            "enriched/zip_centroids/part-00000.parquet",
        ]
    );

    let check = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/olist_check.py"))
        .args([&s.endpoint, "datalake", "olist/", "enriched/"])
        .env("AWS_ACCESS_KEY_ID", ROOT_USER)
        .env("AWS_SECRET_ACCESS_KEY", ROOT_PASSWORD)
        .output()
        .expect("python3 runs (scripts/test installs pandas and pyarrow)");
    assert!(check.status.success(), "{}", text(&check));
    let counts: serde_json::Value = serde_json::from_slice(&check.stdout).expect("the checker's JSON");
    // The quirks were there to survive: approximate matches happened, and nobody was lost.
    assert!(counts["customers"]["approximate"].as_u64() > Some(0), "{counts}");
    assert_eq!(counts["customers"]["none"], 0, "{counts}");
    assert!(counts["order_distances"].as_u64() > Some(5000), "{counts}");

    // Running it again replaces the outputs (same keys, no duplicates).
    let out = geocode(&s, "datalake");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(keys(&s, "datalake", "enriched/").await.len(), 5);
}

/// One broken input: `edit` changes the generated files before they are uploaded.
async fn refused(s: &TestServer, bucket: &str, edit: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "0.01", "3");
    edit(dir.path());
    s.client().create_bucket().bucket(bucket).send().await.unwrap();
    for file in lagoa_olist::FILES {
        let path = dir.path().join(file);
        if path.exists() {
            common::put(&s.client(), bucket, &format!("olist/{file}"), &std::fs::read(&path).unwrap()).await;
        }
    }
    let out = geocode(s, bucket);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(keys(s, bucket, "enriched/").await, Vec::<String>::new(), "nothing written");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Rewrites a CSV file line by line.
fn rewrite(path: &Path, f: impl Fn(usize, &str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text.lines().enumerate().map(|(i, l)| f(i, l)).collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[tokio::test]
async fn bad_inputs_are_refused_by_file_and_column_and_nothing_is_written() {
    let s = server();
    let customers = "olist_customers_dataset.csv";

    let err = refused(&s, "missing-column", |dir| {
        rewrite(&dir.join(customers), |_, line| {
            let fields: Vec<&str> = line.split(',').collect();
            [&fields[..2], &fields[3..]].concat().join(",")
        })
    })
    .await;
    assert!(
        err.contains(customers) && err.contains("customer_zip_code_prefix") && err.contains("missing"),
        "{err}"
    );

    let err = refused(&s, "non-numeric", |dir| {
        rewrite(&dir.join(customers), |i, line| {
            if i == 5 {
                let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
                fields[2] = "\"12a45\"".into();
                fields.join(",")
            } else {
                line.to_owned()
            }
        })
    })
    .await;
    assert!(
        err.contains(customers) && err.contains("customer_zip_code_prefix") && err.contains("12a45"),
        "{err}"
    );

    let err = refused(&s, "empty-file", |dir| std::fs::write(dir.join(customers), b"").unwrap()).await;
    assert!(err.contains(customers), "{err}");

    let err = refused(&s, "header-only", |dir| {
        let path = dir.join("olist_geolocation_dataset.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{}\n", text.lines().next().unwrap())).unwrap();
    })
    .await;
    assert!(
        err.contains("olist_geolocation_dataset.csv") && err.contains("no rows"),
        "{err}"
    );

    let err = refused(&s, "no-geolocation", |dir| {
        std::fs::remove_file(dir.join("olist_geolocation_dataset.csv")).unwrap()
    })
    .await;
    assert!(err.contains("olist_geolocation_dataset.csv"), "{err}");
}

#[tokio::test]
async fn the_geocoding_functions_answer_in_sql() {
    let s = server();
    let out = lagoa(&[
        "sql",
        "--endpoint",
        &compute(&s),
        "--format",
        "csv",
        "-- a comment first, as in geocode.sql\nSELECT zip5(1037) AS a, zip5('01037-000') AS b, zip5('x1') AS c, unaccent('Sa\u{0303}o PAULO') AS d, \
         in_brazil(-3.85, -32.42) AS e, in_brazil(38.72, -9.14) AS f, \
         round(haversine_km(-23.5503, -46.6340, -22.9111, -43.1758), 1) AS g",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().nth(1),
        Some("01037,01037,,sao paulo,true,false,360.4"),
        "{stdout}"
    );
}
