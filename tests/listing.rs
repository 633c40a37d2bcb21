//! Listing: ListObjects V1/V2 and ListObjectVersions paging against a naive model, for random key
//! sets (with random versions and delete markers) and parameters.

mod common;
use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;

/// What S3 returns for one full walk: keys and common prefixes in order.
fn model(keys: &BTreeSet<String>, prefix: &str, delimiter: Option<&str>, start_after: Option<&str>) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for k in keys.iter().filter(|k| k.starts_with(prefix)) {
        if start_after.is_some_and(|s| k.as_str() <= s) {
            continue;
        }
        let cp = delimiter
            .filter(|d| !d.is_empty())
            .and_then(|d| k[prefix.len()..].find(d).map(|i| k[..prefix.len() + i + d.len()].to_owned()));
        match cp {
            Some(cp) if start_after == Some(cp.as_str()) => {}
            Some(cp) => {
                if out.last().map(|(_, n)| n) != Some(&cp) {
                    out.push((true, cp));
                }
            }
            None => out.push((false, k.clone())),
        }
    }
    out
}

async fn walk_v2(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max: i32,
) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_owned))
            .set_start_after(start_after.map(str::to_owned))
            .set_continuation_token(token.clone())
            .max_keys(max)
            .send()
            .await
            .unwrap();
        let mut items: Vec<(bool, String)> = page.contents().iter().map(|o| (false, o.key().unwrap().to_owned())).collect();
        items.extend(page.common_prefixes().iter().map(|p| (true, p.prefix().unwrap().to_owned())));
        items.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(page.key_count(), Some(items.len() as i32));
        assert!(items.len() <= max as usize);
        out.extend(items);
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
        assert!(token.is_some(), "truncated page without a continuation token");
    }
    out
}

async fn walk_v1(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max: i32,
) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut marker: Option<String> = start_after.map(str::to_owned);
    loop {
        let page = c
            .list_objects()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_owned))
            .set_marker(marker.clone())
            .max_keys(max)
            .send()
            .await
            .unwrap();
        let mut items: Vec<(bool, String)> = page.contents().iter().map(|o| (false, o.key().unwrap().to_owned())).collect();
        items.extend(page.common_prefixes().iter().map(|p| (true, p.prefix().unwrap().to_owned())));
        items.sort_by(|a, b| a.1.cmp(&b.1));
        let last = items.last().map(|(_, n)| n.clone());
        out.extend(items);
        if page.is_truncated() != Some(true) {
            break;
        }
        // Clients use NextMarker when present, else the last key (what boto3 and s3a do).
        marker = page.next_marker().map(str::to_owned).or(last);
    }
    out
}

fn key_strategy() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec!["a", "b", "ç", "日本", "x y", "+", "%", "", "z", "a-b", "a.b", "😀"]);
    prop::collection::vec((segment, prop::sample::select(vec!["/", "/", "-", "|", ""])), 1..5).prop_map(|parts| {
        let mut k = String::new();
        for (s, sep) in parts {
            k.push_str(s);
            k.push_str(sep);
        }
        if k.is_empty() { "k".into() } else { k }
    })
}

fn params() -> impl Strategy<Value = (String, Option<String>, Option<String>, i32)> {
    (
        prop::sample::select(vec!["", "a", "a/", "b", "ç", "日", "x y/", "zzz"]).prop_map(str::to_owned),
        prop::option::of(prop::sample::select(vec!["/", "-", "|", "a/", "ab"]).prop_map(str::to_owned)),
        prop::option::of(prop::sample::select(vec!["a", "a/", "a/b", "b/", "ç/", "m"]).prop_map(str::to_owned)),
        1..7i32,
    )
}

