//! The compute service over real HTTP: `POST /v1/sql` signed by curl's own SigV4
//! (`--aws-sigv4`), `lagoa sql`, the embedded engine inside `lagoa serve` and the `lagoa
//! compute` sidecar on the same volume, authorisation and no local file access.

mod common;

use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use common::*;

/// Runs curl with `args` (plus printing the status after the body): (HTTP status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("running curl");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("curl printed the status");
    (status.trim().parse().expect("a status code"), body.to_owned())
}

/// `curl --aws-sigv4` POSTing `sql` to `endpoint/v1/sql` as `user`, with `extra` headers.
fn curl_signed(endpoint: &str, user: (&str, &str), headers: &[String], sql: &str) -> (u16, String) {
    let user = format!("{}:{}", user.0, user.1);
    let url = format!("{endpoint}/v1/sql");
    let mut args = vec!["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", &user];
    for header in headers {
        args.extend(["-H", header.as_str()]);
    }
    args.extend(["--data-binary", sql, &url]);
    curl(&args)
}

/// `curl --aws-sigv4` POSTing `sql` to `endpoint/v1/sql`: (HTTP status, body).
fn curl_sql(endpoint: &str, user: (&str, &str), accept: &str, sql: &str) -> (u16, String) {
    curl_signed(endpoint, user, &[format!("Accept: {accept}")], sql)
}

/// `sql` POSTed to `endpoint/v1/sql` as `user` with extra headers, all signed.
async fn sql_with_headers(endpoint: &str, user: (&str, &str), extra: Vec<(String, String)>, sql: &str) -> (u16, String) {
    let raw = sql_request(endpoint, Some(user), extra, sql).await;
    (raw.status, raw.body)
}

/// A server with an empty bucket `lake`.
async fn lake() -> TestServer {
    let s = server();
    s.client().create_bucket().bucket("lake").send().await.unwrap();
    s
}

/// `sql` as root on the server's embedded compute, CSV out: (HTTP status, body).
fn query(s: &TestServer, sql: &str) -> (u16, String) {
    curl_sql(&compute(s), root(), "text/csv", sql)
}

fn root() -> (&'static str, &'static str) {
    (ROOT_USER, ROOT_PASSWORD)
}

fn compute(s: &TestServer) -> String {
    s.compute_endpoint.clone().expect("compute is embedded by default")
}

async fn put(s: &TestServer, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
    s.client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.into()))
        .send()
        .await
        .unwrap();
}

/// A small CSV of orders: id, state, amount.
fn orders_csv(rows: usize) -> String {
    let states = ["SP", "RJ", "MG", "BA"];
    let mut csv = String::from("order_id,state,amount\n");
    for i in 0..rows {
        csv.push_str(&format!("o{i:05},{},{}.{:02}\n", states[i % 4], i % 97, i % 100));
    }
    csv
}

#[tokio::test]
async fn sql_over_a_csv_object_streams_csv_json_lines_and_arrow() {
    let s = lake().await;
    put(&s, "lake", "orders/2017.csv", orders_csv(1000)).await;
    let sql = "SELECT state, count(*) AS n, sum(amount) AS total FROM 's3://lake/orders/2017.csv' \
               WHERE state IN ('SP', 'BA') GROUP BY state ORDER BY state";

    let (status, body) = query(&s, sql);
    assert_eq!(status, 200, "{body}");
    // 250 rows each; amounts i % 97 + (i % 100) / 100 summed per state, computed here.
    let expect = |offset: usize| -> f64 {
        (0..1000)
            .filter(|i| i % 4 == offset)
            .map(|i| (i % 97) as f64 + (i % 100) as f64 / 100.0)
            .sum()
    };
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "state,n,total");
    for (line, (state, offset)) in lines[1..].iter().zip([("BA", 3), ("SP", 0)]) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], state);
        assert_eq!(fields[1], "250");
        let total: f64 = fields[2].parse().unwrap();
        assert!((total - expect(offset)).abs() < 1e-6, "{line}");
    }
    assert_eq!(lines.len(), 3, "{body}");

    let (status, body) = curl_sql(&compute(&s), root(), "application/x-ndjson", sql);
    assert_eq!(status, 200, "{body}");
    let rows: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["state"], "BA");
    assert_eq!(rows[1]["n"], 250);

    // Arrow IPC: `lagoa sql` reads it and prints a table.
    let out = lagoa_sql(&compute(&s), root(), &["--format", "table", sql]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| state | n   | total"), "{table}");
    assert!(table.contains("| SP    | 250 |"), "{table}");
}

