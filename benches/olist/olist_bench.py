#!/usr/bin/env python3
"""The Olist workload, timed: `lagoa olist generate`, `lagoa olist load` and `lagoa geocode`
(compute next to the data) against the same join done on the client after downloading the CSVs —
with pandas/pyarrow, and with Spark local[2] (pyspark) when it is installed.

For each --scale, in one run: wall time and peak RSS of each step (the commands' own peak from
wait4; the server's from VmHWM, reset before each step via clear_refs), then the contenders, which
download the five CSVs over S3 (boto3), compute the same outputs and write them as Parquet to a
local directory. Spark also reads Lagoa's Parquet outputs back (a type check: Spark 3.5 reads
them with no extra settings). Spark reads the downloaded files from local disk: hadoop-aws (s3a)
is not installable here (Maven Central is unreachable), see the results file.

    pip install pandas pyarrow boto3 [pyspark==3.5.7]
    python3 benches/olist/olist_bench.py --lagoa target/release/lagoa --dir /work/benchdata/olist \
        --scales 1,10 --out benches/RESULTS-olist.md
"""
import argparse
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

import boto3
import numpy as np
import pandas as pd

USER, SECRET = "bench-root", "bench-root-secret"
FILES = ["olist_geolocation_dataset.csv", "olist_customers_dataset.csv", "olist_sellers_dataset.csv",
         "olist_orders_dataset.csv", "olist_order_items_dataset.csv"]
R = 6371.0088
BOXES = [(-33.75116944, 5.27438888, -73.98283055, -34.79314722), (-4.0, -3.7, -33.9, -32.3),
         (0.8, 1.0, -29.45, -29.25), (-20.6, -20.4, -29.4, -28.8)]


