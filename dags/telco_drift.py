"""telco_drift: drift check of each ingested day's features against the champion's training data.

Runs when telco_ingest's ``score`` task has committed a day to ``flow_predictions`` (Asset
``telco.flow_predictions``): the day's features are in and the champion's predictions of them
too, whenever ingest finishes, instead of at an hour that assumes it did. Before the first
champion ``score`` is skipped and emits no event: there is nothing to check against yet.

``ingested_day`` names the day from the triggering Asset event (the ``ds`` of the telco_ingest
run that produced it); a run with a ``day`` param, or with a logical date (manual runs,
``airflow dags test``), checks that day instead. An asset-triggered run that consumed events of
more than one day fails and names them (each needs a run with ``day``), so no day goes
unchecked silently; telco_ingest runs one day at a time, so events arrive one by one.

``driftcheck`` compares the day's ``flow_features``, and the champion's ``flow_predictions`` of
it, with the reference profile saved beside the champion's bundle (``models:/<name>@champion``,
``reference.json``): KL/JS/PSI per feature and per app, share changes, ADWIN over daily
streams (state carried in ``drift_state``), emerging services. It commits the metrics to
``drift_metrics`` and prints ``{"drift": …, "retrain": …, "reasons": [...], "alerts": [...]}``.
It exits 99 (skipped: no data for the day, the day already checked, or no champion yet), and
then nothing else runs. When the result says ``retrain``, ``drift_detected`` lets
``trigger_retrain`` start telco_train with ``force_retrain``; otherwise it short-circuits.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, task

from telco_factory import CLASSIFIER_MODEL, DEFAULT_ARGS, go_task, settings, table_asset

s = settings()
TRIGGER = table_asset(s, "flow_predictions")


def day_of_events(events: Any) -> list[str]:
    """The ingest days (``YYYY-MM-DD``, sorted, distinct) of the triggering Asset events: the
    logical date of each event's source run (telco_ingest: ds)."""
    days = set()
    for asset_events in (events or {}).values():
        for ev in asset_events:
            run = ev.source_dag_run
            if run is None or run.logical_date is None:
                raise ValueError(
                    f"asset event {ev.asset.name} at {ev.timestamp} has no source run with a logical date "
                    "(posted by hand?): trigger telco_drift with conf {'day': 'YYYY-MM-DD'}"
                )
            days.add(pendulum.instance(run.logical_date).in_tz("UTC").to_date_string())
    return sorted(days)


@task
def ingested_day(params: dict | None = None, dag_run=None, triggering_asset_events=None) -> str:
    """The day to check: ``params.day``, else the triggering events' single day, else ``ds``."""
    if params and params.get("day"):
        return params["day"]
    days = day_of_events(triggering_asset_events)
    if len(days) > 1:
        raise ValueError(f"one drift run consumed the events of {len(days)} days {days}: run telco_drift "
                         "with conf {'day': ...} for each")  # fmt: skip
    if days:
        return days[0]
    if dag_run is not None and dag_run.logical_date is not None:
        return pendulum.instance(dag_run.logical_date).in_tz("UTC").to_date_string()
    raise ValueError("no day: no triggering asset event, no logical date and no 'day' param")


@task.short_circuit
def drift_detected(result: dict | None) -> bool:
    """True when driftcheck's JSON result asks for retraining."""
    return bool(result and result.get("retrain"))


DAY = '{{ ti.xcom_pull(task_ids="ingested_day") }}'

with DAG(
    dag_id="telco_drift",
    description="each ingested day's flow_features vs the champion's reference → drift_metrics (→ retrain)",
    schedule=[TRIGGER],
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # drift_state (ADWIN) is carried from day to day, in order
    default_args=DEFAULT_ARGS,
    params={"day": Param("", type="string", pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="day to check")},
    tags=["telcotraffic", "ml", "drift"],
    doc_md=__doc__,
) as dag:
    day = ingested_day()
    driftcheck = go_task(
        "driftcheck",
        "driftcheck",
        [
            f"--lake={s.lake}",
            f"--day={DAY}",
            f"--name={CLASSIFIER_MODEL}",
            "--alias=champion",
        ],
        outlets=[table_asset(s, "drift_metrics")],
        skip_on_exit_code=99,
    )
    day >> driftcheck
    gate = drift_detected(driftcheck.output)
    trigger_retrain = TriggerDagRunOperator(
        task_id="trigger_retrain",
        trigger_dag_id="telco_train",
        # One drift retrain per day, whose logical date is that day: train's --as-of={{ ds }}
        # is the drifted day, not the wall clock (the default logical date would be "now").
        trigger_run_id=f"drift__{DAY}",
        logical_date=DAY,
        conf={"force_retrain": True, "reason": "drift"},
        skip_when_already_exists=True,  # a retried or re-run drift check does not start a second retrain
        wait_for_completion=False,
    )
    gate >> trigger_retrain
