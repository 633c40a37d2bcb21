//! Bucket operations over real HTTP with aws-sdk-s3.

mod common;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use common::*;

#[tokio::test]
async fn create_head_list_delete() {
    let s = server();
    let c = s.client();
    bucket(&c, "alpha").await;
    bucket(&c, "beta").await;
    c.head_bucket().bucket("alpha").send().await.expect("head existing bucket");
    let list = c.list_buckets().send().await.unwrap();
    let names: Vec<_> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(list.buckets().iter().all(|b| b.creation_date().is_some()));
    assert_eq!(list.owner().and_then(|o| o.id()), Some(ROOT_USER));
    c.delete_bucket().bucket("alpha").send().await.unwrap();
    let err = c.head_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn head_of_random_missing_bucket_is_404() {
    // `mc alias set` probes a random 60-character bucket name and expects 404.
    let s = server();
    let name = "a".repeat(60);
    let err = s.client().head_bucket().bucket(&name).send().await.unwrap_err();
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn duplicate_and_nonempty_buckets() {
    let s = server();
    let c = s.client();
    bucket(&c, "dup").await;
    let err = c.create_bucket().bucket("dup").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketAlreadyOwnedByYou");
    assert_eq!(status(&err), 409);
    put(&c, "dup", "k", b"v").await;
    let err = c.delete_bucket().bucket("dup").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketNotEmpty");
    assert_eq!(status(&err), 409);
    let err = c.delete_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
}

#[tokio::test]
async fn location_constraint() {
    let s = server();
    let c = s.client();
    bucket(&c, "loc").await;
    let out = c.get_bucket_location().bucket("loc").send().await.unwrap();
    assert!(out.location_constraint().is_none_or(|l| l.as_str().is_empty()));
    let err = c
        .create_bucket()
        .bucket("elsewhere")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidLocationConstraint");
}

#[tokio::test]
async fn location_constraint_of_matching_region_is_kept() {
    let s = server_with(&["--region", "eu-west-1"]);
    let c = s.client();
    c.create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = c.get_bucket_location().bucket("eu-bucket").send().await.unwrap();
    assert_eq!(out.location_constraint().map(|l| l.as_str()), Some("eu-west-1"));
}

#[tokio::test]
async fn invalid_bucket_names_are_rejected() {
    let s = server();
    let c = s.client();
    for name in ["ab", "UPPER", "under_score", "192.168.1.1", &"x".repeat(64)] {
        let err = c.create_bucket().bucket(name).send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidBucketName", "{name}");
        assert_eq!(status(&err), 400, "{name}");
    }
}

#[tokio::test]
async fn versioning_is_unset_and_versions_list_as_null() {
    let s = server();
    let c = s.client();
    bucket(&c, "ver").await;
    put(&c, "ver", "a", b"1").await;
    put(&c, "ver", "b/c", b"2").await;
    let v = c.get_bucket_versioning().bucket("ver").send().await.unwrap();
    assert!(v.status().is_none());
    let out = c.list_object_versions().bucket("ver").send().await.unwrap();
    let keys: Vec<_> = out
        .versions()
        .iter()
        .map(|v| (v.key().unwrap(), v.version_id().unwrap(), v.is_latest().unwrap()))
        .collect();
    assert_eq!(keys, [("a", "null", true), ("b/c", "null", true)]);
    let paged = c.list_object_versions().bucket("ver").max_keys(1).send().await.unwrap();
    assert_eq!(paged.is_truncated(), Some(true));
    let next = c
        .list_object_versions()
        .bucket("ver")
        .key_marker(paged.next_key_marker().unwrap())
        .version_id_marker(paged.next_version_id_marker().unwrap_or("null"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.versions().len(), 1);
    assert_eq!(next.versions()[0].key(), Some("b/c"));
}

#[tokio::test]
async fn other_users_cannot_touch_foreign_buckets() {
    let s = server();
    let root = s.client();
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    bucket(&root, "roots").await;
    put(&root, "roots", "secret", b"x").await;
    bucket(&other, "others").await;
    let err = other.get_object().bucket("roots").key("secret").send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    let err = other
        .put_object()
        .bucket("roots")
        .key("k")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    let err = other.create_bucket().bucket("roots").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketAlreadyExists");
    let names: Vec<String> = other
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["others"]);
    // Root sees and may use everything.
    let names: Vec<String> = root
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["others", "roots"]);
    put(&root, "others", "from-root", b"y").await;
    let listed = other
        .list_objects_v2()
        .bucket("others")
        .fetch_owner(true)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents()[0].owner().and_then(|o| o.id()), Some(ROOT_USER));
}

