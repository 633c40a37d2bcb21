//! S3 Select (SelectObjectContent) over real HTTP with the AWS SDK for Rust: the dialect, the
//! input and output formats, the event stream, errors before and inside the stream,
//! authorisation, and both deployments (compute inside `lagoa serve`, and `serve
//! --compute-url` forwarding to a `lagoa compute` sidecar while PUTs continue).

mod common;

use std::process::Command;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    CompressionType, CsvInput, CsvOutput, FileHeaderInfo, InputSerialization, JsonInput, JsonOutput, JsonType,
    OutputSerialization, ParquetInput, QuoteFields, ScanRange,
};
use common::*;

fn json_out() -> OutputSerialization {
    OutputSerialization::builder().json(JsonOutput::builder().build()).build()
}

fn json_in(kind: JsonType) -> InputSerialization {
    InputSerialization::builder()
        .json(JsonInput::builder().r#type(kind).build())
        .build()
}

/// A Select over CSV with a header, CSV out: the records, or the error code.
async fn csv(c: &Client, key: &str, expression: &str) -> Result<String, String> {
    select(c, key, expression, csv_in(FileHeaderInfo::Use), csv_out(), None, false)
        .await
        .map(|s| s.records)
        .map_err(|(code, _)| code)
}

/// A server with a bucket `lake` holding `people.csv` (a BOM, a mixed-case header, a quoted
/// field, a value that is not a number and an empty one).
async fn lake() -> (TestServer, Client) {
    let s = server();
    let c = s.client();
    c.create_bucket().bucket("lake").send().await.unwrap();
    put(&c, "lake", "people.csv", PEOPLE.as_bytes()).await;
    (s, c)
}

const PEOPLE: &str = "\u{feff}name,Age,city,\"home town\"\n\
alice,30,Lisbon,Porto\n\
bob,100,\"Porto, PT\",Faro\n\
carol,x,Faro,Faro\n\
dan,,Braga,Lisbon\n\
erin,7.0,Lisbon,\n";

#[tokio::test]
async fn csv_columns_by_name_position_and_quoted_name_without_the_bom() {
    let (_s, c) = lake().await;
    assert_eq!(
        csv(&c, "people.csv", "SELECT s.name FROM S3Object s WHERE s.NAME = 'bob'")
            .await
            .unwrap(),
        "bob\n"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT name, city FROM S3Object LIMIT 1")
            .await
            .unwrap(),
        "alice,Lisbon\n"
    );
    assert_eq!(
        csv(
            &c,
            "people.csv",
            "SELECT s.\"home town\" FROM S3Object AS s WHERE s.name = 'alice'"
        )
        .await
        .unwrap(),
        "Porto\n"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT _1, _3 FROM S3Object WHERE _1 = 'dan'")
            .await
            .unwrap(),
        "dan,Braga\n"
    );
    // A quoted name is exact: "age" is not the column "Age".
    assert_eq!(
        csv(&c, "people.csv", "SELECT s.\"age\" FROM S3Object s").await.unwrap_err(),
        "EvaluatorBindingDoesNotExist"
    );
    let ignored = select(
        &c,
        "people.csv",
        "SELECT _1 FROM S3Object LIMIT 2",
        csv_in(FileHeaderInfo::Ignore),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(ignored.records, "alice\nbob\n");
    let none = select(
        &c,
        "people.csv",
        "SELECT _2 FROM S3Object LIMIT 2",
        csv_in(FileHeaderInfo::None),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(none.records, "Age\n30\n");
    let all = select(
        &c,
        "people.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        json_out(),
        None,
        false,
    )
    .await
    .unwrap();
    let first = all.records.lines().next().unwrap();
    assert_eq!(first, r#"{"name":"alice","Age":"30","city":"Lisbon","home town":"Porto"}"#);
}

#[tokio::test]
async fn csv_values_are_text_until_compared_or_cast_and_bad_numbers_do_not_match() {
    let (_s, c) = lake().await;
    // Numeric, not lexicographic ('100' > '30' as text is false); 'x' and '' do not match.
    assert_eq!(
        csv(&c, "people.csv", "SELECT name FROM S3Object s WHERE s.age > 30")
            .await
            .unwrap(),
        "bob\n"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT name FROM S3Object WHERE CAST(age AS INT) < 50")
            .await
            .unwrap(),
        "alice\nerin\n"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT name FROM S3Object WHERE age = ''")
            .await
            .unwrap(),
        "dan\n"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT name FROM S3Object WHERE age = '30'")
            .await
            .unwrap(),
        "alice\n"
    );
    assert_eq!(
        csv(
            &c,
            "people.csv",
            "SELECT COUNT(*), SUM(CAST(age AS FLOAT)), MIN(name), MAX(city) FROM S3Object"
        )
        .await
        .unwrap(),
        "5,137,alice,Porto, PT\n".replace("Porto, PT", "\"Porto, PT\"")
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT AVG(s.age) FROM S3Object s WHERE s.city = 'Lisbon'")
            .await
            .unwrap(),
        "18.5\n"
    );
}

#[tokio::test]
async fn where_operators_and_functions() {
    let (_s, c) = lake().await;
    let q = |e: &'static str| {
        let c = c.clone();
        async move { csv(&c, "people.csv", e).await }
    };
    assert_eq!(
        q("SELECT name FROM S3Object WHERE city = 'Lisbon' AND NOT age = '30' OR name = 'carol'")
            .await
            .unwrap(),
        "carol\nerin\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE name IN ('bob', 'dan')").await.unwrap(),
        "bob\ndan\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE age IN (30, 7)").await.unwrap(),
        "alice\nerin\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE age BETWEEN 10 AND 200").await.unwrap(),
        "alice\nbob\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE city LIKE 'P%' OR name LIKE '_r%'")
            .await
            .unwrap(),
        "bob\nerin\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE '100%' LIKE '100!%' ESCAPE '!' AND name = 'bob'")
            .await
            .unwrap(),
        "bob\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE '1000' LIKE '100!%' ESCAPE '!'")
            .await
            .unwrap(),
        ""
    );
    assert_eq!(
        q("SELECT UPPER(name), LOWER('ABC'), TRIM('  x  '), SUBSTRING(name FROM 2 FOR 2), CHAR_LENGTH(city) FROM S3Object LIMIT 1").await.unwrap(),
        "ALICE,abc,x,li,6\n"
    );
    assert_eq!(
        q("SELECT COALESCE(NULLIF(age, ''), 'none') FROM S3Object WHERE name = 'dan'")
            .await
            .unwrap(),
        "none\n"
    );
    assert_eq!(
        q("SELECT name AS who FROM S3Object WHERE \"home town\" = ''").await.unwrap(),
        "erin\n"
    );
    assert_eq!(
        q("SELECT EXTRACT(YEAR FROM TO_TIMESTAMP('2017-10-02T10:56:33Z')), \
           TO_STRING(DATE_ADD(day, 30, TO_TIMESTAMP('2017-10-02T10:56:33Z')), 'yyyy-MM-dd'), \
           DATE_DIFF(day, TO_TIMESTAMP('2017-10-02T00:00:00Z'), TO_TIMESTAMP('2017-11-01T12:00:00Z')) \
           FROM S3Object LIMIT 1")
        .await
        .unwrap(),
        "2017,2017-11-01,30\n"
    );
    assert!(q("SELECT UTCNOW() FROM S3Object LIMIT 1").await.unwrap().starts_with("20"));
    // Quotes inside strings stay quotes (and cannot end the string early).
    assert_eq!(
        q("SELECT name FROM S3Object WHERE 'it''s' = 'it''s' AND name = 'bob'")
            .await
            .unwrap(),
        "bob\n"
    );
    assert_eq!(
        q("SELECT name FROM S3Object WHERE name = 'a'' OR ''x''=''x'").await.unwrap(),
        ""
    );
    // Without ESCAPE a backslash is an ordinary character in a LIKE pattern.
    assert_eq!(
        q("SELECT name FROM S3Object WHERE 'C:\\x' LIKE 'C:\\%' AND name = 'bob'")
            .await
            .unwrap(),
        "bob\n"
    );
    // Unnamed results are _1.._N, named ones keep their names (JSON output shows them).
    let json = select(
        &c,
        "people.csv",
        "SELECT name, UPPER(city), age AS years FROM S3Object LIMIT 1",
        csv_in(FileHeaderInfo::Use),
        json_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(json.records, "{\"name\":\"alice\",\"_2\":\"LISBON\",\"years\":\"30\"}\n");
}

