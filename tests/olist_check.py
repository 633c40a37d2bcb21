"""An independent computation of the Olist geocode join (pandas), compared with what
`lagoa geocode` wrote (read back with pyarrow over boto3).

usage: olist_check.py ENDPOINT BUCKET INPUT_PREFIX OUTPUT_PREFIX
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints a JSON summary; exits
non-zero on the first difference.
"""

import io
import json
import math
import sys

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

EARTH_RADIUS_KM = 6371.0088
# Brazil: the box of its extreme mainland points, and its oceanic islands.
BOXES = [
    (-33.75116944, 5.27438888, -73.98283055, -34.79314722),
    (-4.0, -3.7, -33.9, -32.3),
    (0.8, 1.0, -29.45, -29.25),
    (-20.6, -20.4, -29.4, -28.8),
]


def zip5(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if "-" in text:
        head, _, tail = text.partition("-")
        if len(head) != 5 or len(tail) != 3:
            return None
        text = head + tail
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) <= 5:
        return text.zfill(5)
    if len(text) <= 8:
        return text.zfill(8)[:5]
    return None


def in_brazil(lat, lng):
    inside = np.zeros(len(lat), dtype=bool)
    for south, north, west, east in BOXES:
        inside |= (lat >= south) & (lat <= north) & (lng >= west) & (lng <= east)
    return inside


