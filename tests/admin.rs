//! MinIO's admin API for users and policies (`mc admin user …`, `mc admin policy …`), over real
//! HTTP with SigV4-signed requests and bodies sealed as madmin-go seals them. The matrix's
//! minio-go suite drives the same calls through Debian's madmin-go itself.

mod common;

use common::*;
use lagoa_s3_api::admin::sealed_body;
use serde_json::Value;
use sha2::Digest;

const ROOT: (&str, &str) = (ROOT_USER, ROOT_PASSWORD);
const CAROL: (&str, &str) = ("carol", "carol-secret-1");

fn sha256_hex(body: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(body))
}

/// An admin call as `who`; `sealed` bodies are sealed with the caller's secret, as madmin does.
async fn admin(
    s: &TestServer,
    who: (&str, &str),
    method: &str,
    call: &str,
    query: &[(&str, &str)],
    body: Option<(&[u8], bool)>,
) -> Raw {
    let body = match body {
        Some((plain, true)) => sealed_body::seal(who.1, plain),
        Some((plain, false)) => plain.to_vec(),
        None => Vec::new(),
    };
    let path = format!("/minio/admin/v3/{call}");
    signed_as(s, who, method, &path, query, &[], &sha256_hex(&body), body).await
}

async fn add_user(s: &TestServer, who: (&str, &str), user: (&str, &str), status: &str) -> Raw {
    let body = serde_json::json!({"secretKey": user.1, "status": status}).to_string();
    admin(
        s,
        who,
        "PUT",
        "add-user",
        &[("accessKey", user.0)],
        Some((body.as_bytes(), true)),
    )
    .await
}

/// Attaches a policy to a user as root (`mc admin policy attach`).
async fn attach_policy(s: &TestServer, policy: &str, user: &str) -> Raw {
    let attach = serde_json::json!({"policies": [policy], "user": user}).to_string();
    admin(
        s,
        ROOT,
        "POST",
        "idp/builtin/policy/attach",
        &[],
        Some((attach.as_bytes(), true)),
    )
    .await
}

fn error_code(raw: &Raw) -> String {
    raw.body
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_default()
        .to_owned()
}

/// An S3 call that needs a permission `readonly` grants: GET `bucket/a.txt`.
async fn read_status(s: &TestServer, who: (&str, &str), bucket: &str) -> (u16, String) {
    let raw = signed_as(s, who, "GET", &format!("/{bucket}/a.txt"), &[], &[], EMPTY_SHA256, Vec::new()).await;
    (raw.status, error_code(&raw))
}

