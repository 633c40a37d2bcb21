//! The AWS SDK for Rust (`aws-sdk-s3`, the client the core tests use) as a column of the matrix:
//! its defaults (CRC32 request checksums, `x-amz-checksum-mode` on reads), paginators, multipart
//! and presigning against a running Lagoa. Reads LAGOA_ENDPOINT / LAGOA_ACCESS_KEY /
//! LAGOA_SECRET_KEY; prints one JSON line per feature for `lagoa-conformance`.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, Delete, ObjectIdentifier, Tag, Tagging};
use lagoa_conformance::raw_http::{self, RawRequest};
use md5::{Digest, Md5};

type Check = Result<(), String>;

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Turns any SDK error into the feature's failure text (with the S3 error code when there is one).
fn fail<E: ProvideErrorMetadata + std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {:?} {:?}", e.code(), e.message().unwrap_or_default())
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

async fn read(c: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    lagoa_conformance::sdk::get_bytes(c, bucket, key).await
}

/// Expects the call to fail with S3 error `code`.
fn expect_code<T, E: ProvideErrorMetadata>(result: Result<T, E>, code: &str) -> Check {
    match result {
        Ok(_) => Err(format!("expected {code}, the call succeeded")),
        Err(e) => ensure(e.code() == Some(code), || format!("expected {code}, got {:?}", e.code())),
    }
}

struct Suite {
    failed: usize,
}

impl Suite {
    async fn feature(&mut self, name: &str, f: impl Future<Output = Check>) {
        let result = f.await;
        if let Err(e) = &result {
            self.failed += 1;
            eprintln!("aws-sdk-rust: {name}: {e}");
        }
        let line = serde_json::json!({
            "client": "aws-sdk-rust",
            "feature": name,
            "ok": result.is_ok(),
            "detail": result.err().unwrap_or_default(),
        });
        println!("{line}");
    }
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("LAGOA_ENDPOINT").expect("LAGOA_ENDPOINT");
    let c = lagoa_conformance::client_for(
        &endpoint,
        &std::env::var("LAGOA_ACCESS_KEY").expect("LAGOA_ACCESS_KEY"),
        &std::env::var("LAGOA_SECRET_KEY").expect("LAGOA_SECRET_KEY"),
    );
    let b = &format!("sdk-rust-{:x}", std::process::id());
    let mut s = Suite { failed: 0 };

    s.feature("bucket create/head/list", async {
        c.create_bucket().bucket(b).send().await.map_err(fail("CreateBucket"))?;
        c.head_bucket().bucket(b).send().await.map_err(fail("HeadBucket"))?;
        let list = c.list_buckets().send().await.map_err(fail("ListBuckets"))?;
        ensure(list.buckets().iter().any(|x| x.name() == Some(b)), || {
            "bucket not listed".into()
        })?;
        let probe = c.head_bucket().bucket("x".repeat(60)).send().await;
        ensure(
            probe.is_err_and(|e| e.raw_response().map(|r| r.status().as_u16()) == Some(404)),
            || "60-char probe is not 404".into(),
        )
    })
    .await;

    s.feature("put/get (default checksums)", async {
        let body = data(100_000, 1);
        let put = c
            .put_object()
            .bucket(b)
            .key("dir/a b+c.bin")
            .body(ByteStream::from(body.clone()))
            .send()
            .await;
        let put = put.map_err(fail("PutObject"))?;
        let md5 = hex::encode(Md5::digest(&body));
        ensure(put.e_tag() == Some(&format!("\"{md5}\"")), || {
            format!("ETag {:?}", put.e_tag())
        })?;
        let got = c
            .get_object()
            .bucket(b)
            .key("dir/a b+c.bin")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let got = got.map_err(fail("GetObject"))?;
        ensure(got.checksum_crc32().is_some() || got.checksum_crc64_nvme().is_some(), || {
            "no checksum returned".into()
        })?;
        let bytes = got.body.collect().await.map_err(|e| e.to_string())?.into_bytes();
        ensure(bytes.as_ref() == body.as_slice(), || "body differs".into())
    })
    .await;

