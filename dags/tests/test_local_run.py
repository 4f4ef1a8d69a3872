"""`airflow dags test` in local mode (TT_EXECUTOR=local): real task binaries, real metadata DB.

* telco_synth runs the real `generate` binary (bin/generate, built when missing): the day
  files appear under TT_RAW and the task's XCom is the program's JSON result as a dict, as
  the KubernetesPodOperator's sidecar would push it.
* telco_ingest runs the real Beam `pipeline` binary (prism) on generated data, then the real
  `score` binary against a real `mlflow server`: skipped (exit 99) before the first champion;
  after train → evaluate → register → promote (the real binaries) made one, the next day is
  scored into flow_predictions and app_usage_daily.
* telco_drift runs the real `driftcheck` against a real MLflow champion (trained, registered
  and promoted by the real binaries on a lake the Beam pipeline ingested from generated days;
  the day is the run's logical date, as for a manual run, where the scheduler would take it
  from the ingest's Asset event):
  a day without data exits 99 → skipped (and nothing downstream runs); the week-6 peering
  change → `retrain` → the gate passes and telco_train is triggered with force_retrain.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import dags_test, go_binary, reserialize
from telco_factory import CLASSIFIER_MODEL

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


def run_program(args: list, env: dict | None = None, timeout: int = 900) -> str:
    """Runs a task program, fails with its stderr when it does not exit 0; returns stdout."""
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    assert proc.returncode == 0, f"{args[0]} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return proc.stdout


def generate(gen: Path, out: Path, start: str, days: int, flows: int, seed: int):
    run_program([gen, "--out", out, "--start", start, "--days", days, "--flows-per-day", flows, "--seed", seed,
                 "--compress", "gz"], timeout=600)  # fmt: skip


def run_binary(exe: Path, *args: str, env: dict[str, str]) -> dict:
    """run_program, then the task's JSON result (the last stdout line)."""
    return json.loads(run_program([exe, *args], env).strip().splitlines()[-1])


def make_champion(tmp_path: Path, gen: Path, mlflow_uri: str):
    """A champion of telco-service-classifier: the real train → evaluate → register → promote
    binaries on three generated weeks (tiny settings)."""
    raw, models, reports = tmp_path / "train-raw", str(tmp_path / "models"), str(tmp_path / "reports")
    generate(gen, raw, "2021-12-06", 21, 200, 5)
    env = {"MLFLOW_TRACKING_URI": mlflow_uri}
    flags = ["--members", "linear", "--train-weeks", "1", "--min-class-rows", "5", "--holdout-frac", "0"]
    tr = run_binary(go_binary("train", "tasks/train"), "--raw", str(raw), "--out", models, *flags,
                    "--experiment", "telco-service-classifier", env=env)  # fmt: skip
    run_binary(go_binary("evaluate", "tasks/evaluate"), "--raw", str(raw), "--model", models, "--out", reports,
               "--run-id", tr["mlflow_run_id"], env=env)  # fmt: skip
    run_binary(go_binary("register", "tasks/register"), "--name", "telco-service-classifier", "--run-id",
               tr["mlflow_run_id"], env=env)  # fmt: skip
    pr = run_binary(go_binary("promote", "tasks/promote"), "--name", "telco-service-classifier",
                    "--metric", "macro_f1_no_sni", env=env)  # fmt: skip
    assert pr["decision"] == "first_champion", pr


def test_ingest_runs_pipeline(tmp_path, metadb, mlflow_server):
    gen = go_binary("generate", "tasks/generate")
    go_binary("pipeline", "beam/cmd/pipeline")
    go_binary("score", "tasks/score")
    generate(gen, tmp_path / "raw", "2022-01-03", 2, 300, 3)
    env = {**local_env(tmp_path, gen.parent), "TT_MLFLOW_URI": mlflow_server}
    reserialize(env, unpause=("telco_forecast", "telco_drift"))

    # No champion yet: score has nothing to do (exit 99) and is skipped.
    proc = dags_test("telco_ingest", "2022-01-03", env)
    check(proc, "airflow dags test telco_ingest")
    run_id = metadb.run_ids("telco_ingest")[-1]
    assert metadb.states("telco_ingest", run_id) == {
        **{t: "success" for t in ("parse", "aggregate", "features")},
        "score": "skipped",
    }
    for table in ("flows", "traffic_hourly", "flow_features"):
        assert list((tmp_path / "lake" / table / "_delta_log").glob("*.json")), table
        assert metadb.asset_events(f"telco.{table}", "telco_ingest", run_id) == 1, table
    for task in ("parse", "aggregate", "features"):
        assert isinstance(metadb.xcom("telco_ingest", run_id, task), dict), task
    # Airflow queued telco_forecast on traffic_hourly; no drift check without predictions.
    assert "telco_forecast" in metadb.queued_consumers("telco.traffic_hourly")
    assert metadb.queued_consumers("telco.flow_predictions") == set()

    # With a champion, the next day's flows are scored.
    make_champion(tmp_path, gen, mlflow_server)
    proc = dags_test("telco_ingest", "2022-01-04", env)
    check(proc, "airflow dags test telco_ingest (with a champion)")
    run_id = metadb.run_ids("telco_ingest")[-1]
    assert metadb.states("telco_ingest", run_id) == {t: "success" for t in ("parse", "aggregate", "features", "score")}
    # score's Asset event queued telco_drift: it runs when the day is in, not at a fixed hour.
    assert metadb.queued_consumers("telco.flow_predictions") == {"telco_drift"}
    result = metadb.xcom("telco_ingest", run_id, "score")
    assert result["days"] == ["2022-01-04"] and result["scored_flows"] > 0, result
    assert result["model_name"] == "telco-service-classifier" and result["model_version"] == "1", result
    assert 0 <= result["usage_share_mae"] <= 1, result
    for table in ("flow_predictions", "app_usage_daily"):
        assert list((tmp_path / "lake" / table / "_delta_log").glob("*.json")), table
        assert metadb.asset_events(f"telco.{table}", "telco_ingest", run_id) == 1, table


