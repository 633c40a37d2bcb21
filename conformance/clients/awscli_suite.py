"""The AWS CLI v1 (`aws s3` high-level commands and `aws s3api`) against Lagoa."""

import hashlib
import json
import os
import tempfile

import requests

from suite import (
    ACCESS_KEY, ENDPOINT, REGION, SECRET_KEY, SELECT_QUERY, Suite, bucket_name, check_select, read_tree, run, select_csv,
    select_parquet, write_file, write_tree,
)

suite = Suite("awscli")
B = bucket_name("awscli")
TMP = tempfile.mkdtemp(prefix="lagoa-awscli-")
CONFIG = os.path.join(TMP, "config")
with open(CONFIG, "w") as f:
    # A low multipart threshold so an ordinary test file exercises the multipart path.
    f.write("[default]\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 5MB\n")
ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": CONFIG,
    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(TMP, "none"),
    "AWS_MAX_ATTEMPTS": "1",
}


def aws(*args, check=True):
    return run(["aws", "--endpoint-url", ENDPOINT, *args], env=ENV, check=check)


def api(*args):
    out = aws("s3api", *args).stdout
    return json.loads(out) if out.strip() else {}


def local(name, data):
    return write_file(TMP, name, data)


@suite.feature("bucket create/head/list")
def _():
    aws("s3", "mb", f"s3://{B}")
    api("head-bucket", "--bucket", B)
    assert B in aws("s3", "ls").stdout.decode()
    p = aws("s3api", "head-bucket", "--bucket", "x" * 60, check=False)
    assert p.returncode != 0 and b"404" in p.stderr, p.stderr


@suite.feature("put/get (default checksums)")
def _():
    data = os.urandom(200_000)
    aws("s3", "cp", local("small", data), f"s3://{B}/dir/a b+c.bin")
    got = aws("s3", "cp", f"s3://{B}/dir/a b+c.bin", "-").stdout
    assert got == data
    head = api("head-object", "--bucket", B, "--key", "dir/a b+c.bin")
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and head["ContentLength"] == len(data)


@suite.feature("multipart upload (transfer manager)")
def _():
    data = os.urandom(21 * 1024 * 1024 + 7)
    aws("s3", "cp", local("big", data), f"s3://{B}/big")
    head = api("head-object", "--bucket", B, "--key", "big")
    assert head["ETag"].endswith('-5"'), head["ETag"]
    out = os.path.join(TMP, "big.back")
    aws("s3", "cp", f"s3://{B}/big", out)
    with open(out, "rb") as f:
        assert f.read() == data


