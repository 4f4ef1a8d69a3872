"""`airflow dags test` in local mode (TT_EXECUTOR=local): real task binaries, real metadata DB.

* telco_synth runs the real `generate` binary (bin/generate, built when missing): the day
  files appear under TT_RAW and the task's XCom is the program's JSON result as a dict, as
  the KubernetesPodOperator's sidecar would push it.
* telco_ingest runs the real Beam `pipeline` binary (prism) on generated data when
  beam/cmd/pipeline exists; until then the test says so and skips.
* telco_drift runs with a stub `driftcheck` (the real one is not written yet) to prove the
  control flow: exit 99 → skipped (and nothing downstream runs); `{"drift": true}` → the
  gate passes and telco_train is triggered with force_retrain.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from conftest import REPO, dags_test, go_binary

pytestmark = pytest.mark.slow


def local_env(tmp_path: Path, bin_dir: Path | str) -> dict[str, str]:
    return {
        "TT_EXECUTOR": "local",
        "TT_BIN_DIR": str(bin_dir),
        "TT_RAW": str(tmp_path / "raw"),
        "TT_LAKE": str(tmp_path / "lake"),
    }


def check(proc, what):
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def test_synth_runs_generate(tmp_path, metadb):
    gen = go_binary("generate", "tasks/generate")
    conf = {"start": "2022-01-03", "days": 1, "flows_per_day": 300, "seed": 7, "compress": "gz"}
    proc = dags_test("telco_synth", "2022-01-03", local_env(tmp_path, gen.parent), conf)
    check(proc, "airflow dags test telco_synth")

    run_id = metadb.run_ids("telco_synth")[-1]
    assert metadb.states("telco_synth", run_id) == {"generate": "success"}
    day = tmp_path / "raw" / "WEEK-2022-01" / "2022-01-03" / "flows-20220103.csv.gz"
    assert day.exists(), sorted(p.name for p in (tmp_path / "raw").rglob("*"))
    with gzip.open(day, "rt") as f:
        rows = sum(1 for _ in f) - 1  # header
    result = metadb.xcom("telco_synth", run_id, "generate")
    assert isinstance(result, dict), result
    assert result["rows"] == rows > 0
    assert result["out"] == str(tmp_path / "raw")
    assert result["start"] == "2022-01-03" and result["days"] == 1


def test_ingest_runs_pipeline(tmp_path, metadb):
    if not (REPO / "beam" / "cmd" / "pipeline").is_dir():
        pytest.skip(
            "beam/cmd/pipeline is not in the repo yet: local run of telco_ingest not possible "
            "(telco_synth covers the local-mode machinery with the real generate binary)"
        )
    gen = go_binary("generate", "tasks/generate")
    go_binary("pipeline", "beam/cmd/pipeline")
    import subprocess

    subprocess.run(
        [
            str(gen),
            "--out",
            str(tmp_path / "raw"),
            "--start",
            "2022-01-03",
            "--days",
            "1",
            "--flows-per-day",
            "300",
            "--seed",
            "3",
            "--compress",
            "gz",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    proc = dags_test("telco_ingest", "2022-01-03", local_env(tmp_path, gen.parent))
    check(proc, "airflow dags test telco_ingest")
    run_id = metadb.run_ids("telco_ingest")[-1]
    assert metadb.states("telco_ingest", run_id) == {t: "success" for t in ("parse", "aggregate", "features")}
    for table in ("flows", "traffic_hourly", "flow_features"):
        assert list((tmp_path / "lake" / table / "_delta_log").glob("*.json")), table
        assert metadb.asset_events(f"telco.{table}", "telco_ingest", run_id) == 1, table
    for task in ("parse", "aggregate", "features"):
        assert isinstance(metadb.xcom("telco_ingest", run_id, task), dict), task


DRIFT_STUB = """#!/bin/sh
# Stand-in for tasks/driftcheck: records its argv, then behaves as STUB_MODE says.
printf '%s\\n' "$@" > "$STUB_ARGS"
echo "driftcheck stub: $STUB_MODE" >&2
case "$STUB_MODE" in
  nothing) echo '{"drift": false, "reason": "no new data"}'; exit 99 ;;
  drift) echo '{"drift": true, "features_drifted": 3, "table_version": 12}' ;;
esac
"""


@pytest.fixture
def drift_stub(tmp_path):
    bin_dir = tmp_path / "stubbin"
    bin_dir.mkdir()
    exe = bin_dir / "driftcheck"
    exe.write_text(DRIFT_STUB)
    exe.chmod(0o755)
    return bin_dir


def test_drift_nothing_to_do_is_skipped(tmp_path, drift_stub, metadb):
    env = {**local_env(tmp_path, drift_stub), "STUB_MODE": "nothing", "STUB_ARGS": str(tmp_path / "args")}
    proc = dags_test("telco_drift", "2022-01-05", env)
    check(proc, "airflow dags test telco_drift (exit 99)")
    run_id = metadb.run_ids("telco_drift")[-1]
    assert metadb.states("telco_drift", run_id) == {
        "driftcheck": "skipped",
        "drift_detected": "skipped",
        "trigger_retrain": "skipped",
    }
    args = (tmp_path / "args").read_text().split("\n")
    assert "--date=2022-01-05" in args and f"--lake={tmp_path / 'lake' / 'flow_features'}" in args


def test_drift_detected_triggers_train(tmp_path, drift_stub, metadb):
    env = {**local_env(tmp_path, drift_stub), "STUB_MODE": "drift", "STUB_ARGS": str(tmp_path / "args")}
    before = len(metadb.run_ids("telco_train"))
    proc = dags_test("telco_drift", "2022-01-06", env)
    check(proc, "airflow dags test telco_drift (drift)")
    run_id = metadb.run_ids("telco_drift")[-1]
    assert metadb.states("telco_drift", run_id) == {
        "driftcheck": "success",
        "drift_detected": "success",
        "trigger_retrain": "success",
    }
    assert metadb.xcom("telco_drift", run_id, "driftcheck") == {
        "drift": True,
        "features_drifted": 3,
        "table_version": 12,
    }
    train_runs = metadb.run_ids("telco_train")
    assert len(train_runs) == before + 1
    assert train_runs[-1].startswith("drift__2022-01-06__")
    conf = metadb._rows("select conf from dag_run where run_id=?", train_runs[-1])[0][0]
    conf = json.loads(conf) if isinstance(conf, str) else conf
    assert conf == {"force_retrain": True, "reason": "drift"}
