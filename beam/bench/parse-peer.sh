#!/usr/bin/env bash
# beam/bench/parse-peer.sh: our Beam parse job against its peers on the same raw
# files, end to end on this machine:
#   zcat   gzip -dc of every day file to /dev/null (the floor: decompression only)
#   ours   pipeline --job=parse (prism runner) into a fresh Delta lake, for all days,
#          the first day alone and the first two days (peak memory should not grow
#          with days: one day keeps one of the two workers busy, two days both)
#   spark  the seed's Job A in PySpark (beam/bench/spark_parse.py, local[2]) into a
#          fresh Parquet directory
# Each runs under GNU time (/usr/bin/time -v: wall seconds, max RSS) while the
# script samples the summed PSS (proportional set size: shared pages counted once)
# of the run's whole process tree (its own session) every 0.2 s: GNU time's max
# RSS is that of the largest single reaped process, so it misses Spark's JVM (the
# py4j child of the Python driver, never reaped by it) and Spark's Python workers.
# *_peak_mb is the larger of the two figures. *_cpu_s is the CPU time (user+sys)
# of the run: GNU time's, or for Spark the session's processes summed (ps cputime,
# sampled like PSS) when that is larger. On a shared machine CPU seconds per row
# are the steadier figure; wall times are only comparable within one run.
#
# CPU per row is GNU time's user + system seconds over the rows. With BUSY=1
# (default) zcat and ours run once more while a shell loop keeps one core busy
# (ours_vs_zcat_busy: how far ours degrades on a loaded machine, where the
# single-threaded peer loses only its share of one core).
#
# JOBS=all measures the whole daily ingest instead: ours pipeline --job=all (parse,
# aggregate, features, and the compaction of a week the days close), Spark Job A,
# B (hourly aggregate) and C (features) in one session (spark_parse.py --jobs
# A,B,C), with per-stage seconds, rows/s, CPU seconds and µs per row, and peak MB
# (stage_*; the table in WORK/stages.md), the per-stage ratios (wall and CPU),
# and the row counts of B and C checked against ours.
#
# Env: JOBS (parse or all; default parse), BUSY (1 or 0; default 1), SPARK (1 or 0:
# 0 skips the Spark run, its figures read n/a; default 1), SUBSETS (1 or 0: 0 skips
# the runs of the first day and the first two days; default 1), YEAR_FLOWS (the
# flows of the year projection, JOBS=all; default 500000000), DAYS (default 7),
# FLOWS (mean flows per day, default 100000), WORK (work dir;
# default a temp dir, removed at the end), START (first day, default 2022-03-07).
# The generated data is cached in WORK keyed by START/DAYS/FLOWS, so a given WORK
# reuses it. Needs: go, python3 (3.10+), Java 17/21, GNU time (Debian: time).
# Output: a stable "key: value" summary on stdout (progress on stderr); exits
# non-zero when a run fails or ours and Spark disagree on the row count.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

JOBS="${JOBS:-parse}"
DAYS="${DAYS:-7}"
FLOWS="${FLOWS:-100000}"
START="${START:-2022-03-07}"
GTIME=/usr/bin/time

log() { echo "parse-peer: $*" >&2; }
die() {
  log "$*"
  exit 1
}

if [[ ! -x $GTIME ]] || [[ $("$GTIME" -v true 2>&1) != *"Maximum resident set size"* ]]; then
  die "$GTIME is missing or is not GNU time (need -v): install the Debian package 'time' (apt-get install time)"
fi
for tool in go python3 gzip ps setsid awk; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
[[ $DAYS =~ ^[1-9][0-9]*$ && $FLOWS =~ ^[1-9][0-9]*$ ]] || die "DAYS and FLOWS must be positive integers"
case $JOBS in
parse) spark_jobs=A ;;
all) spark_jobs=A,B,C ;;
*) die "JOBS must be parse or all" ;;
esac

tmp_work=""
if [[ -n ${WORK:-} ]]; then
  mkdir -p "$WORK"
  WORK="$(cd "$WORK" && pwd)"
else
  WORK="$(mktemp -d -t telco-parse-peer.XXXXXX)"
  tmp_work=$WORK
