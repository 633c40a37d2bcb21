"""Browser POST uploads: a presigned POST policy from boto3's `generate_presigned_post`, sent as
multipart/form-data the way an HTML form does (requests' `files=`)."""

import base64
import binascii
import hashlib
import hmac
import json
import os
import xml.etree.ElementTree as ET

import requests

from suite import ACCESS_KEY, ENDPOINT, SECRET_KEY, Suite, boto3_client, bucket_name

suite = Suite("browser POST")
B = bucket_name("post")


def client(signature_version):
    return boto3_client(signature_version=signature_version)


s3 = client("s3v4")


def post(form, data, filename="photo.jpg"):
    return requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)


def error_code(r):
    return ET.fromstring(r.content).findtext("Code")


@suite.feature("bucket create/head/list")
def _():
    s3.create_bucket(Bucket=B)


@suite.feature("POST upload (SigV4 policy, 201 + fields)")
def _():
    form = s3.generate_presigned_post(
        B,
        "uploads/a.jpg",
        Fields={"success_action_status": "201", "Content-Type": "image/jpeg", "x-amz-meta-origin": "web"},
        Conditions=[
            {"success_action_status": "201"},
            ["starts-with", "$Content-Type", "image/"],
            {"x-amz-meta-origin": "web"},
            ["content-length-range", 1, 1_000_000],
        ],
        ExpiresIn=300,
    )
    data = os.urandom(50_000)
    r = post(form, data)
    assert r.status_code == 201, (r.status_code, r.text)
    doc = ET.fromstring(r.content)
    assert doc.findtext("Key") == "uploads/a.jpg" and doc.findtext("Bucket") == B, r.text
    got = s3.get_object(Bucket=B, Key="uploads/a.jpg")
    assert got["Body"].read() == data
    assert got["ContentType"] == "image/jpeg" and got["Metadata"] == {"origin": "web"}, got


@suite.feature("POST upload (SigV2 policy, 204)")
def _():
    form = client("s3").generate_presigned_post(B, "uploads/v2.txt", ExpiresIn=300)
    assert "signature" in form["fields"], form["fields"]  # the legacy V2 form
    r = post(form, b"hello")
    assert r.status_code == 204, (r.status_code, r.text)
    assert s3.get_object(Bucket=B, Key="uploads/v2.txt")["Body"].read() == b"hello"


@suite.feature("POST expired policy -> 403")
def _():
    form = s3.generate_presigned_post(B, "uploads/late", ExpiresIn=-60)
    r = post(form, b"late")
    assert r.status_code == 403 and error_code(r) == "AccessDenied", (r.status_code, r.text)
    assert "Contents" not in s3.list_objects_v2(Bucket=B, Prefix="uploads/late")


@suite.feature("POST content-length-range -> 400")
def _():
    form = s3.generate_presigned_post(B, "uploads/sized", Conditions=[["content-length-range", 10, 100]], ExpiresIn=300)
    r = post(form, b"x" * 101)
    assert r.status_code == 400 and error_code(r) == "EntityTooLarge", (r.status_code, r.text)
    r = post(form, b"x" * 9)
    assert r.status_code == 400 and error_code(r) == "EntityTooSmall", (r.status_code, r.text)
    assert "Contents" not in s3.list_objects_v2(Bucket=B, Prefix="uploads/sized")
    assert post(form, b"x" * 50).status_code == 204


@suite.feature("POST above the server's --post-max-bytes -> 400")
def _():
    # No content-length-range in the policy: the server's own cap (64 MiB by default; s3s holds a
    # POST's file in memory) must still refuse a larger file, and store nothing.
    form = s3.generate_presigned_post(B, "uploads/huge", ExpiresIn=300)
    r = post(form, b"\0" * (64 * 1024 * 1024 + 1))
    assert r.status_code == 400 and error_code(r) == "EntityTooLarge", (r.status_code, r.text)
    assert "Contents" not in s3.list_objects_v2(Bucket=B, Prefix="uploads/huge")


@suite.feature("POST policy violation / bad signature -> 403")
def _():
    form = s3.generate_presigned_post(B, "uploads/fixed", ExpiresIn=300)
    form["fields"]["key"] = "elsewhere/fixed"  # the policy pins the key
    r = post(form, b"x")
    assert r.status_code == 403 and error_code(r) == "AccessDenied", (r.status_code, r.text)
    form = s3.generate_presigned_post(B, "uploads/fixed", ExpiresIn=300)
    form["fields"]["x-amz-signature"] = "0" * 64
    r = post(form, b"x")
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch", (r.status_code, r.text)
    assert "Contents" not in s3.list_objects_v2(Bucket=B, Prefix="elsewhere/")