def run(cmd, env=None):
    """Runs cmd; returns (seconds, peak RSS MiB, stdout). The peak is the largest of the process
    and the descendants it waited for (wait4's ru_maxrss)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read())),
               threading.Thread(target=lambda: err.append(proc.stderr.read()))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for r in readers:
        r.join()
    seconds = time.monotonic() - started
    if status != 0:
        sys.exit(f"{cmd} failed: {err[0].decode(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out[0].decode(errors="replace")


def start_server(binary, data):
    env = dict(os.environ, LAGOA_ROOT_USER=USER, LAGOA_ROOT_PASSWORD=SECRET, LAGOA_LOG="info")
    proc = subprocess.Popen([binary, "serve", "--data", data, "--address", "127.0.0.1:0",
                             "--compute-address", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE, text=True)
    urls = {}
    for line in proc.stderr:
        m = re.search(r"(compute )?listening on (http://\S+)", line)
        if m:
            urls["compute" if m.group(1) else "main"] = m.group(2)
        if "ready" in line and len(urls) == 2:
            break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, urls


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def peak_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---- the client-side contenders -----------------------------------------------------------

def download(endpoint, bucket, prefix):
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=USER, aws_secret_access_key=SECRET)
    return {f: s3.get_object(Bucket=bucket, Key=prefix + f)["Body"].read() for f in FILES}


def zip5(series):
    t = series.astype("string").str.strip()
    t = t.str.replace(r"^(\d{5})-(\d{3})$", r"\1\2", regex=True)
    ok = t.str.fullmatch(r"\d{1,8}").fillna(False)
    short = t.str.len() <= 5
    out = pd.Series(pd.NA, index=t.index, dtype="string")
    out[ok & short] = t[ok & short].str.zfill(5)
    out[ok & ~short] = t[ok & ~short].str.zfill(8).str[:5]
    return out


def haversine(lat1, lng1, lat2, lng2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    return 2 * R * np.arcsin(np.minimum(np.sqrt(a), 1.0))


def pandas_join(endpoint, bucket, prefix, out):
    """The whole geocode join in pandas (vectorised), after downloading the CSVs."""
    raw = download(endpoint, bucket, prefix)
    read = lambda f: pd.read_csv(io.BytesIO(raw[f]), dtype=str, keep_default_na=False, engine="pyarrow")
    geo = read(FILES[0])
    lat, lng = geo["geolocation_lat"].astype(float).to_numpy(), geo["geolocation_lng"].astype(float).to_numpy()
    inside = np.zeros(len(geo), dtype=bool)
    for s, n, w, e in BOXES:
        inside |= (lat >= s) & (lat <= n) & (lng >= w) & (lng <= e)
    points = pd.DataFrame({"zip5": zip5(geo["geolocation_zip_code_prefix"]), "lat": lat, "lng": lng,
                           "state": geo["geolocation_state"].str.strip().str.upper()})[inside].dropna(subset=["zip5"])
    g = points.groupby("zip5")
    centroids = g.agg(lat=("lat", "median"), lng=("lng", "median"), points=("lat", "size"))
    centroids["spread_km"] = R * np.pi / 180 * np.sqrt(
        g["lat"].var(ddof=0) + g["lng"].var(ddof=0) * np.cos(np.radians(g["lat"].mean())) ** 2)
    centroid_states = points[["zip5", "state"]].drop_duplicates()
    customers, sellers = read(FILES[1]), read(FILES[2])
    customers["zip5"], customers["st"] = zip5(customers["customer_zip_code_prefix"]), customers["customer_state"].str.strip().str.upper()
    sellers["zip5"], sellers["st"] = zip5(sellers["seller_zip_code_prefix"]), sellers["seller_state"].str.strip().str.upper()
    places = pd.concat([customers[["zip5", "st"]], sellers[["zip5", "st"]]]).drop_duplicates().dropna(subset=["zip5"])
    exact = places.merge(centroids[["lat", "lng"]], left_on="zip5", right_index=True)
    exact["match"] = "exact"
    unlocated = places[~places["zip5"].isin(centroids.index)]
    near = unlocated.merge(centroid_states.rename(columns={"zip5": "c", "state": "st"}), on="st")
    near["d"] = (near["zip5"].astype(int) - near["c"].astype(int)).abs()
    near = near.sort_values(["zip5", "st", "d", "c"]).drop_duplicates(["zip5", "st"])
    near = near.merge(centroids[["lat", "lng"]], left_on="c", right_index=True)[["zip5", "st", "lat", "lng"]]
    near["match"] = "approximate"
    located = pd.concat([exact, near])
    customers = customers.merge(located, on=["zip5", "st"], how="left").drop(columns="st")
    sellers = sellers.merge(located, on=["zip5", "st"], how="left").drop(columns="st")
    customers["match"] = customers["match"].fillna("none")
    sellers["match"] = sellers["match"].fillna("none")
    orders, items = read(FILES[3])[["order_id", "customer_id"]], read(FILES[4])
    j = (items[["order_id", "order_item_id", "seller_id"]].merge(orders, on="order_id")
         .merge(sellers[["seller_id", "lat", "lng"]], on="seller_id")
         .merge(customers[["customer_id", "lat", "lng"]], on="customer_id", suffixes=("_s", "_c")))
    j = j.dropna(subset=["lat_s", "lat_c"])
    j["distance_km"] = haversine(j["lat_s"].to_numpy(), j["lng_s"].to_numpy(), j["lat_c"].to_numpy(), j["lng_c"].to_numpy())
    os.makedirs(out, exist_ok=True)
    customers.to_parquet(f"{out}/customers_geo.parquet")
    sellers.to_parquet(f"{out}/sellers_geo.parquet")
    centroids.to_parquet(f"{out}/zip_centroids.parquet")
    j[["order_id", "order_item_id", "seller_id", "customer_id", "distance_km"]].to_parquet(f"{out}/order_distances.parquet")
    return {"customers_exact": int((customers["match"] == "exact").sum()),
            "customers_approximate": int((customers["match"] == "approximate").sum()),
            "order_distances": len(j)}


SPARK_ZIP5 = """CASE WHEN trim({c}) RLIKE '^[0-9]{{1,5}}$' THEN lpad(trim({c}), 5, '0')
  WHEN trim({c}) RLIKE '^[0-9]{{6,8}}$' THEN substr(lpad(trim({c}), 8, '0'), 1, 5)
  WHEN trim({c}) RLIKE '^[0-9]{{5}}-[0-9]{{3}}$' THEN substr(trim({c}), 1, 5) END"""


def spark_join(endpoint, bucket, prefix, out, lagoa_outputs):
    """The same join in Spark local[2] over the downloaded CSVs; then Lagoa's outputs read back."""
    from pyspark.sql import SparkSession
    raw = download(endpoint, bucket, prefix)
    local = out + "/in"
    os.makedirs(local, exist_ok=True)
    for f, body in raw.items():
        with open(f"{local}/{f}", "wb") as fh:
            fh.write(body)
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "6g")
             .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    csv = lambda f: spark.read.option("header", True).option("inferSchema", False).csv(f"{local}/{f}")
    csv(FILES[0]).createOrReplaceTempView("geolocation")
    csv(FILES[1]).createOrReplaceTempView("customers")
    csv(FILES[2]).createOrReplaceTempView("sellers")
    csv(FILES[3]).createOrReplaceTempView("orders")
    csv(FILES[4]).createOrReplaceTempView("order_items")
    brazil = " OR ".join(f"(lat BETWEEN {s} AND {n} AND lng BETWEEN {w} AND {e})" for s, n, w, e in BOXES)
    spark.sql(f"""SELECT {SPARK_ZIP5.format(c='geolocation_zip_code_prefix')} AS zip5,
        CAST(geolocation_lat AS DOUBLE) AS lat, CAST(geolocation_lng AS DOUBLE) AS lng,
        upper(trim(geolocation_state)) AS state FROM geolocation""").createOrReplaceTempView("raw_points")
    spark.sql(f"SELECT * FROM raw_points WHERE ({brazil}) AND zip5 IS NOT NULL").cache().createOrReplaceTempView("points")
    spark.sql(f"""SELECT zip5, median(lat) AS lat, median(lng) AS lng, count(*) AS points,
        {R} * radians(1) * sqrt(var_pop(lat) + var_pop(lng) * pow(cos(radians(avg(lat))), 2)) AS spread_km,
        array_sort(collect_set(state)) AS states FROM points GROUP BY zip5""").cache().createOrReplaceTempView("centroids")
    spark.sql(f"""SELECT DISTINCT {SPARK_ZIP5.format(c='customer_zip_code_prefix')} AS zip5, upper(trim(customer_state)) AS state FROM customers
        UNION SELECT DISTINCT {SPARK_ZIP5.format(c='seller_zip_code_prefix')}, upper(trim(seller_state)) FROM sellers""").createOrReplaceTempView("places")
    spark.sql("""SELECT p.zip5, p.state, c.lat, c.lng, 'exact' AS match FROM places p JOIN centroids c ON p.zip5 = c.zip5
        UNION ALL
        SELECT zip5, state, lat, lng, 'approximate' FROM (
          SELECT p.zip5, p.state, c.lat, c.lng, row_number() OVER (PARTITION BY p.zip5, p.state
                 ORDER BY abs(CAST(p.zip5 AS BIGINT) - CAST(c.zip5 AS BIGINT)), c.zip5) AS nearness
          FROM (SELECT * FROM places WHERE zip5 IS NOT NULL AND zip5 NOT IN (SELECT zip5 FROM centroids)) p
          JOIN (SELECT zip5, lat, lng, explode(states) AS state FROM centroids) c ON p.state = c.state)
        WHERE nearness = 1""").cache().createOrReplaceTempView("located")
    spark.sql(f"""SELECT c.*, l.lat, l.lng, coalesce(l.match, 'none') AS match FROM
        (SELECT *, {SPARK_ZIP5.format(c='customer_zip_code_prefix')} AS zip5 FROM customers) c
        LEFT JOIN located l ON c.zip5 = l.zip5 AND upper(trim(c.customer_state)) = l.state""").cache().createOrReplaceTempView("customers_geo")
    spark.sql(f"""SELECT s.*, l.lat, l.lng, coalesce(l.match, 'none') AS match FROM
        (SELECT *, {SPARK_ZIP5.format(c='seller_zip_code_prefix')} AS zip5 FROM sellers) s
        LEFT JOIN located l ON s.zip5 = l.zip5 AND upper(trim(s.seller_state)) = l.state""").cache().createOrReplaceTempView("sellers_geo")
    spark.table("customers_geo").write.mode("overwrite").parquet(f"{out}/customers_geo")
    spark.table("sellers_geo").write.mode("overwrite").parquet(f"{out}/sellers_geo")
    spark.table("centroids").write.mode("overwrite").parquet(f"{out}/zip_centroids")
    distances = spark.sql(f"""SELECT i.order_id, CAST(i.order_item_id AS BIGINT) AS order_item_id, i.seller_id, o.customer_id,
        2 * {R} * asin(least(sqrt(pow(sin(radians(c.lat - s.lat) / 2), 2) + cos(radians(s.lat)) * cos(radians(c.lat))
            * pow(sin(radians(c.lng - s.lng) / 2), 2)), 1.0)) AS distance_km
        FROM order_items i JOIN orders o ON i.order_id = o.order_id
        JOIN sellers_geo s ON i.seller_id = s.seller_id JOIN customers_geo c ON o.customer_id = c.customer_id
        WHERE s.lat IS NOT NULL AND c.lat IS NOT NULL""")
    distances.write.mode("overwrite").parquet(f"{out}/order_distances")
    result = {"order_distances": spark.read.parquet(f"{out}/order_distances").count()}
    # Lagoa's outputs, read back by Spark 3.5 as they are.
    for name, path in lagoa_outputs.items():
        frame = spark.read.parquet(path)
        result[f"lagoa_{name}"] = {"rows": frame.count(), "schema": frame.schema.simpleString()}
    spark.stop()
    return result