/// A presigned URL for POST `path` (valid signature, UNSIGNED-PAYLOAD as presigned URLs are).
fn presign_post(endpoint: &str, path: &str) -> String {
    use lagoa_conformance::sigv4::{Signer, uri_encode};
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let host = endpoint.trim_start_matches("http://");
    let credential = format!("{ROOT_USER}/{}", signer.scope());
    let query = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", credential.as_str()),
        ("X-Amz-Date", signer.amz_date.as_str()),
        ("X-Amz-Expires", "300"),
        ("X-Amz-SignedHeaders", "host"),
    ];
    let (_, signature) = signer.sign("POST", path, &query, &[("host".into(), host.into())], "UNSIGNED-PAYLOAD");
    let encoded: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", uri_encode(v, false))).collect();
    format!("{endpoint}{path}?{}&X-Amz-Signature={signature}", encoded.join("&"))
}

fn lagoa_sql(endpoint: &str, user: (&str, &str), args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .arg("sql")
        .args(["--endpoint", endpoint])
        .args(args)
        .env("LAGOA_ROOT_USER", user.0)
        .env("LAGOA_ROOT_PASSWORD", user.1)
        .env_remove("LAGOA_ACCESS_KEY")
        .output()
        .expect("running lagoa sql")
}

#[tokio::test]
async fn copy_to_writes_parquet_objects_that_sql_and_s3_read_back() {
    let s = lake().await;
    put(&s, "lake", "raw/orders.csv", orders_csv(2000)).await;
    let (status, body) = query(
        &s,
        "COPY (SELECT * FROM 's3://lake/raw/orders.csv' WHERE state = 'MG') \
         TO 's3://lake/curated/mg/' STORED AS PARQUET",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().nth(1), Some("500"), "COPY reports the rows written: {body}");

    // Ordinary objects: listed and downloadable over S3.
    let listed = s
        .client()
        .list_objects_v2()
        .bucket("lake")
        .prefix("curated/mg/")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(!keys.is_empty() && keys.iter().all(|k| k.ends_with(".parquet")), "{keys:?}");
    let first = s.client().get_object().bucket("lake").key(keys[0]).send().await.unwrap();
    let bytes = first.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..4], b"PAR1");

    let (status, body) = query(&s, "SELECT count(*) AS n, min(state) AS s FROM 's3://lake/curated/mg/'");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().nth(1), Some("500,MG"), "{body}");
}