#[tokio::test]
async fn users_added_through_the_admin_api_sign_requests_and_survive_a_restart() {
    let mut s = server();
    let root = s.client();
    bucket(&root, "shared").await;
    put(&root, "shared", "a.txt", b"hello").await;

    // A new user exists but may do nothing until a policy is attached (MinIO's rule).
    let added = add_user(&s, ROOT, CAROL, "enabled").await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(read_status(&s, CAROL, "shared").await, (403, "AccessDenied".into()));

    let attached = attach_policy(&s, "readonly", CAROL.0).await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    assert_eq!(read_status(&s, CAROL, "shared").await.0, 200);
    // The same attachment again changes nothing: MinIO's error.
    let again = attach_policy(&s, "readonly", CAROL.0).await;
    assert_eq!(
        (again.status, error_code(&again).as_str()),
        (400, "XMinioAdminPolicyChangeAlreadyApplied")
    );

    // Listing is sealed with the caller's secret and holds no secret keys.
    let listed = signed_as(
        &s,
        ROOT,
        "GET",
        "/minio/admin/v3/list-users",
        &[],
        &[],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(listed.status, 200);
    let raw = reqwest_bytes(&s, "/minio/admin/v3/list-users").await;
    let users: Value = serde_json::from_slice(&sealed_body::open(ROOT_PASSWORD, &raw).unwrap()).unwrap();
    assert_eq!(users["carol"]["status"], "enabled");
    assert_eq!(users["carol"]["policyName"], "readonly");
    assert!(!String::from_utf8_lossy(&sealed_body::open(ROOT_PASSWORD, &raw).unwrap()).contains(CAROL.1));
    assert_eq!(
        users[READER_USER.0]["policyName"], "readonly",
        "users-file users are listed too"
    );

    // Stored in the store: a restart keeps them.
    s.restart();
    assert_eq!(read_status(&s, CAROL, "shared").await.0, 200);
    let info = admin(&s, ROOT, "GET", "user-info", &[("accessKey", CAROL.0)], None).await;
    let info: Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(
        (info["status"].as_str(), info["policyName"].as_str()),
        (Some("enabled"), Some("readonly"))
    );

    // Disabled: refused as an unknown key; enabled again: back.
    let disabled = admin(
        &s,
        ROOT,
        "PUT",
        "set-user-status",
        &[("accessKey", CAROL.0), ("status", "disabled")],
        None,
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(read_status(&s, CAROL, "shared").await, (403, "InvalidAccessKeyId".into()));
    admin(
        &s,
        ROOT,
        "PUT",
        "set-user-status",
        &[("accessKey", CAROL.0), ("status", "enabled")],
        None,
    )
    .await;
    assert_eq!(read_status(&s, CAROL, "shared").await.0, 200);

    // Key rotation: the old secret stops working, the new one works.
    let rotated = ("carol", "carol-secret-2");
    assert_eq!(add_user(&s, ROOT, rotated, "enabled").await.status, 200);
    assert_eq!(read_status(&s, CAROL, "shared").await, (403, "SignatureDoesNotMatch".into()));
    assert_eq!(read_status(&s, rotated, "shared").await.0, 200);

    // Removed: gone, and its admin record with it.
    let removed = admin(&s, ROOT, "DELETE", "remove-user", &[("accessKey", "carol")], None).await;
    assert_eq!(removed.status, 200);
    assert_eq!(read_status(&s, rotated, "shared").await, (403, "InvalidAccessKeyId".into()));
    let gone = admin(&s, ROOT, "GET", "user-info", &[("accessKey", "carol")], None).await;
    assert_eq!((gone.status, error_code(&gone).as_str()), (404, "XMinioAdminNoSuchUser"));
}

/// The body of a root-signed GET, as bytes (sealed answers are not text).
async fn reqwest_bytes(s: &TestServer, path: &str) -> Vec<u8> {
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let signer = lagoa_conformance::sigv4::Signer::new(ROOT_USER, ROOT_PASSWORD);
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
    ];
    let (auth, _) = signer.sign("GET", path, &[], &headers, EMPTY_SHA256);
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", s.endpoint))
        .header("authorization", auth);
    for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
        req = req.header(k, v);
    }
    req.send().await.unwrap().bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn policies_created_through_the_admin_api_decide_requests() {
    let s = server();
    let root = s.client();
    bucket(&root, "drop").await;
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::drop/in/*"]}]}"#;
    let created = admin(
        &s,
        ROOT,
        "PUT",
        "add-canned-policy",
        &[("name", "drop-in")],
        Some((document.as_bytes(), false)),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(add_user(&s, ROOT, CAROL, "").await.status, 200);
    let set = admin(
        &s,
        ROOT,
        "PUT",
        "set-user-or-group-policy",
        &[("policyName", "drop-in"), ("userOrGroup", "carol"), ("isGroup", "false")],
        None,
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let carol = s.client_as(CAROL.0, CAROL.1);
    carol
        .put_object()
        .bucket("drop")
        .key("in/x")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let outside = carol
        .put_object()
        .bucket("drop")
        .key("out/x")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&outside), "AccessDenied");

    // info v2 and the listing show it; canned ones are listed too.
    let info = admin(
        &s,
        ROOT,
        "GET",
        "info-canned-policy",
        &[("name", "drop-in"), ("v", "2")],
        None,
    )
    .await;
    let info: Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(info["PolicyName"], "drop-in");
    assert_eq!(info["Policy"]["Statement"][0]["Resource"][0], "arn:aws:s3:::drop/in/*");
    assert!(info["CreateDate"].as_str().is_some_and(|d| d.ends_with('Z')));
    let list: Value = serde_json::from_str(&admin(&s, ROOT, "GET", "list-canned-policies", &[], None).await.body).unwrap();
    assert!(list["drop-in"].is_object() && list["consoleAdmin"].is_object());

    // Replacing the text changes what the attached user may do at once.
    let wider = document.replace("drop/in/*", "drop/*");
    admin(
        &s,
        ROOT,
        "PUT",
        "add-canned-policy",
        &[("name", "drop-in")],
        Some((wider.as_bytes(), false)),
    )
    .await;
    carol
        .put_object()
        .bucket("drop")
        .key("out/x")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();

    // In use: not removable. Canned: not changeable. Malformed: refused, nothing stored.
    let in_use = admin(&s, ROOT, "DELETE", "remove-canned-policy", &[("name", "drop-in")], None).await;
    assert_eq!((in_use.status, error_code(&in_use).as_str()), (400, "XMinioAdminPolicyInUse"));
    let canned = admin(
        &s,
        ROOT,
        "PUT",
        "add-canned-policy",
        &[("name", "readwrite")],
        Some((document.as_bytes(), false)),
    )
    .await;
    assert_eq!(canned.status, 400);
    let bad = admin(
        &s,
        ROOT,
        "PUT",
        "add-canned-policy",
        &[("name", "bad")],
        Some((br#"{"Statement":[{"Effect":"Maybe"}]}"#, false)),
    )
    .await;
    assert_eq!((bad.status, error_code(&bad).as_str()), (400, "MalformedPolicy"));
    assert!(bad.body.contains("<RequestId>"));
    let missing = admin(&s, ROOT, "GET", "info-canned-policy", &[("name", "bad")], None).await;
    assert_eq!(
        (missing.status, error_code(&missing).as_str()),
        (404, "XMinioAdminNoSuchPolicy")
    );

    // An explicit Deny of s3:ListAllMyBuckets refuses ListBuckets (which needs no grant).
    assert!(carol.list_buckets().send().await.is_ok());
    let no_listing =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}]}"#;
    admin(
        &s,
        ROOT,
        "PUT",
        "add-canned-policy",
        &[("name", "no-listing")],
        Some((no_listing.as_bytes(), false)),
    )
    .await;
    attach_policy(&s, "no-listing", "carol").await;
    let err = carol.list_buckets().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    let detach = serde_json::json!({"policies": ["no-listing"], "user": "carol"}).to_string();
    admin(
        &s,
        ROOT,
        "POST",
        "idp/builtin/policy/detach",
        &[],
        Some((detach.as_bytes(), true)),
    )
    .await;

    // Detach (madmin-go 2.x expects 204), then the policy can go.
    let detach = serde_json::json!({"policies": ["drop-in"], "user": "carol"}).to_string();
    let path = "/minio/admin/v3/idp/builtin/policy/detach";
    let sealed = sealed_body::seal(ROOT_PASSWORD, detach.as_bytes());
    let legacy = signed_as(
        &s,
        ROOT,
        "POST",
        path,
        &[],
        &[("user-agent", "MinIO (linux; amd64) madmin-go/2.0.0")],
        &sha256_hex(&sealed),
        sealed,
    )
    .await;
    assert_eq!(legacy.status, 204, "{}", legacy.body);
    let denied = carol
        .put_object()
        .bucket("drop")
        .key("in/y")
        .body(b"y".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&denied), "AccessDenied");
    let removed = admin(&s, ROOT, "DELETE", "remove-canned-policy", &[("name", "drop-in")], None).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
}

#[tokio::test]
async fn only_admins_reach_the_admin_api_and_bad_requests_change_nothing() {
    let s = server();
    // A users-file user with readonly, and one with consoleAdmin (through the API).
    let denied = admin(&s, READER_USER, "GET", "list-canned-policies", &[], None).await;
    assert_eq!((denied.status, error_code(&denied).as_str()), (403, "AccessDenied"));
    assert_eq!(add_user(&s, ROOT, ("ops", "ops-secret-1"), "enabled").await.status, 200);
    admin(
        &s,
        ROOT,
        "PUT",
        "set-user-or-group-policy",
        &[("policyName", "consoleAdmin"), ("userOrGroup", "ops"), ("isGroup", "false")],
        None,
    )
    .await;
    let by_admin = add_user(&s, ("ops", "ops-secret-1"), CAROL, "enabled").await;
    assert_eq!(by_admin.status, 200, "a consoleAdmin user manages users: {}", by_admin.body);
    // Nobody changes their own credentials here, nor root's or the users file's.
    let own = add_user(&s, ("ops", "ops-secret-1"), ("ops", "ops-secret-2"), "enabled").await;
    assert_eq!(own.status, 400);
    assert_eq!(
        add_user(&s, ROOT, (ROOT_USER, "new-root-secret"), "enabled").await.status,
        400
    );
    assert_eq!(
        add_user(&s, ROOT, (READER_USER.0, "new-secret-1"), "enabled").await.status,
        400
    );
    // Bad keys, a body sealed with another secret, a plain body: 400, nothing stored.
    assert_eq!(add_user(&s, ROOT, ("x", "carol-secret-1"), "enabled").await.status, 400);
    assert_eq!(add_user(&s, ROOT, ("dave", "short"), "enabled").await.status, 400);
    let body = serde_json::json!({"secretKey": "dave-secret-1", "status": "enabled"}).to_string();
    let foreign = sealed_body::seal("not-the-signers-secret", body.as_bytes());
    let wrong_key = signed_as(
        &s,
        ROOT,
        "PUT",
        "/minio/admin/v3/add-user",
        &[("accessKey", "dave")],
        &[],
        &sha256_hex(&foreign),
        foreign,
    )
    .await;
    assert_eq!(
        (wrong_key.status, error_code(&wrong_key).as_str()),
        (400, "XMinioAdminConfigBadJSON")
    );
    let plain = admin(
        &s,
        ROOT,
        "PUT",
        "add-user",
        &[("accessKey", "dave")],
        Some((body.as_bytes(), false)),
    )
    .await;
    assert_eq!(plain.status, 400);
    let info = admin(&s, ROOT, "GET", "user-info", &[("accessKey", "dave")], None).await;
    assert_eq!(info.status, 404, "nothing was stored for dave");
    // Unsigned payloads, anonymous callers and unknown calls.
    let unsigned = signed_as(
        &s,
        ROOT,
        "GET",
        "/minio/admin/v3/list-users",
        &[],
        &[],
        "UNSIGNED-PAYLOAD",
        Vec::new(),
    )
    .await;
    assert_eq!(unsigned.status, 403);
    let anonymous = reqwest::get(format!("{}/minio/admin/v3/list-users", s.endpoint))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 403);
    let unknown = admin(&s, ROOT, "GET", "heal", &[], None).await;
    assert_eq!((unknown.status, error_code(&unknown).as_str()), (501, "NotImplemented"));
    // Groups do not exist.
    let group = admin(
        &s,
        ROOT,
        "PUT",
        "set-user-or-group-policy",
        &[("policyName", "readonly"), ("userOrGroup", "g"), ("isGroup", "true")],
        None,
    )
    .await;
    assert_eq!(group.status, 501);
    // Server info.
    let info: Value = serde_json::from_str(&admin(&s, ROOT, "GET", "info", &[], None).await.body).unwrap();
    assert_eq!(info["mode"], "online");
    assert_eq!(info["servers"][0]["state"], "online");
    assert!(info["servers"][0]["drives"][0]["totalspace"].as_u64().unwrap() > 0);
}

/// Secret keys added through the admin API are stored sealed under the server's master key
/// (as MinIO seals its IAM data under its KMS), never in the clear: in RocksDB's WAL and tables
/// neither the secret nor the users document shows, and a restart (with the key) restores the
/// user.
#[tokio::test]
async fn stored_secret_keys_are_sealed_under_the_master_key() {
    let mut s = server();
    let secret = "lagoa-secret-marker-0123456789";
    let added = add_user(&s, ROOT, ("dave", secret), "enabled").await;
    assert_eq!(added.status, 200, "{}", added.body);
    let attached = attach_policy(&s, "readwrite", "dave").await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    // The control: the scan sees what the metadata database holds in the clear.
    let root = s.client();
    bucket(&root, "bucket-name-marker-0123456789").await;
    let dir = s.data_dir().to_path_buf();
    assert!(!files_containing(&dir, b"bucket-name-marker-0123456789").is_empty());
    for needle in [secret, "secret_key", "readwrite"] {
        let found = files_containing(&dir, needle.as_bytes());
        assert!(found.is_empty(), "{needle:?} found in {found:?}");
    }
    s.restart();
    let dave = s.client_as("dave", secret);
    assert!(dave.list_buckets().send().await.is_ok());

    // Without the master key the stored users cannot be read: the server refuses to start
    // rather than serve without them (a disabled user let in, a removed one still refused).
    s.kill();
    let users = dir.with_extension("users.toml");
    let mut child = std::process::Command::new(binary())
        .args(["serve", "--no-compute", "--address", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .arg("--users")
        .arg(&users)
        .env("LAGOA_ROOT_USER", ROOT_USER)
        .env("LAGOA_ROOT_PASSWORD", ROOT_PASSWORD)
        .env("LAGOA_KMS_SECRET_KEY", "")
        .env_remove("LAGOA_KMS_KEY_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server started without the key that seals its stored users");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("not in this server's keyring"), "{stderr}");
}