#[test]
fn paging_matches_the_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = server();
    let c = s.client();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(keys in prop::collection::btree_set(key_strategy(), 1..40), cases in prop::collection::vec(params(), 4))| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let bucket_name = format!("prop-{n}");
        rt.block_on(async {
            bucket(&c, &bucket_name).await;
            for k in &keys {
                put(&c, &bucket_name, k, b"").await;
            }
            for (prefix, delimiter, start_after, max) in &cases {
                let expected = model(&keys, prefix, delimiter.as_deref(), start_after.as_deref());
                let v2 = walk_v2(&c, &bucket_name, prefix, delimiter.as_deref(), start_after.as_deref(), *max).await;
                assert_eq!(v2, expected, "V2 prefix={prefix:?} delimiter={delimiter:?} start_after={start_after:?} max={max}");
                let v1 = walk_v1(&c, &bucket_name, prefix, delimiter.as_deref(), start_after.as_deref(), *max).await;
                assert_eq!(v1, expected, "V1 prefix={prefix:?} delimiter={delimiter:?} marker={start_after:?} max={max}");
            }
        });
    });
}

/// Every version (key, id, is marker) and common prefix of a ListObjectVersions walk, in the
/// documents' order (S3 interleaves versions and markers), paged by key and version markers.
async fn walk_versions(
    s: &TestServer,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    key_marker: Option<&str>,
    max: i32,
) -> Vec<(String, Option<(String, bool)>)> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (key_marker.map(str::to_owned), None::<String>);
    loop {
        let max_text = max.to_string();
        let mut query = vec![("versions", ""), ("prefix", prefix), ("max-keys", max_text.as_str())];
        if let Some(d) = delimiter {
            query.push(("delimiter", d));
        }
        if let Some(k) = &key_marker {
            query.push(("key-marker", k));
        }
        if let Some(v) = &version_marker {
            query.push(("version-id-marker", v));
        }
        let raw = signed(s, "GET", &format!("/{bucket}"), &query, &[], EMPTY_SHA256, Vec::new()).await;
        assert_eq!(raw.status, 200, "{}", raw.body);
        // Versions in document order, then this page's common prefixes in their key order.
        let mut page: Vec<(String, Option<(String, bool)>)> = version_entries(&raw.body)
            .into_iter()
            .map(|(k, id, _, marker)| (k, Some((id, marker))))
            .collect();
        let mut rest = raw.body.as_str();
        while let Some(i) = rest.find("<CommonPrefixes><Prefix>") {
            rest = &rest[i + "<CommonPrefixes><Prefix>".len()..];
            let end = rest.find("</Prefix>").unwrap();
            let p = rest[..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
            page.push((p, None));
            rest = &rest[end..];
        }
        // Prefixes and versions interleave by key: a stable sort keeps each key's versions in order.
        page.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(page.len() <= max as usize);
        out.extend(page);
        if !raw.body.contains("<IsTruncated>true</IsTruncated>") {
            break;
        }
        let field = |name: &str| {
            let open = format!("<{name}>");
            raw.body.find(&open).map(|i| {
                let start = i + open.len();
                raw.body[start..start + raw.body[start..].find('<').unwrap()]
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
            })
        };
        key_marker = field("NextKeyMarker");
        version_marker = field("NextVersionIdMarker");
        assert!(key_marker.is_some(), "truncated page without a NextKeyMarker");
    }
    out
}

#[test]
fn version_paging_matches_the_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = server();
    let c = s.client();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // Each key: 1–4 writes and delete markers in any order (true: a marker).
    let keys_with_history = prop::collection::btree_map(key_strategy(), prop::collection::vec(any::<bool>(), 1..5), 1..25);
    proptest!(config, |(keys in keys_with_history, cases in prop::collection::vec(params(), 3))| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let bucket_name = format!("vprop-{n}");
        rt.block_on(async {
            versioned_bucket(&c, &bucket_name).await;
            // Each key's versions, newest first.
            let mut history: std::collections::BTreeMap<String, Vec<(String, bool)>> = Default::default();
            for (k, steps) in &keys {
                let h = history.entry(k.clone()).or_default();
                for marker in steps {
                    let id = if *marker {
                        let out = c.delete_object().bucket(&bucket_name).key(k).send().await.unwrap();
                        out.version_id().unwrap().to_owned()
                    } else {
                        let out = c.put_object().bucket(&bucket_name).key(k).body(Vec::new().into()).send().await.unwrap();
                        out.version_id().unwrap().to_owned()
                    };
                    h.insert(0, (id, *marker));
                }
            }
            let current: BTreeSet<String> = history.iter().filter(|(_, h)| !h[0].1).map(|(k, _)| k.clone()).collect();
            for (prefix, delimiter, marker, max) in &cases {
                // ListObjects shows only keys whose newest version is an object.
                let expected = model(&current, prefix, delimiter.as_deref(), marker.as_deref());
                let v2 = walk_v2(&c, &bucket_name, prefix, delimiter.as_deref(), marker.as_deref(), *max).await;
                assert_eq!(v2, expected, "V2 prefix={prefix:?} delimiter={delimiter:?} start_after={marker:?} max={max}");
                // ListObjectVersions: every version, newest first, keys rolled up like listings.
                let all: BTreeSet<String> = history.keys().cloned().collect();
                let mut want = Vec::new();
                for (is_prefix, name) in model(&all, prefix, delimiter.as_deref(), marker.as_deref()) {
                    if is_prefix {
                        want.push((name, None));
                    } else {
                        want.extend(history[&name].iter().map(|(id, m)| (name.clone(), Some((id.clone(), *m)))));
                    }
                }
                let got = walk_versions(&s, &bucket_name, prefix, delimiter.as_deref(), marker.as_deref(), *max).await;
                assert_eq!(got, want, "versions prefix={prefix:?} delimiter={delimiter:?} key_marker={marker:?} max={max}");
            }
        });
    });
}