    s.feature("checksum sha256 verified", async {
        c.put_object()
            .bucket(b)
            .key("sha")
            .body(ByteStream::from_static(b"hello"))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(fail("PutObject sha256"))?;
        let h = c
            .head_object()
            .bucket(b)
            .key("sha")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let h = h.map_err(fail("HeadObject"))?;
        ensure(
            h.checksum_sha256() == Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="),
            || format!("{:?}", h.checksum_sha256()),
        )
    })
    .await;

    s.feature("metadata and headers", async {
        c.put_object()
            .bucket(b)
            .key("meta")
            .body(ByteStream::from_static(b"x"))
            .content_type("text/csv")
            .metadata("team", "geo")
            .cache_control("max-age=1")
            .send()
            .await
            .map_err(fail("PutObject"))?;
        let h = c
            .head_object()
            .bucket(b)
            .key("meta")
            .send()
            .await
            .map_err(fail("HeadObject"))?;
        ensure(
            h.content_type() == Some("text/csv")
                && h.metadata().and_then(|m| m.get("team")).map(String::as_str) == Some("geo")
                && h.cache_control() == Some("max-age=1"),
            || format!("{h:?}"),
        )
    })
    .await;

    s.feature("range get", async {
        let got = c
            .get_object()
            .bucket(b)
            .key("dir/a b+c.bin")
            .range("bytes=10-29")
            .send()
            .await;
        let got = got.map_err(fail("GetObject range"))?;
        ensure(got.content_range() == Some("bytes 10-29/100000"), || {
            format!("{:?}", got.content_range())
        })?;
        let bytes = got.body.collect().await.map_err(|e| e.to_string())?.into_bytes();
        ensure(bytes.as_ref() == &data(100_000, 1)[10..30], || "range differs".into())
    })
    .await;

    s.feature("multipart low-level + list parts/uploads + abort", async {
        let up = c
            .create_multipart_upload()
            .bucket(b)
            .key("mp")
            .send()
            .await
            .map_err(fail("Create"))?;
        let id = up.upload_id().unwrap_or_default().to_owned();
        let parts = [data(5 * 1024 * 1024, 2), data(1234, 3)];
        let done = lagoa_conformance::sdk::upload_parts(&c, b, "mp", &id, &parts).await?;
        let listed = c
            .list_parts()
            .bucket(b)
            .key("mp")
            .upload_id(&id)
            .send()
            .await
            .map_err(fail("ListParts"))?;
        ensure(listed.parts().len() == 2, || format!("{} parts listed", listed.parts().len()))?;
        let uploads = c
            .list_multipart_uploads()
            .bucket(b)
            .send()
            .await
            .map_err(fail("ListMultipartUploads"))?;
        ensure(uploads.uploads().iter().any(|u| u.upload_id() == Some(&id)), || {
            "upload not listed".into()
        })?;
        c.complete_multipart_upload()
            .bucket(b)
            .key("mp")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
            .send()
            .await
            .map_err(fail("Complete"))?;
        ensure(read(&c, b, "mp").await? == parts.concat(), || {
            "multipart object differs".into()
        })?;
        let gone = c
            .create_multipart_upload()
            .bucket(b)
            .key("gone")
            .send()
            .await
            .map_err(fail("Create"))?;
        let gone_id = gone.upload_id().unwrap_or_default();
        c.abort_multipart_upload()
            .bucket(b)
            .key("gone")
            .upload_id(gone_id)
            .send()
            .await
            .map_err(fail("Abort"))?;
        expect_code(
            c.list_parts().bucket(b).key("gone").upload_id(gone_id).send().await,
            "NoSuchUpload",
        )
    })
    .await;

    s.feature("copy object", async {
        c.copy_object()
            .bucket(b)
            .key("copy")
            .copy_source(format!("{b}/dir/a%20b%2Bc.bin"))
            .send()
            .await
            .map_err(fail("CopyObject"))?;
        ensure(read(&c, b, "copy").await? == data(100_000, 1), || "copy differs".into())
    })
    .await;

