"""Count the data rows of every day file under a dataset root, independently
of the Go decoder: Python's gzip/lzma and csv modules.

Usage: count_rows.py ROOT

Prints one JSON object: {"YYYY-MM-DD": {"rows": N, "lines": L, "error": "..."}}:
rows are CSV records, lines the non-empty lines after the header (the two
differ when a stray quote makes the csv module join lines); error is set when
the file cannot be read to its end (the counts are then what was read
before the failure).
"""

import csv
import gzip
import json
import lzma
import os
import re
import sys

DAY = re.compile(r"flows-(\d{4})(\d{2})(\d{2})\.csv(\.gz|\.xz)?$")


def count_lines(opener, path):
    n = -1  # the header
    try:
        with opener(path, "rb") as f:
            for line in f:
                if line.strip(b"\r\n"):
                    n += 1
    except (EOFError, OSError, lzma.LZMAError):
        pass
    return max(n, 0)


def count(path):
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(os.path.splitext(path)[1], open)
    rows, err = 0, ""
    try:
        with opener(
            path, "rt", encoding="utf-8", errors="surrogateescape", newline=""
        ) as f:
            r = csv.reader(f)
            header = next(r, None)
            if header is not None:
                for _ in r:
                    rows += 1
    except (EOFError, OSError, lzma.LZMAError, csv.Error) as e:
        err = f"{type(e).__name__}: {e}"
    return rows, err


def main():
    csv.field_size_limit(sys.maxsize)
    out = {}
    for dirpath, _, names in os.walk(sys.argv[1]):
        for n in names:
            m = DAY.match(n)
            if m:
                p = os.path.join(dirpath, n)
                rows, err = count(p)
                opener = {".gz": gzip.open, ".xz": lzma.open}.get(
                    os.path.splitext(p)[1], open
                )
                out[f"{m[1]}-{m[2]}-{m[3]}"] = {
                    "rows": rows,
                    "lines": count_lines(opener, p),
                    "error": err,
                }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
