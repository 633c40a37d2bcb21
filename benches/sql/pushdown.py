#!/usr/bin/env python3
"""SQL pushdown against "download and filter": Lagoa's compute vs pyarrow on the client.

Starts a release `lagoa serve` (compute embedded) on a data directory, uploads a ~1 GiB CSV of
orders and the same rows as Parquet (row groups of 1M rows, ids ascending), then times, in one
run and alternating the contenders, a ~1%-selective filter:

  - `POST /v1/sql` (CSV out) on the CSV object and on the Parquet object;
  - S3 Select (boto3 `select_object_content`, CSV out) on both;
  - GetObject of the whole object + pyarrow (`pyarrow.csv.read_csv` / `pyarrow.parquet`) filtering
    on the client — what a notebook does without pushdown.

Reports wall time (median of --repeat runs), bytes sent to the client, the server's peak RSS, and
the bytes the server read (rchar from /proc/PID/io) for the selective Parquet query (row-group
pruning). Then a query over data 4x --memory-limit on a `lagoa compute` sidecar: its peak RSS.

    pip install pyarrow boto3
    python3 benches/sql/pushdown.py --lagoa target/release/lagoa --dir /work/benchdata/sql
"""
import argparse
import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

import boto3
import boto3.s3.transfer
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

USER, SECRET = "bench-root", "bench-root-secret"


def start(binary, args, data):
    env = dict(os.environ, LAGOA_ROOT_USER=USER, LAGOA_ROOT_PASSWORD=SECRET, LAGOA_LOG="info")
    proc = subprocess.Popen([binary] + args, env=env, stderr=subprocess.PIPE, text=True)
    urls = {}
    for line in proc.stderr:
        m = re.search(r"(compute )?listening on (http://\S+)", line)
        if m:
            urls["compute" if m.group(1) else "main"] = m.group(2)
        if "ready" in line:
            break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, urls


def rss_peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def rchar(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def sql(endpoint, query):
    """POST /v1/sql signed with botocore's SigV4; returns (seconds, body bytes)."""
    body = query.encode()
    req = botocore.awsrequest.AWSRequest(method="POST", url=f"{endpoint}/v1/sql", data=body,
                                         headers={"Accept": "text/csv"})
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(USER, SECRET), "s3", "us-east-1").add_auth(req)
    import urllib.request
    started = time.perf_counter()
    r = urllib.request.urlopen(urllib.request.Request(req.url, data=body, headers=dict(req.headers), method="POST"))
    out = r.read()
    return time.perf_counter() - started, out


