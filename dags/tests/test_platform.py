"""What a platform team expects of the DAGs: pools, failure notifications, deadline alerts, the
asset-driven drift check and the weekly compaction.

* Pools: every pool a task names is declared in infra/airflow/pools.json (a task in a pool the
  metadata DB lacks is never scheduled), the heavy pods are exactly the Beam jobs and the large
  tasks, and the session's metadata DB holds the pool imported from that file.
* Failure notifications: every task's on_failure_callback posts to the webhook of connection
  telco_alerts; a real task failure under `airflow dags test` (telco_synth without its binary)
  posts to a local HTTP listener.
* Deadline alerts: telco_ingest and telco_train carry an Airflow 3 DeadlineAlert counted from
  the queue time whose callback, an awaitable importable by the triggerer, posts to the webhook
  with the context the scheduler builds for it.
"""

from __future__ import annotations

import asyncio
import json
import types
from datetime import UTC, datetime, timedelta

import pytest

from conftest import dags_test
from telco_alerts import ALERTS_CONN_ID, failure_message, notify_deadline_missed, notify_failure
from telco_factory import HEAVY_POOL, POOLS_FILE

# The heavy pods: Beam jobs (image pipeline) and the large tasks.
HEAVY = {
    ("telco_ingest", "parse"),
    ("telco_ingest", "aggregate"),
    ("telco_ingest", "features"),
    ("telco_ingest", "score"),
    ("telco_train", "train"),
    ("telco_train", "evaluate"),
    ("telco_forecast", "forecast"),
    ("telco_vacuum", "compact"),
    ("telco_vacuum", "vacuum"),
}


def pools_file() -> dict:
    return json.loads(POOLS_FILE.read_text())


def test_pools_file_declares_every_pool_the_dags_name(dagbag, local_dagbag):
    pools = pools_file()
    assert pools[HEAVY_POOL]["slots"] == 1  # one heavy pod at a time
    for bag in (dagbag, local_dagbag):
        used = {}
        for dag in bag.dags.values():
            for t in dag.tasks:
                used.setdefault(t.pool, set()).add((dag.dag_id, t.task_id))
                assert t.pool_slots == 1, (dag.dag_id, t.task_id)
        assert set(used) - {"default_pool"} <= set(pools), f"pools not in {POOLS_FILE.name}: {set(used)}"
        assert used[HEAVY_POOL] == HEAVY


def test_pools_are_in_the_metadata_db(metadb):
    rows = metadb._rows("select pool, slots, include_deferred from slot_pool")
    got = {name: (slots, bool(deferred)) for name, slots, deferred in rows}
    for name, spec in pools_file().items():
        assert got[name] == (spec["slots"], spec["include_deferred"]), got


def test_values_import_the_pools_on_every_upgrade():
    """The Helm values' migration job imports infra/airflow/pools.json from a ConfigMap."""
    import yaml

    from conftest import REPO

    values = yaml.safe_load((REPO / "infra" / "airflow" / "values.yaml").read_text())
    job = values["migrateDatabaseJob"]
    script = " ".join(job["args"])
    assert "airflow db migrate" in script and "airflow pools import /opt/airflow/pools/pools.json" in script
    vol = next(v for v in job["extraVolumes"] if v["name"] == "pools")
    assert vol["configMap"]["name"] == "airflow-pools"
    assert {"name": "pools", "mountPath": "/opt/airflow/pools", "readOnly": True} in job["extraVolumeMounts"]


def test_every_task_notifies_on_failure(dagbag, local_dagbag):
    for bag in (dagbag, local_dagbag):
        for dag in bag.dags.values():
            for t in dag.tasks:
                callbacks = t.on_failure_callback
                callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
                assert notify_failure in callbacks, (dag.dag_id, t.task_id, callbacks)


def test_deadline_alerts_on_ingest_and_train(dagbag):
    from airflow.sdk import AsyncCallback, DeadlineReference

    want = {"telco_ingest": ("ingest-3h", timedelta(hours=3)), "telco_train": ("train-8h", timedelta(hours=8))}
    for dag_id, dag in dagbag.dags.items():
        alerts = dag.deadline or []
        if dag_id not in want:
            assert not alerts, dag_id
            continue
        assert len(alerts) == 1, dag_id
        (alert,) = alerts
        name, interval = want[dag_id]
        assert alert.name == name and alert.interval == interval
        assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT  # not the logical date: backfills
        assert isinstance(alert.callback, AsyncCallback)
        assert alert.callback.path == "telco_alerts.notify_deadline_missed"
        assert alert.callback.kwargs == {"deadline_name": name}


