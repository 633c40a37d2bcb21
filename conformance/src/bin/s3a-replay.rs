//! Spark's `s3a` connector (hadoop-aws 3.3.4 on AWS SDK for Java v1), replayed request by request
//! over raw signed HTTP: the headers, encodings and call sequences captured from a real Spark job
//! (see conformance/README in the repository README's matrix section). Prints one JSON line per
//! feature for `lagoa-conformance`; reads LAGOA_ENDPOINT / LAGOA_ACCESS_KEY / LAGOA_SECRET_KEY.

use base64::Engine;
use md5::{Digest, Md5};

use lagoa_conformance::raw_http::{self, RawRequest, RawResponse};
use lagoa_conformance::sigv4::{self, Signer};

/// SDK v1 uploads in 128 KiB signed chunks.
const CHUNK: usize = 128 * 1024;
const DIR_CONTENT_TYPE: &str = "application/x-directory";
const USER_AGENT: &str = "Hadoop 3.3.4, aws-sdk-java/1.12.262 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.15 java/17.0.15";

/// What this replay does, as the hadoop-aws settings that make a real s3a do it: path-style
/// URLs over plain HTTP, If-Match on reads and copies (change detection by ETag on the server),
/// parent directory markers deleted after each write. `conformance/s3a.conf` must say the same.
const EMULATED_SETTINGS: &[(&str, &str)] = &[
    ("spark.hadoop.fs.s3a.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem"),
    ("spark.hadoop.fs.s3a.path.style.access", "true"),
    ("spark.hadoop.fs.s3a.connection.ssl.enabled", "false"),
    ("spark.hadoop.fs.s3a.change.detection.mode", "server"),
    ("spark.hadoop.fs.s3a.change.detection.source", "etag"),
    ("spark.hadoop.fs.s3a.directory.marker.retention", "delete"),
];

/// The settings `conformance/s3a.conf` declares, checked against [`EMULATED_SETTINGS`].
fn check_declared_settings() -> Result<(), String> {
    let declared = lagoa_conformance::s3a_settings::proven_s3a_settings();
    let emulated: Vec<(String, String)> = EMULATED_SETTINGS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ensure(declared == emulated, || {
        format!("conformance/s3a.conf declares {declared:?} but s3a-replay emulates {emulated:?}")
    })
}

type Check = Result<(), String>;

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(msg()) }
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn content_md5(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5_of(data))
}

/// Values of every `<tag>…</tag>` in an XML document, unescaped.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(
            after[..end]
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

/// What the body of a request is and how SDK v1 signs it.
enum Payload {
    /// No body; signed as the SHA-256 of nothing.
    Empty,
    /// A fully signed body (XML requests).
    Signed(Vec<u8>),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: 128 KiB chunks with chained chunk signatures,
    /// Content-MD5 and `Expect: 100-continue`, as SDK v1 sends PutObject and UploadPart.
    Streaming(Vec<u8>),
}

/// One ListObjectsV2 page: keys, common prefixes, next continuation token.
struct Listing(Vec<String>, Vec<String>, Option<String>);

struct S3a {
    host: String,
    access_key: String,
    secret_key: String,
    bucket: String,
}

