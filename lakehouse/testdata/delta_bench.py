"""Time delta-rs write_deltalake on the rows the Go benchmark writes.

Usage: delta_bench.py URI ROWS

Builds the same rows as delta_write.py (and the Go test helper makeRows),
then times one partitioned write_deltalake append. Prints the seconds.
"""

import os
import sys
import time

from delta_write import batch
from deltalake import write_deltalake


def main():
    uri, rows = sys.argv[1], int(sys.argv[2])
    table = batch(0, rows)
    start = time.perf_counter()
    write_deltalake(uri, table, mode="append", partition_by=["week", "app"])
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # deltalake 1.6.6 intermittently aborts during interpreter teardown
    # ("terminate called without an active exception") after the work is
    # done; leave without running the teardown.
    os._exit(0)
