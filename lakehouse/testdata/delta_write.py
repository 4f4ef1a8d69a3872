"""Write a Delta table with delta-rs for the Go reader to check.

Usage: delta_write.py URI ROWS COMMITS [checkpoint]

Appends ROWS rows per commit, COMMITS times, partitioned by week and app,
with the same columns as the Go test row type; then optionally
DeltaTable.create_checkpoint(). Prints the rows written (JSON, sorted by
id, timestamps as integer microseconds).
"""

import json
import os
import sys
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("dur", pa.float64()),
        ("port", pa.int32()),
        ("flag", pa.bool_()),
        ("sni", pa.string()),
        ("ppi", pa.list_(pa.int32())),
        ("week", pa.string()),
        ("app", pa.string()),
    ]
)


def storage_options():
    keys = (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ALLOW_HTTP",
        "AWS_CONDITIONAL_PUT",
        "AWS_S3_ALLOW_UNSAFE_RENAME",
    )
    return {k: os.environ[k] for k in keys if k in os.environ}


def batch(start, n):
    base = datetime(2022, 3, 7, tzinfo=UTC)
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": ids,
            "ts": [base + timedelta(microseconds=i * 1_000_123) for i in ids],
            "dur": [i / 8 for i in ids],
            "port": [443 + i % 3 for i in ids],
            "flag": [i % 2 == 0 for i in ids],
            "sni": [f"host-{i % 5}.example" for i in ids],
            "ppi": [[i, -i, 3] for i in ids],
            "week": [f"2022-W{10 + i % 2}" for i in ids],
            "app": [["web", "video call", "a:b"][i % 3] for i in ids],
        },
        schema=SCHEMA,
    )


def main():
    uri, rows, commits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    opts = storage_options()
    written = []
    for c in range(commits):
        t = batch(c * rows, rows)
        write_deltalake(uri, t, mode="append", partition_by=["week", "app"], storage_options=opts)
        written.extend(t.to_pylist())
    if len(sys.argv) > 4 and sys.argv[4] == "checkpoint":
        DeltaTable(uri, storage_options=opts).create_checkpoint()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for r in written:
        r["ts"] = (r["ts"] - epoch) // timedelta(microseconds=1)
    json.dump(sorted(written, key=lambda r: r["id"]), sys.stdout)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # deltalake 1.6.6 intermittently aborts during interpreter teardown
    # ("terminate called without an active exception") after the work is
    # done; leave without running the teardown.
    os._exit(0)
