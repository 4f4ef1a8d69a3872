#!/usr/bin/env bash
# dags/setup-venv.sh creates (once) the Airflow venv for the DAG tests and links it
# as <repo>/.venv-airflow. Idempotent; cached under ~/.cache/telcotraffic keyed by the
# hash of dags/requirements.txt (a full pinned lock), so a changed pin makes a new venv.
# Installs with uv (pinned, from PyPI, bootstrapped into its own small venv) because
# pip needs minutes for Airflow's ~150 packages on 2 shared cores.
# Prints the venv path on stdout; progress on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
PYTHON="${TELCO_AIRFLOW_PYTHON:-python3}"
UV_VERSION=0.13.8
mkdir -p "$CACHE"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "setup-venv: $PYTHON is $("$PYTHON" --version 2>&1); dags/requirements.txt is locked for Python 3.11" >&2
  exit 1
}

req_hash=$(sha256sum "$here/requirements.txt" | cut -c1-12)
VENV="$CACHE/venv-airflow-$req_hash"
if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.complete" ]]; then
  t0=$(date +%s)
  UVBOOT="$CACHE/uv-$UV_VERSION"
  if [[ ! -x "$UVBOOT/bin/uv" ]]; then
    echo "setup-venv: installing uv $UV_VERSION into $UVBOOT" >&2
    rm -rf "$UVBOOT"
    "$PYTHON" -m venv "$UVBOOT"
    "$UVBOOT/bin/pip" install -q "uv==$UV_VERSION" >&2
  fi
  echo "setup-venv: creating $VENV" >&2
  rm -rf "$VENV"
  "$UVBOOT/bin/uv" venv -q --python "$(command -v "$PYTHON")" "$VENV" >&2
  "$UVBOOT/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" -r "$here/requirements.txt" >&2
  # Import check (fails early on a broken install); a throwaway AIRFLOW_HOME so it
  # does not create ~/airflow.
  tmp_home=$(mktemp -d)
  AIRFLOW_HOME="$tmp_home" "$VENV/bin/python" -c \
    'import airflow.sdk, airflow.providers.cncf.kubernetes.operators.pod, airflow.providers.standard.operators.bash' >&2
  rm -rf "$tmp_home"
  touch "$VENV/.complete"
  echo "setup-venv: venv ready in $(( $(date +%s) - t0 ))s" >&2
fi
ln -sfn "$VENV" "$repo/.venv-airflow"
echo "$VENV"
