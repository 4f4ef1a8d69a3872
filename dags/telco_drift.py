"""telco_drift: daily drift check of the features against the champion's training data.

``driftcheck`` compares the day's ``flow_features`` (``ds``), and the champion's
``flow_predictions`` of it when the score task wrote them, with the reference profile saved
beside the champion's bundle (``models:/<name>@champion``, ``reference.json``): KL/JS/PSI per
feature and per app, share changes, ADWIN over daily streams (state carried in ``drift_state``),
emerging services. It commits the metrics to ``drift_metrics`` and prints
``{"drift": …, "retrain": …, "reasons": [...], "alerts": [...]}``. It exits 99 (skipped: no
data for the day, the day already checked, or no champion yet), and then nothing else runs.
When the result says ``retrain``, ``drift_detected`` lets ``trigger_retrain`` start telco_train
with ``force_retrain``; otherwise it short-circuits.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, task

from telco_factory import CLASSIFIER_MODEL, DEFAULT_ARGS, go_task, settings, table_asset

s = settings()


@task.short_circuit
def drift_detected(result: dict | None) -> bool:
    """True when driftcheck's JSON result asks for retraining."""
    return bool(result and result.get("retrain"))


with DAG(
    dag_id="telco_drift",
    description="flow_features of the day vs the champion's reference → drift_metrics (→ retrain)",
    # 06:00 UTC for the day that just ended (after telco_ingest): ds = that day.
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["telcotraffic", "ml", "drift"],
    doc_md=__doc__,
) as dag:
    driftcheck = go_task(
        "driftcheck",
        "driftcheck",
        [
            f"--lake={s.lake}",
            "--day={{ ds }}",
            f"--name={CLASSIFIER_MODEL}",
            "--alias=champion",
        ],
        outlets=[table_asset(s, "drift_metrics")],
        skip_on_exit_code=99,
    )
    gate = drift_detected(driftcheck.output)
    trigger_retrain = TriggerDagRunOperator(
        task_id="trigger_retrain",
        trigger_dag_id="telco_train",
        trigger_run_id="drift__{{ ds }}__{{ run_id }}",
        conf={"force_retrain": True, "reason": "drift"},
        skip_when_already_exists=True,  # a retried drift run does not start a second retrain
        wait_for_completion=False,
    )
    gate >> trigger_retrain
