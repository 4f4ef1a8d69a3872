#!/usr/bin/env bash
# beam/bench/setup-spark.sh creates (once) the PySpark venv of the Spark peer
# benchmark (beam/bench/spark_parse.py) under ~/.cache/telcotraffic, keyed by
# the pinned PySpark version, and prints the venv's python on stdout (progress
# on stderr). Idempotent: a stamp file marks a complete venv, so a cached run
# returns at once. PySpark 4.x bundles Spark's jars; it needs Java 17 or 21 on
# PATH (or JAVA_HOME) and Python 3.10+.
set -euo pipefail
PYSPARK_VERSION=4.1.1
PY4J_VERSION=0.10.9.9 # pyspark 4.1.1 wants py4j >=0.10.9.7,<0.10.9.10; pinned for repeatability
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
PYTHON="${TELCO_SPARK_PYTHON:-python3}"
VENV="$CACHE/venv-spark-$PYSPARK_VERSION"
STAMP="$VENV/.complete"

if [[ -x "$VENV/bin/python" && -f "$STAMP" ]]; then
  echo "$VENV/bin/python"
  exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)' || {
  echo "setup-spark: $PYTHON is $("$PYTHON" --version 2>&1); PySpark $PYSPARK_VERSION needs Python 3.10+" >&2
  exit 1
}
java_home_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! jv=$("$java_home_bin" -version 2>&1); then
  echo "setup-spark: no java found (PySpark $PYSPARK_VERSION needs Java 17 or 21; Debian: apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
jv=${jv%%$'\n'*}
if [[ ! $jv =~ \"(17|21)[.\"] ]]; then
  echo "setup-spark: warning: $jv; Spark 4 supports Java 17 and 21" >&2
fi

t0=$(date +%s)
mkdir -p "$CACHE"
echo "setup-spark: creating $VENV (pyspark==$PYSPARK_VERSION, ~450 MB download)" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "pyspark==$PYSPARK_VERSION" "py4j==$PY4J_VERSION" >&2
"$VENV/bin/python" -c 'import pyspark, sys; sys.exit(0 if pyspark.__version__ == sys.argv[1] else 1)' \
  "$PYSPARK_VERSION" >&2
touch "$STAMP"
echo "setup-spark: venv ready in $(($(date +%s) - t0))s" >&2
echo "$VENV/bin/python"