#[tokio::test]
async fn bucket_tags_round_trip_with_s3s_limits_and_errors() {
    use aws_sdk_s3::types::{Tag, Tagging};
    let s = server();
    let c = s.client();
    bucket(&c, "tagged").await;
    let err = c.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchTagSet", 404));
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let tagging = |tags: Vec<Tag>| Tagging::builder().set_tag_set(Some(tags)).build().unwrap();
    c.put_bucket_tagging()
        .bucket("tagged")
        .tagging(tagging(vec![tag("team", "geo"), tag("cost-center", "42")]))
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_tagging().bucket("tagged").send().await.unwrap();
    let pairs: Vec<_> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("team", "geo"), ("cost-center", "42")]);
    // S3's limits: 50 tags, unique keys; a refused set changes nothing.
    let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let err = c
        .put_bucket_tagging()
        .bucket("tagged")
        .tagging(tagging(many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidTag");
    let twice = vec![tag("a", "1"), tag("a", "2")];
    let err = c
        .put_bucket_tagging()
        .bucket("tagged")
        .tagging(tagging(twice))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidTag");
    assert_eq!(
        c.get_bucket_tagging().bucket("tagged").send().await.unwrap().tag_set().len(),
        2
    );
    // Another user's bucket: AccessDenied.
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    let err = other.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    c.delete_bucket_tagging().bucket("tagged").send().await.unwrap();
    let err = c.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchTagSet");
    // Tags go with their bucket.
    c.put_bucket_tagging()
        .bucket("tagged")
        .tagging(tagging(vec![tag("x", "y")]))
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket("tagged").send().await.unwrap();
    bucket(&c, "tagged").await;
    let err = c.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchTagSet");
}

/// An unsigned request (a browser's preflight carries no credentials).
async fn preflight(s: &TestServer, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut req = reqwest::Client::new().request(reqwest::Method::OPTIONS, format!("{}{path}", s.endpoint));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("OPTIONS");
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    Raw {
        status,
        headers,
        body: res.text().await.unwrap_or_default(),
    }
}

#[tokio::test]
async fn cors_rules_answer_preflights_and_decorate_requests() {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let s = server();
    let c = s.client();
    bucket(&c, "web").await;
    put(&c, "web", "a.txt", b"hello").await;
    let err = c.get_bucket_cors().bucket("web").send().await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (404, "NoSuchCORSConfiguration"));
    let ask = [
        ("origin", "https://app.example.org"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type, x-amz-date"),
    ];
    let before = preflight(&s, "/web/a.txt", &ask).await;
    assert_eq!(before.status, 403, "no rules yet: {}", before.body);
    assert!(before.body.contains("<Code>AccessForbidden</Code>") && before.body.contains("<RequestId>"));

    let uploads = CorsRule::builder()
        .allowed_origins("https://*.example.org")
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_headers("content-type")
        .allowed_headers("x-amz-*")
        .expose_headers("ETag")
        .max_age_seconds(600)
        .build()
        .unwrap();
    let downloads = CorsRule::builder()
        .allowed_origins("*")
        .allowed_methods("GET")
        .allowed_methods("HEAD")
        .build()
        .unwrap();
    c.put_bucket_cors()
        .bucket("web")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(uploads)
                .cors_rules(downloads)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_cors().bucket("web").send().await.unwrap();
    assert_eq!(got.cors_rules().len(), 2);
    assert_eq!(got.cors_rules()[0].max_age_seconds(), Some(600));
    assert_eq!(got.cors_rules()[0].allowed_headers(), ["content-type", "x-amz-*"]);

    let ok = preflight(&s, "/web/a.txt", &ask).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://app.example.org"));
    assert_eq!(ok.header("access-control-allow-methods"), Some("PUT, POST"));
    assert_eq!(ok.header("access-control-allow-headers"), Some("content-type, x-amz-date"));
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    assert_eq!(ok.header("access-control-expose-headers"), Some("ETag"));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    // A presigned URL's preflight: the query does not matter.
    let presigned = preflight(&s, "/web/new.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", &ask).await;
    assert_eq!(presigned.status, 200);
    // Not allowed: another method, a header outside the rule, an origin outside the pattern.
    for bad in [
        [
            ("origin", "https://app.example.org"),
            ("access-control-request-method", "DELETE"),
            ("x", ""),
        ],
        [
            ("origin", "https://app.example.org"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization"),
        ],
        [
            ("origin", "https://example.org"),
            ("access-control-request-method", "PUT"),
            ("x", ""),
        ],
    ] {
        let r = preflight(&s, "/web/a.txt", &bad).await;
        assert_eq!(r.status, 403, "{bad:?}");
    }
    let r = preflight(&s, "/web/a.txt", &[("access-control-request-method", "GET")]).await;
    assert_eq!(r.status, 400, "no Origin");
    // Actual requests from an origin get the matching rule's headers; others none.
    let get = signed(
        &s,
        "GET",
        "/web/a.txt",
        &[],
        &[("origin", "http://anywhere.test")],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    assert_eq!(get.header("access-control-allow-methods"), Some("GET, HEAD"));
    let del = signed(
        &s,
        "DELETE",
        "/web/zzz",
        &[],
        &[("origin", "http://anywhere.test")],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(del.header("access-control-allow-origin"), None);
    // S3's validation.
    let err = c
        .put_bucket_cors()
        .bucket("web")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_origins("*")
                        .allowed_methods("PATCH")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    let deleted = signed(&s, "DELETE", "/web", &[("cors", "")], &[], EMPTY_SHA256, Vec::new()).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(preflight(&s, "/web/a.txt", &ask).await.status, 403);
}
