"""Customers per state from `lagoa geocode`'s output: how many, how many located, and where.

`customers` counts distinct customer_unique_id per state (one person may appear in several
states, as in the real Olist data, so the column does not add up to the overall total);
`located` counts rows with a position (exact or approximate match), `exact` exact matches only.

The SparkApplication in statefulset/manifests/spark-application.yaml runs this from Lagoa
(`mc cp statefulset/spark/geocoded_report.py lagoa/datalake/jobs/`), as does the README's
spark-submit example.

Usage: geocoded_report.py ENRICHED_PREFIX OUTPUT
  e.g. s3a://datalake/enriched/ s3a://datalake/reports/customers_by_state/
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(enriched, output):
    spark = SparkSession.builder.appName("olist-geocoded-report").getOrCreate()
    customers = spark.read.parquet(enriched.rstrip("/") + "/customers_geo/")
    report = (
        customers.groupBy("customer_state")
        .agg(
            F.countDistinct("customer_unique_id").alias("customers"),
            F.count(F.col("lat")).alias("located"),
            F.sum(F.when(F.col("match") == "exact", 1).otherwise(0)).alias("exact"),
            F.count("*").alias("rows"),
            F.avg("lat").alias("mean_lat"),
            F.avg("lng").alias("mean_lng"),
        )
        .orderBy(F.desc("customers"), "customer_state")
        .cache()
    )
    report.write.mode("overwrite").parquet(output)
    report.show(30, truncate=False)
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
