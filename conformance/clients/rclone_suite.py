"""rclone (Debian's 1.60) against Lagoa, configured as an S3 remote of provider Minio."""

import hashlib
import json
import os
import tempfile

from suite import ACCESS_KEY, ENDPOINT, REGION, SECRET_KEY, Suite, bucket_name, observer, read_tree, run, write_tree

suite = Suite("rclone")
B = bucket_name("rclone")
TMP = tempfile.mkdtemp(prefix="lagoa-rclone-")
ENV = {
    "RCLONE_CONFIG": os.path.join(TMP, "rclone.conf"),
    "RCLONE_CONFIG_LAGOA_TYPE": "s3",
    "RCLONE_CONFIG_LAGOA_PROVIDER": "Minio",
    "RCLONE_CONFIG_LAGOA_ENDPOINT": ENDPOINT,
    "RCLONE_CONFIG_LAGOA_ACCESS_KEY_ID": ACCESS_KEY,
    "RCLONE_CONFIG_LAGOA_SECRET_ACCESS_KEY": SECRET_KEY,
    "RCLONE_CONFIG_LAGOA_REGION": REGION,
}


def rclone(*args, check=True):
    # --low-level-retries 1 / --retries 1: a failure must show, not be retried away.
    return run(["rclone", "--retries", "1", "--low-level-retries", "1", *args], env=ENV, check=check)


def lsjson(path, *flags):
    return json.loads(rclone("lsjson", *flags, path).stdout)


@suite.feature("bucket create/head/list")
def _():
    rclone("mkdir", f"lagoa:{B}")
    assert B in [e["Path"] for e in lsjson("lagoa:")]


@suite.feature("copy up/down")
def _():
    src = os.path.join(TMP, "tree")
    files = {"a.csv": b"1,2\n", "sub/b.txt": os.urandom(3000), "sub/deeper/c d.bin": os.urandom(70_000)}
    write_tree(src, files)
    rclone("copy", src, f"lagoa:{B}/tree")
    dst = os.path.join(TMP, "tree.back")
    rclone("copy", f"lagoa:{B}/tree", dst)
    assert read_tree(dst) == files


@suite.feature("check (MD5)")
def _():
    src = os.path.join(TMP, "tree")
    out = rclone("check", src, f"lagoa:{B}/tree").stderr.decode()
    assert "0 differences found" in out, out
    write_tree(src, {"a.csv": b"1,9\n"})  # same size, other bytes: only the MD5 tells them apart
    p = rclone("check", src, f"lagoa:{B}/tree", check=False)
    assert p.returncode != 0 and b"1 differences found" in p.stderr, p.stderr


@suite.feature("sync up/down")
def _():
    src = os.path.join(TMP, "tree")
    os.remove(os.path.join(src, "sub/b.txt"))
    rclone("sync", src, f"lagoa:{B}/tree")
    dst = os.path.join(TMP, "tree.sync")
    rclone("sync", f"lagoa:{B}/tree", dst)
    assert read_tree(dst) == read_tree(src)


@suite.feature("lsjson (recursive, hashes)")
def _():
    entries = lsjson(f"lagoa:{B}/tree", "-R", "--files-only", "--hash")
    paths = sorted(e["Path"] for e in entries)
    assert paths == ["a.csv", "sub/deeper/c d.bin"], paths
    a = next(e for e in entries if e["Path"] == "a.csv")
    assert a["Size"] == 4 and a["Hashes"]["md5"] == hashlib.md5(b"1,9\n").hexdigest(), a


@suite.feature("multipart upload (transfer manager)")
def _():
    big = os.path.join(TMP, "big")
    with open(big, "wb") as f:
        f.write(os.urandom(13 * 1024 * 1024 + 11))
    rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", big, f"lagoa:{B}/big")
    assert observer().head_object(Bucket=B, Key="big")["ETag"].endswith('-3"')
    back = os.path.join(TMP, "big.back")
    rclone("copyto", f"lagoa:{B}/big", back)
    with open(big, "rb") as f, open(back, "rb") as g:
        assert f.read() == g.read()


@suite.feature("delete objects (bulk)")
def _():
    rclone("delete", f"lagoa:{B}/tree")
    assert lsjson(f"lagoa:{B}/tree", "-R", "--files-only") == []


@suite.feature("bucket cleanup + delete")
def _():
    rclone("purge", f"lagoa:{B}")
    assert B not in [e["Path"] for e in lsjson("lagoa:")]
