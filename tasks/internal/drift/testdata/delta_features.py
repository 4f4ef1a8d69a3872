"""Write a flow_features-shaped Delta table with delta-rs (nullable columns,
lists named as pyarrow names them, nulls and empty lists), for the column
reader's test.

usage: delta_features.py TABLE_URI ROWS
"""

import os
import random
import sys

import pyarrow as pa
from deltalake import write_deltalake

F32 = pa.list_(pa.float32())


def main():
    uri, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(7)
    rows = []
    for i in range(n):
        day = ["2022-03-07", "2022-03-08"][i % 2]
        ppi = [] if i % 97 == 0 else [float(rng.randint(0, 1500)) for _ in range(120)]
        rows.append(
            {
                "id": i,
                "app": None if i % 89 == 0 else f"app{rng.randint(0, 6)}",
                "category": f"cat{i % 3}",
                "day": day,
                "hour": i % 24,
                "stats": [rng.gauss(0, 1) for _ in range(28 if i % 53 else 5)],
                "phist": [rng.random() for _ in range(32)],
                "ppi": None if i % 101 == 0 else ppi,
                "ppi_len": len(ppi) // 4,
                "sni_domain": None
                if i % 7 == 0
                else f"www|svc{rng.randint(0, 40)}.com",
                "sni_bucket": rng.randint(0, 100),
                "ja3_bucket": rng.randint(0, 50),
                "dst_asn": 64500 + i % 5,
                "week": "2022-W10",
            }
        )
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("app", pa.string()),
            ("category", pa.string()),
            ("day", pa.string()),
            ("hour", pa.int32()),
            ("stats", F32),
            ("phist", F32),
            ("ppi", F32),
            ("ppi_len", pa.int32()),
            ("sni_domain", pa.string()),
            ("sni_bucket", pa.int32()),
            ("ja3_bucket", pa.int32()),
            ("dst_asn", pa.int64()),
            ("week", pa.string()),
        ]
    )
    write_deltalake(
        uri, pa.Table.from_pylist(rows, schema=schema), partition_by=["week"]
    )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # deltalake 1.6.6 intermittently aborts during interpreter teardown after
    # the work is done; leave without running the teardown.
    os._exit(0)
