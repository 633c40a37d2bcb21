"""boto3 (latest: CRC32 trailing checksums by default) against Lagoa."""

import hashlib
import io
import os

import requests
from boto3.s3.transfer import TransferConfig

from suite import (
    ACCESS_KEY, ENDPOINT, SECRET_KEY, SELECT_QUERY, Suite, boto3_client, bucket_name, check_select, expect_error,
    select_csv, select_parquet,
)

s3 = boto3_client()
suite = Suite("boto3")
B = bucket_name("boto3")


@suite.feature("bucket create/head/list")
def _():
    s3.create_bucket(Bucket=B)
    s3.head_bucket(Bucket=B)
    assert B in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=B).get("LocationConstraint") in (None, "")
    expect_error("404", s3.head_bucket, Bucket="x" * 60)


@suite.feature("put/get (default checksums)")
def _():
    body = os.urandom(100_000)
    out = s3.put_object(Bucket=B, Key="dir/a b+c.bin", Body=body)
    assert out["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=B, Key="dir/a b+c.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert "ChecksumCRC32" in got or "ChecksumCRC64NVME" in got, sorted(got)


@suite.feature("checksum sha256 verified")
def _():
    s3.put_object(Bucket=B, Key="sha", Body=b"hello", ChecksumAlgorithm="SHA256")
    h = s3.head_object(Bucket=B, Key="sha", ChecksumMode="ENABLED")
    assert h["ChecksumSHA256"] == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="


@suite.feature("metadata and headers")
def _():
    s3.put_object(Bucket=B, Key="meta", Body=b"x", ContentType="text/csv", Metadata={"team": "geo"}, CacheControl="max-age=1")
    h = s3.head_object(Bucket=B, Key="meta")
    assert h["ContentType"] == "text/csv" and h["Metadata"] == {"team": "geo"} and h["CacheControl"] == "max-age=1"


@suite.feature("range get")
def _():
    s3.put_object(Bucket=B, Key="range", Body=bytes(range(256)) * 4)
    got = s3.get_object(Bucket=B, Key="range", Range="bytes=10-19")
    assert got["Body"].read() == bytes(range(10, 20)) and got["ContentRange"] == "bytes 10-19/1024"
    expect_error("InvalidRange", s3.get_object, Bucket=B, Key="range", Range="bytes=5000-")


@suite.feature("multipart upload (transfer manager)")
def _():
    data = os.urandom(20 * 1024 * 1024 + 123)
    cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), B, "big.bin", Config=cfg)
    h = s3.head_object(Bucket=B, Key="big.bin")
    assert h["ETag"].endswith('-3"'), h["ETag"]
    buf = io.BytesIO()
    s3.download_fileobj(B, "big.bin", buf, Config=cfg)
    assert buf.getvalue() == data


@suite.feature("multipart low-level + list parts/uploads + abort")
def _():
    up = s3.create_multipart_upload(Bucket=B, Key="mp")
    uid = up["UploadId"]
    assert any(u["UploadId"] == uid for u in s3.list_multipart_uploads(Bucket=B).get("Uploads", []))
    p1 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=1, Body=b"a" * (5 * 1024 * 1024))
    p2 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=2, Body=b"tail")
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=B, Key="mp", UploadId=uid)["Parts"]] == [1, 2]
    s3.complete_multipart_upload(
        Bucket=B, Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]},
    )
    assert s3.get_object(Bucket=B, Key="mp")["ContentLength"] == 5 * 1024 * 1024 + 4
    up = s3.create_multipart_upload(Bucket=B, Key="gone")
    s3.abort_multipart_upload(Bucket=B, Key="gone", UploadId=up["UploadId"])
    expect_error("NoSuchUpload", s3.list_parts, Bucket=B, Key="gone", UploadId=up["UploadId"])


@suite.feature("copy object")
def _():
    s3.put_object(Bucket=B, Key="src=1/x", Body=b"copy me")
    s3.copy_object(Bucket=B, Key="dst", CopySource={"Bucket": B, "Key": "src=1/x"})
    assert s3.get_object(Bucket=B, Key="dst")["Body"].read() == b"copy me"


