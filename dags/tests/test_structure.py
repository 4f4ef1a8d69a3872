"""DagBag import and the structure of every DAG: ids, edges, schedules, params, operators."""

from __future__ import annotations

import re

import pytest

from conftest import COMMON_TT


def with_conf(params, conf):
    """A copy of a DAG's ParamsDict with a run's conf applied (validates each value)."""
    import copy

    merged = copy.deepcopy(params)
    for k, v in conf.items():
        merged[k] = v
    merged.validate()
    return merged


def asset_names(condition) -> list[str]:
    return [a.name for a in condition.objects]


EXPECTED_DAGS = {"telco_ingest", "telco_train", "telco_forecast", "telco_drift", "telco_synth", "telco_vacuum"}

# dag_id -> {task_id: set of downstream task ids}
EDGES = {
    "telco_ingest": {"parse": {"aggregate", "features"}, "aggregate": set(), "features": {"score"}, "score": set()},
    "telco_train": {"train": {"evaluate"}, "evaluate": {"register"}, "register": {"promote"}, "promote": set()},
    "telco_forecast": {
        "forecast": {"report", "register"},
        "report": set(),
        "register": {"promote"},
        "promote": set(),
    },
    "telco_drift": {
        "ingested_day": {"driftcheck"},
        "driftcheck": {"drift_detected"},
        "drift_detected": {"trigger_retrain"},
        "trigger_retrain": set(),
    },
    "telco_synth": {"generate": set()},
    "telco_vacuum": {"compact": {"vacuum"}, "vacuum": set()},
}

# Tasks that run a Go program: task_id -> (image, binary, size class requests cpu)
GO_TASKS = {
    ("telco_ingest", "parse"): ("pipeline", "pipeline"),
    ("telco_ingest", "aggregate"): ("pipeline", "pipeline"),
    ("telco_ingest", "features"): ("pipeline", "pipeline"),
    ("telco_ingest", "score"): ("score", "score"),
    ("telco_train", "train"): ("train", "train"),
    ("telco_train", "evaluate"): ("evaluate", "evaluate"),
    ("telco_train", "register"): ("register", "register"),
    ("telco_train", "promote"): ("promote", "promote"),
    ("telco_forecast", "forecast"): ("forecast", "forecast"),
    ("telco_forecast", "report"): ("report", "report"),
    ("telco_forecast", "register"): ("register", "register"),
    ("telco_forecast", "promote"): ("promote", "promote"),
    ("telco_drift", "driftcheck"): ("driftcheck", "driftcheck"),
    ("telco_synth", "generate"): ("generate", "generate"),
    ("telco_vacuum", "compact"): ("pipeline", "pipeline"),
    ("telco_vacuum", "vacuum"): ("pipeline", "pipeline"),
}

OUTLETS = {
    ("telco_ingest", "parse"): {"telco.flows", "telco.rejects"},
    ("telco_ingest", "aggregate"): {"telco.traffic_hourly"},
    ("telco_ingest", "features"): {"telco.flow_features"},
    ("telco_ingest", "score"): {"telco.flow_predictions", "telco.app_usage_daily"},
    ("telco_forecast", "forecast"): {"telco.forecasts"},
    ("telco_drift", "driftcheck"): {"telco.drift_metrics"},
}


def test_dagbag_imports_without_errors(dagbag, local_dagbag):
    assert dagbag.import_errors == {}
    assert local_dagbag.import_errors == {}
    assert set(dagbag.dags) == EXPECTED_DAGS
    assert set(local_dagbag.dags) == EXPECTED_DAGS


@pytest.mark.parametrize("dag_id", sorted(EDGES))
def test_tasks_and_dependencies(dagbag, local_dagbag, dag_id):
    for bag in (dagbag, local_dagbag):
        dag = bag.dags[dag_id]
        got = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
        assert got == EDGES[dag_id]