impl S3a {
    /// Sends one request. `key` is the raw object key ("" for the bucket); `query` raw pairs (an
    /// empty value is sent as a bare name, like `?delete`).
    fn call(&self, method: &str, key: &str, query: &[(&str, &str)], extra: &[(&str, &str)], payload: Payload) -> RawResponse {
        let signer = Signer::new(&self.access_key, &self.secret_key);
        let path = if key.is_empty() {
            format!("/{}", self.bucket)
        } else {
            format!("/{}/{}", self.bucket, sigv4::uri_encode(key, true))
        };
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.host.clone()),
            ("x-amz-date".into(), signer.amz_date.clone()),
            ("user-agent".into(), USER_AGENT.into()),
            ("amz-sdk-invocation-id".into(), format!("{:032x}", rand_u128())),
            ("amz-sdk-retry".into(), "0/0/500".into()),
        ];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (hash, body, expect_continue) = match &payload {
            Payload::Empty => (sigv4::sha256_hex(b""), Vec::new(), false),
            Payload::Signed(b) => (sigv4::sha256_hex(b), b.clone(), false),
            Payload::Streaming(b) => {
                headers.push(("x-amz-decoded-content-length".into(), b.len().to_string()));
                headers.push(("content-md5".into(), content_md5(b)));
                headers.push(("expect".into(), "100-continue".into()));
                ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_owned(), Vec::new(), true)
            }
        };
        headers.push(("x-amz-content-sha256".into(), hash.clone()));
        let body_len = match &payload {
            Payload::Streaming(b) => sigv4::signed_chunked_len(b.len(), CHUNK),
            _ => body.len(),
        };
        if method != "GET" && method != "HEAD" || body_len > 0 {
            headers.push(("content-length".into(), body_len.to_string()));
        }
        let (auth, seed) = signer.sign(method, &path, query, &headers, &hash);
        let body = match payload {
            Payload::Streaming(b) => signer.signed_chunked_body(&seed, &b, CHUNK),
            _ => body,
        };
        headers.push(("authorization".into(), auth));
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    sigv4::uri_encode(k, false)
                } else {
                    format!("{}={}", sigv4::uri_encode(k, false), sigv4::uri_encode(v, false))
                }
            })
            .collect();
        let target = if qs.is_empty() {
            path
        } else {
            format!("{path}?{}", qs.join("&"))
        };
        let req = RawRequest {
            method: method.into(),
            target,
            headers,
            body,
            expect_continue,
        };
        raw_http::send(&self.host, &req).unwrap_or_else(|e| RawResponse {
            status: 0,
            headers: Vec::new(),
            body: format!("transport error: {e}").into_bytes(),
            got_continue: false,
        })
    }

    fn expect(&self, res: RawResponse, status: u16, what: &str) -> Result<RawResponse, String> {
        if res.status == status {
            Ok(res)
        } else {
            Err(format!("{what}: status {} (want {status}): {}", res.status, res.text()))
        }
    }

    /// `PUT key` the way S3AFileSystem writes a file or a directory marker.
    fn put(&self, key: &str, data: &[u8], content_type: &str) -> Result<String, String> {
        let res = self.call(
            "PUT",
            key,
            &[],
            &[("content-type", content_type)],
            Payload::Streaming(data.to_vec()),
        );
        let res = self.expect(res, 200, &format!("PUT {key}"))?;
        ensure(res.got_continue, || format!("PUT {key}: no 100 Continue before the body"))?;
        let etag = res.header("etag").unwrap_or("").trim_matches('"').to_owned();
        // S3AFileSystem (via the SDK) checks that a single PUT's ETag is the hex MD5 it sent.
        ensure(etag == hex::encode(md5_of(data)), || {
            format!("PUT {key}: ETag {etag} is not the body's MD5")
        })?;
        Ok(etag)
    }

    /// ListObjectsV2 with the given extra parameters.
    fn list(&self, params: &[(&str, &str)]) -> Result<Listing, String> {
        let mut query = vec![("list-type", "2")];
        query.extend_from_slice(params);
        let res = self.expect(self.call("GET", "", &query, &[], Payload::Empty), 200, "ListObjectsV2")?;
        let text = res.text();
        let prefixes = text
            .split("<CommonPrefixes>")
            .skip(1)
            .flat_map(|s| xml_values(s.split("</CommonPrefixes>").next().unwrap_or(""), "Prefix"))
            .collect();
        let keys = xml_values(&text, "Key");
        Ok(Listing(
            keys,
            prefixes,
            xml_values(&text, "NextContinuationToken").into_iter().next(),
        ))
    }

    /// getFileStatus(path): HEAD key (a file?), then a 2-key listing of `key/` (a directory?).
    fn file_status(&self, key: &str) -> Result<&'static str, String> {
        let head = self.call("HEAD", key, &[], &[], Payload::Empty);
        match head.status {
            200 => return Ok("file"),
            404 => {}
            s => return Err(format!("HEAD {key}: status {s}")),
        }
        let prefix = format!("{key}/");
        let Listing(keys, prefixes, _) = self.list(&[
            ("delimiter", "/"),
            ("max-keys", "2"),
            ("prefix", &prefix),
            ("fetch-owner", "false"),
        ])?;
        Ok(if keys.is_empty() && prefixes.is_empty() {
            "missing"
        } else {
            "dir"
        })
    }

    /// Quiet DeleteObjects with Content-MD5, as S3A sends for marker cleanup and renames.
    fn delete_quiet(&self, keys: &[String]) -> Check {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>");
        for k in keys {
            xml.push_str(&format!(
                "<Object><Key>{}</Key></Object>",
                k.replace('&', "&amp;").replace('<', "&lt;")
            ));
        }
        xml.push_str("</Delete>");
        let body = xml.into_bytes();
        let md5 = content_md5(&body);
        let res = self.call(
            "POST",
            "",
            &[("delete", "")],
            &[("content-md5", &md5), ("content-type", "application/xml")],
            Payload::Signed(body),
        );
        let res = self.expect(res, 200, "DeleteObjects")?;
        let text = res.text();
        ensure(!text.contains("<Error>") && !text.contains("<Deleted>"), || {
            format!("quiet delete answered {text}")
        })
    }

    fn get_range(&self, key: &str, from: u64, to: u64, if_match: &str) -> RawResponse {
        let range = format!("bytes={from}-{to}");
        self.call("GET", key, &[], &[("range", &range), ("if-match", if_match)], Payload::Empty)
    }
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let a = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let b = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (u128::from(a) << 64) | u128::from(b)
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