@suite.feature("tagging")
def _():
    s3.put_object(Bucket=B, Key="tagged", Body=b"x", Tagging="a=1&b=2")
    assert {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=B, Key="tagged")["TagSet"]} == {"a": "1", "b": "2"}
    s3.put_object_tagging(Bucket=B, Key="tagged", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    s3.delete_object_tagging(Bucket=B, Key="tagged")
    assert s3.get_object_tagging(Bucket=B, Key="tagged")["TagSet"] == []


@suite.feature("list v2 paging + delimiter")
def _():
    for i in range(7):
        s3.put_object(Bucket=B, Key=f"page/{i}", Body=b"")
    s3.put_object(Bucket=B, Key="page/sub/x", Body=b"")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix="page/", Delimiter="/", PaginationConfig={"PageSize": 3}):
        keys += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert keys == [f"page/{i}" for i in range(7)] + ["page/sub/"], keys


@suite.feature("list v1 paging")
def _():
    keys = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=B, Prefix="page/", PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == sorted(keys) and len(keys) == 8, keys


@suite.feature("presigned get/put")
def _():
    url = s3.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "pre"}, ExpiresIn=300)
    assert requests.put(url, data=b"presigned").status_code == 200
    url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "pre"}, ExpiresIn=300)
    r = requests.get(url)
    assert r.status_code == 200 and r.content == b"presigned"


@suite.feature("conditional put")
def _():
    s3.put_object(Bucket=B, Key="cond", Body=b"1", IfNoneMatch="*")
    expect_error("PreconditionFailed", s3.put_object, Bucket=B, Key="cond", Body=b"2", IfNoneMatch="*")


@suite.feature("delete objects (bulk)")
def _():
    listed = s3.list_objects_v2(Bucket=B, Prefix="page/")["Contents"]
    out = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": o["Key"]} for o in listed] + [{"Key": "missing"}]})
    assert len(out["Deleted"]) == len(listed) + 1 and not out.get("Errors")


@suite.feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty")
def _():
    expect_error("NoSuchKey", s3.get_object, Bucket=B, Key="nope")
    expect_error("NoSuchBucket", s3.get_object, Bucket=bucket_name("missing"), Key="k")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=B)


@suite.feature("versions listing (null versions)")
def _():
    out = s3.list_object_versions(Bucket=B)
    assert out["Versions"] and all(v["VersionId"] == "null" for v in out["Versions"])


@suite.feature("versioning: versions, delete markers, restore, suspend")
def _():
    vb = bucket_name("boto3-ver")
    s3.create_bucket(Bucket=vb)
    s3.put_bucket_versioning(Bucket=vb, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=vb)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=vb, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vb, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=vb, Key="k", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=vb, Key="k")
    assert marker["DeleteMarker"] is True
    expect_error("NoSuchKey", s3.get_object, Bucket=vb, Key="k")
    expect_error("MethodNotAllowed", s3.get_object, Bucket=vb, Key="k", VersionId=marker["VersionId"])
    expect_error("InvalidArgument", s3.get_object, Bucket=vb, Key="k", VersionId="not-a-version")
    listed = s3.list_object_versions(Bucket=vb)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker["VersionId"], True)]
    # Restore by copying an old version over the key, then page through every version.
    copied = s3.copy_object(Bucket=vb, Key="k", CopySource={"Bucket": vb, "Key": "k", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and s3.get_object(Bucket=vb, Key="k")["Body"].read() == b"one"
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=vb, PaginationConfig={"PageSize": 1})
    everything = [(e["Key"], e["VersionId"]) for p in pages for e in p.get("Versions", []) + p.get("DeleteMarkers", [])]
    assert len(everything) == 4, everything
    s3.put_bucket_versioning(Bucket=vb, VersioningConfiguration={"Status": "Suspended"})
    assert "VersionId" not in s3.put_object(Bucket=vb, Key="k", Body=b"null one")
    assert s3.head_object(Bucket=vb, Key="k")["VersionId"] == "null"
    out = s3.delete_objects(Bucket=vb, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in everything] + [{"Key": "k", "VersionId": "null"}]})
    assert len(out["Deleted"]) == 5 and not out.get("Errors"), out
    s3.delete_bucket(Bucket=vb)