def test_deadline_override(monkeypatch):
    """TT_DEADLINE (seconds) replaces a deadline's interval: the replay's test makes the scheduler
    miss one."""
    from telco_alerts import deadline

    assert deadline("ingest-3h", timedelta(hours=3)).interval == timedelta(hours=3)
    monkeypatch.setenv("TT_DEADLINE", "1.5")
    alert = deadline("ingest-3h", timedelta(hours=3))
    assert alert.interval == timedelta(seconds=1.5) and alert.name == "ingest-3h"


def test_extra_args(monkeypatch):
    """TT_ARGS_<BINARY> adds flags to every task of one binary, after the DAG's own."""
    from telco_factory import extra_args

    env = {"TT_ARGS_TRAIN": "--xgb-rounds=100 --xgb-eta=0.3", "TT_ARGS_DRIFTCHECK": "--retrain-cooldown=7"}
    assert extra_args("train", env) == ["--xgb-rounds=100", "--xgb-eta=0.3"]
    assert extra_args("driftcheck", env) == ["--retrain-cooldown=7"]
    assert extra_args("evaluate", env) == []
    monkeypatch.setenv("TT_EXECUTOR", "local")
    monkeypatch.setenv("TT_ARGS_TRAIN", "--net-epochs=4")
    from telco_factory import go_task

    task = go_task("train", "train", ["--lake=/l", "--net-epochs=10"], size="large")
    assert "--lake=/l --net-epochs=10 --net-epochs=4 " in task.bash_command


def test_deadline_alerts_survive_serialization(dagbag):
    """The scheduler reads deadlines from the serialized DAG: they must be in it."""
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id in ("telco_ingest", "telco_train"):
        data = DagSerialization.to_dict(dagbag.dags[dag_id])
        text = json.dumps(data)
        assert "telco_alerts.notify_deadline_missed" in text, dag_id
        back = DagSerialization.from_dict(data)
        assert back.deadline, dag_id


def test_deadline_callback_posts_to_the_webhook(webhook, monkeypatch):
    """The callback as the triggerer calls it: with the context the scheduler builds in
    Deadline.handle_miss (a DAGRunResponse dumped as JSON, and the deadline)."""
    for k, v in webhook.conn_env(password="s3cr3t-token").items():
        monkeypatch.setenv(k, v)
    context = {
        "dag_run": {
            "dag_run_id": "scheduled__2022-03-14T01:00:00+00:00",
            "dag_id": "telco_ingest",
            "state": "running",
            "queued_at": "2022-03-15T01:00:02+00:00",
            "logical_date": "2022-03-14T01:00:00+00:00",
        },
        "deadline": {"id": "0193", "deadline_time": "2022-03-15T04:00:02+00:00"},
    }
    asyncio.run(notify_deadline_missed(context=context, deadline_name="ingest-3h"))
    assert len(webhook.posts) == 1
    msg = webhook.posts[0]
    assert msg["event"] == "deadline_missed" and msg["deadline"] == "ingest-3h"
    assert msg["dag_id"] == "telco_ingest" and msg["run_id"] == "scheduled__2022-03-14T01:00:00+00:00"
    assert msg["deadline_time"] == "2022-03-15T04:00:02+00:00"
    assert "telco_ingest" in msg["text"] and "ingest-3h" in msg["text"]
    assert webhook.headers[0]["Authorization"] == "Bearer s3cr3t-token"


def test_callbacks_without_a_connection_do_not_raise(monkeypatch, caplog):
    monkeypatch.delenv(f"AIRFLOW_CONN_{ALERTS_CONN_ID.upper()}", raising=False)
    asyncio.run(notify_deadline_missed(context=None, deadline_name="x"))
    ti = types.SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=1, map_index=-1, log_url=None)
    notify_failure({"ti": ti, "exception": RuntimeError("boom")})
    assert "alert not sent" in caplog.text


def test_failure_message():
    ti = types.SimpleNamespace(dag_id="telco_train", task_id="train", run_id="r1", try_number=3, map_index=-1,
                               log_url="http://airflow/log")  # fmt: skip
    run = types.SimpleNamespace(logical_date=datetime(2022, 3, 14, 3, tzinfo=UTC))
    msg = failure_message({"ti": ti, "dag_run": run, "exception": ValueError("exit 1")})
    assert msg["event"] == "task_failed" and msg["logical_date"] == "2022-03-14T03:00:00+00:00"
    assert msg["text"] == ":red_circle: telco_train.train failed (run r1, try 3): ValueError: exit 1"


