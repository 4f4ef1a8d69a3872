"""Failure notifications and deadline alerts of the TelcoTraffic DAGs (Airflow 3 only).

Both post one JSON message to a webhook (Slack/Teams/Mattermost incoming-webhook style: a
``text`` line for humans, the rest for machines) whose URL comes from the Airflow connection
``telco_alerts`` (``ALERTS_CONN_ID``), so the URL, often a secret itself, lives in the
platform's secrets backend and not in the DAG files:

* its ``host`` is the full webhook URL (``https://hooks.example/services/T/B/X``), e.g.
  ``AIRFLOW_CONN_TELCO_ALERTS='{"conn_type": "http", "host": "https://hooks.example/..."}'``;
* an optional ``password`` is sent as ``Authorization: Bearer <password>``.

* :func:`notify_failure` is every task's ``on_failure_callback`` (``DEFAULT_ARGS``): it runs in
  the task's own process when the task fails for good (after its retries).
* :func:`deadline` makes an Airflow 3 ``DeadlineAlert``: when a run is still not finished
  ``interval`` after it was queued, the triggerer awaits :func:`notify_deadline_missed`.

A missing connection is logged as a warning and nothing is sent (development setups); a webhook
that refuses the message is logged as an error. Neither fails the task: the task's own state is
what the callback reports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.request
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "telco_alerts"
WEBHOOK_TIMEOUT = 10  # seconds per post; a callback must not hang its worker


def webhook_target(conn) -> tuple[str, dict[str, str]]:
    """(URL, extra headers) of the webhook a connection names (see the module docstring)."""
    url = (conn.host or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"connection {conn.conn_id!r}: host must be the webhook's full http(s) URL, got {url!r}")
    headers = {}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    return url, headers


def post(url: str, headers: dict[str, str], message: dict[str, Any]) -> int:
    """POSTs message as JSON; returns the HTTP status (raises on a transport error or ≥ 400)."""
    req = urllib.request.Request(
        url,
        data=json.dumps(message, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "telcotraffic-airflow", **headers},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:  # noqa: S310 (http(s) checked above)
        return resp.status


def _send(conn, message: dict[str, Any]) -> bool:
    try:
        url, headers = webhook_target(conn)
        status = post(url, headers, message)
    except Exception as e:  # a broken webhook must not turn into a second failure
        log.error("alert to connection %s not delivered: %s; message: %s", ALERTS_CONN_ID, e, message["text"])
        return False
    log.info("alert sent to connection %s (HTTP %s): %s", ALERTS_CONN_ID, status, message["text"])
    return True


def failure_message(context: dict[str, Any]) -> dict[str, Any]:
    """The webhook message of a failed task instance (its Airflow context)."""
    ti = context["ti"]
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    logical = getattr(dag_run, "logical_date", None)
    msg = {
        "event": "task_failed",
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "map_index": getattr(ti, "map_index", -1),
        "try_number": ti.try_number,
        "logical_date": logical.isoformat() if logical else None,
        "exception": f"{type(exc).__name__}: {exc}" if exc else None,
        "log_url": getattr(ti, "log_url", None),
    }
    msg["text"] = (
        f":red_circle: {msg['dag_id']}.{msg['task_id']} failed (run {msg['run_id']}, try {msg['try_number']})"
        + (f": {msg['exception']}" if exc else "")
    )
    return msg


def notify_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every task: posts :func:`failure_message` to the webhook."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    msg = failure_message(context)
    try:
        conn = Connection.get(ALERTS_CONN_ID)
    except AirflowNotFoundException:
        log.warning("no connection %s: failure alert not sent: %s", ALERTS_CONN_ID, msg["text"])
        return
    _send(conn, msg)


def deadline_message(context: dict[str, Any] | None, deadline_name: str) -> dict[str, Any]:
    """The webhook message of a missed deadline; context is what the scheduler hands the
    triggerer: ``{"dag_run": <DAGRunResponse as JSON>, "deadline": {"id", "deadline_time"}}``."""
    context = context or {}
    run = context.get("dag_run") or {}
    dl = context.get("deadline") or {}
    msg = {
        "event": "deadline_missed",
        "deadline": deadline_name,
        "dag_id": run.get("dag_id"),
        "run_id": run.get("dag_run_id") or run.get("run_id"),
        "state": run.get("state"),
        "queued_at": run.get("queued_at"),
        "deadline_time": dl.get("deadline_time"),
    }
    msg["text"] = (
        f":hourglass: {msg['dag_id']} run {msg['run_id']} missed its deadline {deadline_name!r} "
        f"(due {msg['deadline_time']}, state {msg['state']})"
    )
    return msg


async def notify_deadline_missed(context: dict[str, Any] | None = None, deadline_name: str = "") -> None:
    """``AsyncCallback`` of :func:`deadline` (runs in the triggerer): posts to the webhook."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    msg = deadline_message(context, deadline_name)
    try:
        conn = await Connection.async_get(ALERTS_CONN_ID)
    except AirflowNotFoundException:
        log.warning("no connection %s: deadline alert not sent: %s", ALERTS_CONN_ID, msg["text"])
        return
    await asyncio.to_thread(_send, conn, msg)


def deadline(name: str, interval: timedelta):
    """A DeadlineAlert: the run must finish within ``interval`` of being queued.

    Counted from the queue time, not the logical date: a backfill or catch-up run of an old day
    is measured against its own run time instead of missing its deadline at creation.
    ``TT_DEADLINE`` (seconds, read at parse time) replaces ``interval``: the replay's test sets a
    tiny one so that Airflow's scheduler misses it and the triggerer posts to its webhook.
    """
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    if override := os.environ.get("TT_DEADLINE", "").strip():
        interval = timedelta(seconds=float(override))

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        # A plain timedelta: the DAG serializer refuses pendulum's Duration subclass.
        interval=timedelta(seconds=interval.total_seconds()),
        callback=AsyncCallback(notify_deadline_missed, kwargs={"deadline_name": name}),
        name=name,
    )
