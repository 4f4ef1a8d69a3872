#!/usr/bin/env bash
# Beam's Flink job server with an embedded local Flink cluster, assembled
# from Maven Central (which serves no prebuilt beam-runners-flink-*-job-server
# jar here): the runner artifact and its dependencies (pom.xml beside this
# script), copied into a cache folder keyed by the pinned versions.
#
#   jobserver.sh fetch
#       resolve the classpath into
#       ${TELCO_CACHE:-~/.cache/telcotraffic}/flink-jobserver-<beam>-<flink>/
#       (Maven's local repository at $TELCO_CACHE/m2); nothing to do when the
#       stamp file of these versions is there. Prints the folder.
#   jobserver.sh run --job-port N [--artifact-port M] [--expansion-port K]
#                    [other FlinkJobServerDriver flags, e.g. --artifacts-dir]
#       exec the job server on 127.0.0.1 (runs `fetch` first if needed).
#       --artifact-port and --expansion-port default to 0 (a free port) and
#       -1 (no expansion service: the Go pipelines use no cross-language
#       transforms), not Beam's fixed 8098/8097.
#
# The job server is FlinkJobServerDriver's, started through a small launcher
# (LoopbackFlinkJobServer.java beside this script, compiled by `fetch`) whose job and artifact
# services listen on 127.0.0.1 only: Beam's own server factory binds every
# interface whatever --job-host says. The embedded Flink cluster listens on
# 127.0.0.1 (conf/flink-conf.yaml). Not covered: the Fn API servers (control,
# data, state, logging) that the runner opens per job on ephemeral ports
# still bind every interface (Beam's default; not configurable).
#
# Then: pipeline --runner=flink --endpoint=127.0.0.1:N (LOOPBACK workers).
#
# Environment: TELCO_CACHE (cache root), JAVA (java binary, default java),
# FLINK_JOBSERVER_JAVA_OPTS (extra JVM flags, e.g. -Xmx2g).
set -euo pipefail

BEAM_VERSION=2.70.0
JOB_SERVICE_VERSION=2.65.0 # beam-runners-java-job-service: 2.70.0 is not served
FLINK_MINOR=1.19
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
DIR="$CACHE/flink-jobserver-$BEAM_VERSION-$FLINK_MINOR"
JAVA="${JAVA:-java}"
# The stamp names the versions and this folder's content (pom, launcher):
# a change fetches anew (from $CACHE/m2: seconds).
STAMP="$DIR/.complete-$BEAM_VERSION-$JOB_SERVICE_VERSION-$FLINK_MINOR-$(cat "$HERE/pom.xml" "$HERE/LoopbackFlinkJobServer.java" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
MAIN=telcotraffic.flink.LoopbackFlinkJobServer

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

fetch() {
  mkdir -p "$CACHE"
  # One fetch at a time (a test and a shell may start together).
  exec 9>"$CACHE/.flink-jobserver.lock"
  flock 9
  if [[ -f "$STAMP" ]]; then
    exec 9>&-
    echo "$DIR"
    return
  fi
  command -v mvn >/dev/null || { echo "jobserver.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
  echo "jobserver.sh: resolving Beam $BEAM_VERSION Flink $FLINK_MINOR job server into $DIR" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR/jars" "$CACHE/m2"
  # -B: no progress bars; output only on failure (-q; the sed drops the
  # colour resets Maven 3.8 prints even then).
  if ! mvn -B -q -f "$HERE/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    -Dbeam.version="$BEAM_VERSION" -Djob-service.version="$JOB_SERVICE_VERSION" -Dflink.minor="$FLINK_MINOR" \
    dependency:copy-dependencies -DoutputDirectory="$DIR/jars" 2>&1 | sed $'s/\e\\[0m//g' >&2; then
    echo "jobserver.sh: maven could not resolve the job server's classpath" >&2
    exit 1
  fi
  # Flink configuration for the embedded cluster: every listener on loopback.
  mkdir -p "$DIR/conf"
  cat >"$DIR/conf/flink-conf.yaml" <<'EOF'
jobmanager.rpc.address: 127.0.0.1
jobmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
EOF
  # The launcher: FlinkJobServerDriver's main with loopback-bound job and
  # artifact services (it does not compile without FlinkJobServerDriver).
  command -v javac >/dev/null || { echo "jobserver.sh: javac not found (a JDK 17 is needed)" >&2; exit 1; }
  mkdir -p "$DIR/src" "$DIR/classes"
  cp "$HERE/LoopbackFlinkJobServer.java" "$DIR/src/"
  if ! javac -nowarn -d "$DIR/classes" -cp "$DIR/jars/*" "$DIR/src/LoopbackFlinkJobServer.java" >&2; then
    echo "jobserver.sh: compiling the launcher failed" >&2
    exit 1
  fi
  touch "$STAMP"
  exec 9>&-
  echo "jobserver.sh: $(find "$DIR/jars" -name '*.jar' | wc -l) jars, $(du -sh "$DIR/jars" | cut -f1)" >&2
  echo "$DIR"
}

run() {
  local have_job_port=0 have_artifact=0 have_expansion=0 have_conf=0
  for a in "$@"; do
    case "$a" in
    --job-port | --job-port=*) have_job_port=1 ;;
    --artifact-port | --artifact-port=*) have_artifact=1 ;;
    --expansion-port | --expansion-port=*) have_expansion=1 ;;
    --flink-conf-dir | --flink-conf-dir=*) have_conf=1 ;;
    --job-host | --job-host=*) echo "jobserver.sh: the job server binds 127.0.0.1; --job-host is fixed" >&2; exit 2 ;;
    esac
  done
  ((have_job_port)) || { echo "jobserver.sh run: --job-port N is required" >&2; exit 2; }
  fetch >/dev/null
  local extra=()
  ((have_artifact)) || extra+=(--artifact-port=0)
  ((have_expansion)) || extra+=(--expansion-port=-1)
  ((have_conf)) || extra+=(--flink-conf-dir="$DIR/conf")
  # Flink 1.19 on Java 17: the module openings Flink's own scripts pass
  # (Kryo and Flink's serializers reflect into java.base).
  local jvm=(
    --add-exports=java.base/sun.net.util=ALL-UNNAMED
    --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.text=ALL-UNNAMED
    --add-opens=java.base/java.time=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
  )
  # shellcheck disable=SC2086 # FLINK_JOBSERVER_JAVA_OPTS is a list of flags
  exec "$JAVA" "${jvm[@]}" ${FLINK_JOBSERVER_JAVA_OPTS:-} -cp "$DIR/classes:$DIR/jars/*" "$MAIN" \
    --job-host=127.0.0.1 --flink-master='[local]' "${extra[@]}" "$@"
}

case "${1:-}" in
fetch) fetch ;;
run) shift; run "$@" ;;
*) usage ;;
esac
