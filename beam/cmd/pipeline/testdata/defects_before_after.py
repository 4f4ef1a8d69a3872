"""Run two pipeline binaries on the same defective days; print case | before | after.

Usage: defects_before_after.py GENERATE OLD_PIPELINE NEW_PIPELINE WORKDIR [CASE...]

A measurement aid for the closing notes of issue 17 (the Go test TestDefectiveInputs is
the check): three generated days (gz, with stats files), one defect per case, each binary
run with --job=parse (the last case --job=all) into its own lake; delta-rs reads flows and
rejects back (full validation and pandas, as a user would). Raw rows are counted by Python's
csv module and as lines.

    git archive <base> | tar -x -C /tmp/base && (cd /tmp/base && go build -o /tmp/old ./beam/cmd/pipeline)
    go build -o /tmp/new ./beam/cmd/pipeline && go build -o /tmp/generate ./tasks/generate
    .venv/bin/python beam/cmd/pipeline/testdata/defects_before_after.py /tmp/generate /tmp/old /tmp/new /tmp/work
"""

import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import sys

DAYS = ("2022-03-07", "2022-03-08", "2022-03-09")

SUMMARY = """
import json, os, sys
from deltalake import DeltaTable
out = {}
for n in sys.argv[2:]:
    t = DeltaTable(f"{sys.argv[1]}/{n}").to_pyarrow_table()
    try:
        t.validate(full=True)
        t.to_pandas()
        ok = "ok"
    except Exception as e:
        ok = "unreadable: " + type(e).__name__
    out[n] = {"rows": t.num_rows, "read": ok}
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
"""


def day_path(root, d):
    return f"{root}/WEEK-2022-10/{d}/flows-{d.replace('-', '')}.csv.gz"


def stats_path(root, d):
    return f"{root}/WEEK-2022-10/{d}/stats-{d.replace('-', '')}.json"


def lines(root, d):
    return gzip.open(day_path(root, d), "rb").read().rstrip(b"\n").split(b"\n")


def write(root, d, ls):
    with open(day_path(root, d), "wb") as f:
        f.write(gzip.compress(b"\n".join(ls) + b"\n"))


def set_line(root, d, i, fn):
    ls = lines(root, d)
    ls[i] = fn(ls[i])
    write(root, d, ls)


def edit_field(root, d, col, i, value):
    ls = lines(root, d)
    k = ls[0].split(b",").index(col.encode())
    rec = next(csv.reader(io.StringIO(ls[i].decode())))
    ls[i] = ls[i].replace(b"," + rec[k].encode() + b",", b"," + value + b",", 1)
    write(root, d, ls)


def cut(root, d, keep):
    with open(day_path(root, d), "rb") as f:
        b = f.read()
    with open(day_path(root, d), "wb") as f:
        f.write(b[: keep(len(b))])


def stats_plus_7(root, d):
    with open(stats_path(root, d)) as f:
        st = json.load(f)
    st["global"]["total-saved"] += 7
    st["apps"][next(iter(st["apps"]))] += 7
    with open(stats_path(root, d), "w") as f:
        json.dump(st, f)


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def extra_column(root, d):
    ls = lines(root, d)
    write(root, d, [ls[0] + b",EXTRA_COL"] + [x + b",1" for x in ls[1:]])


