//! Authorization over real HTTP: one table of operation (S3 requests and SQL queries) ×
//! principal × bucket set-up (policy, public-access block) with the outcome S3's evaluation
//! gives, plus the bucket policy and
//! public-access-block APIs and the condition keys policies read.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use common::*;

/// An operation as the raw request that performs it.
struct Op {
    name: &'static str,
    method: &'static str,
    /// Path under the bucket (`""`: the bucket itself); `{p}` is the principal's name.
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const TAGGING: &str = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";
const DELETE_ONE: &str = "<Delete><Object><Key>gone</Key></Object></Delete>";

const OPS: &[Op] = &[
    Op {
        name: "GetObject",
        method: "GET",
        path: "/obj",
        query: &[],
        headers: &[],
        body: "",
    },
    Op {
        name: "HeadObject",
        method: "HEAD",
        path: "/obj",
        query: &[],
        headers: &[],
        body: "",
    },
    Op {
        name: "PutObject",
        method: "PUT",
        path: "/new-{p}",
        query: &[],
        headers: &[],
        body: "x",
    },
    Op {
        name: "DeleteObject",
        method: "DELETE",
        path: "/gone",
        query: &[],
        headers: &[],
        body: "",
    },
    Op {
        name: "ListObjectsV2",
        method: "GET",
        path: "",
        query: &[("list-type", "2")],
        headers: &[],
        body: "",
    },
    Op {
        name: "HeadBucket",
        method: "HEAD",
        path: "",
        query: &[],
        headers: &[],
        body: "",
    },
    Op {
        name: "GetBucketLocation",
        method: "GET",
        path: "",
        query: &[("location", "")],
        headers: &[],
        body: "",
    },
    Op {
        name: "GetBucketPolicy",
        method: "GET",
        path: "",
        query: &[("policy", "")],
        headers: &[],
        body: "",
    },
    Op {
        name: "PutBucketTagging",
        method: "PUT",
        path: "",
        query: &[("tagging", "")],
        headers: &[],
        body: TAGGING,
    },
    Op {
        name: "CopyObject",
        method: "PUT",
        path: "/copy-{p}",
        query: &[],
        headers: &[("x-amz-copy-source", "/{b}/obj")],
        body: "",
    },
    Op {
        name: "DeleteObjects",
        method: "POST",
        path: "",
        query: &[("delete", "")],
        headers: &[],
        body: DELETE_ONE,
    },
    // The SQL endpoint (`POST /v1/sql` on the compute address): its reads and writes are
    // decided object by object like the S3 requests that would make them.
    Op {
        name: "SQL: SELECT one object",
        method: "SQL",
        path: "",
        query: &[],
        headers: &[],
        body: "SELECT * FROM 's3://{b}/sql/t.csv'",
    },
    Op {
        name: "SQL: scan the bucket",
        method: "SQL",
        path: "",
        query: &[],
        headers: &[],
        body: "SELECT count(*) FROM 's3://{b}/sql/'",
    },
    Op {
        name: "SQL: COPY TO",
        method: "SQL",
        path: "",
        query: &[],
        headers: &[],
        body: "COPY (SELECT 1 AS x) TO 's3://{b}/copied/{p}.csv' STORED AS CSV",
    },
];

/// Who sends: a name for messages and `{p}`, and credentials (`None`: anonymous).
const PRINCIPALS: &[(&str, Option<(&str, &str)>)] = &[
    ("root", Some((ROOT_USER, ROOT_PASSWORD))),
    ("owner", Some(OTHER_USER)),
    ("reader", Some(READER_USER)),
    ("writer", Some(WRITER_USER)),
    ("stranger", Some(HOME_USER)),
    ("anonymous", None),
];

/// `mc anonymous set download`'s policy.
const DOWNLOAD: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::{b}"]},
  {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{b}/*"]}]}"#;

/// Denies the reader everything and everyone deletes.
const DENIALS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::000000000000:user/lagoa-reader"]},"Action":"s3:*","Resource":["arn:aws:s3:::{b}","arn:aws:s3:::{b}/*"]},
  {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::{b}/*"}]}"#;

/// A bucket set-up and, per principal, the expected outcome of each of `OPS` in order
/// (`Y` allowed, `n` refused). The SQL endpoint takes signed requests only: anonymous
/// callers are refused there whatever a policy grants.
struct Setup {
    name: &'static str,
    policy: Option<&'static str>,
    restrict_public_buckets: bool,
    expected: &'static [(&'static str, &'static str)],
}

const SETUPS: &[Setup] = &[
    Setup {
        name: "private",
        policy: None,
        restrict_public_buckets: false,
        expected: &[
            //            Get Head Put Del List HeadB Loc GetPol Tag Copy DelObjs SqlGet SqlScan SqlCopy
            ("root", "YYYYYYYYYYYYYY"),
            ("owner", "YYYYYYYYYYYYYY"),
            ("reader", "YYnnnnYnnnnYnn"),
            ("writer", "nnYnnnnnnnnnnY"),
            ("stranger", "nnnnnnnnnnnnnn"),
            ("anonymous", "nnnnnnnnnnnnnn"),
        ],
    },
    Setup {
        name: "public download",
        policy: Some(DOWNLOAD),
        restrict_public_buckets: false,
        expected: &[
            ("root", "YYYYYYYYYYYYYY"),
            ("owner", "YYYYYYYYYYYYYY"),
            ("reader", "YYnnYYYnnnnYYn"),
            ("writer", "YYYnYYYnnYnYYY"),
            ("stranger", "YYnnYYYnnnnYYn"),
            ("anonymous", "YYnnYYYnnnnnnn"),
        ],
    },
    Setup {
        name: "public download, RestrictPublicBuckets",
        policy: Some(DOWNLOAD),
        restrict_public_buckets: true,
        expected: &[
            ("owner", "YYYYYYYYYYYYYY"),
            ("stranger", "YYnnYYYnnnnYYn"),
            ("anonymous", "nnnnnnnnnnnnnn"),
        ],
    },
    Setup {
        name: "explicit denials",
        policy: Some(DENIALS),
        restrict_public_buckets: false,
        expected: &[
            ("root", "YYYYYYYYYYYYYY"),
            ("owner", "YYYnYYYYYYnYYY"),
            ("reader", "nnnnnnnnnnnnnn"),
            ("writer", "nnYnnnnnnnnnnY"),
            ("anonymous", "nnnnnnnnnnnnnn"),
        ],
    },
];

/// Puts a bucket policy that must be accepted.
async fn set_policy(client: &aws_sdk_s3::Client, bucket: &str, policy: impl Into<String>) {
    client.put_bucket_policy().bucket(bucket).policy(policy).send().await.unwrap();
}

/// The status of an unsigned GET of `path`.
async fn anonymous_get(s: &TestServer, path: &str) -> u16 {
    reqwest::get(format!("{}{path}", s.endpoint)).await.unwrap().status().as_u16()
}

fn content_md5(body: &str) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body.as_bytes()))
}

fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

/// POSTs `sql` to the server's embedded SQL endpoint, signed by `credentials` (or not).
async fn sql_as(s: &TestServer, credentials: Option<(&str, &str)>, sql: &str) -> Raw {
    let endpoint = s.compute_endpoint.as_deref().expect("compute is embedded by default");
    sql_request(endpoint, credentials, Vec::new(), sql).await
}

/// Sends `op` on `bucket` as `principal`; whether S3 would call it allowed (not a 403, and for
/// DeleteObjects no per-key AccessDenied).
async fn attempt(s: &TestServer, bucket: &str, op: &Op, principal: &str, credentials: Option<(&str, &str)>) -> (bool, Raw) {
    if op.method == "SQL" {
        let sql = op.body.replace("{b}", bucket).replace("{p}", principal);
        let raw = sql_as(s, credentials, &sql).await;
        assert!(raw.status == 200 || raw.status == 403, "{sql}: {} {}", raw.status, raw.body);
        return (raw.status == 200, raw);
    }
    let path = format!("/{bucket}{}", op.path.replace("{p}", principal));
    let md5 = content_md5(op.body);
    let mut headers: Vec<(String, String)> = op
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.replace("{b}", bucket)))
        .collect();
    if !op.body.is_empty() && op.method != "PUT" || op.query.iter().any(|(k, _)| *k == "tagging") {
        headers.push(("content-md5".into(), md5));
    }
    let raw = match credentials {
        Some(creds) => {
            let extra: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            signed_as(
                s,
                creds,
                op.method,
                &path,
                op.query,
                &extra,
                &sha256_hex(op.body.as_bytes()),
                op.body.as_bytes().to_vec(),
            )
            .await
        }
        None => {
            let qs: Vec<String> = op
                .query
                .iter()
                .map(|(k, v)| if v.is_empty() { (*k).to_owned() } else { format!("{k}={v}") })
                .collect();
            let url = format!("{}{path}{}{}", s.endpoint, if qs.is_empty() { "" } else { "?" }, qs.join("&"));
            let mut req = reqwest::Client::new()
                .request(op.method.parse().unwrap(), url)
                .body(op.body.to_owned());
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.unwrap();
            Raw {
                status: resp.status().as_u16(),
                headers: resp.headers().clone(),
                body: resp.text().await.unwrap_or_default(),
            }
        }
    };
    let refused = raw.status == 403 || (op.name == "DeleteObjects" && raw.body.contains("<Code>AccessDenied</Code>"));
    (!refused, raw)
}

#[tokio::test]
async fn every_operation_is_decided_by_principal_and_policy_as_s3_does() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    let mut failures = Vec::new();
    for (i, setup) in SETUPS.iter().enumerate() {
        let bucket = format!("table-{i}");
        common::bucket(&owner, &bucket).await;
        put(&owner, &bucket, "obj", b"hello").await;
        put(&owner, &bucket, "sql/t.csv", b"n\n1\n").await;
        if let Some(policy) = setup.policy {
            set_policy(&owner, &bucket, policy.replace("{b}", &bucket)).await;
        }
        if setup.restrict_public_buckets {
            let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build();
            owner
                .put_public_access_block()
                .bucket(&bucket)
                .public_access_block_configuration(block)
                .send()
                .await
                .unwrap();
        }
        for (principal, row) in setup.expected {
            let credentials = PRINCIPALS.iter().find(|(p, _)| p == principal).unwrap().1;
            for (op, expected) in OPS.iter().zip(row.chars()) {
                let (allowed, raw) = attempt(&s, &bucket, op, principal, credentials).await;
                if allowed != (expected == 'Y') {
                    failures.push(format!(
                        "{}: {principal} {}: expected {}, got {} {}",
                        setup.name,
                        op.name,
                        if expected == 'Y' { "allowed" } else { "refused" },
                        raw.status,
                        raw.body.chars().take(200).collect::<String>()
                    ));
                }
                if !allowed && op.name != "DeleteObjects" && op.method != "HEAD" && op.method != "SQL" {
                    assert!(
                        raw.body.contains("<Code>AccessDenied</Code>") && raw.body.contains("<RequestId>"),
                        "{}",
                        raw.body
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn bucket_policy_and_public_access_block_apis_answer_as_s3() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    common::bucket(&owner, "pol").await;
    let err = owner.get_bucket_policy().bucket("pol").send().await.unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchBucketPolicy", 404));
    let err = owner.get_bucket_policy_status().bucket("pol").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucketPolicy");
    // Refused policies change nothing and say why.
    for (policy, message) in [
        ("{not json", "Policies must be valid JSON"),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
            "Policy has invalid resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:Fly","Resource":"arn:aws:s3:::pol/*"}]}"#,
            "Policy has invalid action",
        ),
    ] {
        let err = owner
            .put_bucket_policy()
            .bucket("pol")
            .policy(policy)
            .send()
            .await
            .unwrap_err();
        assert_eq!((code(&err).as_str(), status(&err)), ("MalformedPolicy", 400), "{policy}");
        assert!(format!("{err:?}").contains(message), "{err:?}");
    }
    let huge = format!(
        r#"{{"Version":"2012-10-17","Id":"{}","Statement":[]}}"#,
        "x".repeat(21 * 1024)
    );
    let err = owner.put_bucket_policy().bucket("pol").policy(huge).send().await.unwrap_err();
    assert_eq!(code(&err), "MalformedPolicy");
    assert_eq!(
        code(&owner.get_bucket_policy().bucket("pol").send().await.unwrap_err()),
        "NoSuchBucketPolicy"
    );

    // Stored as sent; S3 answers 204 to the write.
    let policy = DOWNLOAD.replace("{b}", "pol");
    let raw = signed_as(
        &s,
        OTHER_USER,
        "PUT",
        "/pol",
        &[("policy", "")],
        &[],
        &sha256_hex(policy.as_bytes()),
        policy.clone().into_bytes(),
    )
    .await;
    assert_eq!(raw.status, 204, "{}", raw.body);
    let got = owner.get_bucket_policy().bucket("pol").send().await.unwrap();
    assert_eq!(got.policy(), Some(policy.as_str()));
    let status_now = owner.get_bucket_policy_status().bucket("pol").send().await.unwrap();
    assert_eq!(status_now.policy_status().and_then(|p| p.is_public()), Some(true));
    // Another user may not read or change it.
    let other = s.client_as(HOME_USER.0, HOME_USER.1);
    assert_eq!(
        code(&other.get_bucket_policy().bucket("pol").send().await.unwrap_err()),
        "AccessDenied"
    );
    assert_eq!(
        code(&other.delete_bucket_policy().bucket("pol").send().await.unwrap_err()),
        "AccessDenied"
    );

    // Public-access block: 404 until set; BlockPublicPolicy refuses a public policy.
    let err = owner.get_public_access_block().bucket("pol").send().await.unwrap_err();
    assert_eq!(
        (code(&err).as_str(), status(&err)),
        ("NoSuchPublicAccessBlockConfiguration", 404)
    );
    let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    owner
        .put_public_access_block()
        .bucket("pol")
        .public_access_block_configuration(block)
        .send()
        .await
        .unwrap();
    let got = owner.get_public_access_block().bucket("pol").send().await.unwrap();
    let got = got.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            got.block_public_acls(),
            got.ignore_public_acls(),
            got.block_public_policy(),
            got.restrict_public_buckets()
        ),
        (Some(false), Some(false), Some(true), Some(true))
    );
    let err = owner
        .put_bucket_policy()
        .bucket("pol")
        .policy(&policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("AccessDenied", 403));
    let private = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"lagoa-home"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"}]}"#;
    set_policy(&owner, "pol", private).await;
    let status_now = owner.get_bucket_policy_status().bucket("pol").send().await.unwrap();
    assert_eq!(status_now.policy_status().and_then(|p| p.is_public()), Some(false));
    owner.delete_public_access_block().bucket("pol").send().await.unwrap();
    assert_eq!(
        code(&owner.get_public_access_block().bucket("pol").send().await.unwrap_err()),
        "NoSuchPublicAccessBlockConfiguration"
    );
    owner.delete_bucket_policy().bucket("pol").send().await.unwrap();
    assert_eq!(
        code(&owner.get_bucket_policy().bucket("pol").send().await.unwrap_err()),
        "NoSuchBucketPolicy"
    );
    // Gone with the bucket: a new bucket of the same name starts without them.
    set_policy(&owner, "pol", &policy).await;
    owner.delete_bucket().bucket("pol").send().await.unwrap();
    common::bucket(&owner, "pol").await;
    assert_eq!(
        code(&owner.get_bucket_policy().bucket("pol").send().await.unwrap_err()),
        "NoSuchBucketPolicy"
    );
    put(&owner, "pol", "k", b"v").await;
    let anonymous = reqwest::get(format!("{}/pol/k", s.endpoint)).await.unwrap();
    assert_eq!(anonymous.status(), 403);
    // Policies of a bucket that does not exist: NoSuchBucket.
    assert_eq!(
        code(&owner.get_bucket_policy().bucket("nope").send().await.unwrap_err()),
        "NoSuchBucket"
    );
}

#[tokio::test]
async fn conditions_read_the_request_and_the_object() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    common::bucket(&owner, "cond").await;
    put(&owner, "cond", "home/lagoa-home/mine.txt", b"mine").await;
    put(&owner, "cond", "home/someone/theirs.txt", b"theirs").await;
    // ${aws:username} and s3:prefix (the users file's `home` policy).
    let home = s.client_as(HOME_USER.0, HOME_USER.1);
    assert_eq!(get(&home, "cond", "home/lagoa-home/mine.txt").await, b"mine");
    assert_eq!(
        code(
            &home
                .get_object()
                .bucket("cond")
                .key("home/someone/theirs.txt")
                .send()
                .await
                .unwrap_err()
        ),
        "AccessDenied"
    );
    put(&home, "cond", "home/lagoa-home/new.txt", b"n").await;
    let listed = home
        .list_objects_v2()
        .bucket("cond")
        .prefix("home/lagoa-home/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(2));
    assert_eq!(
        code(&home.list_objects_v2().bucket("cond").send().await.unwrap_err()),
        "AccessDenied"
    );
    assert_eq!(
        code(
            &home
                .list_objects_v2()
                .bucket("cond")
                .prefix("home/")
                .send()
                .await
                .unwrap_err()
        ),
        "AccessDenied"
    );

    // aws:SourceIp: loopback is allowed, another network is not.
    let by_ip = |net: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/public/*","Condition":{{"IpAddress":{{"aws:SourceIp":"{net}"}}}}}}]}}"#
        )
    };
    put(&owner, "cond", "public/a", b"a").await;
    set_policy(&owner, "cond", by_ip("127.0.0.0/8")).await;
    assert_eq!(anonymous_get(&s, "/cond/public/a").await, 200);
    set_policy(&owner, "cond", by_ip("10.0.0.0/8")).await;
    assert_eq!(anonymous_get(&s, "/cond/public/a").await, 403);

    // s3:ExistingObjectTag: only objects tagged public=yes are readable anonymously.
    let by_tag = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}}]}"#;
    set_policy(&owner, "cond", by_tag).await;
    assert_eq!(anonymous_get(&s, "/cond/public/a").await, 403);
    let tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("public").value("yes").build().unwrap())
        .build()
        .unwrap();
    owner
        .put_object_tagging()
        .bucket("cond")
        .key("public/a")
        .tagging(tags)
        .send()
        .await
        .unwrap();
    let resp = reqwest::get(format!("{}/cond/public/a", s.endpoint)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"a");
    // A missing object under such a policy: refused, not NoSuchKey (nothing leaks).
    assert_eq!(anonymous_get(&s, "/cond/public/none").await, 403);
}

#[tokio::test]
async fn anonymous_writes_need_a_grant_and_belong_to_the_bucket_owner() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    common::bucket(&owner, "drop").await;
    let url = format!("{}/drop/inbox/a.txt", s.endpoint);
    let client = reqwest::Client::new();
    assert_eq!(client.put(&url).body("a").send().await.unwrap().status(), 403);
    let upload = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::drop/inbox/*"}]}"#;
    set_policy(&owner, "drop", upload).await;
    assert_eq!(client.put(&url).body("a").send().await.unwrap().status(), 200);
    assert_eq!(
        client
            .put(format!("{}/drop/elsewhere", s.endpoint))
            .body("a")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Reading back still needs a grant; the owner owns the upload.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 403);
    let listed = owner.list_objects_v2().bucket("drop").fetch_owner(true).send().await.unwrap();
    assert_eq!(listed.contents()[0].owner().and_then(|o| o.id()), Some(OTHER_USER.0));
    // Anonymous ListBuckets and CreateBucket are refused.
    assert_eq!(client.get(&s.endpoint).send().await.unwrap().status(), 403);
    assert_eq!(
        client
            .put(format!("{}/anon-bucket", s.endpoint))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Users with attached policies: readonly may not create buckets; readwrite-less users list
    // only what they may read.
    let reader = s.client_as(READER_USER.0, READER_USER.1);
    assert_eq!(
        code(&reader.create_bucket().bucket("readers").send().await.unwrap_err()),
        "AccessDenied"
    );
    let names: Vec<String> = reader
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["drop"]);
    let home = s.client_as(HOME_USER.0, HOME_USER.1);
    assert!(home.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn s3_select_is_allowed_by_the_same_policies_as_get() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    common::bucket(&owner, "lake").await;
    put(&owner, "lake", "t.csv", b"id,name\n1,ana\n2,bia\n").await;
    let reader = s.client_as(HOME_USER.0, HOME_USER.1);
    let query = "SELECT s.name FROM S3Object s WHERE s.id = '2'";
    let refused = select(
        &reader,
        "t.csv",
        query,
        csv_in(aws_sdk_s3::types::FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await;
    assert_eq!(refused.err(), Some(("AccessDenied".to_owned(), 403)));
    let grant = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"lagoa-home"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/t.csv"}]}"#;
    set_policy(&owner, "lake", grant).await;
    let selected = select(
        &reader,
        "t.csv",
        query,
        csv_in(aws_sdk_s3::types::FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .expect("the policy grants GetObject, so Select");
    assert_eq!(selected.records, "bia\n");
}

#[tokio::test]
async fn disguised_and_implied_actions_are_checked_too() {
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    common::versioned_bucket(&owner, "guarded").await;
    let version = owner
        .put_object()
        .bucket("guarded")
        .key("k")
        .body(b"v1".to_vec().into())
        .send()
        .await
        .unwrap();
    let version = version.version_id().unwrap().to_owned();
    let policy = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::guarded","arn:aws:s3:::guarded/*"]},
      {"Effect":"Deny","Principal":"*","Action":["s3:DeleteObjectVersion","s3:PutObjectTagging"],"Resource":"arn:aws:s3:::guarded/*"}]}"#;
    set_policy(&owner, "guarded", policy).await;
    let client = reqwest::Client::new();
    // `versionId` spelled with a percent escape is still a version delete.
    for query in [format!("versionId={version}"), format!("version%49d={version}")] {
        let resp = client
            .delete(format!("{}/guarded/k?{query}", s.endpoint))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{query}");
    }
    let still = owner
        .get_object()
        .bucket("guarded")
        .key("k")
        .version_id(&version)
        .send()
        .await;
    assert!(still.is_ok(), "the version survives");
    // Tags on a PUT need s3:PutObjectTagging (denied here); without them the PUT is allowed.
    let url = format!("{}/guarded/new", s.endpoint);
    let tagged = client
        .put(&url)
        .header("x-amz-tagging", "a=b")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 403);
    assert_eq!(client.put(&url).body("x").send().await.unwrap().status(), 200);
    // A grant of s3:* to everyone still does not let anonymous callers manage the policy.
    let replaced = client
        .put(format!("{}/guarded?policy", s.endpoint))
        .body(policy.replace("Deny", "Allow"))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 403);
    assert_eq!(
        client
            .delete(format!("{}/guarded?policy", s.endpoint))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        client
            .delete(format!("{}/guarded?publicAccessBlock", s.endpoint))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        owner.get_bucket_policy().bucket("guarded").send().await.unwrap().policy(),
        Some(policy)
    );
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_address_and_tls() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",
        "Action":"s3:GetObject","Resource":"arn:aws:s3:::fwd/*",
        "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    let get = |s: &TestServer, headers: &'static [(&'static str, &'static str)]| {
        let mut req = reqwest::Client::new().get(format!("{}/fwd/k", s.endpoint));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let https_from_client: &[(&str, &str)] = &[
        ("x-forwarded-for", "198.51.100.9, 203.0.113.7"),
        ("x-forwarded-proto", "https"),
    ];
    for (trusted, expected) in [(true, 200), (false, 403)] {
        let s = if trusted {
            server_with(&["--trusted-proxies", "127.0.0.1/32,10.0.0.0/8"])
        } else {
            server()
        };
        let c = s.client();
        bucket(&c, "fwd").await;
        put(&c, "fwd", "k", b"x").await;
        set_policy(&c, "fwd", policy).await;
        assert_eq!(get(&s, https_from_client).await, expected, "trusted proxy: {trusted}");
        if trusted {
            // Plain HTTP at the proxy, or a client-written address left of the real one.
            assert_eq!(get(&s, &[("x-forwarded-for", "203.0.113.7")]).await, 403);
            let spoofed: &[(&str, &str)] = &[
                ("x-forwarded-for", "203.0.113.7, 198.51.100.9"),
                ("x-forwarded-proto", "https"),
            ];
            assert_eq!(get(&s, spoofed).await, 403);
            // A chain of trusted proxies is skipped from the right.
            let chained: &[(&str, &str)] = &[("x-forwarded-for", "203.0.113.7, 10.1.2.3"), ("x-forwarded-proto", "https")];
            assert_eq!(get(&s, chained).await, 200);
        }
    }
}

#[tokio::test]
async fn acls_are_the_owners_alone_as_under_bucket_owner_enforced() {
    use aws_sdk_s3::types::{
        AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, ObjectOwnership, OwnershipControls,
        OwnershipControlsRule, Permission, Type,
    };
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    bucket(&owner, "acl").await;
    put(&owner, "acl", "k", b"x").await;
    // Get*Acl: the bucket owner, FULL_CONTROL, and nothing else.
    let got = owner.get_bucket_acl().bucket("acl").send().await.unwrap();
    assert_eq!(got.owner().and_then(|o| o.id()), Some(OTHER_USER.0));
    let grants: Vec<_> = got
        .grants()
        .iter()
        .map(|g| (g.grantee().and_then(|e| e.id()), g.permission().map(|p| p.as_str())))
        .collect();
    assert_eq!(grants, vec![(Some(OTHER_USER.0), Some("FULL_CONTROL"))]);
    let got = owner.get_object_acl().bucket("acl").key("k").send().await.unwrap();
    assert_eq!(got.grants().len(), 1);
    let err = owner.get_object_acl().bucket("acl").key("missing").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    // Writes that change nothing are accepted; grants to others are not implemented.
    owner
        .put_bucket_acl()
        .bucket("acl")
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap();
    owner
        .put_object_acl()
        .bucket("acl")
        .key("k")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .send()
        .await
        .unwrap();
    let grant = |id: Option<&str>, uri: Option<&str>, kind: Type, permission: Permission| {
        Grant::builder()
            .grantee(
                Grantee::builder()
                    .set_id(id.map(str::to_owned))
                    .set_uri(uri.map(str::to_owned))
                    .r#type(kind)
                    .build()
                    .unwrap(),
            )
            .permission(permission)
            .build()
    };
    let policy = |g: Grant| {
        AccessControlPolicy::builder()
            .owner(aws_sdk_s3::types::Owner::builder().id(OTHER_USER.0).build())
            .grants(g)
            .build()
    };
    owner
        .put_object_acl()
        .bucket("acl")
        .key("k")
        .access_control_policy(policy(grant(
            Some(OTHER_USER.0),
            None,
            Type::CanonicalUser,
            Permission::FullControl,
        )))
        .send()
        .await
        .expect("the owner's FULL_CONTROL alone");
    let public = grant(
        None,
        Some("http://acs.amazonaws.com/groups/global/AllUsers"),
        Type::Group,
        Permission::Read,
    );
    let err = owner
        .put_object_acl()
        .bucket("acl")
        .key("k")
        .access_control_policy(policy(public))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "AccessControlListNotSupported"));
    let err = owner
        .put_bucket_acl()
        .bucket("acl")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "AccessControlListNotSupported"));
    assert_eq!(anonymous_get(&s, "/acl/k").await, 403, "nothing was shared");
    // Another user may not read the ACL (s3:GetBucketAcl is the owner's unless a policy grants it).
    let reader = s.client_as(READER_USER.0, READER_USER.1);
    let err = reader.get_bucket_acl().bucket("acl").send().await.unwrap_err();
    assert_eq!(status(&err), 403);
    // Ownership controls: BucketOwnerEnforced by default.
    let got = owner.get_bucket_ownership_controls().bucket("acl").send().await.unwrap();
    let rules = got.ownership_controls().unwrap().rules();
    assert_eq!(rules[0].object_ownership(), &ObjectOwnership::BucketOwnerEnforced);
    let controls = |o: ObjectOwnership| {
        OwnershipControls::builder()
            .rules(OwnershipControlsRule::builder().object_ownership(o).build().unwrap())
            .build()
            .unwrap()
    };
    owner
        .put_bucket_ownership_controls()
        .bucket("acl")
        .ownership_controls(controls(ObjectOwnership::BucketOwnerEnforced))
        .send()
        .await
        .unwrap();
    // Another mode enables ACLs; deleting the controls leaves them enabled (404 on Get).
    owner
        .put_bucket_ownership_controls()
        .bucket("acl")
        .ownership_controls(controls(ObjectOwnership::ObjectWriter))
        .send()
        .await
        .unwrap();
    owner
        .put_bucket_acl()
        .bucket("acl")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    // Enforcing ownership again while the bucket ACL grants others is refused, as on AWS.
    let err = owner
        .put_bucket_ownership_controls()
        .bucket("acl")
        .ownership_controls(controls(ObjectOwnership::BucketOwnerEnforced))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&err), code(&err).as_str()),
        (400, "InvalidBucketAclWithObjectOwnership")
    );
    owner.delete_bucket_ownership_controls().bucket("acl").send().await.unwrap();
    let err = owner.get_bucket_ownership_controls().bucket("acl").send().await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (404, "OwnershipControlsNotFoundError"));
    // Without controls the bucket behaves as ObjectWriter: its public-read ACL still counts.
    assert_eq!(anonymous_get(&s, "/acl?list-type=2").await, 200);
}

#[tokio::test]
async fn acls_grant_access_in_buckets_whose_ownership_enables_them() {
    use aws_sdk_s3::types::{BucketCannedAcl, ObjectCannedAcl, ObjectOwnership, PublicAccessBlockConfiguration};
    let s = server();
    let owner = s.client_as(OTHER_USER.0, OTHER_USER.1);
    // HOME_USER's own policy reaches only home/<name>/ prefixes: ACLs are all it gets here.
    let stranger = s.client_as(HOME_USER.0, HOME_USER.1);
    owner
        .create_bucket()
        .bucket("shared")
        .object_ownership(ObjectOwnership::ObjectWriter)
        .send()
        .await
        .unwrap();
    let put_acl = |key: &'static str, acl: Option<ObjectCannedAcl>| {
        let owner = owner.clone();
        async move {
            owner
                .put_object()
                .bucket("shared")
                .key(key)
                .set_acl(acl)
                .body(ByteStream::from_static(b"data"))
                .send()
                .await
                .unwrap();
        }
    };
    put_acl("public", Some(ObjectCannedAcl::PublicRead)).await;
    put_acl("signed", Some(ObjectCannedAcl::AuthenticatedRead)).await;
    put_acl("private", None).await;
    // public-read: everyone; authenticated-read: signed callers; private: the owner.
    assert_eq!(anonymous_get(&s, "/shared/public").await, 200);
    assert_eq!(anonymous_get(&s, "/shared/signed").await, 403);
    assert_eq!(anonymous_get(&s, "/shared/private").await, 403);
    assert!(stranger.get_object().bucket("shared").key("signed").send().await.is_ok());
    let err = stranger
        .get_object()
        .bucket("shared")
        .key("private")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    // A READ grant gives reads, not writes: the object stays.
    let err = stranger
        .delete_object()
        .bucket("shared")
        .key("public")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    // An explicit grant by canonical id (the access key), through the grant header.
    owner
        .put_object_acl()
        .bucket("shared")
        .key("private")
        .grant_read(format!("id=\"{}\"", HOME_USER.0))
        .send()
        .await
        .unwrap();
    assert!(stranger.get_object().bucket("shared").key("private").send().await.is_ok());
    let got = owner.get_object_acl().bucket("shared").key("private").send().await.unwrap();
    let grants: Vec<_> = got
        .grants()
        .iter()
        .map(|g| {
            (
                g.grantee().and_then(|e| e.id()).unwrap_or_default(),
                g.permission().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(grants, vec![(HOME_USER.0, "READ")]);
    // Unknown ids and e-mail grantees are refused and change nothing.
    let err = owner
        .put_object_acl()
        .bucket("shared")
        .key("private")
        .grant_read("id=\"nobody-here\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidArgument"));
    let err = owner
        .put_object_acl()
        .bucket("shared")
        .key("private")
        .grant_read("emailAddress=\"a@example.com\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "UnresolvableGrantByEmailAddress"));
    assert!(stranger.get_object().bucket("shared").key("private").send().await.is_ok());

    // Copies and multipart uploads take the ACL their request names (a copy never the source's).
    owner
        .copy_object()
        .bucket("shared")
        .key("public-copy")
        .copy_source("shared/private")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    owner
        .copy_object()
        .bucket("shared")
        .key("plain-copy")
        .copy_source("shared/public")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, "/shared/public-copy").await, 200);
    assert_eq!(anonymous_get(&s, "/shared/plain-copy").await, 403);
    let upload = owner
        .create_multipart_upload()
        .bucket("shared")
        .key("mp")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let part = owner
        .upload_part()
        .bucket("shared")
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .part_number(1)
        .body(ByteStream::from_static(b"mp"))
        .send()
        .await
        .unwrap();
    let done = aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    owner
        .complete_multipart_upload()
        .bucket("shared")
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .multipart_upload(done)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, "/shared/mp").await, 200);

    // Bucket ACLs: public-read lists to everyone, public-read-write also takes anonymous PUTs.
    assert_eq!(anonymous_get(&s, "/shared?list-type=2").await, 403);
    owner
        .put_bucket_acl()
        .bucket("shared")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, "/shared?list-type=2").await, 200);
    let anonymous_put = reqwest::Client::new()
        .put(format!("{}/shared/dropped", s.endpoint))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_put.status(), 403);
    owner
        .put_bucket_acl()
        .bucket("shared")
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    let anonymous_put = reqwest::Client::new()
        .put(format!("{}/shared/dropped", s.endpoint))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_put.status(), 200);

    // ObjectWriter: another user's object is theirs — the bucket owner reads it only when the
    // writer grants it (bucket-owner-full-control), but may always delete it.
    stranger
        .put_object()
        .bucket("shared")
        .key("theirs")
        .body(ByteStream::from_static(b"t"))
        .send()
        .await
        .unwrap();
    let err = owner.get_object().bucket("shared").key("theirs").send().await.unwrap_err();
    assert_eq!(status(&err), 403);
    // Sharing what one writes needs s3:PutObjectAcl besides the bucket's WRITE grant.
    let err = stranger
        .put_object()
        .bucket("shared")
        .key("shared-by-stranger")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"s"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    let acl = owner.get_bucket_acl().bucket("shared").send().await.unwrap();
    assert_eq!(acl.owner().and_then(|o| o.id()), Some(OTHER_USER.0));
    stranger
        .put_object()
        .bucket("shared")
        .key("given")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(ByteStream::from_static(b"g"))
        .send()
        .await
        .unwrap();
    assert!(owner.get_object().bucket("shared").key("given").send().await.is_ok());
    let got = stranger.get_object_acl().bucket("shared").key("given").send().await.unwrap();
    assert_eq!(got.owner().and_then(|o| o.id()), Some(HOME_USER.0));
    owner.delete_object().bucket("shared").key("theirs").send().await.unwrap();

    // The public-access block: BlockPublicAcls refuses public ACLs, IgnorePublicAcls voids them.
    let block = |block: bool, ignore: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(block)
            .ignore_public_acls(ignore)
            .build()
    };
    owner
        .put_public_access_block()
        .bucket("shared")
        .public_access_block_configuration(block(false, true))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, "/shared/public").await, 403, "IgnorePublicAcls");
    owner
        .put_public_access_block()
        .bucket("shared")
        .public_access_block_configuration(block(true, false))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, "/shared/public").await, 200);
    let err = owner
        .put_object()
        .bucket("shared")
        .key("blocked")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    assert_eq!(
        status(&owner.head_object().bucket("shared").key("blocked").send().await.unwrap_err()),
        404
    );
}
