"""telco_ingest: one day of raw CESNET-format flow files → the Delta tables of the lake.

Daily, for the day of the data interval (``ds``): the Beam pipeline binary runs its three
jobs, parse (raw → ``flows`` + ``rejects``), then aggregate (``flows`` → ``traffic_hourly``)
and features (``flows`` → ``flow_features``) in parallel. Each task emits the Asset of the
tables it commits to; telco_forecast runs on ``traffic_hourly``, telco_train on
``flow_features``. The Delta sink is idempotent per run (txn ids / replace-where per
partition), so retries and re-runs of a day leave the tables as one run would.
Production runs the jobs on the Flink session cluster through the Beam job server; local
mode (``TT_EXECUTOR=local``) on prism inside the binary.

Serving: ``score`` (tasks/score) then classifies every flow of the day with the champion
(``models:/telco-service-classifier@champion``, resolved through the MLflow registry) and
writes ``flow_predictions`` and ``app_usage_daily`` (partition ``day``, replaced when the day
is re-run; the same features version and champion again → exit 99, *skipped*, as before the
first champion). Scoring belongs here, right after the day's features, so each day is served
by the champion of its time; telco_train only moves the champion.

telco_vacuum (this file too), the lake's weekly maintenance, Sundays 04:00 UTC:

* ``compact``: ``pipeline --job=compact --week=YYYY-Www`` rewrites the small files of one ISO
  week's ``week,app`` partitions into few large ones (OPTIMIZE) and vacuums that week. The week
  is the one before the run's week (``run_after`` − 7 days): complete, its Sunday ingested on the
  Monday; Param ``week`` compacts another (a backfill of older weeks). A daily ingest writes one
  file per app and table per day, so a week holds ~7 × apps small files per table.
* ``vacuum``: ``pipeline --job=vacuum`` then deletes the data files of the lake's tables that no
  commit references any more (replaced by re-ingested days or by compaction, or written by runs
  killed before their commit) once they are older than the retention (7 days, Delta's default,
  longer than any run in flight or reader pinned to an older version).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, CronTriggerTimetable, Param

from telco_alerts import deadline
from telco_factory import CLASSIFIER_MODEL, DEFAULT_ARGS, beam_args, go_task, schedule_window, settings, table_asset

s = settings()
DAY = ["--from={{ ds }}", "--to={{ ds }}"]  # one calendar day, both ends inclusive

with DAG(
    dag_id="telco_ingest",
    description="raw flow files of one day → flows, rejects, traffic_hourly, flow_features",
    # Runs at 01:00 UTC for the day that just ended: data interval [D 01:00, D+1 01:00), ds = D.
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
    # backfills: `airflow backfill create --dag-id telco_ingest ...`; replay: TT_REPLAY_START/END
    **schedule_window(pendulum.datetime(2022, 1, 1, tz="UTC"), timedelta(hours=1)),
    max_active_runs=1,  # Delta commits of consecutive days in order
    default_args=DEFAULT_ARGS,
    # The day's tables are due 3 h after the run is queued (the report and the drift check wait
    # on them); later, the webhook of connection telco_alerts hears of it (telco_alerts.py).
    deadline=deadline("ingest-3h", pendulum.duration(hours=3)),
    tags=["telcotraffic", "ingest", "beam"],
    doc_md=__doc__,
) as dag:
    parse = go_task(
        "parse",
        "pipeline",
        ["--job=parse", f"--input={s.raw}", f"--lake={s.lake}", *DAY, *beam_args(s)],
        outlets=[table_asset(s, "flows"), table_asset(s, "rejects")],
    )
    aggregate = go_task(
        "aggregate",
        "pipeline",
        ["--job=aggregate", f"--lake={s.lake}", *DAY, *beam_args(s)],
        outlets=[table_asset(s, "traffic_hourly")],
    )
    features = go_task(
        "features",
        "pipeline",
        ["--job=features", f"--lake={s.lake}", *DAY, *beam_args(s)],
        outlets=[table_asset(s, "flow_features")],
    )
    score = go_task(
        "score",
        "score",
        [f"--lake={s.lake}", "--day={{ ds }}", f"--name={CLASSIFIER_MODEL}"],
        size="large",
        outlets=[table_asset(s, "flow_predictions"), table_asset(s, "app_usage_daily")],
    )
    parse >> [aggregate, features]
    features >> score

# The ISO week before the run's (see above), or params.week.
COMPACT_WEEK = '{{ params.week or (dag_run.run_after - macros.timedelta(days=7)).strftime("%G-W%V") }}'

with DAG(
    dag_id="telco_vacuum",
    description="weekly maintenance of the lake: compact (OPTIMIZE) last week's partitions, then VACUUM",
    # Sundays 04:00 UTC, after the day's ingest and away from Monday's retraining.
    schedule=CronTriggerTimetable("0 4 * * 0", timezone="UTC"),
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"week": Param("", type="string", pattern=r"^(\d{4}-W\d{2})?$", description="ISO week to compact")},
    tags=["telcotraffic", "ingest", "maintenance"],
    doc_md=__doc__,
) as vacuum_dag:
    compact = go_task(
        "compact",
        "pipeline",
        ["--job=compact", f"--lake={s.lake}", f"--week={COMPACT_WEEK}"],
        size="small",
    )
    vacuum = go_task(
        "vacuum",
        "pipeline",
        ["--job=vacuum", f"--lake={s.lake}", "--retention=168h"],
        size="small",
        trigger_rule="none_failed",  # also after compact's exit 99 (the week already compact)
    )
    compact >> vacuum
