"""telco_train: train → evaluate → register → promote the service classifier.

Runs when training can change something: weekly on Monday 03:00 UTC, and when telco_drift
detects drift (it triggers this DAG with ``force_retrain`` and ``reason=drift``). It does not
run on every daily ``flow_features`` update: a daily retrain would register a near-identical
version each day.

* ``train`` (tasks/train) reads the newest ``flow_features`` version of the lake with a moving
  window ``--as-of={{ ds }}``: the latest ``train_weeks`` + ``val_weeks`` + ``test_weeks``
  weeks complete on the run's logical date (training, validation, then the test weeks left for
  evaluate), so every run learns from the most recent traffic. It writes one model bundle per
  feature set (``sni``, ``no-sni``) under ``<TT_MODELS>/classifier/<run key>`` (local or
  ``s3://``, through the lake's storage layer) and exits 99 (task *skipped*, and so the rest of
  the run) when the newest registered version of ``model_name`` learned from the same
  ``flow_features`` version and window, unless ``force_retrain`` (``--force``).
  Validation and test are flows held out by id (one in ten each) of the newest training weeks
  (``held_out_rows``, train ``--held-out-rows``; test window ``<week>/held-out``): a Monday's
  model learns from the week that just ended, where with validation and test weeks after the
  training weeks it learned a change two weeks late.
  With ``--experiment`` it logs its own MLflow run (params, validation scores, the sequence
  net's per-epoch history, both bundles as the run's model) and returns its ``mlflow_run_id``.
* ``evaluate`` (tasks/evaluate) scores the bundles on their test weeks, writes its report
  next to them and logs the evaluation and the report to train's run (``--run-id``).
* ``register`` only registers: it makes train's run a model version tagged with the run's
  ``reason`` and scores and points the alias ``challenger`` at it; ``promote`` moves
  ``champion`` to the challenger only when it beats
  the champion by more than ``min_gain`` on the same held-out window, on macro-F1 *without SNI*
  (what serving sees under ECH, and not saturated: with SNI both score ≈1.0 and no challenger
  could ever win) and passes the guard
  rails (no class collapses, latency budget). When the champion was evaluated on an older
  window, promote scores it again on the challenger's window itself (``--lake``: the
  champion's registered bundle on the lake) and logs that evaluation as a run of its own.

Serving: telco_ingest's ``score`` task applies ``models:/<model_name>@champion`` to each
day's flows as soon as that day's features are in; the next day scores with a champion
promoted here.

Every task of a run computes the same bundle URI from the run id; train's MLflow run id is
the one XCom (evaluate and register pull it); register and promote meet at the ``challenger``
alias.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param

from telco_alerts import deadline
from telco_factory import (
    CLASSIFIER_EXPERIMENT,
    CLASSIFIER_MODEL,
    DEFAULT_ARGS,
    RUN_KEY,
    go_task,
    ingest_sensor,
    ingest_sensors,
    schedule_window,
    settings,
)

s = settings()
BUNDLE = f"{s.models}/classifier/{RUN_KEY}"
# Default window (weeks), e.g. TT_TRAIN_WINDOW=2,1,1 for a replay's short quarter.
TRAIN_WEEKS, VAL_WEEKS, TEST_WEEKS = (int(n) for n in os.environ.get("TT_TRAIN_WINDOW", "4,1,1").split(","))
# The MLflow run train logged the bundles to: evaluate logs its evaluation there, register
# makes it a model version (as telco_forecast's register takes forecast's run).
TRAIN_RUN = '--run-id={{ ti.xcom_pull(task_ids="train")["mlflow_run_id"] }}'

with DAG(
    dag_id="telco_train",
    description="classifier: train → evaluate → register (challenger) → promote (champion)",
    schedule=CronTriggerTimetable("0 3 * * 1", timezone="UTC"),
    **schedule_window(pendulum.datetime(2022, 1, 1, tz="UTC"), timedelta(days=1, hours=3)),
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    # train's own timeout is 6 h; a run not finished 8 h after it was queued (waiting for the
    # heavy pool included) is reported to the webhook of connection telco_alerts.
    deadline=deadline("train-8h", pendulum.duration(hours=8)),
    params={
        "force_retrain": Param(False, type="boolean", description="train even if this features version is trained"),
        "train_weeks": Param(TRAIN_WEEKS, type="integer", minimum=1, maximum=52, description="training weeks"),
        "val_weeks": Param(VAL_WEEKS, type="integer", minimum=1, maximum=8, description="validation weeks (stacking)"),
        "test_weeks": Param(TEST_WEEKS, type="integer", minimum=1, maximum=8, description="weeks left for evaluate"),
        "held_out_rows": Param(
            True,
            type="boolean",
            description="validation and test are flows held out of the newest training weeks (else later weeks)",
        ),
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
            "--as-of={{ ds }}",
            "--train-weeks={{ params.train_weeks }}",
            "--val-weeks={{ params.val_weeks }}",
            "--test-weeks={{ params.test_weeks }}",
            "--held-out-rows={{ params.held_out_rows }}",
            "--model-name={{ params.model_name }}",
            "--force={{ params.force_retrain }}",
            f"--experiment={CLASSIFIER_EXPERIMENT}",
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
            TRAIN_RUN,
        ],
        size="large",
    )
    register = go_task(
        "register",
        "register",
        [
            TRAIN_RUN,
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
            "--metric=macro_f1_no_sni",
            "--min-delta={{ params.min_gain }}",
            f"--lake={s.lake}",
        ],
        size="small",
    )
    # The week (or the drifted day) is ingested: features of the run's day before.
    if ingest_sensors():
        ingest_sensor("wait_for_ingest", "features", day_before=True) >> train
    train >> evaluate >> register >> promote