@pytest.mark.slow
def test_a_real_task_failure_posts_to_the_webhook(tmp_path, webhook, metadb):
    """telco_synth in local mode with an empty bin dir: the generate task fails for real (its
    binary is missing; telco_synth has no retries) and its on_failure_callback posts."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"TT_EXECUTOR": "local", "TT_BIN_DIR": str(empty), "TT_RAW": str(tmp_path / "raw"), **webhook.conn_env()}
    proc = dags_test("telco_synth", "2022-01-10", env)
    run_id = metadb.run_ids("telco_synth")[-1]
    assert metadb.states("telco_synth", run_id) == {"generate": "failed"}, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(webhook.posts) == 1, (webhook.posts, proc.stderr[-3000:])
    msg = webhook.posts[0]
    assert (msg["event"], msg["dag_id"], msg["task_id"], msg["run_id"]) == (
        "task_failed",
        "telco_synth",
        "generate",
        run_id,
    )
    assert msg["logical_date"].startswith("2022-01-10")
    assert "exit code 1" in msg["exception"].lower() or "returned a non-zero" in msg["exception"].lower(), msg


# --- telco_drift's day -------------------------------------------------------------------------


def event(day: str | None, name: str = "telco.flow_predictions"):
    run = None
    if day is not None:
        run = types.SimpleNamespace(logical_date=datetime.fromisoformat(day).replace(hour=1, tzinfo=UTC))
    return types.SimpleNamespace(asset=types.SimpleNamespace(name=name), timestamp="t", source_dag_run=run)


def test_drift_day_from_the_triggering_event(dagbag):
    from telco_drift import ingested_day

    fn = ingested_day.function
    events = {"asset": [event("2022-03-14")]}
    assert fn(params={"day": ""}, dag_run=None, triggering_asset_events=events) == "2022-03-14"
    # Two events of the same day (a re-run of ingest) are one day.
    events = {"asset": [event("2022-03-14"), event("2022-03-14")]}
    assert fn(params={}, dag_run=None, triggering_asset_events=events) == "2022-03-14"
    # The day param wins; then a logical date (manual runs, `airflow dags test`).
    assert fn(params={"day": "2022-01-02"}, dag_run=None, triggering_asset_events=events) == "2022-01-02"
    run = types.SimpleNamespace(logical_date=datetime(2022, 2, 7, 0, tzinfo=UTC))
    assert fn(params={"day": ""}, dag_run=run, triggering_asset_events={}) == "2022-02-07"
    # Events of two days in one run: no day is dropped silently.
    events = {"asset": [event("2022-03-14"), event("2022-03-15")]}
    with pytest.raises(ValueError, match=r"2 days \['2022-03-14', '2022-03-15'\]"):
        fn(params={}, dag_run=None, triggering_asset_events=events)
    with pytest.raises(ValueError, match="no source run"):
        fn(params={}, dag_run=None, triggering_asset_events={"asset": [event(None)]})
    with pytest.raises(ValueError, match="no day"):
        fn(params={}, dag_run=types.SimpleNamespace(logical_date=None), triggering_asset_events={})
    params = dagbag.dags["telco_drift"].params
    assert params.dump() == {"day": ""}


# --- weekly compaction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_after,week_param,want",
    [
        (datetime(2022, 3, 13, 4, tzinfo=UTC), "", "2022-W09"),  # Sunday of W10 → W09, complete
        (datetime(2022, 1, 2, 4, tzinfo=UTC), "", "2021-W51"),  # ISO year ≠ calendar year
        (datetime(2022, 3, 14, 9, tzinfo=UTC), "", "2022-W10"),  # a manual run on Monday
        (datetime(2022, 3, 13, 4, tzinfo=UTC), "2022-W01", "2022-W01"),  # Param week
    ],
)
def test_compact_week(dagbag, local_dagbag, run_after, week_param, want):
    import shlex

    from airflow.sdk.execution_time import macros

    ctx = {"params": {"week": week_param}, "dag_run": types.SimpleNamespace(run_after=run_after), "macros": macros}
    op = dagbag.dags["telco_vacuum"].task_dict["compact"]
    week_arg = next(a for a in op.arguments if a.startswith("--week="))
    assert op.render_template(week_arg, ctx) == f"--week={want}"
    local = local_dagbag.dags["telco_vacuum"].task_dict["compact"]
    line = next(x for x in local.bash_command.splitlines() if '>"$tt_tmp/stdout"' in x)
    argv = shlex.split(local.render_template(line.split(" >", 1)[0], ctx))
    assert argv[1:] == ["--job=compact", "--lake=s3://test-lake/lake", f"--week={want}"]


def test_vacuum_runs_after_compact_had_nothing_to_do(dagbag):
    vacuum = dagbag.dags["telco_vacuum"].task_dict["vacuum"]
    assert vacuum.trigger_rule == "none_failed"
    assert dagbag.dags["telco_vacuum"].task_dict["compact"].skip_on_exit_code == [99]
