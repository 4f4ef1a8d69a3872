"""telco_train: train → evaluate → register → promote the service classifier.

Runs when ``flow_features`` gets new data (Asset event from telco_ingest), weekly on Monday
03:00 UTC, and when telco_drift detects drift (with ``force_retrain``).

* ``train`` (tasks/train) reads the newest ``flow_features`` version of the lake (recorded in
  its result and in each bundle's manifest) and writes one model bundle per feature set
  (``sni``, ``no-sni``) under ``<TT_MODELS>/classifier/<run key>``; it exits 99 (task
  *skipped*, and so the rest of the run) when that folder already holds the bundles of that
  version, unless ``force_retrain`` (``--force``).
* ``evaluate`` (tasks/evaluate) scores the bundles on the weeks after their validation window
  and writes its report next to them.
* ``register`` logs the with-SNI bundle and evaluate's report as an MLflow run, registers it
  as a model version tagged with the run's ``reason`` and points the alias ``challenger`` at
  it; ``promote`` moves ``champion`` to the challenger only when it beats the champion by
  more than ``min_gain`` on the same held-out window and passes the guard rails (no class
  collapses, latency budget).

Every task of a run computes the same bundle URI from the run id; register and promote meet
at the ``challenger`` alias, so nothing travels through XCom.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param

from telco_factory import (
    CLASSIFIER_EXPERIMENT,
    CLASSIFIER_MODEL,
    DEFAULT_ARGS,
    RUN_KEY,
    go_task,
    settings,
    table_asset,
)

s = settings()
BUNDLE = f"{s.models}/classifier/{RUN_KEY}"

with DAG(
    dag_id="telco_train",
    description="classifier: train → evaluate → register (challenger) → promote (champion)",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"),
        assets=[table_asset(s, "flow_features")],
    ),
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "force_retrain": Param(False, type="boolean", description="train even if this features version is trained"),
        "train_weeks": Param(4, type="integer", minimum=1, maximum=52, description="training weeks"),
        "val_weeks": Param(1, type="integer", minimum=1, maximum=8, description="validation weeks (stacking)"),
        "test_weeks": Param(1, type="integer", minimum=0, maximum=8, description="later weeks scored by evaluate"),
        "model_name": Param(CLASSIFIER_MODEL, type="string", pattern="^[a-z0-9][a-z0-9-]*$"),
        "min_gain": Param(0.0, type="number", minimum=0, description="macro-F1 gain the challenger needs"),
        "reason": Param("schedule", type="string", description="why this run (schedule, asset, drift, manual)"),
    },
    tags=["telcotraffic", "ml", "classifier"],
    doc_md=__doc__,
) as dag:
    train = go_task(
        "train",
        "train",
        [
            f"--lake={s.lake}",
            f"--out={BUNDLE}",
            "--train-weeks={{ params.train_weeks }}",
            "--val-weeks={{ params.val_weeks }}",
            "--force={{ params.force_retrain }}",
        ],
        size="large",
        execution_timeout=pendulum.duration(hours=6),
    )
    evaluate = go_task(
        "evaluate",
        "evaluate",
        [
            f"--lake={s.lake}",
            f"--model={BUNDLE}",
            f"--out={BUNDLE}/evaluation",
            "--test-weeks={{ params.test_weeks }}",
        ],
        size="large",
    )
    register = go_task(
        "register",
        "register",
        [
            f"--bundle={BUNDLE}/sni",
            f"--report={BUNDLE}/evaluation/report.json",
            f"--experiment={CLASSIFIER_EXPERIMENT}",
            "--name={{ params.model_name }}",
            "--alias=challenger",
            "--tag=reason={{ params.reason }}",
        ],
        size="small",
    )
    promote = go_task(
        "promote",
        "promote",
        [
            "--name={{ params.model_name }}",
            "--metric=macro_f1",
            "--min-delta={{ params.min_gain }}",
        ],
        size="small",
    )
    train >> evaluate >> register >> promote