    s.feature("tagging", async {
        let tags = Tagging::builder()
            .tag_set(Tag::builder().key("zone").value("sp").build().map_err(|e| e.to_string())?)
            .build()
            .map_err(|e| e.to_string())?;
        c.put_object_tagging()
            .bucket(b)
            .key("copy")
            .tagging(tags)
            .send()
            .await
            .map_err(fail("PutObjectTagging"))?;
        let got = c
            .get_object_tagging()
            .bucket(b)
            .key("copy")
            .send()
            .await
            .map_err(fail("GetObjectTagging"))?;
        ensure(got.tag_set().len() == 1 && got.tag_set()[0].value() == "sp", || {
            format!("{:?}", got.tag_set())
        })?;
        c.delete_object_tagging()
            .bucket(b)
            .key("copy")
            .send()
            .await
            .map_err(fail("DeleteObjectTagging"))?;
        let got = c
            .get_object_tagging()
            .bucket(b)
            .key("copy")
            .send()
            .await
            .map_err(fail("GetObjectTagging"))?;
        ensure(got.tag_set().is_empty(), || "tags left".into())
    })
    .await;

    s.feature("list v2 paging + delimiter", async {
        for i in 0..25 {
            let key = format!("page/{}/{i:02}", i % 3);
            c.put_object()
                .bucket(b)
                .key(key)
                .body(ByteStream::from_static(b"p"))
                .send()
                .await
                .map_err(fail("PutObject"))?;
        }
        let mut pages = c
            .list_objects_v2()
            .bucket(b)
            .prefix("page/")
            .max_keys(4)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        let mut n = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(fail("ListObjectsV2"))?;
            n += 1;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        ensure(keys.len() == 25 && n == 7 && keys.windows(2).all(|w| w[0] < w[1]), || {
            format!("{} keys in {n} pages", keys.len())
        })?;
        let top = c
            .list_objects_v2()
            .bucket(b)
            .prefix("page/")
            .delimiter("/")
            .send()
            .await
            .map_err(fail("ListObjectsV2"))?;
        let prefixes: Vec<_> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
        ensure(prefixes == ["page/0/", "page/1/", "page/2/"], || format!("{prefixes:?}"))
    })
    .await;