def test_schedules(dagbag):
    from airflow.sdk import CronDataIntervalTimetable, CronTriggerTimetable

    ingest = dagbag.dags["telco_ingest"].timetable
    assert isinstance(ingest, CronDataIntervalTimetable)
    assert (ingest.expression, str(ingest.timezone)) == ("0 1 * * *", "UTC")

    # When the ingest's score task has committed the day (an Asset event), not at a fixed hour.
    drift = dagbag.dags["telco_drift"].timetable
    assert type(drift).__name__ == "AssetTriggeredTimetable"
    assert asset_names(drift.asset_condition) == ["telco.flow_predictions"]

    # Weekly (and triggered by telco_drift), not on every daily flow_features update.
    train = dagbag.dags["telco_train"].timetable
    assert isinstance(train, CronTriggerTimetable)
    assert train.expression == "0 3 * * 1"

    forecast = dagbag.dags["telco_forecast"].timetable
    assert type(forecast).__name__ == "AssetTriggeredTimetable"
    assert asset_names(forecast.asset_condition) == ["telco.traffic_hourly"]

    vacuum = dagbag.dags["telco_vacuum"].timetable
    assert isinstance(vacuum, CronTriggerTimetable)
    assert (vacuum.expression, str(vacuum.timezone)) == ("0 4 * * 0", "UTC")
    args = dagbag.dags["telco_vacuum"].task_dict["vacuum"].arguments
    assert args[:3] == ["--job=vacuum", "--lake=s3://telco-lake/lake", "--retention=168h"]
    args = dagbag.dags["telco_vacuum"].task_dict["compact"].arguments
    assert args[:2] == ["--job=compact", "--lake=s3://telco-lake/lake"]
    assert args[2].startswith("--week={{") and args[3:] == ["--xcom"]

    assert type(dagbag.dags["telco_synth"].timetable).__name__ == "NullTimetable"
    for dag in dagbag.dags.values():
        assert dag.catchup is False, dag.dag_id


def test_replay_window():
    """TT_REPLAY_START/END (make replay): catchup over exactly those days, each DAG at its hour."""
    from datetime import timedelta

    import pendulum

    from telco_factory import schedule_window

    prod = schedule_window(pendulum.datetime(2022, 1, 1, tz="UTC"), timedelta(hours=1), {})
    assert prod == {"start_date": pendulum.datetime(2022, 1, 1, tz="UTC"), "catchup": False}
    env = {"TT_REPLAY_START": "2022-01-03", "TT_REPLAY_END": "2022-01-16"}
    w = schedule_window(pendulum.datetime(2022, 1, 1, tz="UTC"), timedelta(days=1, hours=3), env)
    assert w["catchup"] is True
    assert w["start_date"] == pendulum.datetime(2022, 1, 4, 3, tz="UTC")
    assert w["end_date"] == pendulum.datetime(2022, 1, 17, 3, tz="UTC")


def test_ingest_sensors():
    """In a replay, telco_train waits for the features of the day before its run (the sensor is
    the only task added); telco_drift needs no sensor: it runs on the day's flow_predictions event."""
    from datetime import UTC, datetime

    from conftest import load_dagbag

    dagbag = load_dagbag({**COMMON_TT, "TT_REPLAY_START": "2022-01-03", "TT_REPLAY_END": "2022-01-16"})
    dag = dagbag.dags["telco_train"]
    assert dag.catchup is True
    first = min(EDGES["telco_train"], key=lambda t: len(dag.task_dict[t].upstream_task_ids))
    assert {t.task_id for t in dag.tasks} == {"wait_for_ingest", *EDGES["telco_train"]}
    assert dag.task_dict["wait_for_ingest"].downstream_task_ids == {first}
    train = dag.task_dict["wait_for_ingest"]
    assert (train.external_dag_id, train.external_task_ids) == ("telco_ingest", ["features"])
    assert train.mode == "poke" and set(train.allowed_states) == {"success", "skipped"}
    monday = datetime(2022, 1, 10, 3, tzinfo=UTC)
    assert train.execution_date_fn(monday) == datetime(2022, 1, 9, 1, tzinfo=UTC)
    drift = dagbag.dags["telco_drift"]
    assert "wait_for_ingest" not in drift.task_dict
    assert {a.name for a in drift.timetable.asset_condition.objects} == {"telco.flow_predictions"}


def test_every_consumed_asset_has_a_producer(dagbag):
    produced = {}
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            for a in t.outlets:
                produced[a.name] = (dag.dag_id, t.task_id, a.uri)
    got = {
        (d, t): {a.name for a in task.outlets}
        for d in dagbag.dags
        for t, task in dagbag.dags[d].task_dict.items()
        if task.outlets
    }
    assert got == OUTLETS
    for dag_id in ("telco_forecast", "telco_drift"):
        for asset in dagbag.dags[dag_id].timetable.asset_condition.objects:
            assert asset.name in produced, f"{dag_id} waits for {asset.name}, which no task produces"
            assert produced[asset.name][2] == asset.uri
    assert produced["telco.flow_features"][2] == "delta://telcotraffic/flow_features"