@pytest.fixture(scope="module")
def drift_world(tmp_path_factory, drift_mlflow_server):
    """A lake of generated days 2022-01-24..2022-02-07 (the peering change is on 02-07), ingested
    by the Beam pipeline, and a champion trained on its first week, registered and promoted:
    everything telco_drift's real driftcheck needs."""
    root = tmp_path_factory.mktemp("drift")
    raw, lake, models, reports = root / "raw", root / "lake", root / "models", root / "reports"
    b = {n: go_binary(n, f"tasks/{n}") for n in ("generate", "train", "evaluate", "register", "promote", "driftcheck")}
    pipeline = go_binary("pipeline", "beam/cmd/pipeline")
    run_program([b["generate"], "--out", raw, "--start", "2022-01-24", "--days", "15", "--flows-per-day", "2000",
                 "--seed", "5", "--compress", "gz"])  # fmt: skip
    run_program([pipeline, "--job=all", "--input", raw, "--lake", lake], timeout=1200)
    env = {"MLFLOW_TRACKING_URI": drift_mlflow_server}
    tr = run_binary(b["train"], "--lake", str(lake), "--out", str(models), "--feature-sets", "sni", "--members", "xgb",
                    "--train-weeks", "1", "--val-weeks", "1", "--max-train-rows", "6000", "--max-val-rows", "3000",
                    "--xgb-rounds", "10", "--holdout-frac", "0", "--experiment", "drift-dag-test", env=env)  # fmt: skip
    assert (models / "sni" / "reference.json").exists(), sorted(p.name for p in (models / "sni").iterdir())
    run_program([b["evaluate"], "--lake", lake, "--model", models, "--out", reports, "--max-rows-per-week", "3000",
                 "--run-id", tr["mlflow_run_id"]], env)  # fmt: skip
    run_program([b["register"], "--name", CLASSIFIER_MODEL, "--run-id", tr["mlflow_run_id"]], env)
    run_program([b["promote"], "--name", CLASSIFIER_MODEL, "--metric", "macro_f1"], env)  # an SNI-only bundle
    return {"lake": lake, "mlflow": drift_mlflow_server, "bin": b["driftcheck"].parent}


def drift_env(tmp_path: Path, world: dict) -> dict[str, str]:
    return {**local_env(tmp_path, world["bin"]), "TT_LAKE": str(world["lake"]), "TT_MLFLOW_URI": world["mlflow"]}


def test_drift_nothing_to_do_is_skipped(tmp_path, drift_world, metadb):
    # No flow_features rows on that day: the real driftcheck exits 99.
    proc = dags_test("telco_drift", "2022-03-01", drift_env(tmp_path, drift_world))
    check(proc, "airflow dags test telco_drift (exit 99)")
    run_id = metadb.run_ids("telco_drift")[-1]
    assert metadb.states("telco_drift", run_id) == {
        "ingested_day": "success",
        "driftcheck": "skipped",
        "drift_detected": "skipped",
        "trigger_retrain": "skipped",
    }


def test_drift_retrain_triggers_train(tmp_path, drift_world, metadb):
    before = len(metadb.run_ids("telco_train"))
    proc = dags_test("telco_drift", "2022-02-07", drift_env(tmp_path, drift_world))
    check(proc, "airflow dags test telco_drift (peering change)")
    run_id = metadb.run_ids("telco_drift")[-1]
    assert metadb.states("telco_drift", run_id) == {
        "ingested_day": "success",
        "driftcheck": "success",
        "drift_detected": "success",
        "trigger_retrain": "success",
    }
    result = metadb.xcom("telco_drift", run_id, "driftcheck")
    assert result["day"] == "2022-02-07" and result["model"] == CLASSIFIER_MODEL
    assert result["drift"] is True and result["retrain"] is True, result["reasons"]
    assert result["predictions"] is False and "accuracy" in result["unavailable"]
    kinds = {a["kind"] for a in result["alerts"]}
    assert "feature_shift" in kinds, result["alerts"][:5]
    assert list((drift_world["lake"] / "drift_metrics" / "_delta_log").glob("*.json"))
    train_runs = metadb.run_ids("telco_train")
    assert len(train_runs) == before + 1
    assert train_runs[-1] == "drift__2022-02-07"
    # The retrain's logical date is the drifted day: its train --as-of={{ ds }} is that day.
    logical = metadb._rows("select logical_date from dag_run where run_id=?", train_runs[-1])[0][0]
    assert str(logical).startswith("2022-02-07"), logical
    conf = metadb._rows("select conf from dag_run where run_id=?", train_runs[-1])[0][0]
    conf = json.loads(conf) if isinstance(conf, str) else conf
    assert conf == {"force_retrain": True, "reason": "drift"}