#[tokio::test]
async fn max_keys_zero_and_encoding_and_owner() {
    let s = server();
    let c = s.client();
    bucket(&c, "l-bkt").await;
    put(&c, "l-bkt", "dir/a b+c", b"1").await;
    put(&c, "l-bkt", "dir/sub/x", b"2").await;
    let zero = c.list_objects_v2().bucket("l-bkt").max_keys(0).send().await.unwrap();
    assert_eq!(zero.key_count(), Some(0));
    assert!(zero.contents().is_empty());
    // encoding-type=url: names come back percent-encoded (the Rust SDK does not decode them).
    let enc = c
        .list_objects_v2()
        .bucket("l-bkt")
        .prefix("dir/")
        .delimiter("/")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        enc.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["dir/a%20b%2Bc"]
    );
    assert_eq!(
        enc.common_prefixes().iter().filter_map(|p| p.prefix()).collect::<Vec<_>>(),
        ["dir/sub/"]
    );
    let without = c.list_objects_v2().bucket("l-bkt").send().await.unwrap();
    assert!(without.contents()[0].owner().is_none());
    let with = c.list_objects_v2().bucket("l-bkt").fetch_owner(true).send().await.unwrap();
    assert_eq!(with.contents()[0].owner().and_then(|o| o.id()), Some(ROOT_USER));
    let err = c.list_objects_v2().bucket("missing").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
}

/// A key whose newest version is a delete marker has no record in `objects`; the version listing
/// must not take the next bucket's object of the same name for it (found by the model test above:
/// another bucket's object, and its metadata, showed up in this bucket's listing).
#[tokio::test]
async fn version_listing_stays_inside_its_bucket() {
    let s = server();
    let c = s.client();
    // Same-length names, so both buckets' records share the key offset after the bucket prefix.
    versioned_bucket(&c, "lv-a").await;
    bucket(&c, "lv-b").await;
    let object = c
        .put_object()
        .bucket("lv-a")
        .key("k")
        .body(b"a".to_vec().into())
        .send()
        .await
        .unwrap();
    let marker = c.delete_object().bucket("lv-a").key("k").send().await.unwrap();
    put(&c, "lv-b", "k", b"another bucket's object").await;
    let want = vec![
        (marker.version_id().unwrap().to_owned(), true),
        (object.version_id().unwrap().to_owned(), false),
    ];

    let whole = c.list_object_versions().bucket("lv-a").send().await.unwrap();
    assert!(
        whole.versions().iter().all(|v| v.version_id() == object.version_id()),
        "{whole:?}"
    );
    assert_eq!(whole.versions().len() + whole.delete_markers().len(), 2, "{whole:?}");

    // One entry a page, resuming inside the key by version id marker.
    let got = walk_versions(&s, "lv-a", "", None, None, 1).await;
    let got: Vec<(String, bool)> = got
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(k, "k");
            v.unwrap()
        })
        .collect();
    assert_eq!(got, want);
}