@suite.feature("POST key ${filename}")
def _():
    form = s3.generate_presigned_post(B, "uploads/${filename}", ExpiresIn=300)
    r = post(form, b"named", filename="Birthday Cake.jpg")
    assert r.status_code == 204, (r.status_code, r.text)
    assert s3.get_object(Bucket=B, Key="uploads/Birthday Cake.jpg")["Body"].read() == b"named"


def crc32_b64(data):
    return base64.b64encode(binascii.crc32(data).to_bytes(4, "big")).decode()


def absent(key):
    return "Contents" not in s3.list_objects_v2(Bucket=B, Prefix=key)


@suite.feature("POST x-amz-checksum-* field (exempt from the policy, verified)")
def _():
    data = os.urandom(10_000)
    form = s3.generate_presigned_post(B, "uploads/summed", ExpiresIn=300)
    form["fields"]["x-amz-checksum-crc32"] = crc32_b64(b"other bytes")
    r = post(form, data)
    assert r.status_code == 400 and error_code(r) == "BadDigest", (r.status_code, r.text)
    assert absent("uploads/summed")
    form["fields"]["x-amz-checksum-crc32"] = crc32_b64(data)
    r = post(form, data)
    assert r.status_code == 204, (r.status_code, r.text)
    h = s3.head_object(Bucket=B, Key="uploads/summed", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == crc32_b64(data), h
    # Named by the policy, the field stays in the form and is still verified against the file.
    wrong = crc32_b64(b"not the file")
    form = s3.generate_presigned_post(
        B, "uploads/pinned", Fields={"x-amz-checksum-crc32": wrong}, Conditions=[{"x-amz-checksum-crc32": wrong}], ExpiresIn=300
    )
    r = post(form, data)
    assert r.status_code == 400 and error_code(r) == "BadDigest", (r.status_code, r.text)
    assert absent("uploads/pinned")


@suite.feature("POST without its signature field -> 400")
def _():
    form = s3.generate_presigned_post(B, "uploads/unsigned", ExpiresIn=300)
    del form["fields"]["x-amz-signature"]
    r = post(form, b"x")
    assert r.status_code == 400 and error_code(r) == "InvalidArgument", (r.status_code, r.text)
    form = client("s3").generate_presigned_post(B, "uploads/unsigned", ExpiresIn=300)
    del form["fields"]["signature"]
    r = post(form, b"x")
    assert r.status_code == 400, (r.status_code, r.text)
    assert absent("uploads/unsigned")


def v2_form(policy_doc, key):
    """A SigV2 POST form over a hand-written policy document (boto3 always writes a valid one)."""
    policy = base64.b64encode(json.dumps(policy_doc).encode()).decode()
    signature = base64.b64encode(hmac.new(SECRET_KEY.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    fields = {"key": key, "AWSAccessKeyId": ACCESS_KEY, "policy": policy, "signature": signature}
    return {"url": f"{ENDPOINT}/{B}", "fields": fields}


@suite.feature("POST policy expiration not ISO 8601 -> 400")
def _():
    import datetime

    # What s3-tests sends: Python's str() of an aware datetime, a space and an offset, not ISO 8601's T and Z.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=6000)
    doc = {"expiration": str(later), "conditions": [{"bucket": B}, ["starts-with", "$key", "uploads/"]]}
    r = post(v2_form(doc, "uploads/baddate"), b"x")
    assert r.status_code == 400 and error_code(r) == "InvalidPolicyDocument", (r.status_code, r.text)
    doc["expiration"] = "2099-12-31T00:00:00.000Z"
    r = post(v2_form(doc, "uploads/gooddate"), b"x")
    assert r.status_code == 204, (r.status_code, r.text)
    assert absent("uploads/baddate")


@suite.feature("POST bucket field naming another bucket -> 403")
def _():
    form = s3.generate_presigned_post(B, "uploads/elsewhere", ExpiresIn=300)
    form["fields"]["bucket"] = B + "-other"
    r = post(form, b"x")
    assert r.status_code == 403 and error_code(r) == "AccessDenied", (r.status_code, r.text)
    assert absent("uploads/elsewhere")


@suite.feature("POST with server-side encryption (SSE-S3) -> stored sealed")
def _():
    sse = {"x-amz-server-side-encryption": "AES256"}
    form = s3.generate_presigned_post(B, "uploads/sse", Fields=sse, Conditions=[sse], ExpiresIn=300)
    r = post(form, b"secret")
    assert r.status_code == 204, (r.status_code, r.text)
    head = s3.head_object(Bucket=B, Key="uploads/sse")
    assert head.get("ServerSideEncryption") == "AES256", head
    assert s3.get_object(Bucket=B, Key="uploads/sse")["Body"].read() == b"secret"


@suite.feature("bucket cleanup + delete")
def _():
    for o in s3.list_objects_v2(Bucket=B).get("Contents", []):
        s3.delete_object(Bucket=B, Key=o["Key"])
    s3.delete_bucket(Bucket=B)