def haversine(lat1, lng1, lat2, lng2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lng2 - lng1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.sqrt(a), 1.0))


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    endpoint, bucket, prefix, out = sys.argv[1:5]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

    def read_csv(name):
        body = s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        return pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)

    def read_parquet(dataset):
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{out}{dataset}/")
        keys = [o["Key"] for o in listed.get("Contents", [])]
        if not keys:
            fail(f"no objects under {out}{dataset}/")
        tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True)

    geo = read_csv("olist_geolocation_dataset.csv")
    geo["lat"] = geo["geolocation_lat"].astype(float)
    geo["lng"] = geo["geolocation_lng"].astype(float)
    geo["zip5"] = geo["geolocation_zip_code_prefix"].map(zip5)
    geo["state"] = geo["geolocation_state"].str.strip().str.upper()
    geo = geo[in_brazil(geo["lat"].to_numpy(), geo["lng"].to_numpy()) & geo["zip5"].notna()]
    grouped = geo.groupby("zip5")
    centroids = pd.DataFrame({"lat": grouped["lat"].median(), "lng": grouped["lng"].median(),
                              "points": grouped.size()})
    mean_lat = grouped["lat"].mean()
    centroids["spread_km"] = (EARTH_RADIUS_KM * math.pi / 180 * np.sqrt(
        grouped["lat"].var(ddof=0) + grouped["lng"].var(ddof=0) * np.cos(np.radians(mean_lat)) ** 2))
    states_of = grouped["state"].agg(lambda s: set(s))

    by_state = {}
    for z, states in states_of.items():
        for st in states:
            by_state.setdefault(st, []).append(z)

    def locate(z, state):
        if z is None:
            return (None, None, "none")
        if z in centroids.index:
            c = centroids.loc[z]
            return (c["lat"], c["lng"], "exact")
        candidates = by_state.get(state, [])
        if not candidates:
            return (None, None, "none")
        best = min(candidates, key=lambda c: (abs(int(c) - int(z)), c))
        c = centroids.loc[best]
        return (c["lat"], c["lng"], "approximate")

    def enrich(frame, zip_column, state_column):
        frame = frame.copy()
        frame["zip5"] = frame[zip_column].map(zip5)
        located = [locate(z, s.strip().upper()) for z, s in zip(frame["zip5"], frame[state_column])]
        frame["lat"] = [x[0] for x in located]
        frame["lng"] = [x[1] for x in located]
        frame["match"] = [x[2] for x in located]
        return frame

    customers = enrich(read_csv("olist_customers_dataset.csv"), "customer_zip_code_prefix", "customer_state")
    sellers = enrich(read_csv("olist_sellers_dataset.csv"), "seller_zip_code_prefix", "seller_state")

    def compare(name, expected, key, columns):
        got = read_parquet(name)
        if list(got.columns) != columns:
            fail(f"{name}: columns {list(got.columns)} != {columns}")
        if len(got) != len(expected):
            fail(f"{name}: {len(got)} rows, expected {len(expected)}")
        merged = expected.merge(got, on=key, suffixes=("", "_got"), validate="one_to_one")
        if len(merged) != len(expected):
            fail(f"{name}: keys differ")
        for column in columns:
            if column in (key, "lat", "lng"):
                continue
            a, b = merged[column].fillna("<null>"), merged[f"{column}_got"].fillna("<null>")
            if not (a == b).all():
                bad = merged[a != b].iloc[0]
                fail(f"{name}.{column}: {bad[column]!r} != {bad[column + '_got']!r}")
        for column in ("lat", "lng"):
            a, b = merged[column].astype(float), merged[f"{column}_got"].astype(float)
            both_null = a.isna() & b.isna()
            close = (a - b).abs() <= 1e-9
            if not (both_null | close).all():
                bad = merged[~(both_null | close)].iloc[0]
                fail(f"{name}.{column}: {bad[column]!r} != {bad[column + '_got']!r} for {bad[key]}")
        return got

    got = read_parquet("zip_centroids").set_index("zip5")
    if list(got.columns) != ["lat", "lng", "points", "spread_km", "states"]:
        fail(f"zip_centroids columns {list(got.columns)}")
    if sorted(got.index) != sorted(centroids.index):
        fail(f"zip_centroids: {len(got)} prefixes, expected {len(centroids)}")
    got = got.loc[centroids.index]
    for column, tolerance in (("lat", 1e-9), ("lng", 1e-9), ("points", 0), ("spread_km", 1e-6)):
        worst = (got[column].astype(float) - centroids[column].astype(float)).abs().max()
        if not worst <= tolerance:
            fail(f"zip_centroids.{column} differs by {worst}")
    for z, states in states_of.items():
        if list(got.loc[z, "states"]) != sorted(states):
            fail(f"zip_centroids.states of {z}: {list(got.loc[z, 'states'])} != {sorted(states)}")

    customer_columns = ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city",
                        "customer_state", "zip5", "lat", "lng", "match"]
    seller_columns = ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state", "zip5", "lat", "lng",
                      "match"]
    compare("customers_geo", customers, "customer_id", customer_columns)
    compare("sellers_geo", sellers, "seller_id", seller_columns)

    orders = read_csv("olist_orders_dataset.csv")[["order_id", "customer_id"]]
    items = read_csv("olist_order_items_dataset.csv")[["order_id", "order_item_id", "seller_id"]]
    items["order_item_id"] = items["order_item_id"].astype("int64")
    joined = (items.merge(orders, on="order_id")
              .merge(sellers[["seller_id", "lat", "lng"]], on="seller_id")
              .merge(customers[["customer_id", "lat", "lng"]], on="customer_id", suffixes=("_s", "_c")))
    joined = joined[joined["lat_s"].notna() & joined["lat_c"].notna()].copy()
    joined["distance_km"] = haversine(joined["lat_s"].astype(float).to_numpy(), joined["lng_s"].astype(float).to_numpy(),
                                      joined["lat_c"].astype(float).to_numpy(), joined["lng_c"].astype(float).to_numpy())
    got = read_parquet("order_distances")
    if list(got.columns) != ["order_id", "order_item_id", "seller_id", "customer_id", "distance_km"]:
        fail(f"order_distances columns {list(got.columns)}")
    if len(got) != len(joined):
        fail(f"order_distances: {len(got)} rows, expected {len(joined)}")
    merged = joined.merge(got, on=["order_id", "order_item_id"], suffixes=("", "_got"), validate="one_to_one")
    if len(merged) != len(joined):
        fail("order_distances: keys differ")
    worst = (merged["distance_km"] - merged["distance_km_got"]).abs().max()
    if not worst <= 1e-6:
        fail(f"order_distances: a distance differs by {worst} km")
    if not ((merged["seller_id"] == merged["seller_id_got"]) & (merged["customer_id"] == merged["customer_id_got"])).all():
        fail("order_distances: seller or customer ids differ")

    summary = read_parquet("summary").set_index("dataset")
    counts = {}
    for name, frame in (("customers", customers), ("sellers", sellers)):
        expected = {"rows": len(frame)}
        for match in ("exact", "approximate", "none"):
            expected[match] = int((frame["match"] == match).sum())
        for column, value in expected.items():
            if int(summary.loc[name, column]) != value:
                fail(f"summary {name}.{column}: {summary.loc[name, column]} != {value}")
        counts[name] = expected
    counts["order_distances"] = len(joined)
    counts["zip_centroids"] = len(centroids)
    counts["max_distance_difference_km"] = float(worst)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