@suite.feature("object lock: default retention, retention, legal hold")
def _():
    import datetime

    lb = bucket_name("boto3-lock")
    s3.create_bucket(Bucket=lb, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=lb, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    assert s3.get_object_lock_configuration(Bucket=lb)["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"] == 1
    v = s3.put_object(Bucket=lb, Key="k", Body=b"worm")["VersionId"]
    assert s3.head_object(Bucket=lb, Key="k")["ObjectLockMode"] == "GOVERNANCE"
    expect_error("AccessDenied", s3.delete_object, Bucket=lb, Key="k", VersionId=v)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    s3.put_object_retention(Bucket=lb, Key="k", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
                            BypassGovernanceRetention=True)
    assert s3.get_object_retention(Bucket=lb, Key="k", VersionId=v)["Retention"]["Mode"] == "COMPLIANCE"
    expect_error("AccessDenied", s3.delete_object, Bucket=lb, Key="k", VersionId=v, BypassGovernanceRetention=True)
    v2 = s3.put_object(Bucket=lb, Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON",
                       ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later)["VersionId"]
    assert s3.get_object_legal_hold(Bucket=lb, Key="held")["LegalHold"]["Status"] == "ON"
    s3.put_object_legal_hold(Bucket=lb, Key="held", VersionId=v2, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=lb, Key="held", VersionId=v2, BypassGovernanceRetention=True)
    expect_error("InvalidBucketState", s3.put_bucket_versioning, Bucket=lb, VersioningConfiguration={"Status": "Suspended"})


@suite.feature("lifecycle configuration (expiration, noncurrent, abort uploads)")
def _():
    rules = [
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}},
        {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 2},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=B, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=B)["Rules"]
    assert [r["ID"] for r in got] == ["tmp", "old"] and got[0]["Expiration"] == {"Days": 1}, got
    out = s3.put_object(Bucket=B, Key="tmp/x", Body=b"x")
    assert 'rule-id="tmp"' in out["Expiration"], out
    s3.delete_object(Bucket=B, Key="tmp/x")
    expect_error("NotImplemented", s3.put_bucket_lifecycle_configuration, Bucket=B, LifecycleConfiguration={"Rules": [
        {"ID": "t", "Status": "Enabled", "Filter": {}, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]})
    s3.delete_bucket_lifecycle(Bucket=B)
    expect_error("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, Bucket=B)


@suite.feature("bucket policy: anonymous read, public access block, policy status")
def _():
    import json

    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    pb = bucket_name("boto3-policy")
    s3.create_bucket(Bucket=pb)
    s3.put_object(Bucket=pb, Key="open/a.txt", Body=b"public")
    s3.put_object(Bucket=pb, Key="closed/b.txt", Body=b"private")
    anonymous = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    expect_error("AccessDenied", anonymous.get_object, Bucket=pb, Key="open/a.txt")
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=pb)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{pb}/open/*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{pb}",
         "Condition": {"StringLike": {"s3:prefix": "open/*"}}}]}
    s3.put_bucket_policy(Bucket=pb, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=pb)["Policy"]) == policy
    assert s3.get_bucket_policy_status(Bucket=pb)["PolicyStatus"]["IsPublic"] is True
    assert anonymous.get_object(Bucket=pb, Key="open/a.txt")["Body"].read() == b"public"
    expect_error("AccessDenied", anonymous.get_object, Bucket=pb, Key="closed/b.txt")
    listed = anonymous.list_objects_v2(Bucket=pb, Prefix="open/")
    assert [o["Key"] for o in listed["Contents"]] == ["open/a.txt"], listed
    expect_error("AccessDenied", anonymous.list_objects_v2, Bucket=pb)
    expect_error("AccessDenied", anonymous.put_object, Bucket=pb, Key="open/c.txt", Body=b"x")
    expect_error("MalformedPolicy", s3.put_bucket_policy, Bucket=pb, Policy='{"Statement": "nope"}')
    s3.put_public_access_block(Bucket=pb, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    assert s3.get_public_access_block(Bucket=pb)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    expect_error("AccessDenied", anonymous.get_object, Bucket=pb, Key="open/a.txt")
    expect_error("AccessDenied", s3.put_bucket_policy, Bucket=pb, Policy=json.dumps(policy))
    s3.delete_public_access_block(Bucket=pb)
    expect_error("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block, Bucket=pb)
    s3.delete_bucket_policy(Bucket=pb)
    expect_error("AccessDenied", anonymous.get_object, Bucket=pb, Key="open/a.txt")
    for key in ("open/a.txt", "closed/b.txt"):
        s3.delete_object(Bucket=pb, Key=key)
    s3.delete_bucket(Bucket=pb)


@suite.feature("ACLs: ownership controls, canned and granted object/bucket ACLs, anonymous reads")
def _():
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    anonymous = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    enforced = bucket_name("boto3-acl-off")
    s3.create_bucket(Bucket=enforced)
    controls = s3.get_bucket_ownership_controls(Bucket=enforced)["OwnershipControls"]["Rules"]
    assert controls == [{"ObjectOwnership": "BucketOwnerEnforced"}], controls
    expect_error("AccessControlListNotSupported", s3.put_object, Bucket=enforced, Key="k", Body=b"x", ACL="public-read")
    s3.put_object(Bucket=enforced, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    s3.delete_object(Bucket=enforced, Key="k")
    s3.delete_bucket(Bucket=enforced)
    expect_error("InvalidBucketAclWithObjectOwnership", s3.create_bucket, Bucket=enforced, ACL="public-read")

    b = bucket_name("boto3-acl")
    s3.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket=b, Key="public", Body=b"shared", ACL="public-read")
    s3.put_object(Bucket=b, Key="private", Body=b"mine")
    assert anonymous.get_object(Bucket=b, Key="public")["Body"].read() == b"shared"
    expect_error("AccessDenied", anonymous.get_object, Bucket=b, Key="private")
    acl = s3.get_object_acl(Bucket=b, Key="public")
    groups = [(g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"] if g["Grantee"]["Type"] == "Group"]
    assert groups == [("http://acs.amazonaws.com/groups/global/AllUsers", "READ")], acl
    owner = acl["Owner"]
    s3.put_object_acl(Bucket=b, Key="private", AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]})
    assert anonymous.get_object(Bucket=b, Key="private")["Body"].read() == b"mine"
    expect_error("AccessDenied", anonymous.list_objects_v2, Bucket=b)
    s3.put_bucket_acl(Bucket=b, ACL="public-read")
    assert sorted(o["Key"] for o in anonymous.list_objects_v2(Bucket=b)["Contents"]) == ["private", "public"]
    s3.put_bucket_acl(Bucket=b, ACL="private")
    for key in ("public", "private"):
        s3.delete_object(Bucket=b, Key=key)
    s3.delete_bucket(Bucket=b)


@suite.feature("SigV2 header auth (bucket and object requests, clock skew)")
def _():
    import base64
    import email.utils
    import hmac
    import time

    v2 = boto3_client(signature_version="s3")
    b = bucket_name("sigv2")
    v2.create_bucket(Bucket=b)
    v2.head_bucket(Bucket=b)
    assert v2.get_bucket_location(Bucket=b).get("LocationConstraint") in (None, "")
    v2.put_object(Bucket=b, Key="k", Body=b"v2 body")
    assert v2.get_object(Bucket=b, Key="k")["Body"].read() == b"v2 body"
    assert [o["Key"] for o in v2.list_objects(Bucket=b)["Contents"]] == ["k"]
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=b)["Contents"]] == ["k"]
    # A request signed an hour ago is RequestTimeTooSkewed, as S3 answers.
    date = email.utils.formatdate(time.time() - 3600, usegmt=True)
    to_sign = f"GET\n\n\n{date}\n/{b}/k"
    sig = base64.b64encode(hmac.new(SECRET_KEY.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    r = requests.get(f"{ENDPOINT}/{b}/k", headers={"Date": date, "Authorization": f"AWS {ACCESS_KEY}:{sig}"}, timeout=30)
    assert r.status_code == 403 and "<Code>RequestTimeTooSkewed</Code>" in r.text, (r.status_code, r.text)
    v2.delete_object(Bucket=b, Key="k")
    v2.delete_bucket(Bucket=b)


@suite.feature("S3 Select CSV and Parquet (rows equal pyarrow's)")
def _():
    s3.put_object(Bucket=B, Key="select/orders.csv", Body=select_csv())
    s3.put_object(Bucket=B, Key="select/orders.parquet", Body=select_parquet())
    for key, inp in [
        ("select/orders.csv", {"CSV": {"FileHeaderInfo": "USE"}}),
        ("select/orders.parquet", {"Parquet": {}}),
    ]:
        r = s3.select_object_content(
            Bucket=B, Key=key, Expression=SELECT_QUERY, ExpressionType="SQL",
            InputSerialization=inp, OutputSerialization={"CSV": {}}, RequestProgress={"Enabled": True},
        )
        records, stats, ended = b"", None, False
        for event in r["Payload"]:
            records += event.get("Records", {}).get("Payload", b"")
            stats = event.get("Stats", {}).get("Details", stats)
            ended |= "End" in event
        check_select(records, key)
        assert ended and stats["BytesReturned"] == len(records), stats
    expect_error("ParseUnexpectedToken", s3.select_object_content, Bucket=B, Key="select/orders.csv",
                 Expression="SELEC x", ExpressionType="SQL", InputSerialization={"CSV": {}}, OutputSerialization={"CSV": {}})
    s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "select/orders.csv"}, {"Key": "select/orders.parquet"}]})

@suite.feature("server-side encryption: SSE-S3, SSE-C, bucket default (put/get_bucket_encryption)")
def _():
    body = os.urandom(300 * 1024)
    put = s3.put_object(Bucket=B, Key="enc/s3", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256" and put["ETag"].strip('"') == hashlib.md5(body).hexdigest(), put
    got = s3.get_object(Bucket=B, Key="enc/s3", Range="bytes=65530-131080")
    assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == body[65530:131081]
    key = os.urandom(32)
    ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}  # boto3 adds the base64 and MD5
    s3.put_object(Bucket=B, Key="enc/c", Body=body, **ssec)
    assert s3.get_object(Bucket=B, Key="enc/c", **ssec)["Body"].read() == body
    expect_error("InvalidRequest", s3.get_object, Bucket=B, Key="enc/c")
    expect_error("AccessDenied", s3.get_object, Bucket=B, Key="enc/c", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
    expect_error("ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption, Bucket=B)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=B, ServerSideEncryptionConfiguration={"Rules": [rule]})
    conf = s3.get_bucket_encryption(Bucket=B)["ServerSideEncryptionConfiguration"]
    assert conf["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", conf
    s3.put_object(Bucket=B, Key="enc/default", Body=b"defaulted")
    assert s3.head_object(Bucket=B, Key="enc/default")["ServerSideEncryption"] == "AES256"
    s3.delete_bucket_encryption(Bucket=B)
    s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in ("enc/s3", "enc/c", "enc/default")]})


@suite.feature("CORS: put/get/delete_bucket_cors, browser preflight and response headers")
def _():
    rule = {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["PUT", "GET"],
            "AllowedHeaders": ["content-type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}
    s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": [rule]})
    got = s3.get_bucket_cors(Bucket=B)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://*.example.org"] and got[0]["MaxAgeSeconds"] == 300, got
    url = f"{ENDPOINT}/{B}/cors.txt"
    ask = {"Origin": "https://app.example.org", "Access-Control-Request-Method": "PUT",
           "Access-Control-Request-Headers": "content-type"}
    r = requests.options(url, headers=ask, timeout=30)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example.org", (r.status_code, r.headers)
    r = requests.options(url, headers={**ask, "Origin": "https://evil.test"}, timeout=30)
    assert r.status_code == 403 and "AccessForbidden" in r.text, (r.status_code, r.text)
    s3.put_object(Bucket=B, Key="cors.txt", Body=b"x")
    signed = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "cors.txt"}, ExpiresIn=300)
    r = requests.get(signed, headers={"Origin": "https://app.example.org"}, timeout=30)
    assert r.status_code == 200 and r.headers.get("Access-Control-Expose-Headers") == "ETag", r.headers
    s3.delete_bucket_cors(Bucket=B)
    expect_error("NoSuchCORSConfiguration", s3.get_bucket_cors, Bucket=B)
    s3.delete_object(Bucket=B, Key="cors.txt")


@suite.feature("bucket cleanup + delete")
def _():
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B):
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            s3.delete_objects(Bucket=B, Delete={"Objects": objs, "Quiet": True})
    s3.delete_bucket(Bucket=B)
    expect_error("404", s3.head_bucket, Bucket=B)