#[tokio::test]
async fn a_multipart_object_is_read_across_its_parts() {
    let s = server();
    let c = s.client();
    c.create_bucket().bucket("lake").send().await.unwrap();
    // Three parts of ≥ 5 MiB: rows straddle the part boundaries.
    let csv = orders_csv(1_200_000);
    let bytes = csv.as_bytes();
    let cut = |n: usize| bytes.len() * n / 3;
    let parts: Vec<Vec<u8>> = (0..3).map(|n| bytes[cut(n)..cut(n + 1)].to_vec()).collect();
    let id = c
        .create_multipart_upload()
        .bucket("lake")
        .key("mp/orders.csv")
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let done = lagoa_conformance::sdk::upload_parts(&c, "lake", "mp/orders.csv", &id, &parts)
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket("lake")
        .key("mp/orders.csv")
        .upload_id(&id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = query(
        &s,
        "SELECT count(*), count(DISTINCT order_id), max(order_id) FROM 's3://lake/mp/orders.csv'",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().nth(1), Some("1200000,1200000,o999999"));
}

#[tokio::test]
async fn external_tables_and_several_statements_in_one_request() {
    let s = lake().await;
    put(&s, "lake", "t/a.csv", orders_csv(10)).await;
    let (status, body) = query(
        &s,
        "CREATE EXTERNAL TABLE orders STORED AS CSV LOCATION 's3://lake/t/' OPTIONS ('format.has_header' 'true'); \
         SELECT order_id FROM orders WHERE amount < 2 ORDER BY order_id",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "order_id\no00000\no00001\n");
}

#[tokio::test]
async fn listings_are_fresh_a_new_put_is_in_the_next_query() {
    let s = lake().await;
    put(&s, "lake", "p/1.csv", "x\n1\n").await;
    let count = |s: &TestServer| curl_sql(&compute(s), root(), "text/csv", "SELECT sum(x) FROM 's3://lake/p/'");
    assert_eq!(count(&s).1.lines().nth(1), Some("1"));
    put(&s, "lake", "p/2.csv", "x\n10\n").await;
    assert_eq!(count(&s).1.lines().nth(1), Some("11"));
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_sql_is_refused_with_403() {
    let s = server();
    let (status, body) = curl(&["--data-binary", "SELECT 1", &format!("{}/v1/sql", compute(&s))]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signed with AWS Signature V4"), "{body}");

    let (status, body) = curl_sql(&compute(&s), (ROOT_USER, "wrong-secret"), "text/csv", "SELECT 1");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");

    // Signed, but not over the SQL text: refused.
    for payload in ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"] {
        let header = format!("x-amz-content-sha256: {payload}");
        let (status, body) = curl_signed(&compute(&s), root(), &[header], "SELECT 1");
        // s3s itself refuses a streaming payload without its trailer header (400).
        assert!(status == 403 || status == 400, "{payload}: {status} {body}");
    }
    let presigned = presign_post(&compute(&s), "/v1/sql");
    let (status, body) = curl(&["--data-binary", "SELECT 1", &presigned]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("presigned"), "{body}");

    let out = lagoa_sql(&compute(&s), (ROOT_USER, "wrong-secret"), &["SELECT 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
}

#[tokio::test]
async fn a_query_reaches_only_the_callers_buckets_and_never_local_files() {
    let s = server();
    s.client().create_bucket().bucket("roots").send().await.unwrap();
    put(&s, "roots", "secret.csv", "a\n1\n").await;
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    other.create_bucket().bucket("mine").send().await.unwrap();
    other
        .put_object()
        .bucket("mine")
        .key("m.csv")
        .body(ByteStream::from_static(b"a\n2\n"))
        .send()
        .await
        .unwrap();

    let (status, body) = curl_sql(&compute(&s), OTHER_USER, "text/csv", "SELECT * FROM 's3://mine/m.csv'");
    assert_eq!((status, body.as_str()), (200, "a\n2\n"));
    let (status, body) = curl_sql(&compute(&s), OTHER_USER, "text/csv", "SELECT * FROM 's3://roots/secret.csv'");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Access Denied"), "{body}");
    // Root may read every bucket, as over S3.
    let (status, _) = query(&s, "SELECT * FROM 's3://mine/m.csv'");
    assert_eq!(status, 200);
    // Nor can another user write into root's bucket.
    let (status, body) = curl_sql(
        &compute(&s),
        OTHER_USER,
        "text/csv",
        "COPY (SELECT 1 AS x) TO 's3://roots/planted.csv' STORED AS CSV",
    );
    assert_eq!(status, 403, "{body}");

    for sql in [
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM 'file:///etc/passwd'",
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'; SELECT * FROM p",
        "COPY (SELECT 1 AS x) TO '/tmp/lagoa-escape.csv' STORED AS CSV",
        "SELECT * FROM 'http://127.0.0.1:1/x.csv'",
    ] {
        let (status, body) = query(&s, sql);
        assert!(status == 403 || status == 400, "{sql}: {status} {body}");
        assert!(!body.contains("root:"), "{sql} leaked a local file: {body}");
    }
    assert!(!std::path::Path::new("/tmp/lagoa-escape.csv").exists());
}

#[tokio::test]
async fn queries_reach_what_bucket_and_identity_policies_grant_object_by_object() {
    let s = lake().await;
    for key in ["shared/a.csv", "shared/b.csv", "private/p.csv"] {
        put(&s, "lake", key, "n\n1\n").await;
    }
    let policy = |statements: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    let grant = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":["{other}"]}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::lake","Condition":{{"StringLike":{{"s3:prefix":"shared/*"}}}}}},
           {{"Effect":"Allow","Principal":{{"AWS":["{other}"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/shared/*"}},
           {{"Effect":"Allow","Principal":{{"AWS":["{other}"]}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::lake/drop/*"}}"#,
        other = OTHER_USER.0
    );
    let root = s.client();
    root.put_bucket_policy()
        .bucket("lake")
        .policy(policy(&grant))
        .send()
        .await
        .unwrap();
    let sql = |user: (&str, &str), statement: &str| curl_sql(&compute(&s), user, "text/csv", statement);

    // What the bucket policy grants another user: listing and reading under shared/.
    let (status, body) = sql(OTHER_USER, "SELECT count(*) AS c FROM 's3://lake/shared/'");
    assert_eq!((status, body.as_str()), (200, "c\n2\n"));
    // Not the rest of the bucket: neither listing it nor reading one object there.
    let (status, body) = sql(OTHER_USER, "SELECT count(*) FROM 's3://lake/'");
    assert_eq!(status, 403, "{body}");
    let (status, body) = sql(OTHER_USER, "SELECT * FROM 's3://lake/private/p.csv'");
    assert_eq!(status, 403, "{body}");
    // Writes: where PutObject is granted, and nowhere else.
    let (status, body) = sql(OTHER_USER, "COPY (SELECT 1 AS x) TO 's3://lake/drop/x.csv' STORED AS CSV");
    assert_eq!(status, 200, "{body}");
    // A condition on a write header is never met by headers sent with the SQL (a query's
    // writes carry no SSE): "only encrypted PUTs" refuses the query's write, and the header
    // itself is refused (the SQL endpoint does not apply it).
    let encrypted_only = format!(
        r#"{grant},{{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::lake/drop/*","Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"AES256"}}}}}}"#
    );
    root.put_bucket_policy()
        .bucket("lake")
        .policy(policy(&encrypted_only))
        .send()
        .await
        .unwrap();
    let (status, body) = sql_with_headers(
        &compute(&s),
        OTHER_USER,
        vec![("x-amz-server-side-encryption".to_owned(), "AES256".to_owned())],
        "COPY (SELECT 1 AS x) TO 's3://lake/drop/y.csv' STORED AS CSV",
    )
    .await;
    assert_eq!(status, 501, "{body}");
    let (status, body) = sql_with_headers(
        &compute(&s),
        OTHER_USER,
        vec![("x-amz-meta-purpose".to_owned(), "AES256".to_owned())],
        "COPY (SELECT 1 AS x) TO 's3://lake/drop/y.csv' STORED AS CSV",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("drop/y.csv: Access Denied"), "{body}");
    root.put_bucket_policy()
        .bucket("lake")
        .policy(policy(&grant))
        .send()
        .await
        .unwrap();
    let (status, body) = sql(OTHER_USER, "COPY (SELECT 1 AS x) TO 's3://lake/shared/x.csv' STORED AS CSV");
    assert_eq!(status, 403, "{body}");
    // An explicit Deny on one object under the granted prefix fails the whole query (its
    // rows are never silently left out).
    let deny = format!(
        r#"{grant},{{"Effect":"Deny","Principal":{{"AWS":["{other}"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/shared/b.csv"}}"#,
        other = OTHER_USER.0
    );
    root.put_bucket_policy()
        .bucket("lake")
        .policy(policy(&deny))
        .send()
        .await
        .unwrap();
    let (status, body) = sql(OTHER_USER, "SELECT count(*) FROM 's3://lake/shared/'");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("shared/b.csv"), "{body}");
    // Identity policies count too: readonly reads a named object (GetObject alone) but may not
    // list a prefix (no s3:ListBucket), as over S3.
    let (status, body) = sql(READER_USER, "SELECT * FROM 's3://lake/private/p.csv'");
    assert_eq!((status, body.as_str()), (200, "n\n1\n"));
    let (status, body) = sql(READER_USER, "SELECT count(*) FROM 's3://lake/private/'");
    assert_eq!(status, 403, "{body}");
    // Nothing the refused statements tried to write exists.
    let listed = root.list_objects_v2().bucket("lake").prefix("shared/x").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn query_output_belongs_to_its_writer_where_the_bucket_enables_acls() {
    use aws_sdk_s3::types::ObjectOwnership;
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    owner
        .create_bucket()
        .bucket("drops")
        .object_ownership(ObjectOwnership::ObjectWriter)
        .send()
        .await
        .unwrap();
    let grant = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{}"]}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::drops/*"}}]}}"#,
        HOME_USER.0
    );
    owner.put_bucket_policy().bucket("drops").policy(grant).send().await.unwrap();
    let (status, body) = curl_sql(
        &compute(&s),
        HOME_USER,
        "text/csv",
        "COPY (SELECT 1 AS x) TO 's3://drops/by-home.csv' STORED AS CSV",
    );
    assert_eq!(status, 200, "{body}");
    // As a PUT by that user would: the writer owns it, the bucket owner does not read it.
    let writer = s.client_as(HOME_USER.0, HOME_USER.1);
    let acl = writer
        .get_object_acl()
        .bucket("drops")
        .key("by-home.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.owner().and_then(|o| o.id()), Some(HOME_USER.0));
    let err = owner
        .get_object()
        .bucket("drops")
        .key("by-home.csv")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::status(&err), 403);
}

#[tokio::test]
async fn bad_queries_get_a_clear_400_and_the_server_keeps_serving() {
    let s = lake().await;
    put(&s, "lake", "bad.parquet", "this is not parquet").await;
    put(&s, "lake", "ok.csv", "a,b\n1,2\n").await;
    for (sql, hint) in [
        ("SELEC 1", "Expected"),
        ("SELECT nope FROM 's3://lake/ok.csv'", "nope"),
        ("SELECT * FROM 's3://lake/bad.parquet'", "arquet"),
        ("SELECT * FROM 's3://lake/missing.csv'", "not found"),
        ("SELECT * FROM 's3://no-such-bucket/x.csv'", "does not exist"),
        ("SET datafusion.execution.batch_size = 1", "not supported"),
        ("", "no SQL statement"),
    ] {
        let (status, body) = query(&s, sql);
        assert_eq!(status, 400, "{sql}: {body}");
        assert!(body.to_lowercase().contains(&hint.to_lowercase()), "{sql}: {body}");
    }
    let (status, body) = query(&s, "SELECT a + b AS c FROM 's3://lake/ok.csv'");
    assert_eq!((status, body.as_str()), (200, "c\n3\n"));
    s.client().head_bucket().bucket("lake").send().await.unwrap();
}

#[tokio::test]
async fn the_sidecar_reads_the_live_volume_while_puts_continue() {
    let s = server_with(&["--no-compute"]);
    assert!(s.compute_endpoint.is_none());
    s.client().create_bucket().bucket("lake").send().await.unwrap();
    put(&s, "lake", "live/0.csv", "n\n0\n").await;
    let sidecar = Sidecar::start(s.data_dir(), &s.endpoint);
    for i in 1..=20u32 {
        put(&s, "lake", &format!("live/{i}.csv"), format!("n\n{i}\n")).await;
        let (status, body) = curl_sql(
            &sidecar.endpoint,
            root(),
            "text/csv",
            "SELECT count(*), sum(n) FROM 's3://lake/live/'",
        );
        assert_eq!(status, 200, "{body}");
        let expected = format!("{},{}", i + 1, i * (i + 1) / 2);
        assert_eq!(body.lines().nth(1), Some(expected.as_str()), "after PUT {i}");
    }
    // Results written back go through the S3 server as the caller: ordinary objects, and the
    // server's authorisation applies (another user cannot write into root's bucket).
    let (status, body) = curl_sql(
        &sidecar.endpoint,
        root(),
        "text/csv",
        "COPY (SELECT sum(n) AS total FROM 's3://lake/live/') TO 's3://lake/out/total.parquet' STORED AS PARQUET",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = curl_sql(
        &sidecar.endpoint,
        root(),
        "text/csv",
        "SELECT total FROM 's3://lake/out/total.parquet'",
    );
    assert_eq!((status, body.as_str()), (200, "total\n210\n"));
    let (status, body) = curl_sql(
        &sidecar.endpoint,
        OTHER_USER,
        "text/csv",
        "COPY (SELECT 1 AS x) TO 's3://lake/planted.csv' STORED AS CSV",
    );
    assert_eq!(status, 403, "{body}");
    // The server still serves everything, and holds exactly what was written through it.
    let listed = s.client().list_objects_v2().bucket("lake").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(22));
}

#[tokio::test]
async fn the_sidecar_follows_users_added_and_disabled_through_the_admin_api() {
    let s = server_with(&["--no-compute"]);
    let sidecar = Sidecar::start(s.data_dir(), &s.endpoint);
    let dora = ("dora", "dora-secret-1");
    let admin = |call: &'static str, query: Vec<(&'static str, &'static str)>, body: Option<String>| {
        let s = &s;
        async move {
            let body = body.map_or_else(Vec::new, |b| {
                lagoa_s3_api::admin::sealed_body::seal(ROOT_PASSWORD, b.as_bytes())
            });
            let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
            let raw = signed(s, "PUT", &format!("/minio/admin/v3/{call}"), &query, &[], &hash, body).await;
            assert_eq!(raw.status, 200, "{call}: {}", raw.body);
        }
    };
    admin(
        "add-user",
        vec![("accessKey", "dora")],
        Some(r#"{"secretKey":"dora-secret-1","status":"enabled"}"#.into()),
    )
    .await;
    admin(
        "set-user-or-group-policy",
        vec![("policyName", "readwrite"), ("userOrGroup", "dora"), ("isGroup", "false")],
        None,
    )
    .await;
    let client = s.client_as(dora.0, dora.1);
    client.create_bucket().bucket("dora-lake").send().await.unwrap();
    client
        .put_object()
        .bucket("dora-lake")
        .key("n.csv")
        .body(ByteStream::from_static(b"n\n1\n2\n"))
        .send()
        .await
        .unwrap();
    // The sidecar reads the stored users every second: the new user is known there soon.
    let sum = "SELECT sum(n) FROM 's3://dora-lake/n.csv'";
    let answered = |want: u16| {
        (0..50).any(|_| {
            let (status, _) = curl_sql(&sidecar.endpoint, dora, "text/csv", sum);
            status == want || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            }
        })
    };
    assert!(answered(200), "the sidecar never accepted the admin-added user");
    // Bucket policies written through the server decide the sidecar's next query.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["dora"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::dora-lake/*"}]}"#;
    s.client()
        .put_bucket_policy()
        .bucket("dora-lake")
        .policy(deny)
        .send()
        .await
        .unwrap();
    let (status, body) = curl_sql(&sidecar.endpoint, dora, "text/csv", sum);
    assert_eq!(status, 403, "{body}");
    s.client().delete_bucket_policy().bucket("dora-lake").send().await.unwrap();
    assert_eq!(curl_sql(&sidecar.endpoint, dora, "text/csv", sum).0, 200);
    admin("set-user-status", vec![("accessKey", "dora"), ("status", "disabled")], None).await;
    assert!(answered(403), "the sidecar kept accepting a disabled user");
}

/// A `lagoa compute` process on a server's data directory.
struct Sidecar {
    child: std::process::Child,
    endpoint: String,
}

impl Sidecar {
    fn start(data: &std::path::Path, s3_url: &str) -> Self {
        use std::io::BufRead;
        let users = data.with_extension("users.toml");
        let mut child = Command::new(binary())
            .args(["compute", "--address", "127.0.0.1:0", "--s3-url", s3_url, "--data"])
            .arg(data)
            .arg("--users")
            .arg(&users)
            .env("LAGOA_ROOT_USER", ROOT_USER)
            .env("LAGOA_ROOT_PASSWORD", ROOT_PASSWORD)
            // The server's master key, as the pod gives both containers: the stored users are
            // sealed under it.
            .env("LAGOA_KMS_SECRET_KEY", TEST_KMS_KEY)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting lagoa compute");
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut endpoint = None;
        let mut ready = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(pos) = line.find("listening on http://") {
                endpoint = Some(line[pos + "listening on ".len()..].trim().to_owned());
            }
            if line.contains("ready") {
                ready = true;
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        assert!(ready, "lagoa compute did not become ready");
        Self {
            child,
            endpoint: endpoint.expect("lagoa compute announced its address"),
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn parquet_written_by_copy_keeps_timestamps_in_microseconds_for_spark() {
    let s = lake().await;
    let (status, body) = query(
        &s,
        "COPY (SELECT to_timestamp('2017-10-02T10:56:33.123456Z') AS purchased, 1 AS n) \
         TO 's3://lake/ts/' STORED AS PARQUET",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = query(&s, "SELECT arrow_typeof(purchased) AS t, purchased FROM 's3://lake/ts/'");
    assert_eq!(status, 200, "{body}");
    let row = body.lines().nth(1).unwrap_or_default();
    assert!(row.starts_with("Timestamp(µs") || row.starts_with("\"Timestamp(µs"), "{body}");
    assert!(row.contains("2017-10-02T10:56:33.123456"), "{body}");
}

#[tokio::test]
async fn insert_into_an_external_table_adds_an_object() {
    let s = lake().await;
    let (status, body) = query(
        &s,
        "CREATE EXTERNAL TABLE t (a INT, b VARCHAR) STORED AS PARQUET LOCATION 's3://lake/t/'; \
         INSERT INTO t VALUES (1, 'x'), (2, 'y')",
    );
    assert_eq!(status, 200, "{body}");
    let listed = s.client().list_objects_v2().bucket("lake").prefix("t/").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    let (_, body) = query(&s, "SELECT sum(a), max(b) FROM 's3://lake/t/'");
    assert_eq!(body.lines().nth(1), Some("3,y"));
}

#[tokio::test]
async fn a_query_over_data_four_times_the_memory_limit_spills_and_finishes() {
    // One partition: with two, DataFusion's sort merge of one partition can take the whole
    // 32 MiB pool and starve the other (a clear 400, but not this test's point).
    let s = server_with(&["--memory-limit", "32MiB", "--query-threads", "1"]);
    s.client().create_bucket().bucket("lake").send().await.unwrap();
    // ~128 MiB of CSV with a distinct key per row: sorting it needs 4× the limit.
    let mut csv = String::with_capacity(130 << 20);
    csv.push_str("k,v\n");
    let mut i: u64 = 0;
    while csv.len() < 128 << 20 {
        let k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        csv.push_str(&format!("{k:020},{}\n", "v".repeat(40)));
        i += 1;
    }
    put(&s, "lake", "big.csv", csv).await;
    let (status, body) = query(&s, "SELECT k, v FROM 's3://lake/big.csv' ORDER BY k");
    assert_eq!(status, 200, "{}", &body[..body.len().min(2000)]);
    assert_eq!(body.lines().count() as u64, i + 1, "every row, once");
    let keys: Vec<&str> = body.lines().skip(1).map(|l| &l[..20]).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "sorted");
    let (status, body) = query(
        &s,
        "SELECT count(*) FROM (SELECT k, count(*) FROM 's3://lake/big.csv' GROUP BY k)",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().nth(1), Some(i.to_string().as_str()));
    // A result of 128 MiB is written back in parts (object_store's multipart path) as one
    // object, and reads back whole.
    let (status, body) = query(
        &s,
        "COPY (SELECT k, v FROM 's3://lake/big.csv') TO 's3://lake/copy/big.csv' STORED AS CSV",
    );
    assert_eq!(status, 200, "{body}");
    let copied = s
        .client()
        .head_object()
        .bucket("lake")
        .key("copy/big.csv")
        .send()
        .await
        .unwrap();
    assert!(copied.content_length().unwrap_or(0) > 100 << 20);
    let (_, body) = query(&s, "SELECT count(*) FROM 's3://lake/copy/big.csv'");
    assert_eq!(body.lines().nth(1), Some(i.to_string().as_str()));
    // The spill files are gone once the query is over.
    let spill = s.data_dir().join("compute/spill-serve");
    let leftover: usize = walk_files(&spill);
    assert_eq!(leftover, 0, "spill files left in {}", spill.display());
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

/// A request's writes appear together when it succeeds: a later statement that fails — in
/// planning, or while its rows stream — leaves none of the objects the earlier ones wrote,
/// whether compute writes into the store (embedded) or through the S3 server (sidecar).
#[tokio::test]
async fn a_request_that_fails_writes_nothing_and_one_that_succeeds_writes_everything() {
    let s = server_with(&["--no-compute"]);
    s.client().create_bucket().bucket("lake").send().await.unwrap();
    put(&s, "lake", "in/n.csv", "n,t\n1,a\n2,b\n3,x\n").await;
    let embedded = server();
    embedded.client().create_bucket().bucket("lake").send().await.unwrap();
    put(&embedded, "lake", "in/n.csv", "n,t\n1,a\n2,b\n3,x\n").await;
    let sidecar = Sidecar::start(s.data_dir(), &s.endpoint);
    // Over 20 MB of random text: more than DataFusion buffers (10 MiB), so a multipart upload.
    let big = "COPY (SELECT n, uuid() AS a, uuid() AS b FROM 's3://lake/in/n.csv', \
               (SELECT * FROM unnest(range(0, 200000)))) TO 's3://lake/out/big.parquet' STORED AS PARQUET";
    for (server, endpoint) in [(&embedded, compute(&embedded)), (&s, sidecar.endpoint.clone())] {
        let failing = [
            // The last statement cannot be planned.
            format!(
                "COPY (SELECT n FROM 's3://lake/in/n.csv') TO 's3://lake/out/a.csv' STORED AS CSV; {big}; \
                 SELECT * FROM 's3://lake/in/missing.csv'"
            ),
            // The last statement fails while its rows stream (a cast of 'x').
            format!(
                "COPY (SELECT n FROM 's3://lake/in/n.csv') TO 's3://lake/out/a.csv' STORED AS CSV; {big}; \
                 SELECT CAST(t AS INT) FROM 's3://lake/in/n.csv'"
            ),
        ];
        for sql in &failing {
            let (status, body) = curl_sql(&endpoint, root(), "text/csv", sql);
            assert!(status != 200 || !body.ends_with("\n"), "the request failed: {status} {body}");
            let listed = server
                .client()
                .list_objects_v2()
                .bucket("lake")
                .prefix("out/")
                .send()
                .await
                .unwrap();
            assert_eq!(listed.key_count(), Some(0), "{endpoint}: {sql}: {:?}", listed.contents());
        }
        let (status, body) = curl_sql(
            &endpoint,
            root(),
            "text/csv",
            &format!(
                "COPY (SELECT n FROM 's3://lake/in/n.csv') TO 's3://lake/out/a.csv' STORED AS CSV; {big}; \
                 SELECT count(*) AS n FROM 's3://lake/in/n.csv'"
            ),
        );
        assert_eq!((status, body.as_str()), (200, "n\n3\n"), "{endpoint}");
        let listed = server
            .client()
            .list_objects_v2()
            .bucket("lake")
            .prefix("out/")
            .send()
            .await
            .unwrap();
        let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(keys, ["out/a.csv", "out/big.parquet"], "{endpoint}");
        let (_, body) = curl_sql(
            &endpoint,
            root(),
            "text/csv",
            "SELECT count(*) FROM 's3://lake/out/big.parquet'",
        );
        assert_eq!(body.lines().nth(1), Some("600000"), "{endpoint}");
        let size = listed
            .contents()
            .iter()
            .find(|o| o.key() == Some("out/big.parquet"))
            .and_then(|o| o.size());
        assert!(size.unwrap_or_default() > 16 << 20, "{size:?}");
        for key in keys {
            server.client().delete_object().bucket("lake").key(key).send().await.unwrap();
        }
    }
}

#[tokio::test]
async fn sealed_objects_are_queried_and_output_lands_sealed() {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let s = lake().await;
    // The bucket seals every new object (SSE-S3): the query reads them near the data.
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .unwrap(),
        )
        .build();
    s.client()
        .put_bucket_encryption()
        .bucket("lake")
        .server_side_encryption_configuration(ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap())
        .send()
        .await
        .unwrap();
    put(&s, "lake", "raw/orders.csv", orders_csv(2000)).await;
    let (status, body) = query(&s, "SELECT count(*) AS n FROM 's3://lake/raw/orders.csv' WHERE state = 'MG'");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().nth(1), Some("500"), "{body}");
    // SSE-C objects: read with the key the SQL request carries in S3's headers; without it the
    // query's fault (400), with another a refusal (403).
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key_headers = |byte: u8| {
        let raw = [byte; 32];
        vec![
            (
                "x-amz-server-side-encryption-customer-algorithm".to_owned(),
                "AES256".to_owned(),
            ),
            ("x-amz-server-side-encryption-customer-key".to_owned(), b64.encode(raw)),
            (
                "x-amz-server-side-encryption-customer-key-md5".to_owned(),
                b64.encode(<md5::Md5 as md5::Digest>::digest(raw)),
            ),
        ]
    };
    let raw = [9u8; 32];
    s.client()
        .put_object()
        .bucket("lake")
        .key("customer/orders.csv")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64.encode(raw))
        .sse_customer_key_md5(b64.encode(<md5::Md5 as md5::Digest>::digest(raw)))
        .body(ByteStream::from(orders_csv(100).into_bytes()))
        .send()
        .await
        .unwrap();
    let count = "SELECT count(*) AS n FROM 's3://lake/customer/orders.csv'";
    let (status, body) = query(&s, count);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("customer-provided key"), "{body}");
    let (status, body) = sql_with_headers(&compute(&s), root(), key_headers(8), count).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("another customer-provided key"), "{body}");
    let (status, body) = sql_with_headers(&compute(&s), root(), key_headers(9), count).await;
    assert_eq!((status, body.lines().nth(1)), (200, Some("100")), "{body}");
    // Query output lands sealed as the bucket's default says, like a PUT that asked for
    // nothing: S3 reports SSE-S3, reads give the rows back, the disk never holds them in clear.
    let marker = "lagoa-sealed-output-marker";
    let (status, body) = query(
        &s,
        &format!(
            "COPY (SELECT '{marker}' AS tag, count(*) AS n FROM 's3://lake/raw/orders.csv') TO 's3://lake/curated/tags.csv' STORED AS CSV"
        ),
    );
    assert_eq!(status, 200, "{body}");
    let head = s
        .client()
        .head_object()
        .bucket("lake")
        .key("curated/tags.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    let got = get(&s.client(), "lake", "curated/tags.csv").await;
    assert_eq!(String::from_utf8(got).unwrap(), format!("tag,n\n{marker},2000\n"));
    assert_eq!(
        head.e_tag().map(|e| e.trim_matches('"').len()),
        Some(32),
        "SSE-S3 ETag: the plaintext's MD5"
    );
    let (status, body) = query(&s, "SELECT n FROM 's3://lake/curated/tags.csv'");
    assert_eq!((status, body.as_str()), (200, "n\n2000\n"));
    let mut stack = vec![s.data_dir().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                    "{} holds the query output in clear",
                    path.display()
                );
            }
        }
    }
}