# ---- the run ------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lagoa", default="target/release/lagoa")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, endpoint, workdir = args.worker[:3]
        if kind == "pandas":
            print(pandas_join(endpoint, "datalake", "olist/", workdir))
        else:
            outputs = dict(item.split("=", 1) for item in args.worker[3:])
            print(spark_join(endpoint, "datalake", "olist/", workdir, outputs))
        return

    binary = os.path.abspath(args.lagoa)
    env = dict(os.environ, LAGOA_ACCESS_KEY=USER, LAGOA_SECRET_KEY=SECRET, RUST_BACKTRACE="0")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    lines = [f"machine: {os.cpu_count()} cores, {cpu}, {platform.release()}; lagoa {binary}",
             "", "| scale | step | wall s | peak RSS MiB | notes |", "|---|---|---|---|---|"]
    spark_ok = not args.no_spark
    if spark_ok:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            spark_ok = False
            lines.insert(1, "pyspark is not installed: Spark skipped")
    spark_reads = []
    for scale in args.scales.split(","):
        root = os.path.join(args.dir, f"scale-{scale}")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        csv_dir, data = os.path.join(root, "csv"), os.path.join(root, "data")
        secs, rss, _ = run([binary, "olist", "generate", "--scale", scale, "--out", csv_dir], env)
        size = sum(os.path.getsize(os.path.join(csv_dir, f)) for f in os.listdir(csv_dir)) / 2**20
        lines.append(f"| {scale} | `lagoa olist generate` | {secs:.2f} | {rss:.0f} | {size:.0f} MiB of CSV |")
        server, urls = start_server(binary, data)
        try:
            reset_peak(server.pid)
            secs, rss, _ = run([binary, "olist", "load", csv_dir, "--endpoint", urls["main"]], env)
            lines.append(f"| {scale} | `lagoa olist load` | {secs:.2f} | {rss:.0f} (server {peak_mib(server.pid):.0f}) | {size / secs:.0f} MiB/s |")
            for attempt in range(2):
                reset_peak(server.pid)
                secs, rss, _ = run([binary, "geocode", "--endpoint", urls["compute"]], env)
                lines.append(f"| {scale} | `lagoa geocode` (run {attempt + 1}) | {secs:.2f} | {rss:.0f} (server {peak_mib(server.pid):.0f}) | checks + join + 5 Parquet outputs written |")
            secs, rss, _ = run([sys.executable, __file__, "--dir", root, "--worker", "pandas", urls["main"], os.path.join(root, "pandas")])
            lines.append(f"| {scale} | pandas/pyarrow on the client | {secs:.2f} | {rss:.0f} | download 5 CSVs + the same join + Parquet written locally |")
            if spark_ok:
                s3 = boto3.client("s3", endpoint_url=urls["main"], region_name="us-east-1",
                                  aws_access_key_id=USER, aws_secret_access_key=SECRET)
                outputs = []
                for name in ("customers_geo", "sellers_geo", "order_distances", "zip_centroids", "summary"):
                    path = os.path.join(root, "lagoa-out", name)
                    os.makedirs(path, exist_ok=True)
                    s3.download_file("datalake", f"enriched/{name}/part-00000.parquet", f"{path}/part-00000.parquet")
                    outputs.append(f"{name}={path}")
                secs, rss, stdout = run([sys.executable, __file__, "--dir", root, "--worker", "spark", urls["main"],
                                         os.path.join(root, "spark")] + outputs)
                lines.append(f"| {scale} | Spark local[2] (pyspark 3.5.7, JVM start included) | {secs:.2f} | {rss:.0f} | download + the same join + Parquet written locally |")
                spark_reads.append(f"- scale {scale}: `{stdout.strip().splitlines()[-1]}`")
        finally:
            server.terminate()
            server.wait()
    if spark_reads:
        lines += ["", "Spark 3.5 reading Lagoa's Parquet outputs (rows, schema):"] + spark_reads
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Olist workload: generate, load, geocode (benches/olist/olist_bench.py)\n\n")
            f.write(f"`python3 benches/olist/olist_bench.py --lagoa {args.lagoa} --dir {args.dir} --scales {args.scales}`\n\n")
            f.write(report)


if __name__ == "__main__":
    main()