def half_rows(root, d):
    ls = lines(root, d)
    write(root, d, ls[: len(ls) // 2])


CASES = [
    ("clean", lambda r: None, []),
    ("gz cut in half", lambda r: cut(r, DAYS[1], lambda n: n // 2), []),
    ("gz trailer cut (last 4 bytes)", lambda r: cut(r, DAYS[2], lambda n: n - 4), []),
    ("rows cut at a line boundary", lambda r: half_rows(r, DAYS[1]), []),
    ("stats count wrong (+7)", lambda r: stats_plus_7(r, DAYS[0]), []),
    ("stats unreadable", lambda r: write_text(stats_path(r, DAYS[0]), "{"), []),
    (
        "SNI not UTF-8",
        lambda r: edit_field(r, DAYS[1], "TLS_SNI", 5, b"www.\xff\xfe.example"),
        [],
    ),
    ("5 MB SNI", lambda r: edit_field(r, DAYS[1], "TLS_SNI", 6, b"a" * (5 << 20)), []),
    (
        "5 MB junk line",
        lambda r: set_line(r, DAYS[1], 7, lambda _: b"\xfejunk;" * (5 << 20 // 6)),
        [],
    ),
    (
        "stray quote",
        lambda r: set_line(r, DAYS[1], 9, lambda x: b'"' + x.replace(b'"', b"")),
        [],
    ),
    ("extra column", lambda r: extra_column(r, DAYS[0]), []),
    (
        "no input in range (--job=all)",
        lambda r: None,
        ["--job=all", "--from=2022-04-01", "--to=2022-04-01"],
    ),
]


def raw_counts(root):
    rows = nlines = 0
    csv.field_size_limit(1 << 30)
    for d in DAYS:
        try:
            with gzip.open(
                day_path(root, d),
                "rt",
                encoding="utf-8",
                errors="surrogateescape",
                newline="",
            ) as f:
                rows += sum(1 for _ in csv.reader(f)) - 1
        except (EOFError, OSError, csv.Error):
            pass
        try:
            with gzip.open(day_path(root, d), "rb") as f:
                nlines += sum(1 for x in f if x.strip()) - 1
        except (EOFError, OSError):
            pass
    return rows, nlines


def cell(binary, root, extra_args):
    args = [
        binary,
        f"--input={root}/raw",
        f"--lake={root}/lake",
        *(extra_args or ["--job=parse"]),
    ]
    p = subprocess.run(args, check=False, capture_output=True, text=True)
    try:
        res = json.loads(p.stdout.strip().split("\n")[-1])
    except (json.JSONDecodeError, IndexError):
        res = {}
    tables = [
        t for t in ("flows", "rejects") if os.path.isdir(f"{root}/lake/{t}/_delta_log")
    ]
    got = {}
    if tables:
        out = subprocess.run(
            [sys.executable, "-c", SUMMARY, f"{root}/lake", *tables],
            check=False,
            capture_output=True,
            text=True,
        )
        got = json.loads(out.stdout or "{}")
    fl, rj = got.get("flows", {}), got.get("rejects", {})
    rows, nlines = raw_counts(root + "/raw")
    text = f"exit {p.returncode}; flows {fl.get('rows')}, rejects {rj.get('rows')} of {rows} raw ({nlines} lines)"
    if fl.get("read", "ok") != "ok" or rj.get("read", "ok") != "ok":
        text += f"; delta-rs: flows {fl.get('read')}, rejects {rj.get('read')}"
    if res.get("quarantined"):
        text += "; quarantined " + ", ".join(
            q["file"].rsplit("/", 1)[-1] for q in res["quarantined"]
        )
    if p.returncode and "file" in res:
        text += f"; JSON names {res['file'].rsplit('/', 1)[-1]}"
    elif p.returncode and not res:
        text += "; no JSON result"
    if "EXTRA_COL" in p.stderr:
        text += "; warned"
    return text


def main():
    generate, old, new, work = sys.argv[1:5]
    only = set(sys.argv[5:])
    base = f"{work}/base"
    if not os.path.exists(base):
        subprocess.run(
            [
                generate,
                "--out",
                base,
                "--start",
                DAYS[0],
                "--days",
                "3",
                "--flows-per-day",
                "250",
                "--seed",
                "3",
            ]
            + ["--compress", "gz"],
            check=True,
            capture_output=True,
        )
    print("case | before | after")
    for name, defect, extra_args in CASES:
        if only and name not in only:
            continue
        row = [name]
        for label, binary in (("old", old), ("new", new)):
            root = f"{work}/{label}-{name.replace(' ', '_')}"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(base, root + "/raw")
            defect(root + "/raw")
            row.append(cell(binary, root, extra_args))
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
