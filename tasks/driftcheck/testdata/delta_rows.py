"""Print the rows per partition value of Delta tables, read with delta-rs.

usage: delta_rows.py TABLE_URI COLUMN [TABLE_URI COLUMN ...]
S3 is reached with the AWS_* variables of the environment (versitygw).
Prints {"<uri>": {"version": v, "rows": {value: n}}} as one JSON line.
"""

import json
import os
import sys

from deltalake import DeltaTable

KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_ALLOW_HTTP",
    "AWS_CONDITIONAL_PUT",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
)


def main():
    opts = {k: os.environ[k] for k in KEYS if k in os.environ}
    out = {}
    args = sys.argv[1:]
    for uri, col in zip(args[0::2], args[1::2], strict=True):
        t = DeltaTable(uri, storage_options=opts)
        rows = {}
        for v in t.to_pyarrow_table(columns=[col]).column(col).to_pylist():
            rows[v] = rows.get(v, 0) + 1
        out[uri] = {"version": t.version(), "rows": rows}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # deltalake 1.6.6 intermittently aborts during interpreter teardown after
    # the work is done; leave without running the teardown.
    os._exit(0)