    s.feature("presigned get/put", async {
        let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).map_err(|e| e.to_string())?;
        let put = c
            .put_object()
            .bucket(b)
            .key("presigned")
            .presigned(cfg.clone())
            .await
            .map_err(|e| e.to_string())?;
        let get = c
            .get_object()
            .bucket(b)
            .key("presigned")
            .presigned(cfg)
            .await
            .map_err(|e| e.to_string())?;
        let host = endpoint.trim_start_matches("http://").to_owned();
        let target = |uri: &str| uri.trim_start_matches(&endpoint).to_owned();
        let send = |method: &str, uri: &str, body: Vec<u8>| {
            let mut headers = vec![("host".to_owned(), host.clone())];
            headers.push(("content-length".to_owned(), body.len().to_string()));
            raw_http::send(
                &host,
                &RawRequest {
                    method: method.into(),
                    target: target(uri),
                    headers,
                    body,
                    expect_continue: false,
                },
            )
            .map_err(|e| e.to_string())
        };
        let res = send("PUT", put.uri(), b"signed in advance".to_vec())?;
        ensure(res.status == 200, || format!("presigned PUT {}: {}", res.status, res.text()))?;
        let res = send("GET", get.uri(), Vec::new())?;
        ensure(res.status == 200 && res.body == b"signed in advance", || {
            format!("presigned GET {}", res.status)
        })
    })
    .await;

    s.feature("conditional put", async {
        let first = c
            .put_object()
            .bucket(b)
            .key("once")
            .if_none_match("*")
            .body(ByteStream::from_static(b"1"))
            .send()
            .await;
        first.map_err(fail("first If-None-Match PUT"))?;
        let again = c
            .put_object()
            .bucket(b)
            .key("once")
            .if_none_match("*")
            .body(ByteStream::from_static(b"2"))
            .send()
            .await;
        expect_code(again, "PreconditionFailed")?;
        ensure(read(&c, b, "once").await? == b"1", || "conditional PUT overwrote".into())
    })
    .await;

    s.feature("delete objects (bulk)", async {
        let mut all = Vec::new();
        let mut pages = c.list_objects_v2().bucket(b).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(fail("ListObjectsV2"))?;
            all.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        let ids = all
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build().map_err(|e| e.to_string()));
        let delete = Delete::builder()
            .set_objects(Some(ids.collect::<Result<_, _>>()?))
            .build()
            .map_err(|e| e.to_string())?;
        let out = c
            .delete_objects()
            .bucket(b)
            .delete(delete)
            .send()
            .await
            .map_err(fail("DeleteObjects"))?;
        ensure(out.deleted().len() == all.len() && out.errors().is_empty(), || {
            format!("{out:?}")
        })?;
        let left = c.list_objects_v2().bucket(b).send().await.map_err(fail("ListObjectsV2"))?;
        ensure(left.key_count() == Some(0), || format!("{:?} keys left", left.key_count()))
    })
    .await;

    s.feature("S3 Select (SelectObjectContent event stream)", async {
        use aws_sdk_s3::types::{
            CsvInput, CsvOutput, ExpressionType, FileHeaderInfo, InputSerialization, OutputSerialization,
            SelectObjectContentEventStream,
        };
        // Expected rows computed here from the same generated text.
        let mut csv = String::from("id,state,amount\n");
        let mut want = String::new();
        for i in 0..300u32 {
            let state = ["SP", "RJ", "MG"][(i % 3) as usize];
            let amount = if i % 31 == 0 {
                "n/a".to_owned()
            } else {
                format!("{}.5", (i * 7919) % 100)
            };
            csv.push_str(&format!("{i},{state},{amount}\n"));
            if state == "MG" && amount.parse::<f64>().is_ok_and(|a| a >= 40.0) {
                want.push_str(&format!("{i},{amount}\n"));
            }
        }
        c.put_object()
            .bucket(b)
            .key("select.csv")
            .body(ByteStream::from(csv.into_bytes()))
            .send()
            .await
            .map_err(fail("PutObject"))?;
        let mut out = c
            .select_object_content()
            .bucket(b)
            .key("select.csv")
            .expression("SELECT s.id, s.amount FROM S3Object s WHERE s.state = 'MG' AND s.amount >= 40")
            .expression_type(ExpressionType::Sql)
            .input_serialization(
                InputSerialization::builder()
                    .csv(CsvInput::builder().file_header_info(FileHeaderInfo::Use).build())
                    .build(),
            )
            .output_serialization(OutputSerialization::builder().csv(CsvOutput::builder().build()).build())
            .send()
            .await
            .map_err(fail("SelectObjectContent"))?;
        let (mut got, mut returned, mut ended) = (Vec::new(), None, false);
        while let Some(event) = out.payload.recv().await.map_err(|e| format!("event stream: {e:?}"))? {
            match event {
                SelectObjectContentEventStream::Records(r) => got.extend(r.payload.map(|p| p.into_inner()).unwrap_or_default()),
                SelectObjectContentEventStream::Stats(st) => returned = st.details.and_then(|d| d.bytes_returned),
                SelectObjectContentEventStream::End(_) => ended = true,
                _ => {}
            }
        }
        ensure(!want.is_empty() && got == want.as_bytes(), || {
            format!("got {} bytes, expected {}", got.len(), want.len())
        })?;
        ensure(ended && returned == Some(got.len() as i64), || {
            format!("Stats {returned:?}, End {ended}")
        })?;
        c.delete_object()
            .bucket(b)
            .key("select.csv")
            .send()
            .await
            .map_err(fail("DeleteObject"))
            .map(|_| ())
    })
    .await;

    s.feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty", async {
        expect_code(c.get_object().bucket(b).key("nope").send().await, "NoSuchKey")?;
        expect_code(
            c.list_objects_v2().bucket("no-such-bucket-lagoa").send().await,
            "NoSuchBucket",
        )?;
        c.put_object()
            .bucket(b)
            .key("keep")
            .body(ByteStream::from_static(b"k"))
            .send()
            .await
            .map_err(fail("PutObject"))?;
        expect_code(c.delete_bucket().bucket(b).send().await, "BucketNotEmpty")?;
        c.delete_object()
            .bucket(b)
            .key("keep")
            .send()
            .await
            .map_err(fail("DeleteObject"))
            .map(|_| ())
    })
    .await;

    s.feature("bucket cleanup + delete", async {
        c.delete_bucket().bucket(b).send().await.map_err(fail("DeleteBucket"))?;
        expect_code(c.head_bucket().bucket(b).send().await, "NotFound")
    })
    .await;

    if s.failed > 0 {
        std::process::exit(1);
    }
}
