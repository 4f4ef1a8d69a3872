"""The seed design doc's Spark "Job A (Parsing)" in PySpark: the peer benchmark of
the Beam parse job (beam/cmd/pipeline --job=parse).

Job A, as the seed describes it: decompress the CESNET-TLS-Year22 day CSVs, parse the
PPI arrays with a Python UDF (``parse_ppi_udf``), and write Parquet partitioned by
week and app. This is that job as a competent Spark engineer would write it for one
machine, kept close to the seed's snippet:

- ``spark.read.csv`` of the gz day files with the header and an explicit schema
  (no inferSchema); gz is not splittable, so one task per day file, as ours.
- TIME_FIRST/TIME_LAST with ``to_timestamp`` (session time zone UTC: the files hold
  naive UTC times); the 0/1 TCP flag columns read as int and cast to boolean, the
  True/False end-reason columns read as boolean.
- PPI (``[[ipt...], [dir...], [size...], [push...]]``) parsed by a plain Python UDF
  into four int arrays, as the seed does; the PHIST_* lists with the built-in
  ``from_json`` (the seed says nothing about them; a JVM built-in is the obvious
  choice).
- week and day from the file's place in the layout (flows-YYYYMMDD), with the rule
  of beam/schema/layout.go: ISO week, except days of January in the previous ISO
  year are week 00 and days of December in the next one week 53; label "2022-W10".
  The seed says "TIME_FIRST (Week)", but the dataset files flows by local day and
  TIME_FIRST is UTC, so ours (and this) use the file's day.
- ``write.partitionBy("week", "app").parquet(out)``, mode overwrite, zstd (as our
  lake's data files). The seed's ``repartition(200)`` is left out by default
  (``--repartition``): on one machine it only adds a shuffle and 200x the files;
  like ours, each day file's task writes its own files per partition.

The last line on stdout is JSON: rows (counted back from the written Parquet),
seconds (whole job, including the JVM's start), rows_per_s, and details.

Usage: spark_parse.py --input RAWROOT --output DIR [--master local[2]]
"""

import argparse
import glob
import json
import os
import sys
import time

from pyspark import __version__ as pyspark_version
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

# The 45 columns of a day file, in file order, with their types (beam/schema/flow.go).
FLAGS = [
    f"FLAG_{f}{r}"
    for f in ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
    for r in ("", "_REV")
]
END_REASONS = [f"FLOW_ENDREASON_{r}" for r in ("IDLE", "ACTIVE", "END", "OTHER")]
PHISTS = ["PHIST_SRC_SIZES", "PHIST_DST_SIZES", "PHIST_SRC_IPT", "PHIST_DST_IPT"]
_S, _I, _L, _D, _B = (
    T.StringType(),
    T.IntegerType(),
    T.LongType(),
    T.DoubleType(),
    T.BooleanType(),
)
SCHEMA = T.StructType(
    [
        T.StructField(name, typ)
        for name, typ in [
            ("ID", _L),
            ("SRC_IP", _S),
            ("DST_IP", _S),
            ("DST_ASN", _L),
            ("DST_PORT", _I),
            ("PROTOCOL", _I),
            ("TLS_SNI", _S),
            ("TLS_JA3", _S),
            ("TIME_FIRST", _S),
            ("TIME_LAST", _S),
            ("DURATION", _D),
            ("BYTES", _L),
            ("BYTES_REV", _L),
            ("PACKETS", _L),
            ("PACKETS_REV", _L),
            ("PPI_LEN", _I),
            ("PPI_DURATION", _D),
            ("PPI_ROUNDTRIPS", _I),
            ("APP", _S),
            ("CATEGORY", _S),
            *[(c, _I) for c in FLAGS],
            *[(c, _B) for c in END_REASONS],
            ("PPI", _S),
            *[(c, _S) for c in PHISTS],
        ]
    ]
)

PPI_TYPE = T.StructType(
    [
        T.StructField(n, T.ArrayType(T.IntegerType()))
        for n in ("ipt", "dir", "size", "push")
    ]
)


