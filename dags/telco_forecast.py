"""telco_forecast: 24 h capacity forecast per service, then the static report.

Runs after each update of ``traffic_hourly`` (Asset event from telco_ingest, daily).
``forecast`` (tasks/forecast) trains the gradient-boosted forecaster on the newest
``traffic_hourly`` version of the lake, backtests it against the seasonal-naive baselines,
and writes the next day's forecasts with 80/95 % intervals and capacity alerts (the
``forecasts`` table; its files under ``<TT_MODELS>/forecast/<run key>``), and logs the run
to MLflow (experiment ``FORECAST_EXPERIMENT``: params, backtest scores, the ``traffic_hourly``
version read and the ``forecasts`` version written, the files as artifacts; the run id and
page are in its result). The forecaster is the registered model ``FORECAST_MODEL``: forecast
starts from the settings of its ``champion`` version (none yet: its defaults; flags given
override them) and logs its settings as the run's model and its backtest days as the
evaluation window, and scores the champion on the same backtest days (this run when the
settings are the champion's, else a run of its own attached to the champion). ``register``
makes the run's model a new version (alias ``challenger``) and ``promote`` moves
``champion`` to it when its backtest MASE is lower.
``report`` (tasks/report) renders the operator's report, one self-contained HTML page, from the
lake's tables at their latest versions (named on the page) and MLflow (the ``CLASSIFIER_MODEL``
champion's evaluation, model versions, the ``FORECAST_EXPERIMENT`` runs) to
``<TT_REPORTS>/telco_forecast/<run key>/report.html``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from telco_factory import (
    CLASSIFIER_MODEL,
    DEFAULT_ARGS,
    FORECAST_EXPERIMENT,
    FORECAST_MODEL,
    RUN_KEY,
    go_task,
    settings,
    table_asset,
)

s = settings()

with DAG(
    dag_id="telco_forecast",
    description="traffic_hourly → 24 h forecast with intervals → forecasts, report; register, promote on MASE",
    schedule=[table_asset(s, "traffic_hourly")],
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["telcotraffic", "ml", "forecast"],
    doc_md=__doc__,
) as dag:
    forecast = go_task(
        "forecast",
        "forecast",
        [
            f"--lake={s.lake}",
            f"--out={s.models}/forecast/{RUN_KEY}",
            "--backtest-weeks=4",
            f"--experiment={FORECAST_EXPERIMENT}",
            f"--model-name={FORECAST_MODEL}",
        ],
        size="large",
        outlets=[table_asset(s, "forecasts")],
    )
    register = go_task(
        "register",
        "register",
        [
            f"--name={FORECAST_MODEL}",
            '--run-id={{ ti.xcom_pull(task_ids="forecast")["mlflow_run_id"] }}',
            "--alias=challenger",
        ],
        size="small",
    )
    promote = go_task(
        "promote",
        "promote",
        [f"--name={FORECAST_MODEL}", "--metric=mase"],
        size="small",
    )
    report = go_task(
        "report",
        "report",
        [
            f"--lake={s.lake}",
            f"--out={s.reports}/telco_forecast/{RUN_KEY}/report.html",
            f"--model-name={CLASSIFIER_MODEL}",
            f"--forecast-experiment={FORECAST_EXPERIMENT}",
        ],
        size="small",
    )
    forecast >> report
    forecast >> register >> promote
