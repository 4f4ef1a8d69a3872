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
  of beam/cesnet/layout.go: ISO week, except days of January in the previous ISO
  year are week 00 and days of December in the next one week 53; label "2022-W10".
  The seed says "TIME_FIRST (Week)", but the dataset files flows by local day and
  TIME_FIRST is UTC, so ours (and this) use the file's day.
- ``write.partitionBy("week", "app").parquet(out)``, mode overwrite, zstd (as our
  lake's data files). The seed's ``repartition(200)`` is left out by default
  (``--repartition``): on one machine it only adds a shuffle and 200x the files;
  like ours, each day file's task writes its own files per partition.

With ``--jobs A,B,C`` the same session then runs the seed's other two jobs, each
reading the flows Parquet that Job A wrote (as ours read the flows table):

- Job B (hourly aggregate, beam/aggregate): per week, hour of TIME_FIRST (UTC),
  app and category the count of flows and the sums of bytes, bytes_rev, packets
  and packets_rev; written partitioned by week.
- Job C (features, beam/features and featuredef.Features): per flow the 28 stats
  (log1p of the volumes and durations, PPI length/roundtrips, the 16 flags and 4
  end reasons as 0/1), the four PHIST histograms normalised to sum 1 (32), the
  PPI padded to 30 packets x 4 channels, packet-major (120), hour of day, the
  reduced SNI and hashed SNI/JA3 buckets; written partitioned by week. All with
  JVM built-ins (higher-order array functions, ``hash``): no Python UDF. Two
  simplifications a Spark engineer would make, which cost no less than ours: the
  SNI is reduced to its last two labels (ours uses the public-suffix list) and the
  buckets use Spark's murmur3 ``hash`` (ours FNV-1a).

The last line on stdout is JSON: rows (counted back from the written Parquet),
seconds (whole run, including the JVM's start), rows_per_s, job_seconds (Job A),
and with B and C b_seconds, b_rows, b_flows, c_seconds, c_rows. Per job (a, b, c)
also <job>_cpu_s, the CPU seconds (user+system) the job cost all processes of
this session (the driver, Spark's JVM, its Python workers: run it in a session of
its own, e.g. under setsid, as beam/bench/parse-peer.sh does), and
<job>_peak_mb, the peak of their summed PSS during the job (sampled every 0.2 s).

Usage: spark_parse.py --input RAWROOT --output DIR [--master local[2]] [--jobs A,B,C]
"""

import argparse
import glob
import json
import os
import sys
import threading
import time

from pyspark import __version__ as pyspark_version
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

# The 45 columns of a day file, in file order, with their types (beam/cesnet/flow.go).
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
    """The dataset week label of a date column (beam/cesnet/layout.go WeekLabel)."""
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


def session_pids():
    """The pids of the live processes of this process's session."""
    sid = os.getsid(0)
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # field 6 of proc(5): session
            out.append((pid, fields))
    return out


def session_cpu_seconds():
    """CPU seconds (user+system, with reaped children's) of the session's live
    processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    # proc(5) fields 14-17: utime, stime, cutime, cstime
    return sum(sum(int(x) for x in f[11:15]) for _, f in session_pids()) / tick


def session_pss_kb():
    """The summed PSS (kB) of the session's live processes."""
    kb = 0
    for pid, _ in session_pids():
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return kb


class Usage:
    """Per-job CPU seconds and peak PSS of the session: a thread samples the
    PSS every 0.2 s; start() and stop() bracket a job."""

    def __init__(self):
        self.peak_kb = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while True:
            kb = session_pss_kb()
            with self.lock:
                self.peak_kb = max(self.peak_kb, kb)
            time.sleep(0.2)

    def start(self):
        with self.lock:
            self.peak_kb = session_pss_kb()
        self.cpu0 = session_cpu_seconds()

    def stop(self, name, extra):
        extra[f"{name}_cpu_s"] = round(session_cpu_seconds() - self.cpu0, 2)
        with self.lock:
            self.peak_kb = max(self.peak_kb, session_pss_kb())
            extra[f"{name}_peak_mb"] = round(self.peak_kb / 1024, 1)


def job_b(spark, flows, out):
    """The seed's Job B: hourly sums per week, hour, app and category."""
    df = spark.read.parquet(flows)
    hourly = df.groupBy(
        "week",
        F.date_trunc("hour", "time_first").alias("hour"),
        "app",
        "category",
    ).agg(
        F.count(F.lit(1)).alias("flows"),
        *[F.sum(c).alias(c) for c in ("bytes", "bytes_rev", "packets", "packets_rev")],
    )
    hourly.write.mode("overwrite").partitionBy("week").parquet(out)


def job_c(spark, flows, out, sni_buckets=4096, ja3_buckets=1024):
    """The seed's Job C: the model features of every flow (see the module doc)."""
    df = spark.read.parquet(flows)

    def l1p(c):
        return F.log1p(F.greatest(F.col(c).cast("double"), F.lit(0.0))).cast("float")

    def b(c):
        return F.col(c).cast("float")

    stats = F.array(
        *[l1p(c) for c in ("bytes", "bytes_rev", "packets", "packets_rev", "duration")],
        F.col("ppi_len").cast("float"),
        F.col("ppi_roundtrips").cast("float"),
        l1p("ppi_duration"),
        *[b(c.lower()) for c in FLAGS],
        *[b(c.lower()) for c in END_REASONS],
    )
    phist = F.flatten(
        F.array(
            *[
                F.expr(
                    f"transform(sequence(0, 7), i -> cast(if(i < size({h}) and "
                    f"aggregate({h}, 0L, (a, x) -> a + x) > 0, "
                    f"{h}[i] / aggregate({h}, 0L, (a, x) -> a + x), 0) as float))"
                )
                for h in (p.lower() for p in PHISTS)
            ]
        )
    )
    ppi = F.expr(
        "flatten(transform(sequence(0, 29), i -> if(i < ppi_len and i < size(ppi_dir), "
        "array(cast(ppi_ipt[i] as float), cast(ppi_dir[i] as float), cast(ppi_size[i] as float), "
        "cast(coalesce(ppi_push[i], 0) as float)), array(0f, 0f, 0f, 0f))))"
    )
    labels = F.split(F.coalesce(F.col("tls_sni"), F.lit("")), r"\.")
    n = F.size(labels)
    sni = (
        F.when(F.coalesce(F.col("tls_sni"), F.lit("")) == "", F.lit(""))
        .when(n < 2, F.concat(F.lit("|"), F.col("tls_sni")))
        .otherwise(
            F.concat(
                F.when(n > 2, F.element_at(labels, -3)).otherwise(F.lit("")),
                F.lit("|"),
                F.element_at(labels, -2),
                F.lit("."),
                F.element_at(labels, -1),
            )
        )
    )

    def bucket(c, nb):
        return (
            F.when(F.coalesce(c, F.lit("")) == "", F.lit(0))
            .otherwise(F.pmod(F.hash(c), F.lit(nb)) + 1)
            .cast("int")
        )

    feats = df.select(
        "id",
        "app",
        "category",
        "day",
        F.hour("time_first").alias("hour"),
        stats.alias("stats"),
        phist.alias("phist"),
        ppi.alias("ppi"),
        "ppi_len",
        sni.alias("sni_domain"),
        bucket(sni, sni_buckets).alias("sni_bucket"),
        bucket(F.col("tls_ja3"), ja3_buckets).alias("ja3_bucket"),
        "dst_asn",
        "week",
    )
    feats.write.mode("overwrite").partitionBy("week").parquet(out)


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
    ap.add_argument(
        "--jobs",
        default="A",
        help="comma-separated seed jobs to run: A (parse), B (hourly), C (features)",
    )
    args = ap.parse_args()
    jobs = set(args.jobs.split(","))
    if not jobs <= {"A", "B", "C"} or "A" not in jobs:
        sys.exit(f"spark_parse: --jobs {args.jobs}: want A, optionally with B and C")
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
    usage = Usage()
    extra = {}
    usage.start()
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
    usage.stop("a", extra)

    rows = spark.read.parquet(args.output).count()
    t_counted = time.monotonic()
    if "B" in jobs:
        usage.start()
        t = time.monotonic()
        hourly_out = args.output.rstrip("/") + "-hourly"
        job_b(spark, args.output, hourly_out)
        extra["b_seconds"] = round(time.monotonic() - t, 3)
        usage.stop("b", extra)
        h = spark.read.parquet(hourly_out)
        extra["b_rows"] = h.count()
        extra["b_flows"] = h.agg(F.sum("flows")).first()[0]
    if "C" in jobs:
        usage.start()
        t = time.monotonic()
        features_out = args.output.rstrip("/") + "-features"
        job_c(spark, args.output, features_out)
        extra["c_seconds"] = round(time.monotonic() - t, 3)
        usage.stop("c", extra)
        extra["c_rows"] = spark.read.parquet(features_out).count()
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
                "count_seconds": round(t_counted - t_written, 3),
                "input_files": len(files),
                "output_files": out_files,
                "master": args.master,
                "pyspark": pyspark_version,
                **extra,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
