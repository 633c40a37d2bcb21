"""Shared plumbing for the client suites: where the server is, and how a feature result is
reported (one JSON line per feature on stdout, read by the matrix runner)."""

import json
import os
import sys
import traceback
import uuid

ENDPOINT = os.environ["LAGOA_ENDPOINT"]
ACCESS_KEY = os.environ["LAGOA_ACCESS_KEY"]
SECRET_KEY = os.environ["LAGOA_SECRET_KEY"]
REGION = "us-east-1"


def bucket_name(prefix: str) -> str:
    """A fresh, valid bucket name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Suite:
    """Runs features of one client and reports each as pass/fail."""

    def __init__(self, client: str):
        self.client = client
        self.failed = 0

    def feature(self, name: str):
        """Decorator: run the function now and report it under `name`."""

        def run(fn):
            try:
                fn()
                self._report(name, True, "")
            except Exception as e:  # a failing feature must not stop the others
                self.failed += 1
                detail = f"{type(e).__name__}: {e}"
                self._report(name, False, detail[:500])
                traceback.print_exc(file=sys.stderr)
            return fn

        return run

    def _report(self, feature: str, ok: bool, detail: str):
        print(json.dumps({"client": self.client, "feature": feature, "ok": ok, "detail": detail}), flush=True)


def expect_error(code: str, fn, *args, **kwargs):
    """Calls fn and asserts it fails with the S3 error `code` (botocore ClientError)."""
    from botocore.exceptions import ClientError

    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert got == code or str(status) == code, f"expected {code}, got {got} ({status})"
        return
    raise AssertionError(f"expected {code}, but the call succeeded")


def run(cmd, env=None, check=True, input=None, timeout=300):
    """Runs a client command line; on failure raises with its stderr so the matrix shows why."""
    import subprocess

    full_env = dict(os.environ)
    full_env.pop("AWS_CA_BUNDLE", None)  # plain-HTTP endpoint: a CA bundle makes some clients refuse it
    full_env.update(env or {})
    p = subprocess.run(cmd, env=full_env, input=input, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
    return p


def write_tree(root, files):
    """Creates `files` ({relative path: bytes}) under `root`."""
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def read_tree(root):
    """{relative path: bytes} of every file under `root`."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def boto3_client(**config):
    """A path-style boto3 client for the server, without retries (a failure must show);
    `config` adds botocore Config options (e.g. signature_version)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


def observer():
    """A boto3 client used by CLI suites to check what the server holds, independently of the CLI."""
    return boto3_client()


def write_file(directory, name, data):
    """Writes `data` to `directory/name` and returns the path (a local file for a CLI to upload)."""
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# --- S3 Select: one dataset, its answers computed independently by pyarrow ---------------------

SELECT_STATES = ["SP", "RJ", "MG", "BA", "PR"]
SELECT_CITIES = ["são paulo", "Rio de Janeiro", "Belo Horizonte, MG", "salvador", 'the "big" city']


def select_csv() -> bytes:
    """500 orders as CSV (a header; a city with a comma, one with quotes; amounts with
    decimals; some amounts that are not numbers)."""
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "state", "city", "amount"])
    for i in range(500):
        amount = "n/a" if i % 37 == 0 else f"{(i * 7919) % 1000 / 10:.1f}"
        w.writerow([i, SELECT_STATES[i % 5], SELECT_CITIES[(i * 3 + i // 5) % 5], amount])
    return out.getvalue().encode()


def select_parquet() -> bytes:
    """The same orders as Parquet, typed (amount a nullable double)."""
    import io

    import pyarrow.parquet as pq

    table = select_table()
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def select_table():
    """The orders as pyarrow reads the CSV, with amount parsed where it is a number."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    text = pcsv.read_csv(
        io.BytesIO(select_csv()),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in ["id", "state", "city", "amount"]}),
    )
    amount = pc.cast(pc.if_else(pc.equal(text["amount"], "n/a"), None, text["amount"]), pa.float64())
    return pa.table({"id": pc.cast(text["id"], pa.int64()), "state": text["state"], "city": text["city"], "amount": amount})


# The query every client runs, and pyarrow's answer to it.
SELECT_QUERY = "SELECT s.id, s.city FROM S3Object s WHERE s.state = 'SP' AND CAST(s.amount AS FLOAT) > 50"


def select_expected():
    """[(id, city)] as strings, in file order."""
    import pyarrow.compute as pc

    t = select_table()
    mask = pc.and_(pc.equal(t["state"], "SP"), pc.greater(t["amount"], 50.0))
    rows = t.filter(pc.fill_null(mask, False))
    return [(str(i), c) for i, c in zip(rows["id"].to_pylist(), rows["city"].to_pylist())]


def select_rows(records: bytes):
    """Rows of S3 Select's CSV output."""
    import csv
    import io

    return [tuple(r) for r in csv.reader(io.StringIO(records.decode()))]


def check_select(records: bytes, what: str):
    got = select_rows(records)
    want = select_expected()
    assert len(want) > 10, "the query selects something"
    assert got == want, f"{what}: {len(got)} rows, pyarrow has {len(want)}; first differing: " + str(
        next(((g, w) for g, w in zip(got, want) if g != w), None)
    )