def test_train_params(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["telco_train"].params
    assert params.dump() == {
        "force_retrain": False,
        "train_weeks": 4,
        "val_weeks": 1,
        "test_weeks": 1,
        "held_out_rows": True,
        "model_name": "telco-service-classifier",
        "min_gain": 0.0,
        "reason": "schedule",
    }
    params.validate()
    assert with_conf(params, {"train_weeks": 8}).dump()["train_weeks"] == 8
    with pytest.raises(ParamValidationError):
        with_conf(params, {"train_weeks": 0})
    with pytest.raises(ParamValidationError):
        with_conf(params, {"force_retrain": "yes"})
    with pytest.raises(ParamValidationError):
        with_conf(params, {"model_name": "Bad Name"})


@pytest.mark.parametrize("key", sorted(GO_TASKS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_pod_operator(dagbag, key):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    dag_id, task_id = key
    image, binary = GO_TASKS[key]
    op = dagbag.dags[dag_id].task_dict[task_id]
    assert isinstance(op, KubernetesPodOperator)
    assert op.image == f"registry.telco.internal/telcotraffic/{image}:0.1.0"
    assert op.cmds == [f"/usr/local/bin/{binary}"]
    assert op.arguments[-1] == "--xcom" and op.arguments.count("--xcom") == 1
    assert all(a.startswith("--") for a in op.arguments), op.arguments
    assert op.namespace == "telco-tasks"
    assert op.service_account_name == "telco-task"
    assert op.do_xcom_push is True
    assert op.on_finish_action.value == "delete_succeeded_pod"
    assert op.skip_on_exit_code == [99]
    assert op.get_logs is True
    env = {e.name: e.value for e in op.env_vars}
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.telco-mlflow.svc.cluster.local:5000"
    assert env["AIRFLOW_CTX_DAG_RUN_ID"] == "{{ run_id }}"
    assert env["TT_LAKE"] == "s3://telco-lake/lake"
    assert {(s.deploy_type, s.deploy_target, s.secret) for s in op.secrets} == {
        ("env", None, "telco-mlflow-auth"),
        ("env", None, "telco-aws"),
    }
    res = op.container_resources
    assert set(res.requests) == {"cpu", "memory"} and set(res.limits) == {"cpu", "memory"}
    assert env["OMP_NUM_THREADS"] == res.limits["cpu"]
    assert op.container_security_context.run_as_non_root is True
    assert op.container_security_context.read_only_root_filesystem is True
    assert op.active_deadline_seconds == int(op.execution_timeout.total_seconds())
    assert op.retries == (0 if dag_id == "telco_synth" else 2)


def test_sizes(dagbag):
    cpu = {(d, t): dagbag.dags[d].task_dict[t].container_resources.requests["cpu"] for d, t in GO_TASKS}
    assert cpu[("telco_train", "train")] == "2"
    assert cpu[("telco_forecast", "forecast")] == "2"
    assert cpu[("telco_train", "register")] == "100m"
    assert cpu[("telco_ingest", "parse")] == "500m"


def test_pipeline_arguments(dagbag):
    ingest = dagbag.dags["telco_ingest"]
    assert ingest.task_dict["parse"].arguments == [
        "--job=parse",
        "--input=s3://telco-lake/raw/cesnet-tls-year22",
        "--lake=s3://telco-lake/lake",
        "--from={{ ds }}",
        "--to={{ ds }}",
        "--runner=flink",
        "--endpoint=beam-jobserver.telco-flink.svc.cluster.local:8099",
        "--environment_type=EXTERNAL",
        "--environment_config=localhost:50000",
        "--xcom",
    ]
    for t in ("aggregate", "features"):
        args = ingest.task_dict[t].arguments
        assert args[0] == f"--job={t}"
        assert not any(a.startswith("--input") for a in args)


def test_classifier_bundle_uri_is_shared_by_the_run(dagbag):
    """train writes the bundle where evaluate and register read it: one URI per Airflow run."""
    from telco_factory import RUN_KEY

    tasks = dagbag.dags["telco_train"].task_dict
    bundle = f"s3://telco-lake/models/classifier/{RUN_KEY}"
    assert f"--out={bundle}" in tasks["train"].arguments
    assert f"--model={bundle}" in tasks["evaluate"].arguments
    assert f"--out={bundle}/evaluation" in tasks["evaluate"].arguments
    # train logs both bundles (score uses sni and no-sni) as its run; evaluate logs to it and
    # register registers it.
    assert "--experiment=telco-service-classifier" in tasks["train"].arguments
    run = '--run-id={{ ti.xcom_pull(task_ids="train")["mlflow_run_id"] }}'
    assert run in tasks["evaluate"].arguments and run in tasks["register"].arguments
    assert not any(a.startswith(("--bundle", "--report")) for a in tasks["register"].arguments)
    assert "--lake=s3://telco-lake/lake" in tasks["train"].arguments
    assert "--lake=s3://telco-lake/lake" in tasks["evaluate"].arguments
    assert "--lake=s3://telco-lake/lake" in tasks["promote"].arguments  # scores the champion on a new window
    assert "--as-of={{ ds }}" in tasks["train"].arguments  # the window moves with the run
    assert "--model-name={{ params.model_name }}" in tasks["train"].arguments


def test_report_arguments(dagbag):
    """report reads the lake and MLflow and writes one HTML page per Airflow run under TT_REPORTS."""
    from telco_factory import CLASSIFIER_MODEL, FORECAST_EXPERIMENT, RUN_KEY

    args = dagbag.dags["telco_forecast"].task_dict["report"].arguments
    assert "--lake=s3://telco-lake/lake" in args
    assert f"--out=s3://telco-lake/reports/telco_forecast/{RUN_KEY}/report.html" in args
    assert f"--model-name={CLASSIFIER_MODEL}" in args
    assert f"--forecast-experiment={FORECAST_EXPERIMENT}" in args


def test_xcom_pulls_name_upstream_tasks(dagbag):
    """Every `xcom_pull(task_ids='x')` in a task's arguments names one of its upstream tasks."""
    pulls = []
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            for arg in getattr(t, "arguments", []) or []:
                for src in re.findall(r"""xcom_pull\(task_ids=["']([^"']+)["']\)""", arg):
                    pulls.append((dag.dag_id, t.task_id, src))
                    assert src in t.get_flat_relative_ids(upstream=True), (dag.dag_id, t.task_id, src)
    # register and promote meet at the challenger alias; register takes the run its producer
    # logged (forecast, train), evaluate logs to train's; driftcheck the day of the asset event.
    assert sorted(pulls) == [
        ("telco_drift", "driftcheck", "ingested_day"),
        ("telco_forecast", "register", "forecast"),
        ("telco_train", "evaluate", "train"),
        ("telco_train", "register", "train"),
    ]


def test_drift_triggers_train_with_valid_conf(dagbag):
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    drift = dagbag.dags["telco_drift"]
    trig = drift.task_dict["trigger_retrain"]
    assert isinstance(trig, TriggerDagRunOperator)
    assert trig.trigger_dag_id == "telco_train"
    assert trig.conf["force_retrain"] is True
    day = '{{ ti.xcom_pull(task_ids="ingested_day") }}'
    assert trig.logical_date == day and trig.trigger_run_id == f"drift__{day}"
    train_params = dagbag.dags["telco_train"].params
    assert set(trig.conf) <= set(train_params.dump())
    assert with_conf(train_params, trig.conf).dump()["force_retrain"] is True
    gate = drift.task_dict["drift_detected"]
    assert gate.python_callable({"drift": True, "retrain": True, "alerts": []}) is True
    assert gate.python_callable({"drift": True, "retrain": False}) is False
    assert gate.python_callable({"drift": False, "retrain": False}) is False
    assert gate.python_callable(None) is False
    assert drift.task_dict["driftcheck"].skip_on_exit_code == [99]


@pytest.mark.parametrize("key", sorted(GO_TASKS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_local_twin_runs_same_program_with_same_args(pod_dagbag, local_dagbag, key):
    """TT_EXECUTOR=local: a BashOperator with the same binary and flags (no --xcom), same XCom/skip."""
    import shlex

    from airflow.providers.standard.operators.bash import BashOperator

    from telco_factory import parse_result

    dag_id, task_id = key
    pod = pod_dagbag.dags[dag_id].task_dict[task_id]
    local = local_dagbag.dags[dag_id].task_dict[task_id]
    assert isinstance(local, BashOperator)
    _, binary = GO_TASKS[key]
    run_line = next(line for line in local.bash_command.splitlines() if '>"$tt_tmp/stdout"' in line)
    argv = shlex.split(run_line.split(" >", 1)[0])
    assert argv[0].endswith(f"/{binary}")
    assert argv[1:] == pod.arguments[:-1]
    assert local.skip_on_exit_code == pod.skip_on_exit_code == [99]
    assert local.do_xcom_push is True
    assert local.output_processor is parse_result
    assert {o.name for o in local.outlets} == {o.name for o in pod.outlets}
    assert local.env["TT_LAKE"] == COMMON_TT["TT_LAKE"]


def test_forecaster_register_promote_arguments(dagbag):
    """forecast starts from FORECAST_MODEL's champion; register makes its run a version; promote decides on MASE."""
    from telco_factory import FORECAST_MODEL

    tasks = dagbag.dags["telco_forecast"].task_dict
    assert f"--model-name={FORECAST_MODEL}" in tasks["forecast"].arguments
    assert f"--name={FORECAST_MODEL}" in tasks["register"].arguments
    assert '--run-id={{ ti.xcom_pull(task_ids="forecast")["mlflow_run_id"] }}' in tasks["register"].arguments
    assert f"--name={FORECAST_MODEL}" in tasks["promote"].arguments
    assert "--metric=mase" in tasks["promote"].arguments
