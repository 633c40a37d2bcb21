"""s3cmd (Debian's 2.3) against Lagoa: path-style, SigV4, plain HTTP."""

import hashlib
import os
import tempfile
from urllib.parse import urlparse

from suite import ACCESS_KEY, ENDPOINT, REGION, SECRET_KEY, Suite, bucket_name, read_tree, run, write_file, write_tree

suite = Suite("s3cmd")
B = bucket_name("s3cmd")
TMP = tempfile.mkdtemp(prefix="lagoa-s3cmd-")
CFG = os.path.join(TMP, "s3cfg")
host = urlparse(ENDPOINT).netloc
with open(CFG, "w") as f:
    f.write(
        "[default]\n"
        f"access_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\n"
        f"host_base = {host}\nhost_bucket = {host}\n"  # no %(bucket)s: path-style requests
        f"bucket_location = {REGION}\nuse_https = False\nsignature_v2 = False\n"
        "multipart_chunk_size_mb = 5\n"
    )


def s3cmd(*args, check=True):
    return run(["s3cmd", "-c", CFG, "--no-progress", *args], check=check)


def local(name, data):
    return write_file(TMP, name, data)


@suite.feature("bucket create/head/list")
def _():
    s3cmd("mb", f"s3://{B}")
    assert f"s3://{B}" in s3cmd("ls").stdout.decode()
    assert f"s3://{B}" in s3cmd("info", f"s3://{B}").stdout.decode()


@suite.feature("put/get (default checksums)")
def _():
    data = os.urandom(150_000)
    s3cmd("put", local("small", data), f"s3://{B}/dir/a b.bin")
    out = os.path.join(TMP, "small.back")
    s3cmd("get", "--force", f"s3://{B}/dir/a b.bin", out)
    with open(out, "rb") as f:
        assert f.read() == data
    info = s3cmd("info", f"s3://{B}/dir/a b.bin").stdout.decode()
    assert hashlib.md5(data).hexdigest() in info, info


@suite.feature("multipart upload (transfer manager)")
def _():
    data = os.urandom(12 * 1024 * 1024 + 3)
    s3cmd("put", local("big", data), f"s3://{B}/big")
    out = os.path.join(TMP, "big.back")
    s3cmd("get", "--force", f"s3://{B}/big", out)
    with open(out, "rb") as f:
        assert f.read() == data
    # `info` prints the MD5 from s3cmd's own attrs header; the server's multipart ETag shows in --debug.
    assert '-3"' in s3cmd("--debug", "info", f"s3://{B}/big").stderr.decode()


@suite.feature("sync up/down")
def _():
    src = os.path.join(TMP, "tree")
    files = {"a.csv": b"1,2\n", "sub/b.txt": os.urandom(3000), "sub/deeper/c.bin": os.urandom(70_000)}
    write_tree(src, files)
    s3cmd("sync", src + "/", f"s3://{B}/tree/")
    write_tree(src, {"a.csv": b"1,2\n3,4\n"})
    out = s3cmd("sync", src + "/", f"s3://{B}/tree/").stdout.decode()
    assert out.count("upload:") == 1 and "a.csv" in out, out
    files["a.csv"] = b"1,2\n3,4\n"
    dst = os.path.join(TMP, "tree.back")
    s3cmd("sync", f"s3://{B}/tree/", dst + "/")
    assert read_tree(dst) == files


@suite.feature("ls recursive")
def _():
    out = s3cmd("ls", "--recursive", f"s3://{B}/tree/").stdout.decode()
    keys = sorted(line.split("s3://", 1)[1] for line in out.splitlines())
    assert keys == [f"{B}/tree/a.csv", f"{B}/tree/sub/b.txt", f"{B}/tree/sub/deeper/c.bin"], keys
    top = s3cmd("ls", f"s3://{B}/tree/").stdout.decode()
    assert "DIR" in top and f"s3://{B}/tree/sub/" in top, top


@suite.feature("copy object")
def _():
    s3cmd("cp", f"s3://{B}/dir/a b.bin", f"s3://{B}/copy")
    s3cmd("mv", f"s3://{B}/copy", f"s3://{B}/moved")
    assert f"s3://{B}/moved" in s3cmd("ls", f"s3://{B}/").stdout.decode()


@suite.feature("delete objects (bulk)")
def _():
    s3cmd("del", "--recursive", "--force", f"s3://{B}/tree/")
    assert s3cmd("ls", "--recursive", f"s3://{B}/tree/").stdout.strip() == b""


@suite.feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty")
def _():
    p = s3cmd("get", f"s3://{B}/nope", os.path.join(TMP, "nope"), check=False)
    assert p.returncode != 0 and b"does not exist" in p.stderr, p.stderr
    p = s3cmd("ls", "s3://no-such-bucket-lagoa", check=False)
    assert p.returncode != 0 and b"NoSuchBucket" in p.stderr, p.stderr
    p = s3cmd("rb", f"s3://{B}", check=False)
    assert p.returncode != 0 and b"BucketNotEmpty" in p.stderr, p.stderr


@suite.feature("bucket cleanup + delete")
def _():
    s3cmd("rb", "--recursive", "--force", f"s3://{B}")
    assert f"s3://{B}" not in s3cmd("ls").stdout.decode()