#[tokio::test]
async fn csv_input_and_output_options() {
    let (_s, c) = lake().await;
    put(
        &c,
        "lake",
        "odd.csv",
        "# a comment\nk;v\n'a;1';'say ''hi'''\n'multi\nline';2\n".as_bytes(),
    )
    .await;
    let input = InputSerialization::builder()
        .csv(
            CsvInput::builder()
                .file_header_info(FileHeaderInfo::Use)
                .field_delimiter(";")
                .quote_character("'")
                .comments("#")
                .allow_quoted_record_delimiter(true)
                .build(),
        )
        .build();
    let output = OutputSerialization::builder()
        .csv(
            CsvOutput::builder()
                .field_delimiter("|")
                .record_delimiter("\r\n")
                .quote_fields(QuoteFields::Always)
                .build(),
        )
        .build();
    let out = select(&c, "odd.csv", "SELECT k, v FROM S3Object", input.clone(), output, None, false)
        .await
        .unwrap();
    assert_eq!(out.records, "\"a;1\"|\"say 'hi'\"\r\n\"multi\nline\"|\"2\"\r\n");
    let json = OutputSerialization::builder()
        .json(JsonOutput::builder().record_delimiter(";").build())
        .build();
    let out = select(&c, "odd.csv", "SELECT v FROM S3Object", input, json, None, false)
        .await
        .unwrap();
    assert_eq!(out.records, "{\"v\":\"say 'hi'\"};{\"v\":\"2\"};");
    // A record delimiter other than a newline.
    put(&c, "lake", "semi.csv", "a,b;x,2;y,3;".as_bytes()).await;
    let input = InputSerialization::builder()
        .csv(
            CsvInput::builder()
                .file_header_info(FileHeaderInfo::Use)
                .record_delimiter(";")
                .build(),
        )
        .build();
    let out = select(
        &c,
        "semi.csv",
        "SELECT a FROM S3Object WHERE b = 3",
        input,
        json_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "{\"a\":\"y\"}\n");
    // An escape character other than the quote is refused, not ignored.
    let input = InputSerialization::builder()
        .csv(
            CsvInput::builder()
                .file_header_info(FileHeaderInfo::Use)
                .quote_escape_character("\\")
                .build(),
        )
        .build();
    let (code, status) = select(&c, "semi.csv", "SELECT * FROM S3Object", input, json_out(), None, false)
        .await
        .unwrap_err();
    assert_eq!((code.as_str(), status), ("NotImplemented", 501));
}