fi
# A measured run has a session (and process group) of its own, so a ^C to this
# script does not reach it: stop it (by its group id) on the way out.
running=""
busy=""
cleanup() {
  if [[ -n $busy ]]; then
    kill "$busy" 2>/dev/null || true
  fi
  if [[ -n $running ]]; then
    kill -TERM -- "-$running" 2>/dev/null || true
  fi
  if [[ -n $tmp_work ]]; then
    rm -rf "$tmp_work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
log "work dir $WORK"

# json FILE EXPR: EXPR (Python, over d) of the JSON object on the last line of FILE.
json() {
  tail -n 1 "$1" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
# calc EXPR: awk arithmetic with 3 decimals; to_int EXPR: truncated to an integer;
# both n/a when EXPR holds an n/a (a figure of a skipped run).
calc() { if [[ $1 == *n/a* ]]; then echo n/a; else awk "BEGIN { printf(\"%.3f\\n\", $1) }"; fi; }
to_int() { if [[ $1 == *n/a* ]]; then echo n/a; else awk "BEGIN { printf(\"%d\\n\", $1) }"; fi; }

# measure NAME CMD...: runs CMD under GNU time in a session of its own, stdout to
# WORK/NAME.out, stderr to WORK/NAME.err, and sets WALL (s), TIMEV_MB (GNU time's
# max RSS) and TREE_MB (peak summed PSS of the session's processes; the ps listing
# at that peak goes to WORK/NAME.peak).
measure() {
  local name=$1
  shift
  log "run $name: $*"
  setsid "$GTIME" -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  local pid=$! peak=0 kb rc=0 pids p cpu cpu_peak=0
  running=$pid
  # In a non-interactive shell the background job is no process-group leader, so
  # setsid does not fork: the session id is $pid.
  while kill -0 "$pid" 2>/dev/null; do
    pids=$(ps -o pid= --sid "$pid" 2>/dev/null || true)
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    kb=$(cd /proc && for p in $pids; do cat "$p/smaps_rollup" 2>/dev/null || true; done |
      awk '/^Pss:/ { s += $2 } END { print s + 0 }')
    if ((kb > peak)); then
      peak=$kb
      ps -o pid=,rss=,args= --sid "$pid" >"$WORK/$name.peak" 2>/dev/null || true
    fi
    # Cumulative CPU seconds of the session's live processes ([DD-]HH:MM:SS).
    cpu=$({ ps -o cputime= --sid "$pid" 2>/dev/null || true; } | awk '{ n = split($1, d, "-"); t = d[n]; days = (n > 1) ? d[1] : 0
      m = split(t, p, ":"); s = 0; for (i = 1; i <= m; i++) s = s * 60 + p[i]; sum += s + 86400 * days } END { print sum + 0 }')
    if ((cpu > cpu_peak)); then
      cpu_peak=$cpu
    fi
    sleep 0.2
  done
  wait "$pid" || rc=$?
  running=""
  if ((rc != 0)); then
    tail -n 20 "$WORK/$name.err" >&2
    die "$name failed (exit $rc); see $WORK/$name.err"
  fi
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$WORK/$name.time")
  WALL=$(calc "($WALL < 0.01) ? 0.01 : $WALL") # GNU time has centiseconds
  local maxkb
  maxkb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/$name.time")
  TIMEV_MB=$(calc "$maxkb / 1024")
  TREE_MB=$(calc "$peak / 1024")
  CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf("%.2f\n", s) }' "$WORK/$name.time")
  CPU=$(calc "($cpu_peak > $CPU) ? $cpu_peak : $CPU")
  log "$name: ${WALL}s, ${CPU} CPU-s, GNU time max RSS ${TIMEV_MB} MB, process tree peak PSS ${TREE_MB} MB"
}
peak_of() { calc "($1 > $2) ? $1 : $2"; }

# 1. Raw data, generated once per START/DAYS/FLOWS.
raw="$WORK/raw-$START-d$DAYS-f$FLOWS-seed1-gz"
if [[ ! -f $raw/.complete ]]; then
  rm -rf "$raw"
  log "generating $DAYS days x ~$FLOWS flows into $raw"
  go run ./tasks/generate --out "$raw" --start "$START" --days "$DAYS" --flows-per-day "$FLOWS" \
    --seed 1 --compress gz >"$WORK/generate.out"
  touch "$raw/.complete"
fi
mapfile -t files < <(find "$raw" -name 'flows-*.csv.gz' -size +0 | sort)
((${#files[@]} > 0)) || die "no day files under $raw"
gen_rows=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["global"]["total-saved"])' "$raw/stats-dataset.json")

# 2. Our binary and the Spark venv (both cached).
log "building the pipeline"
go build -o "$WORK/pipeline" ./beam/cmd/pipeline
SPARK="${SPARK:-1}"
pyspark_version=n/a
if [[ $SPARK == 1 ]]; then
  spark_python=$(beam/bench/setup-spark.sh)
  pyspark_version=$("$spark_python" -c 'import pyspark; print(pyspark.__version__)')
fi

# 3. The runs. zcat first: it also warms the page cache for the others.
measure zcat sh -c 'exec gzip -dc "$@" >/dev/null' gzip "${files[@]}"
zcat_s=$WALL zcat_mb=$(peak_of "$TIMEV_MB" "$TREE_MB") zcat_cpu=$CPU

rm -rf "$WORK/lake"
measure ours "$WORK/pipeline" --job="$JOBS" --input "$raw" --lake "$WORK/lake"
ours_s=$WALL ours_mb=$(peak_of "$TIMEV_MB" "$TREE_MB") ours_timev_mb=$TIMEV_MB ours_cpu=$CPU
rows=$(json "$WORK/ours.out" 'd["rows_ingested"]')
ours_rejects=$(json "$WORK/ours.out" 'd["rejects"]')
ours_job_s=$(json "$WORK/ours.out" 'd["jobs"][0]["seconds"]')

if ((DAYS > 1)) && [[ ${SUBSETS:-1} == 1 ]]; then
  rm -rf "$WORK/lake1"
  measure ours1 "$WORK/pipeline" --job="$JOBS" --input "$raw" --lake "$WORK/lake1" --from "$START" --to "$START"
  ours1_s=$WALL ours1_mb=$(peak_of "$TIMEV_MB" "$TREE_MB")
  rows_1day=$(json "$WORK/ours1.out" 'd["rows_ingested"]')
elif ((DAYS == 1)); then # the run above was the one day
  ours1_s=$ours_s ours1_mb=$ours_mb rows_1day=$rows
else
  ours1_s=n/a ours1_mb=n/a rows_1day=n/a
fi

# One day keeps one worker busy; from two days on both are (one file each), so
# the 2-day peak is the one to compare with DAYS days for flatness.
ours2_mb=""
if ((DAYS > 2)) && [[ ${SUBSETS:-1} == 1 ]]; then
  rm -rf "$WORK/lake2"
  measure ours2 "$WORK/pipeline" --job="$JOBS" --input "$raw" --lake "$WORK/lake2" \
    --from "$START" --to "$(date -u -d "$START + 1 day" +%F)"
  ours2_mb=$(peak_of "$TIMEV_MB" "$TREE_MB")
fi

zcat_busy_s="" ours_busy_s=""
if [[ ${BUSY:-1} == 1 ]]; then
  # One core kept busy by another process (a shell loop) for both runs.
  sh -c 'while :; do :; done' &
  busy=$!
  measure zcat_busy sh -c 'exec gzip -dc "$@" >/dev/null' gzip "${files[@]}"
  zcat_busy_s=$WALL
  rm -rf "$WORK/lake_busy"
  measure ours_busy "$WORK/pipeline" --job=parse --input "$raw" --lake "$WORK/lake_busy"
  ours_busy_s=$WALL
  kill "$busy"
  wait "$busy" 2>/dev/null || true
  busy=""
fi

# spark_of KEY: a key of Spark's JSON result, n/a without the Spark run.
spark_of() { if [[ $SPARK == 1 ]]; then json "$WORK/spark.out" "d['$1']"; else echo n/a; fi; }
if [[ $SPARK == 1 ]]; then
  rm -rf "$WORK/spark-out"
  measure spark "$spark_python" beam/bench/spark_parse.py --input "$raw" --output "$WORK/spark-out" --jobs "$spark_jobs"
  spark_s=$WALL spark_mb=$(peak_of "$TIMEV_MB" "$TREE_MB") spark_timev_mb=$TIMEV_MB spark_cpu=$CPU
  spark_rows=$(spark_of rows)
else
  log "SPARK=0: no Spark run"
  spark_s=n/a spark_mb=n/a spark_timev_mb=n/a spark_cpu=n/a spark_rows=$rows
fi
spark_job_s=$(spark_of job_seconds)

if [[ $rows != "$spark_rows" ]]; then
  die "row counts differ: ours wrote $rows, Spark $spark_rows (generated $gen_rows)"
fi
if [[ $rows != "$gen_rows" ]]; then
  log "warning: ours and Spark wrote $rows rows, the generator made $gen_rows (ours rejected $ours_rejects)"
fi

stages=""
if [[ $JOBS == all ]]; then
  for k in b_flows c_rows; do
    v=$(spark_of "$k")
    [[ $v == "$rows" || $v == n/a ]] || die "Spark Job ${k:0:1}: $k $v, ours ingested $rows rows"
  done
  for job in aggregate features; do
    n=$(json "$WORK/ours.out" "[j['rows_in'] for j in d['jobs'] if j['job'] == '$job'][0]")
    [[ $n == "$rows" ]] || die "our $job read $n rows, parse ingested $rows"
  done
  # Per stage: ours from the result's jobs (seconds, CPU seconds and peak
  # RSS of each Beam job in the pipeline process, which with the embedded
  # runner holds the workers), Spark's from its JSON (A: the write, B and C:
  # each job without its count-back; CPU seconds and peak PSS of its session).
  of_jobs() { json "$WORK/ours.out" "$1([j.get('$2', 0) for j in d['jobs'] if j['job'].startswith('$3')] + [0])"; }
  table="| stage | rows/s ours | rows/s Spark | ratio | CPU µs/row ours | CPU µs/row Spark | CPU ratio | peak MB ours | peak MB Spark |
|---|---|---|---|---|---|---|---|---|"
  stages=$(
    t_o=0 t_s=0 c_o=0 c_s=0
    for st in parse:job:a aggregate:b:b features:c:c; do
      IFS=: read -r n sk sc <<<"$st"
      o=$(of_jobs sum seconds "$n") oc=$(of_jobs sum cpu_s "$n") om=$(calc "$(of_jobs max peak_mb "$n")")
      if [[ $sk == job ]]; then p=$spark_job_s; else p=$(spark_of "${sk}_seconds"); fi
      pc=$(spark_of "${sc}_cpu_s") pm=$(spark_of "${sc}_peak_mb")
      t_o=$(calc "$t_o + $o") t_s=$(calc "$t_s + $p") c_o=$(calc "$c_o + $oc") c_s=$(calc "$c_s + $pc")
      echo "stage_${n}_s: $o"
      echo "stage_${n}_rows_per_s: $(to_int "$rows / $o")"
      echo "stage_${n}_cpu_s: $oc"
      echo "stage_${n}_cpu_us_per_row: $(calc "$oc * 1e6 / $rows")"
      echo "stage_${n}_peak_mb: $om"
      echo "stage_${n}_spark_s: $p"
      echo "stage_${n}_spark_rows_per_s: $(to_int "$rows / $p")"
      echo "stage_${n}_spark_cpu_s: $pc"
      echo "stage_${n}_spark_cpu_us_per_row: $(calc "$pc * 1e6 / $rows")"
      echo "stage_${n}_spark_peak_mb: $pm"
      echo "stage_${n}_vs_spark: $(calc "$p / $o")"
      echo "stage_${n}_vs_spark_cpu: $(calc "$pc / $oc")"
    done
    # The daily ingest: parse + aggregate + features (compaction is weekly).
    echo "stage_ingest_s: $t_o"
    echo "stage_ingest_rows_per_s: $(to_int "$rows / $t_o")"
    echo "stage_ingest_cpu_us_per_row: $(calc "$c_o * 1e6 / $rows")"
    echo "stage_ingest_spark_s: $t_s"
    echo "stage_ingest_vs_spark: $(calc "$t_s / $t_o")"
    echo "stage_ingest_vs_spark_cpu: $(calc "$c_s / $c_o")"
    echo "stage_compact_s: $(of_jobs sum seconds compact)"
    echo "stage_compact_cpu_s: $(of_jobs sum cpu_s compact)"
    echo "stage_compact_peak_mb: $(calc "$(of_jobs max peak_mb compact)")"
    # A year on paper (YEAR_FLOWS, default 500 M): the ingest's CPU per row
    # (compaction's too, when these days closed a week) times the flows, in
    # core-hours, and in hours on this machine with every core busy.
    core_h=$(calc "($c_o + $(of_jobs sum cpu_s compact)) * ${YEAR_FLOWS:-500000000} / $rows / 3600")
    echo "year_flows: ${YEAR_FLOWS:-500000000}"
    echo "year_core_hours: $core_h"
    echo "year_hours_this_machine: $(calc "$core_h / $(nproc)")"
  )
  kv() { awk -F': ' -v k="$1" '$1 == k { print $2 }' <<<"$stages"; }
  for n in parse aggregate features ingest; do
    if [[ $n == ingest ]]; then
      table+="
| ingest (parse+aggregate+features) | $(kv stage_ingest_rows_per_s) | $(to_int "$rows / $(kv stage_ingest_spark_s)") | $(kv stage_ingest_vs_spark) | $(kv stage_ingest_cpu_us_per_row) | | $(kv stage_ingest_vs_spark_cpu) | $ours_mb | $spark_mb |"
      continue
    fi
    table+="
| $n | $(kv "stage_${n}_rows_per_s") | $(kv "stage_${n}_spark_rows_per_s") | $(kv "stage_${n}_vs_spark") | $(kv "stage_${n}_cpu_us_per_row") | $(kv "stage_${n}_spark_cpu_us_per_row") | $(kv "stage_${n}_vs_spark_cpu") | $(kv "stage_${n}_peak_mb") | $(kv "stage_${n}_spark_peak_mb") |"
  done
  echo "$table" >"$WORK/stages.md"
  log "per stage ($rows rows, $DAYS days; ratio: Spark's time over ours), also in $WORK/stages.md:"
  echo "$table" >&2
fi

ours_rps=$(calc "$rows / $ours_s")
zcat_rps=$(calc "$rows / $zcat_s")
spark_rps=$(calc "$rows / $spark_s")
cat <<EOF
jobs: $JOBS
rows: $rows
zcat_rows_per_s: $(to_int "$zcat_rps")
ours_rows_per_s: $(to_int "$ours_rps")
spark_rows_per_s: $(to_int "$spark_rps")
ours_vs_zcat: $(calc "$ours_rps / $zcat_rps")
ours_vs_spark: $(calc "$ours_rps / $spark_rps")
ours_cpu_us_per_row: $(calc "$ours_cpu * 1e6 / $rows")
zcat_cpu_us_per_row: $(calc "$zcat_cpu * 1e6 / $rows")
ours_vs_zcat_busy: $( [[ -n $ours_busy_s ]] && calc "$zcat_busy_s / $ours_busy_s" || echo n/a)
zcat_s_busy: ${zcat_busy_s:-n/a}
ours_s_busy: ${ours_busy_s:-n/a}
ours_peak_mb_1day: $ours1_mb
ours_peak_mb_2day: ${ours2_mb:-n/a}
ours_peak_mb: $ours_mb
spark_peak_mb: $spark_mb
ours_cpu_s: $ours_cpu
spark_cpu_s: $spark_cpu
spark_cpu_us_per_row: $(calc "$spark_cpu * 1e6 / $rows")
ours_vs_spark_cpu: $(calc "$spark_cpu / $ours_cpu")
days: $DAYS
flows_per_day: $FLOWS
files: ${#files[@]}
rows_1day: $rows_1day
rejects: $ours_rejects
zcat_s: $zcat_s
ours_s: $ours_s
ours_s_1day: $ours1_s
spark_s: $spark_s
ours_job_rows_per_s: $(to_int "$rows / $ours_job_s")
spark_job_rows_per_s: $(to_int "$rows / $spark_job_s")
zcat_peak_mb: $zcat_mb
ours_timev_mb: $ours_timev_mb
spark_timev_mb: $spark_timev_mb
pyspark: $pyspark_version
cores: $(nproc)
load_average: $(awk '{ print $1, $2, $3 }' /proc/loadavg)
EOF
if [[ -n $stages ]]; then
  echo "$stages"
fi