@suite.feature("multipart low-level + list parts/uploads + abort")
def _():
    up = api("create-multipart-upload", "--bucket", B, "--key", "mp")["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    p2 = b"tail"
    e1 = api("upload-part", "--bucket", B, "--key", "mp", "--upload-id", up, "--part-number", "1", "--body", local("p1", p1))["ETag"]
    e2 = api("upload-part", "--bucket", B, "--key", "mp", "--upload-id", up, "--part-number", "2", "--body", local("p2", p2))["ETag"]
    parts = api("list-parts", "--bucket", B, "--key", "mp", "--upload-id", up)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    assert up in [u["UploadId"] for u in api("list-multipart-uploads", "--bucket", B)["Uploads"]]
    layout = json.dumps({"Parts": [{"ETag": e1, "PartNumber": 1}, {"ETag": e2, "PartNumber": 2}]})
    api("complete-multipart-upload", "--bucket", B, "--key", "mp", "--upload-id", up, "--multipart-upload", layout)
    assert aws("s3", "cp", f"s3://{B}/mp", "-").stdout == p1 + p2
    up2 = api("create-multipart-upload", "--bucket", B, "--key", "gone")["UploadId"]
    api("abort-multipart-upload", "--bucket", B, "--key", "gone", "--upload-id", up2)
    assert up2 not in [u["UploadId"] for u in api("list-multipart-uploads", "--bucket", B).get("Uploads", [])]


@suite.feature("sync up/down")
def _():
    src = os.path.join(TMP, "tree")
    files = {"a.csv": b"1,2\n", "sub/b.txt": os.urandom(3000), "sub/deeper/c.bin": os.urandom(70_000), "sp ace/d": b"d"}
    write_tree(src, files)
    aws("s3", "sync", src, f"s3://{B}/tree/")
    # A second sync with nothing changed uploads nothing; a changed file is uploaded alone.
    assert b"upload:" not in aws("s3", "sync", src, f"s3://{B}/tree/").stdout
    write_tree(src, {"a.csv": b"1,2\n3,4\n"})
    out = aws("s3", "sync", src, f"s3://{B}/tree/").stdout.decode()
    assert out.count("upload:") == 1 and "a.csv" in out, out
    files["a.csv"] = b"1,2\n3,4\n"
    dst = os.path.join(TMP, "tree.back")
    aws("s3", "sync", f"s3://{B}/tree/", dst)
    assert read_tree(dst) == files
    os.remove(os.path.join(src, "sp ace/d"))
    aws("s3", "sync", "--delete", src, f"s3://{B}/tree/")
    p = aws("s3api", "head-object", "--bucket", B, "--key", "tree/sp ace/d", check=False)
    assert p.returncode != 0 and b"404" in p.stderr


@suite.feature("ls recursive")
def _():
    out = aws("s3", "ls", "--recursive", f"s3://{B}/tree/").stdout.decode()
    keys = sorted(line.split(None, 3)[3] for line in out.splitlines())
    assert keys == ["tree/a.csv", "tree/sub/b.txt", "tree/sub/deeper/c.bin"], keys
    top = aws("s3", "ls", f"s3://{B}/tree/").stdout.decode()
    assert "PRE sub/" in top and "a.csv" in top, top


@suite.feature("mv")
def _():
    aws("s3", "mv", f"s3://{B}/tree/a.csv", f"s3://{B}/moved/a.csv")
    assert aws("s3", "cp", f"s3://{B}/moved/a.csv", "-").stdout == b"1,2\n3,4\n"
    p = aws("s3api", "head-object", "--bucket", B, "--key", "tree/a.csv", check=False)
    assert p.returncode != 0 and b"404" in p.stderr


@suite.feature("copy object")
def _():
    api("copy-object", "--bucket", B, "--key", "copy", "--copy-source", f"{B}/dir/a b+c.bin")
    assert aws("s3", "cp", f"s3://{B}/copy", "-").stdout == aws("s3", "cp", f"s3://{B}/dir/a b+c.bin", "-").stdout


@suite.feature("tagging")
def _():
    api("put-object-tagging", "--bucket", B, "--key", "copy", "--tagging", "TagSet=[{Key=zone,Value=sp}]")
    assert api("get-object-tagging", "--bucket", B, "--key", "copy")["TagSet"] == [{"Key": "zone", "Value": "sp"}]
    api("delete-object-tagging", "--bucket", B, "--key", "copy")
    assert api("get-object-tagging", "--bucket", B, "--key", "copy")["TagSet"] == []


@suite.feature("presigned get/put")
def _():
    url = aws("s3", "presign", f"s3://{B}/copy", "--expires-in", "60").stdout.decode().strip()
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and len(r.content) == 200_000, r.status_code


@suite.feature("rm recursive")
def _():
    aws("s3", "rm", "--recursive", f"s3://{B}/tree/")
    assert aws("s3", "ls", "--recursive", f"s3://{B}/tree/", check=False).stdout.strip() == b""
    assert b"moved/a.csv" in aws("s3", "ls", "--recursive", f"s3://{B}/").stdout


@suite.feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty")
def _():
    p = aws("s3api", "get-object", "--bucket", B, "--key", "nope", os.path.join(TMP, "nope"), check=False)
    assert b"NoSuchKey" in p.stderr, p.stderr
    p = aws("s3", "ls", "s3://no-such-bucket-lagoa", check=False)
    assert b"NoSuchBucket" in p.stderr, p.stderr
    p = aws("s3", "rb", f"s3://{B}", check=False)
    assert p.returncode != 0 and b"BucketNotEmpty" in p.stderr, p.stderr


@suite.feature("S3 Select CSV and Parquet (rows equal pyarrow's)")
def _():
    for key, data, inp in [
        ("select/orders.csv", select_csv(), '{"CSV": {"FileHeaderInfo": "USE"}}'),
        ("select/orders.parquet", select_parquet(), '{"Parquet": {}}'),
    ]:
        aws("s3", "cp", local("orders", data), f"s3://{B}/{key}")
        out = os.path.join(TMP, "selected.csv")
        api_args = ["select-object-content", "--bucket", B, "--key", key, "--expression", SELECT_QUERY,
                    "--expression-type", "SQL", "--input-serialization", inp, "--output-serialization", '{"CSV": {}}', out]
        aws("s3api", *api_args)
        with open(out, "rb") as f:
            check_select(f.read(), key)
        aws("s3", "rm", f"s3://{B}/{key}")

@suite.feature("bucket cleanup + delete")
def _():
    aws("s3", "rb", "--force", f"s3://{B}")
    assert B not in aws("s3", "ls").stdout.decode()