def make_orders(rows, seed=7):
    import random
    rng = random.Random(seed)
    states = ["SP"] * 40 + ["RJ"] * 13 + ["MG"] * 12 + ["RS", "PR", "SC", "BA", "DF", "ES", "GO", "PE", "CE"] * 4
    ids = pa.array(range(rows), pa.int64())
    state = pa.array([states[rng.randrange(len(states))] for _ in range(min(rows, 1 << 16))] * (rows // (1 << 16) + 1))[:rows]
    amount = pc.divide(pa.array([rng.randrange(1, 100000) for _ in range(1 << 16)] * (rows // (1 << 16) + 1), pa.int64())[:rows], 100.0)
    zip5 = pa.array([f"{rng.randrange(1000, 99999):05d}" for _ in range(1 << 16)] * (rows // (1 << 16) + 1))[:rows]
    note = pa.array(["entrega rapida, produto conforme anunciado, recomendo a loja" + "x" * rng.randrange(0, 20) for _ in range(1 << 16)] * (rows // (1 << 16) + 1))[:rows]
    return pa.table({"order_id": ids, "state": state, "zip5": zip5, "amount": amount, "note": note})


def median_run(fn, repeat):
    runs = [fn() for _ in range(repeat)]
    runs.sort(key=lambda r: r[0])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lagoa", default="target/release/lagoa")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    shutil.rmtree(args.dir, ignore_errors=True)
    os.makedirs(args.dir)
    data = os.path.join(args.dir, "data")
    proc, urls = start(args.lagoa, ["serve", "--data", data, "--address", "127.0.0.1:0",
                                    "--compute-address", "127.0.0.1:0", "--memory-limit", "1GiB"], data)
    s3 = boto3.client("s3", endpoint_url=urls["main"], aws_access_key_id=USER, aws_secret_access_key=SECRET,
                      region_name="us-east-1")
    s3.create_bucket(Bucket="lake")

    # ~1 GiB of CSV: about 110 bytes a row.
    rows = int(args.gib * (1 << 30) / 110)
    table = make_orders(rows)
    csv_buf = io.BytesIO()
    pacsv.write_csv(table, csv_buf)
    csv_bytes = csv_buf.getvalue()
    pq_buf = io.BytesIO()
    pq.write_table(table, pq_buf, row_group_size=1 << 20, compression="snappy")
    pq_bytes = pq_buf.getvalue()
    del table, csv_buf, pq_buf
    cfg = boto3.s3.transfer.TransferConfig(multipart_chunksize=64 << 20)
    s3.upload_fileobj(io.BytesIO(csv_bytes), "lake", "orders.csv", Config=cfg)
    s3.upload_fileobj(io.BytesIO(pq_bytes), "lake", "orders.parquet", Config=cfg)
    low, high = rows // 2, rows // 2 + rows // 100   # 1% of the rows, clustered by id
    print(f"rows {rows:,}; CSV {len(csv_bytes) / 2**20:,.0f} MiB, Parquet {len(pq_bytes) / 2**20:,.0f} MiB; "
          f"filter order_id in [{low:,}, {high:,}) = 1%")
    del csv_bytes, pq_bytes

    query = "SELECT order_id, state, zip5, amount FROM 's3://lake/orders.{ext}' WHERE order_id >= {low} AND order_id < {high}"

    def pushdown(ext):
        def run():
            secs, out = sql(urls["compute"], query.format(ext=ext, low=low, high=high))
            return secs, len(out), out.count(b"\n") - 1
        return run

    select_query = "SELECT s.order_id, s.state, s.zip5, s.amount FROM S3Object s WHERE s.order_id >= {low} AND s.order_id < {high}"

    def select(ext):
        def run():
            started = time.perf_counter()
            inp = {"CSV": {"FileHeaderInfo": "USE"}} if ext == "csv" else {"Parquet": {}}
            r = s3.select_object_content(Bucket="lake", Key=f"orders.{ext}", ExpressionType="SQL",
                                         Expression=select_query.format(low=low, high=high),
                                         InputSerialization=inp, OutputSerialization={"CSV": {}})
            out = b"".join(e["Records"]["Payload"] for e in r["Payload"] if "Records" in e)
            return time.perf_counter() - started, len(out), out.count(b"\n")
        return run

    def download(ext):
        def run():
            started = time.perf_counter()
            body = s3.get_object(Bucket="lake", Key=f"orders.{ext}")["Body"].read()
            t = pacsv.read_csv(io.BytesIO(body)) if ext == "csv" else pq.read_table(io.BytesIO(body))
            mask = pc.and_(pc.greater_equal(t["order_id"], low), pc.less(t["order_id"], high))
            picked = t.filter(mask).select(["order_id", "state", "zip5", "amount"])
            return time.perf_counter() - started, len(body), picked.num_rows
        return run

    results = {}
    for ext in ["csv", "parquet"]:
        for name, fn in [("sql", pushdown(ext)), ("s3 select", select(ext)), ("download+pyarrow", download(ext))]:
            results[(ext, name)] = median_run(fn, args.repeat)
    before = rchar(proc.pid)
    secs, out = sql(urls["compute"], query.format(ext="parquet", low=low, high=high))
    parquet_read = rchar(proc.pid) - before
    serve_rss = rss_peak_kib(proc.pid)

    print()
    print("| input | path | wall s (median) | bytes to client | rows | speed-up |")
    print("|---|---|---|---|---|---|")
    for ext in ["csv", "parquet"]:
        base = results[(ext, "download+pyarrow")][0]
        for name in ["sql", "s3 select", "download+pyarrow"]:
            s, n, r = results[(ext, name)]
            print(f"| {ext} | {name} | {s:.2f} | {n:,} | {r:,} | {base / s:.1f}x |")
    pq_size = s3.head_object(Bucket="lake", Key="orders.parquet")["ContentLength"]
    print(f"\nselective Parquet query: server read {parquet_read / 2**20:,.1f} MiB of a {pq_size / 2**20:,.0f} MiB object "
          f"(rchar), {secs:.2f} s; lagoa serve peak RSS {serve_rss / 1024:,.0f} MiB")

    # Data 4x the memory limit, on a sidecar: a full sort of the CSV.
    limit_mib = max(64, int(args.gib * 1024 / 4))
    side, side_urls = start(args.lagoa, ["compute", "--data", data, "--address", "127.0.0.1:0",
                                         "--memory-limit", f"{limit_mib}MiB"], data)
    try:
        secs, out = sql(side_urls["main"], "SELECT order_id, amount FROM 's3://lake/orders.csv' ORDER BY amount, order_id")
        lines = out.count(b"\n") - 1
        status = f"finished in {secs:.1f} s, {lines:,} rows"
    except Exception as e:  # a clear failure is an outcome too
        status = f"failed: {e}"
    peak = rss_peak_kib(side.pid)
    print(f"sort of {args.gib:g} GiB CSV on `lagoa compute --memory-limit {limit_mib}MiB`: {status}; "
          f"peak RSS {peak / 1024:,.0f} MiB (limit + {peak / 1024 - limit_mib:,.0f} MiB)")
    side.terminate()
    proc.terminate()
    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
