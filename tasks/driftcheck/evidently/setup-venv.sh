#!/usr/bin/env bash
# Creates (once) the venv with Evidently for `make bench-evidently`, under
# ~/.cache/telcotraffic, apart from the project venv: Evidently is a bench
# peer only, never a test dependency. Prints the venv's python.
set -euo pipefail
EVIDENTLY_VERSION=0.7.23
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
VENV="$CACHE/venv-evidently-$EVIDENTLY_VERSION"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import evidently.presets' 2>/dev/null; then
  echo "bench-evidently: creating $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >&2
  # pandas and numpy pinned as in .ci/constraints.txt: Evidently 0.7.23
  # does not import with pandas 3.
  pin() { echo "$1==$(sed -n "s/^$1==//p" .ci/constraints.txt)"; }
  "$VENV/bin/pip" install -q "evidently==$EVIDENTLY_VERSION" "$(pin pandas)" "$(pin numpy)" >&2
fi
echo "$VENV/bin/python"