def parse_ppi(s):
    """PPI text -> (ipt, dir, size, push) int lists; push is empty when the file
    carries three lists, all are empty for "[]"."""
    if s is None:
        return None
    lists = json.loads(s)
    if not lists:
        return [], [], [], []
    return lists[0], lists[1], lists[2], lists[3] if len(lists) > 3 else []


parse_ppi_udf = F.udf(parse_ppi, PPI_TYPE)


def week_label(day):
    """The dataset week label of a date column (beam/schema/layout.go WeekLabel)."""
    iso_year = F.extract(F.lit("YEAROFWEEK"), day)
    year = F.year(day)
    week = (
        F.when(iso_year < year, 0)
        .when(iso_year > year, 53)
        .otherwise(F.weekofyear(day))
    )
    return F.format_string("%d-W%02d", year, week)


def day_files(root):
    """The non-empty day files under a dataset root (zero-byte files are days
    without data)."""
    files = []
    for ext in ("csv.gz", "csv"):
        files += glob.glob(os.path.join(root, "WEEK-*", "*", f"flows-*.{ext}"))
    return sorted(f for f in files if os.path.getsize(f) > 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--input",
        required=True,
        help="raw dataset root (WEEK-*/YYYY-MM-DD/flows-*.csv.gz)",
    )
    ap.add_argument("--output", required=True, help="output directory (overwritten)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument(
        "--driver-memory",
        default="1g",
        help="driver JVM heap (local mode: all of Spark)",
    )
    ap.add_argument(
        "--compression", default="zstd", help="Parquet codec (our lake writes zstd)"
    )
    ap.add_argument(
        "--repartition",
        type=int,
        default=0,
        help="the seed's repartition(N) before the write; 0: none",
    )
    args = ap.parse_args()
    t0 = time.monotonic()

    files = day_files(args.input)
    if not files:
        sys.exit(f"spark_parse: no day files under {args.input}")

    spark = (
        SparkSession.builder.master(args.master)
        .appName("telco-job-a-parse")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.compression.codec", args.compression)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    t_start = time.monotonic()

    raw = spark.read.csv(files, header=True, schema=SCHEMA, enforceSchema=False)
    day = F.to_date(
        F.regexp_extract(F.col("_metadata.file_name"), r"flows-(\d{8})\.csv", 1),
        "yyyyMMdd",
    )
    df = (
        raw.withColumn("TIME_FIRST", F.to_timestamp("TIME_FIRST"))
        .withColumn("TIME_LAST", F.to_timestamp("TIME_LAST"))
        .withColumns({c: F.col(c).cast("boolean") for c in FLAGS})
        .withColumns({c: F.from_json(c, "array<int>") for c in PHISTS})
        .withColumn("PPI", parse_ppi_udf("PPI"))
        .withColumn("day", F.date_format(day, "yyyy-MM-dd"))
        .withColumn("week", week_label(day))
    )
    df = df.select(
        *[
            F.col(c).alias(c.lower())
            for c in df.columns
            if c not in ("PPI", "day", "week")
        ],
        *[F.col(f"PPI.{n}").alias(f"ppi_{n}") for n in ("ipt", "dir", "size", "push")],
        "day",
        "week",
    )
    if args.repartition > 0:
        df = df.repartition(args.repartition)
    df.write.mode("overwrite").partitionBy("week", "app").parquet(args.output)
    t_written = time.monotonic()

    rows = spark.read.parquet(args.output).count()
    spark.stop()
    t_end = time.monotonic()
    seconds = t_end - t0
    out_files = len(
        glob.glob(os.path.join(args.output, "week=*", "app=*", "*.parquet"))
    )
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds, 1),
                "job_seconds": round(t_written - t_start, 3),
                "startup_seconds": round(t_start - t0, 3),
                "count_seconds": round(t_end - t_written, 3),
                "input_files": len(files),
                "output_files": out_files,
                "master": args.master,
                "pyspark": pyspark_version,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