#[tokio::test]
async fn json_lines_and_documents_with_paths() {
    let (_s, c) = lake().await;
    put(&c, "lake", "events.json", "{\"id\":1,\"user\":{\"name\":\"ana\",\"tags\":[\"a\",\"b\"]},\"n\":5}\n{\"id\":2,\"user\":{\"name\":\"rui\",\"tags\":[\"c\"]}}\n".as_bytes()).await;
    let lines = json_in(JsonType::Lines);
    let out = select(
        &c,
        "events.json",
        "SELECT s.user.name, s.user.tags[0] FROM S3Object s WHERE s.id > 1",
        lines.clone(),
        json_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "{\"name\":\"rui\",\"_2\":\"c\"}\n");
    let out = select(
        &c,
        "events.json",
        "SELECT s.id FROM S3Object s WHERE s.n IS MISSING",
        lines.clone(),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "2\n");
    let out = select(
        &c,
        "events.json",
        "SELECT * FROM S3Object s WHERE s.n IS NOT MISSING",
        lines,
        json_out(),
        None,
        false,
    )
    .await
    .unwrap();
    // Keys come in the inferred schema's order (sorted), not the line's.
    assert_eq!(
        out.records,
        "{\"id\":1,\"n\":5,\"user\":{\"name\":\"ana\",\"tags\":[\"a\",\"b\"]}}\n"
    );
    // DOCUMENT: a top-level array, or documents one after another (pretty-printed).
    put(
        &c,
        "lake",
        "array.json",
        "\u{feff}[{\"x\": 1}, {\"x\": 2, \"y\": \"z\"}]".as_bytes(),
    )
    .await;
    put(&c, "lake", "docs.json", "{\n  \"x\": 3\n}\n{\n  \"x\": 4\n}\n".as_bytes()).await;
    let doc = json_in(JsonType::Document);
    let out = select(
        &c,
        "array.json",
        "SELECT s.x FROM S3Object[*] s WHERE s.x > 1",
        doc.clone(),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "2\n");
    let out = select(
        &c,
        "docs.json",
        "SELECT SUM(s.x) FROM S3Object s",
        doc,
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "7\n");
}