fn report(feature: &str, result: Check) -> bool {
    let line = serde_json::json!({
        "client": "spark-s3a",
        "feature": feature,
        "ok": result.is_ok(),
        "detail": result.as_ref().err().cloned().unwrap_or_default(),
    });
    println!("{line}");
    if let Err(e) = &result {
        eprintln!("spark-s3a: {feature}: {e}");
    }
    result.is_ok()
}

fn main() {
    let endpoint = std::env::var("LAGOA_ENDPOINT").expect("LAGOA_ENDPOINT");
    let s3a = S3a {
        host: endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned(),
        access_key: std::env::var("LAGOA_ACCESS_KEY").expect("LAGOA_ACCESS_KEY"),
        secret_key: std::env::var("LAGOA_SECRET_KEY").expect("LAGOA_SECRET_KEY"),
        bucket: format!("spark-s3a-{:08x}", rand_u128() as u32),
    };
    let file_key = "table/year=2024/part-00000.parquet";
    let file = data(300 * 1024 + 77, 7);
    let mut all_ok = true;
    let mut run = |name: &str, f: &mut dyn FnMut() -> Check| all_ok &= report(name, f());

    if let Err(err) = check_declared_settings() {
        eprintln!("{err}");
        std::process::exit(2);
    }
    run("bucket create/head/list", &mut || {
        s3a.expect(s3a.call("PUT", "", &[], &[], Payload::Empty), 200, "CreateBucket")?;
        s3a.expect(s3a.call("HEAD", "", &[], &[], Payload::Empty), 200, "HeadBucket")?;
        Ok(())
    });

    run("s3a mkdirs (x-directory marker, status probes)", &mut || {
        ensure(s3a.file_status("table")? == "missing", || "table exists before mkdirs".into())?;
        s3a.put("table/", b"", DIR_CONTENT_TYPE)?;
        let head = s3a.expect(s3a.call("HEAD", "table/", &[], &[], Payload::Empty), 200, "HEAD marker")?;
        ensure(
            head.header("content-type") == Some(DIR_CONTENT_TYPE) && head.header("content-length") == Some("0"),
            || format!("marker headers {:?}", head.headers),
        )?;
        ensure(s3a.file_status("table")? == "dir", || {
            "table is not a directory after mkdirs".into()
        })
    });

    let mut file_etag = String::new();
    run(
        "s3a write (chunk-signed PUT, Content-MD5, 100-continue, marker cleanup)",
        &mut || {
            ensure(s3a.file_status(file_key)? == "missing", || "file exists before create".into())?;
            file_etag = s3a.put(file_key, &file, "application/octet-stream")?;
            // After every file write: a quiet DeleteObjects of all parent markers, existing or not.
            s3a.delete_quiet(&["table/year=2024/".into(), "table/".into()])?;
            s3a.expect(
                s3a.call("HEAD", "table/", &[], &[], Payload::Empty),
                404,
                "HEAD deleted marker",
            )?;
            let res = s3a.expect(s3a.call("GET", file_key, &[], &[], Payload::Empty), 200, "GET file")?;
            ensure(res.body == file, || "file read back differs".into())
        },
    );

    run("s3a getFileStatus of directories (HEAD 404, then LIST)", &mut || {
        ensure(s3a.file_status("table/year=2024")? == "dir", || {
            "partition dir not seen".into()
        })?;
        ensure(s3a.file_status("table")? == "dir", || "table dir not seen".into())?;
        let Listing(_, prefixes, _) = s3a.list(&[
            ("delimiter", "/"),
            ("max-keys", "5000"),
            ("prefix", "table/"),
            ("fetch-owner", "false"),
        ])?;
        ensure(prefixes == ["table/year=2024/"], || format!("prefixes {prefixes:?}"))?;
        ensure(s3a.file_status(file_key)? == "file", || "file not seen".into())
    });

    run("s3a read (ranged GET + If-Match, Parquet footer)", &mut || {
        let len = file.len() as u64;
        // Parquet: the last 8 bytes (footer length + magic), then the footer, then a column chunk.
        for (from, to) in [(len - 8, len - 1), (len - 8 - 4096, len - 9), (4, 70_003)] {
            let res = s3a.expect(s3a.get_range(file_key, from, to, &file_etag), 206, "ranged GET")?;
            let want = format!("bytes {from}-{to}/{len}");
            ensure(res.header("content-range") == Some(want.as_str()), || {
                format!("Content-Range {:?}", res.header("content-range"))
            })?;
            ensure(res.body == file[from as usize..=to as usize], || {
                format!("bytes {from}-{to} differ")
            })?;
        }
        s3a.expect(
            s3a.get_range(file_key, 0, 7, "0123456789abcdef0123456789abcdef"),
            412,
            "GET with stale If-Match",
        )?;
        s3a.expect(s3a.get_range(file_key, len, len + 10, &file_etag), 416, "GET past the end")?;
        Ok(())
    });

    let big = data(12 * 1024 * 1024 + 5, 3);
    let mut big_etag = String::new();
    run("s3a multipart upload (chunk-signed parts, unquoted ETags)", &mut || {
        let key = "staging/big.parquet";
        let init = s3a.call(
            "POST",
            key,
            &[("uploads", "")],
            &[("content-type", "application/octet-stream")],
            Payload::Empty,
        );
        let init = s3a.expect(init, 200, "CreateMultipartUpload")?;
        let upload_id = xml_values(&init.text(), "UploadId").pop().ok_or("no UploadId")?;
        let mut parts = String::from("<CompleteMultipartUpload>");
        for (i, part) in big.chunks(5 * 1024 * 1024).enumerate() {
            let n = (i + 1).to_string();
            let res = s3a.call(
                "PUT",
                key,
                &[("partNumber", &n), ("uploadId", &upload_id)],
                &[("content-type", "application/octet-stream")],
                Payload::Streaming(part.to_vec()),
            );
            let res = s3a.expect(res, 200, "UploadPart")?;
            ensure(res.got_continue, || "UploadPart: no 100 Continue".into())?;
            // SDK v1 hands S3A the part ETag without quotes; Complete lists it that way.
            let etag = res.header("etag").unwrap_or("").trim_matches('"').to_owned();
            parts.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"));
        }
        parts.push_str("</CompleteMultipartUpload>");
        let done = s3a.call(
            "POST",
            key,
            &[("uploadId", &upload_id)],
            &[("content-type", "application/xml")],
            Payload::Signed(parts.into_bytes()),
        );
        let done = s3a.expect(done, 200, "CompleteMultipartUpload")?;
        ensure(!done.text().contains("<Error>"), || {
            format!("Complete answered {}", done.text())
        })?;
        big_etag = xml_values(&done.text(), "ETag")
            .pop()
            .ok_or("no ETag")?
            .trim_matches('"')
            .to_owned();
        ensure(big_etag.ends_with("-3"), || format!("ETag {big_etag}"))?;
        // Later reads send the multipart `<md5>-N` ETag in If-Match.
        let res = s3a.expect(
            s3a.get_range(key, 5_000_000, 5_500_000, &big_etag),
            206,
            "ranged GET of multipart object",
        )?;
        ensure(res.body == big[5_000_000..=5_500_000], || "multipart range differs".into())
    });

    run(
        "s3a rename (CopyObject if-match + REPLACE, encoded source, DeleteObjects x250)",
        &mut || {
            let src = "_temporary/0/task_01/grp=3/";
            let n = 520;
            let mut etags = std::collections::BTreeMap::new();
            for i in 0..n {
                let key = format!("{src}part-{i:05}.csv");
                let etag = s3a.put(&key, format!("row {i}\n").as_bytes(), "application/octet-stream")?;
                etags.insert(key, etag);
            }
            // Recursive listing without delimiter, max-keys=5000, following continuation tokens.
            let mut listed = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut params = vec![("max-keys", "5000"), ("prefix", "_temporary/0/"), ("fetch-owner", "false")];
                if let Some(t) = &token {
                    params.push(("continuation-token", t));
                }
                let Listing(keys, _, next) = s3a.list(&params)?;
                listed.extend(keys);
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            ensure(listed.len() == n, || format!("listed {} of {n}", listed.len()))?;
            for key in &listed {
                let dest = key.replacen("_temporary/0/task_01/", "final/", 1);
                let source = format!("/{}/{}", s3a.bucket, sigv4::uri_encode(key, true)); // grp=3 → grp%3D3
                let res = s3a.call(
                    "PUT",
                    &dest,
                    &[],
                    &[
                        ("x-amz-copy-source", &source),
                        ("x-amz-copy-source-if-match", &etags[key]),
                        ("x-amz-metadata-directive", "REPLACE"),
                        ("content-type", "application/octet-stream"),
                    ],
                    Payload::Empty,
                );
                let res = s3a.expect(res, 200, "CopyObject")?;
                ensure(res.text().contains("<CopyObjectResult"), || {
                    format!("copy answered {}", res.text())
                })?;
            }
            for page in listed.chunks(250) {
                s3a.delete_quiet(page)?;
            }
            let Listing(left, _, _) = s3a.list(&[("prefix", "_temporary/"), ("max-keys", "5000")])?;
            ensure(left.is_empty(), || format!("{} source keys left", left.len()))?;
            let Listing(moved, _, _) = s3a.list(&[("prefix", "final/grp=3/"), ("max-keys", "5000")])?;
            ensure(moved.len() == n, || format!("{} renamed keys", moved.len()))?;
            let res = s3a.expect(
                s3a.call("GET", "final/grp=3/part-00042.csv", &[], &[], Payload::Empty),
                200,
                "GET renamed",
            )?;
            ensure(res.body == b"row 42\n", || "renamed content differs".into())?;
            // A stale source ETag must stop the copy.
            let source = format!("/{}/final/grp%3D3/part-00001.csv", s3a.bucket);
            let res = s3a.call(
                "PUT",
                "final/stale",
                &[],
                &[
                    ("x-amz-copy-source", &source),
                    ("x-amz-copy-source-if-match", "0123456789abcdef0123456789abcdef"),
                ],
                Payload::Empty,
            );
            s3a.expect(res, 412, "CopyObject with stale if-match").map(|_| ())
        },
    );

    run("s3a large rename (UploadPartCopy with copy-source-range)", &mut || {
        let dest = "final/big.parquet";
        let init = s3a.expect(
            s3a.call("POST", dest, &[("uploads", "")], &[], Payload::Empty),
            200,
            "CreateMultipartUpload",
        )?;
        let upload_id = xml_values(&init.text(), "UploadId").pop().ok_or("no UploadId")?;
        let source = format!("/{}/staging/big.parquet", s3a.bucket);
        let part = 5 * 1024 * 1024u64;
        let len = big.len() as u64;
        let mut parts = String::from("<CompleteMultipartUpload>");
        for (i, from) in (0..len).step_by(part as usize).enumerate() {
            let to = (from + part).min(len) - 1;
            let (n, range) = ((i + 1).to_string(), format!("bytes={from}-{to}"));
            let res = s3a.call(
                "PUT",
                dest,
                &[("partNumber", &n), ("uploadId", &upload_id)],
                &[
                    ("x-amz-copy-source", &source),
                    ("x-amz-copy-source-range", &range),
                    ("x-amz-copy-source-if-match", &big_etag),
                ],
                Payload::Empty,
            );
            let res = s3a.expect(res, 200, "UploadPartCopy")?;
            let etag = xml_values(&res.text(), "ETag").pop().ok_or("no part ETag")?;
            parts.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                etag.trim_matches('"')
            ));
        }
        parts.push_str("</CompleteMultipartUpload>");
        let done = s3a.call(
            "POST",
            dest,
            &[("uploadId", &upload_id)],
            &[],
            Payload::Signed(parts.into_bytes()),
        );
        let done = s3a.expect(done, 200, "CompleteMultipartUpload")?;
        ensure(!done.text().contains("<Error>"), || {
            format!("Complete answered {}", done.text())
        })?;
        let res = s3a.expect(s3a.call("GET", dest, &[], &[], Payload::Empty), 200, "GET copied")?;
        ensure(res.body == big, || "copied object differs".into())?;
        s3a.delete_quiet(&["staging/big.parquet".into()])
    });

    run("s3a delete last file re-creates parent marker", &mut || {
        s3a.expect(s3a.call("DELETE", file_key, &[], &[], Payload::Empty), 204, "DELETE file")?;
        ensure(s3a.file_status("table/year=2024")? == "missing", || {
            "partition still visible".into()
        })?;
        s3a.put("table/year=2024/", b"", DIR_CONTENT_TYPE)?;
        ensure(s3a.file_status("table/year=2024")? == "dir", || {
            "re-created marker not seen".into()
        })?;
        let Listing(_, prefixes, _) = s3a.list(&[("delimiter", "/"), ("max-keys", "5000"), ("prefix", "table/")])?;
        ensure(prefixes == ["table/year=2024/"], || format!("prefixes {prefixes:?}"))
    });

    run("bucket cleanup + delete", &mut || {
        loop {
            let Listing(keys, _, _) = s3a.list(&[("max-keys", "1000")])?;
            if keys.is_empty() {
                break;
            }
            s3a.delete_quiet(&keys)?;
        }
        s3a.expect(s3a.call("DELETE", "", &[], &[], Payload::Empty), 204, "DeleteBucket")
            .map(|_| ())
    });

    if !all_ok {
        std::process::exit(1);
    }
}
