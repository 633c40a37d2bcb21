"""The MinIO Python SDK (`minio` on PyPI) against Lagoa."""

import io
import os
from datetime import timedelta
from urllib.parse import urlparse

import requests
from minio import Minio
from minio.commonconfig import Tags
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from suite import ACCESS_KEY, ENDPOINT, SECRET_KEY, SELECT_QUERY, Suite, bucket_name, check_select, select_csv, select_parquet

url = urlparse(ENDPOINT)
mc = Minio(url.netloc, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, region="us-east-1")
suite = Suite("minio-py")
B = bucket_name("minio-py")


def expect_code(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except S3Error as e:
        assert e.code == code, f"expected {code}, got {e.code}"
        return
    raise AssertionError(f"expected {code}, but the call succeeded")


@suite.feature("bucket create/head/list")
def _():
    assert not mc.bucket_exists("x" * 60)
    mc.make_bucket(B)
    assert mc.bucket_exists(B)
    assert B in [b.name for b in mc.list_buckets()]


@suite.feature("put/get (default checksums)")
def _():
    data = os.urandom(300_000)
    mc.put_object(B, "dir/obj one", io.BytesIO(data), len(data), content_type="application/octet-stream", metadata={"x-amz-meta-team": "geo"})
    r = mc.get_object(B, "dir/obj one")
    try:
        assert r.read() == data
    finally:
        r.close()
        r.release_conn()
    st = mc.stat_object(B, "dir/obj one")
    assert st.size == len(data) and st.metadata.get("x-amz-meta-team") == "geo"


@suite.feature("multipart upload (transfer manager)")
def _():
    data = os.urandom(12 * 1024 * 1024 + 5)
    mc.put_object(B, "big", io.BytesIO(data), -1, part_size=5 * 1024 * 1024)
    st = mc.stat_object(B, "big")
    assert st.size == len(data) and st.etag.endswith("-3"), st.etag
    r = mc.get_object(B, "big")
    try:
        assert r.read() == data
    finally:
        r.close()
        r.release_conn()


@suite.feature("range get")
def _():
    r = mc.get_object(B, "big", offset=10, length=20)
    try:
        assert len(r.read()) == 20
    finally:
        r.close()
        r.release_conn()


@suite.feature("copy object")
def _():
    from minio.commonconfig import CopySource

    mc.copy_object(B, "copy", CopySource(B, "dir/obj one"))
    assert mc.stat_object(B, "copy").size == 300_000


@suite.feature("tagging")
def _():
    tags = Tags.new_object_tags()
    tags["a"] = "1"
    mc.set_object_tags(B, "copy", tags)
    assert dict(mc.get_object_tags(B, "copy")) == {"a": "1"}
    mc.delete_object_tags(B, "copy")
    assert not mc.get_object_tags(B, "copy")


@suite.feature("list v2 paging + delimiter")
def _():
    for i in range(5):
        mc.put_object(B, f"ls/{i}", io.BytesIO(b""), 0)
    mc.put_object(B, "ls/sub/x", io.BytesIO(b""), 0)
    flat = [o.object_name for o in mc.list_objects(B, prefix="ls/")]
    assert flat == [f"ls/{i}" for i in range(5)] + ["ls/sub/"], flat
    deep = [o.object_name for o in mc.list_objects(B, prefix="ls/", recursive=True)]
    assert deep == [f"ls/{i}" for i in range(5)] + ["ls/sub/x"], deep


@suite.feature("presigned get/put")
def _():
    put_url = mc.presigned_put_object(B, "pre", expires=timedelta(minutes=5))
    assert requests.put(put_url, data=b"presigned").status_code == 200
    get_url = mc.presigned_get_object(B, "pre", expires=timedelta(minutes=5))
    r = requests.get(get_url)
    assert r.status_code == 200 and r.content == b"presigned"


@suite.feature("delete objects (bulk)")
def _():
    errors = list(mc.remove_objects(B, [DeleteObject(o.object_name) for o in mc.list_objects(B, recursive=True)]))
    assert not errors, errors
    assert not list(mc.list_objects(B, recursive=True))


@suite.feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty")
def _():
    expect_code("NoSuchKey", mc.stat_object, B, "nope")
    expect_code("NoSuchBucket", mc.list_objects(bucket_name("missing")).__next__)
    mc.put_object(B, "keep", io.BytesIO(b"x"), 1)
    expect_code("BucketNotEmpty", mc.remove_bucket, B)


@suite.feature("S3 Select CSV and Parquet (rows equal pyarrow's)")
def _():
    from minio.select import CSVInputSerialization, CSVOutputSerialization, ParquetInputSerialization, SelectRequest

    for key, data, inp in [
        ("select/orders.csv", select_csv(), CSVInputSerialization(file_header_info="USE")),
        ("select/orders.parquet", select_parquet(), ParquetInputSerialization()),
    ]:
        mc.put_object(B, key, io.BytesIO(data), len(data))
        with mc.select_object_content(B, key, SelectRequest(SELECT_QUERY, inp, CSVOutputSerialization(), request_progress=True)) as result:
            records = b"".join(result.stream())
            stats = result.stats()
        check_select(records, key)
        assert int(stats.bytes_returned) == len(records), vars(stats)
        mc.remove_object(B, key)

@suite.feature("bucket cleanup + delete")
def _():
    mc.remove_object(B, "keep")
    mc.remove_bucket(B)
    assert not mc.bucket_exists(B)