/// Writes an object through the server's compute (`lagoa sql`), as root.
fn sql(s: &TestServer, statement: &str) {
    let out = Command::new(binary())
        .args([
            "sql",
            "--endpoint",
            s.compute_endpoint.as_deref().expect("embedded compute"),
            "--format",
            "csv",
            statement,
        ])
        .env("LAGOA_ACCESS_KEY", ROOT_USER)
        .env("LAGOA_SECRET_KEY", ROOT_PASSWORD)
        .output()
        .expect("running lagoa sql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The object COPY wrote under `prefix` (one file).
async fn only_object(c: &Client, prefix: &str) -> String {
    let listed = c.list_objects_v2().bucket("lake").prefix(prefix).send().await.unwrap();
    let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0].clone()
}

#[tokio::test]
async fn parquet_and_compressed_objects() {
    let (s, c) = lake().await;
    let rows = "SELECT v AS id, CASE WHEN v % 4 = 0 THEN 'SP' ELSE 'RJ' END AS state, v * 1.5 AS amount FROM generate_series(1, 1000) AS t(v)";
    sql(&s, &format!("COPY ({rows}) TO 's3://lake/pq/' STORED AS PARQUET"));
    sql(
        &s,
        &format!("COPY ({rows}) TO 's3://lake/gz/' STORED AS CSV OPTIONS ('format.compression' 'gzip')"),
    );
    sql(
        &s,
        &format!("COPY ({rows}) TO 's3://lake/bz/' STORED AS CSV OPTIONS ('format.compression' 'bzip2')"),
    );
    let query = "SELECT COUNT(*), SUM(s.amount) FROM S3Object s WHERE s.state = 'SP' AND s.id > 500";
    // 125 rows: 504, 508, …, 1000; amounts 1.5 × (504 + … + 1000) = 1.5 × 94000.
    let expected = "125,141000\n";
    let parquet = InputSerialization::builder().parquet(ParquetInput::builder().build()).build();
    let out = select(&c, &only_object(&c, "pq/").await, query, parquet, csv_out(), None, false)
        .await
        .unwrap();
    assert_eq!(out.records, expected);
    for (prefix, compression) in [("gz/", CompressionType::Gzip), ("bz/", CompressionType::Bzip2)] {
        let input = InputSerialization::builder()
            .csv(CsvInput::builder().file_header_info(FileHeaderInfo::Use).build())
            .compression_type(compression)
            .build();
        let out = select(&c, &only_object(&c, prefix).await, query, input, csv_out(), None, false)
            .await
            .unwrap();
        assert_eq!(out.records, expected, "{prefix}");
    }
}

#[tokio::test]
async fn scan_range_takes_the_records_that_start_inside_it() {
    let (_s, c) = lake().await;
    // Offsets: "n\n" 0-1, "10\n" 2-4, "11\n" 5-7, "12\n" 8-10, "13\n" 11-13.
    put(&c, "lake", "n.csv", "n\n10\n11\n12\n13\n".as_bytes()).await;
    let range = |start: Option<i64>, end: Option<i64>| Some(ScanRange::builder().set_start(start).set_end(end).build());
    let run = |scan| {
        let c = c.clone();
        async move {
            select(
                &c,
                "n.csv",
                "SELECT * FROM S3Object",
                csv_in(FileHeaderInfo::None),
                csv_out(),
                scan,
                false,
            )
            .await
            .unwrap()
            .records
        }
    };
    assert_eq!(run(range(Some(2), Some(5))).await, "10\n11\n");
    assert_eq!(run(range(Some(3), Some(8))).await, "11\n12\n");
    assert_eq!(run(range(Some(6), None)).await, "12\n13\n");
    assert_eq!(run(range(None, Some(6))).await, "12\n13\n");
    assert_eq!(run(range(Some(100), None)).await, "");
}

#[tokio::test]
async fn large_results_come_in_bounded_payloads_in_object_order() {
    let (_s, c) = lake().await;
    let mut body = String::from("n,pad\n");
    // Over DataFusion's 10 MiB threshold for scanning one file as parallel byte ranges: the
    // records must still come back in the object's order.
    for i in 0..260_000 {
        body.push_str(&format!("{i},{}\n", "x".repeat(40)));
    }
    put(&c, "lake", "big.csv", body.as_bytes()).await;
    let out = select(
        &c,
        "big.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, body["n,pad\n".len()..]);
    assert!(out.largest_payload <= 256 * 1024, "{}", out.largest_payload);
    let out = select(
        &c,
        "big.csv",
        "SELECT n FROM S3Object WHERE n >= 39990 LIMIT 3",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "39990\n39991\n39992\n");
}

#[tokio::test]
async fn stats_and_progress_events() {
    let (_s, c) = lake().await;
    let out = select(
        &c,
        "people.csv",
        "SELECT name FROM S3Object WHERE city = 'Faro'",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!(out.records, "carol\n");
    let (scanned, processed, returned) = out.stats.expect("a Stats event");
    assert_eq!(scanned, PEOPLE.len() as i64);
    assert_eq!(processed, PEOPLE.len() as i64);
    assert_eq!(returned, "carol\n".len() as i64);
    assert!(out.progress_events >= 1, "Progress was requested");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_the_server_keeps_serving() {
    let (_s, c) = lake().await;
    put(&c, "lake", "bad.json", "{\"a\": 1}\n{\"a\": \n".as_bytes()).await;
    put(&c, "lake", "bad.csv", "a,b\n1,2\n1,2,3\n".as_bytes()).await;
    put(&c, "lake", "plain.csv", "a\n1\n".as_bytes()).await;
    let err = |r: Result<Selected, (String, u16)>| r.map(|s| s.records).unwrap_err().0;
    assert_eq!(
        csv(&c, "people.csv", "SELEKT * FROM S3Object").await.unwrap_err(),
        "ParseUnexpectedToken"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT nope FROM S3Object").await.unwrap_err(),
        "EvaluatorBindingDoesNotExist"
    );
    assert_eq!(
        csv(&c, "people.csv", "SELECT * FROM elsewhere").await.unwrap_err(),
        "ParseSelectMissingFrom"
    );
    assert_eq!(
        csv(&c, "people.csv", "DELETE FROM S3Object").await.unwrap_err(),
        "UnsupportedSqlOperation"
    );
    assert_eq!(
        csv(
            &c,
            "people.csv",
            "SELECT * FROM S3Object WHERE name IN (SELECT a FROM 's3://lake/plain.csv')"
        )
        .await
        .unwrap_err(),
        "UnsupportedSqlOperation"
    );
    assert_eq!(
        csv(&c, "bad.csv", "SELECT * FROM S3Object").await.unwrap_err(),
        "CSVParsingError"
    );
    let (code, status) = select(
        &c,
        "bad.json",
        "SELECT * FROM S3Object",
        json_in(JsonType::Lines),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!((code.as_str(), status), ("JSONParsingError", 400));
    let parquet = InputSerialization::builder().parquet(ParquetInput::builder().build()).build();
    let (code, status) = select(&c, "plain.csv", "SELECT * FROM S3Object", parquet, csv_out(), None, false)
        .await
        .unwrap_err();
    assert_eq!((code.as_str(), status), ("ParquetParsingError", 400));
    let gzip = InputSerialization::builder()
        .csv(CsvInput::builder().file_header_info(FileHeaderInfo::Use).build())
        .compression_type(CompressionType::Gzip)
        .build();
    let code = err(select(&c, "plain.csv", "SELECT * FROM S3Object", gzip, csv_out(), None, false).await);
    assert_eq!(code, "InvalidCompressionFormat");
    let (code, status) = select(
        &c,
        "missing.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!((code.as_str(), status), ("NoSuchKey", 404));
    let scan = Some(ScanRange::builder().start(0).end(5).build());
    let code = err(select(
        &c,
        "plain.csv",
        "SELECT * FROM S3Object",
        json_in(JsonType::Document),
        csv_out(),
        scan,
        false,
    )
    .await);
    assert_eq!(code, "UnsupportedScanRangeInput");
    // Still serving, and a good Select still works.
    c.head_bucket().bucket("lake").send().await.unwrap();
    assert_eq!(csv(&c, "plain.csv", "SELECT a FROM S3Object").await.unwrap(), "1\n");
}

#[tokio::test]
async fn another_users_bucket_is_access_denied() {
    let (s, c) = lake().await;
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    let (code, status) = select(
        &other,
        "people.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!((code.as_str(), status), ("AccessDenied", 403));
    // The owner (root here) may.
    assert!(csv(&c, "people.csv", "SELECT COUNT(*) FROM S3Object").await.is_ok());
}

#[tokio::test]
async fn without_compute_select_is_not_implemented() {
    let s = server_with(&["--no-compute"]);
    let c = s.client();
    c.create_bucket().bucket("lake").send().await.unwrap();
    put(&c, "lake", "people.csv", PEOPLE.as_bytes()).await;
    let (code, status) = select(
        &c,
        "people.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!((code.as_str(), status), ("NotImplemented", 501));
}

/// A free loopback port (bound then released) for a sidecar the server is told about first.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_forwards_to_a_sidecar_on_the_same_volume_while_puts_continue() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let s = server_with(&["--no-compute", "--compute-url", &url]);
    let c = s.client();
    c.create_bucket().bucket("lake").send().await.unwrap();
    put(&c, "lake", "people.csv", PEOPLE.as_bytes()).await;
    let users = s.data_dir().with_extension("users.toml");
    let mut sidecar = Command::new(binary())
        .args([
            "compute",
            "--address",
            &format!("127.0.0.1:{port}"),
            "--s3-url",
            &s.endpoint,
            "--data",
        ])
        .arg(s.data_dir())
        .arg("--users")
        .arg(&users)
        .env("LAGOA_ROOT_USER", ROOT_USER)
        .env("LAGOA_ROOT_PASSWORD", ROOT_PASSWORD)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting lagoa compute");
    // PUTs continue while Selects run through the sidecar.
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                put(&c, "lake", &format!("live/{i}.csv"), format!("n\n{i}\n").as_bytes()).await;
            }
        })
    };
    let mut answered = None;
    for _ in 0..100 {
        match csv(&c, "people.csv", "SELECT name FROM S3Object s WHERE s.age > 30").await {
            Ok(records) => {
                answered = Some(records);
                break;
            }
            // Until the sidecar listens and has opened the volume.
            Err(code) if code == "ServiceUnavailable" => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(code) => panic!("{code}"),
        }
    }
    assert_eq!(answered.as_deref(), Some("bob\n"));
    for i in [0, 50, 150] {
        // An object written after the sidecar opened the volume is seen (caught up per query),
        // or not there yet: never an error other than NoSuchKey.
        match csv(&c, &format!("live/{i}.csv"), "SELECT n FROM S3Object").await {
            Ok(records) => assert_eq!(records, format!("{i}\n")),
            Err(code) => assert_eq!(code, "NoSuchKey"),
        }
    }
    writer.await.unwrap();
    assert_eq!(csv(&c, "live/199.csv", "SELECT n FROM S3Object").await.unwrap(), "199\n");
    // Errors and authorisation travel back as S3 errors.
    assert_eq!(
        csv(&c, "people.csv", "SELECT nope FROM S3Object").await.unwrap_err(),
        "EvaluatorBindingDoesNotExist"
    );
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    let (code, _) = select(
        &other,
        "people.csv",
        "SELECT * FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(code, "AccessDenied");
    let stats = select(
        &c,
        "people.csv",
        "SELECT name FROM S3Object",
        csv_in(FileHeaderInfo::Use),
        csv_out(),
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!(stats.stats.map(|s| s.0), Some(PEOPLE.len() as i64));
    assert!(stats.progress_events >= 1);
    // An SSE-C object: the key the S3 server checked travels with the forwarded Select.
    use base64::Engine;
    let raw_key = [7u8; 32];
    let key = base64::engine::general_purpose::STANDARD.encode(raw_key);
    let key_md5 = base64::engine::general_purpose::STANDARD.encode(<md5::Md5 as md5::Digest>::digest(raw_key));
    c.put_object()
        .bucket("lake")
        .key("sealed.csv")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key)
        .sse_customer_key_md5(&key_md5)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(PEOPLE.as_bytes()))
        .send()
        .await
        .unwrap();
    let mut out = c
        .select_object_content()
        .bucket("lake")
        .key("sealed.csv")
        .expression("SELECT name FROM S3Object s WHERE s.age > 30")
        .expression_type(aws_sdk_s3::types::ExpressionType::Sql)
        .input_serialization(csv_in(FileHeaderInfo::Use))
        .output_serialization(csv_out())
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key)
        .sse_customer_key_md5(&key_md5)
        .send()
        .await
        .expect("a forwarded Select of an SSE-C object with its key");
    let mut records = String::new();
    while let Some(event) = out.payload.recv().await.unwrap() {
        if let aws_sdk_s3::types::SelectObjectContentEventStream::Records(r) = event {
            records.push_str(&String::from_utf8(r.payload.unwrap().into_inner()).unwrap());
        }
    }
    assert_eq!(records, "bob\n");
    let _ = sidecar.kill();
    let _ = sidecar.wait();
}
