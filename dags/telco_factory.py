"""Shared building blocks of the TelcoTraffic DAGs (Airflow 3 only).

Every stage of the chain is a small Go program (``tasks/<name>``, ``beam/cmd/pipeline``)
that follows one contract (README, Architecture): configuration from flags, services from
``MLFLOW_TRACKING_URI``/``MLFLOW_TRACKING_*`` and ``AWS_*``, progress on stderr, a one-line JSON
result as the last line of stdout (with ``--xcom`` also in ``/airflow/xcom/return.json``), exit
0 = done, 1 = failed, 99 = nothing to do (the task is marked *skipped*).

:func:`go_task` turns one such program into one Airflow task:

* production (default): a ``KubernetesPodOperator`` running the task's image with the same
  flags, ``--xcom`` appended and ``do_xcom_push=True`` (the sidecar pushes ``return.json``),
  service credentials from Kubernetes secrets, requests/limits, ``skip_on_exit_code=99``;
* ``TT_EXECUTOR=local`` (read while the DAG file is parsed): a ``BashOperator`` running the
  same binary from a local bin dir (``TT_BIN_DIR``, default ``<repo>/bin``) with the same
  flags. The program's stdout goes to a temporary file; its JSON result (``$TT_XCOM_PATH`` if
  the program wrote it there, else the last stdout line, which the contract makes identical)
  is the command's last output line, and ``output_processor=json.loads`` pushes it as a dict,
  so downstream templates such as ``ti.xcom_pull(task_ids='train')['run_id']`` behave the same
  in both modes.

Everything a task reads or writes is a lake URI, a Delta version or an MLflow object; no file
path is handed from one task to the next.

Settings come from environment variables at parse time (no Airflow Variables at top level,
so parsing makes no metadata-DB calls):

=====================  ===============================================  =====================
variable               meaning                                          default
=====================  ===============================================  =====================
TT_EXECUTOR            ``kubernetes`` or ``local``                      ``kubernetes``
TT_NAMESPACE           namespace of the task pods                       ``telco-tasks``
TT_SERVICE_ACCOUNT     service account of the task pods                 ``telco-task``
TT_IMAGE_REGISTRY      registry/prefix of the task images               see ``DEFAULTS``
TT_IMAGE_TAG           tag of every task image (pin per release)        see ``DEFAULTS``
TT_LAKE                lake root (``s3://bucket/prefix`` or a path)     s3 / ``<repo>/.demo/lake``
TT_RAW                 raw CESNET-format dataset root                   s3 / ``<repo>/.demo/raw``
TT_MODELS              model bundles and evaluation reports root        s3 / ``<repo>/.demo/models``
TT_REPORTS             static dashboard root                            s3 / ``<repo>/.demo/reports``
TT_MLFLOW_URI          MLflow tracking URI given to the pods            in-cluster service
TT_BEAM_RUNNER         Beam runner of the pipeline image                ``flink`` / ``prism``
TT_BEAM_ENDPOINT       Beam job server (Flink) ``host:port``            in-cluster service
TT_BEAM_WORKER_POOL    EXTERNAL environment (Go SDK worker pool)        ``localhost:50000``
TT_BIN_DIR             local mode: folder with the task binaries        ``<repo>/bin``
TT_REPLAY_START/END    replay (``make replay``): first/last day         unset (production)
                       (YYYY-MM-DD) scheduled with catchup
TT_INGEST_SENSORS      ``1``: drift/train wait for the day's ingest         on in a replay, else off
TT_SENSOR_POKE         seconds between the ingest sensors' pokes        ``60``
TT_DEADLINE            seconds: replaces every DAG's deadline (tests)   unset
TT_ARGS_<BINARY>       extra flags of every task of one binary          unset
                       (``TT_ARGS_TRAIN="--xgb-rounds=120"``; shell
                       words, appended after the DAG's own flags)
=====================  ===============================================  =====================
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset

from telco_alerts import notify_failure

REPO = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "namespace": "telco-tasks",
    "service_account": "telco-task",
    "image_registry": "registry.telco.internal/telcotraffic",
    "image_tag": "0.1.0",
    "lake": "s3://telco-lake/lake",
    "raw": "s3://telco-lake/raw/cesnet-tls-year22",
    "models": "s3://telco-lake/models",
    "reports": "s3://telco-lake/reports",
    "mlflow_uri": "http://mlflow.telco-mlflow.svc.cluster.local:5000",
    "beam_endpoint": "beam-jobserver.telco-flink.svc.cluster.local:8099",
    "beam_worker_pool": "localhost:50000",
}

# Kubernetes secrets mounted as environment variables in every task pod (infra/ creates them):
# MLflow basic-auth credentials and the S3 credentials of the lake.
SECRET_MLFLOW = "telco-mlflow-auth"  # MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD
SECRET_AWS = "telco-aws"  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (+ optional AWS_ENDPOINT_URL_S3)

# Container resources per size class (requests, limits). Go honours the cgroup CPU limit for
# GOMAXPROCS; libxgboost's OpenMP uses OMP_NUM_THREADS (set from the CPU limit below).
RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "small": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    "medium": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    "large": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}},
}

# The Delta tables of the lake, one folder each under the lake root.
TABLES = (
    "flows",
    "rejects",
    "traffic_hourly",
    "flow_features",
    "forecasts",
    "drift_metrics",
    "flow_predictions",
    "app_usage_daily",
)

# Names of the registered models and MLflow experiments.
CLASSIFIER_MODEL = "telco-service-classifier"
FORECAST_MODEL = "telco-traffic-forecaster"
CLASSIFIER_EXPERIMENT = "telco-service-classifier"
FORECAST_EXPERIMENT = "telco-traffic-forecast"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    # A task that failed for good posts to the webhook of connection telco_alerts (telco_alerts.py).
    "on_failure_callback": notify_failure,
}

# The pool of the heavy pods: every Beam job (image ``pipeline``: on the Flink session cluster
# in production, in-process on prism locally) and every ``large`` task (train, evaluate, score,
# forecast) takes a slot of HEAVY_POOL, so they queue instead of running at once. Its size is
# declared in infra/airflow/pools.json (``airflow pools import``; the Helm values' migration
# job imports it on every upgrade, the DAG tests import it into their metadata DB). A task that
# names a pool the metadata DB lacks is never scheduled, so the file and the DAGs are tested
# together.
HEAVY_POOL = "telco_heavy"
POOLS_FILE = REPO / "infra" / "airflow" / "pools.json"


def heavy(image: str, size: str) -> bool:
    """Whether a Go task runs in HEAVY_POOL (a Beam job or a ``large`` pod)."""
    return image == "pipeline" or size == "large"


@dataclass(frozen=True)
class Settings:
    """Parse-time settings of the DAGs (see the module docstring)."""

    executor: str
    namespace: str
    service_account: str
    image_registry: str
    image_tag: str
    lake: str
    raw: str
    models: str
    reports: str
    mlflow_uri: str
    beam_runner: str
    beam_endpoint: str
    beam_worker_pool: str
    bin_dir: str

    @property
    def local(self) -> bool:
        return self.executor == "local"


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Reads the settings from ``environ`` (default ``os.environ``) at call time."""
    env = os.environ if environ is None else environ
    executor = env.get("TT_EXECUTOR", "kubernetes").strip().lower() or "kubernetes"
    if executor not in ("kubernetes", "local"):
        raise ValueError(f"TT_EXECUTOR={executor!r}: want 'kubernetes' or 'local'")
    local = executor == "local"
    demo = REPO / ".demo"
    return Settings(
        executor=executor,
        namespace=env.get("TT_NAMESPACE", DEFAULTS["namespace"]),
        service_account=env.get("TT_SERVICE_ACCOUNT", DEFAULTS["service_account"]),
        image_registry=env.get("TT_IMAGE_REGISTRY", DEFAULTS["image_registry"]).rstrip("/"),
        image_tag=env.get("TT_IMAGE_TAG", DEFAULTS["image_tag"]),
        lake=env.get("TT_LAKE", str(demo / "lake") if local else DEFAULTS["lake"]).rstrip("/"),
        raw=env.get("TT_RAW", str(demo / "raw") if local else DEFAULTS["raw"]).rstrip("/"),
        models=env.get("TT_MODELS", str(demo / "models") if local else DEFAULTS["models"]).rstrip("/"),
        reports=env.get("TT_REPORTS", str(demo / "reports") if local else DEFAULTS["reports"]).rstrip("/"),
        mlflow_uri=env.get("TT_MLFLOW_URI", "" if local else DEFAULTS["mlflow_uri"]),
        beam_runner=env.get("TT_BEAM_RUNNER", "prism" if local else "flink"),
        beam_endpoint=env.get("TT_BEAM_ENDPOINT", "" if local else DEFAULTS["beam_endpoint"]),
        beam_worker_pool=env.get("TT_BEAM_WORKER_POOL", DEFAULTS["beam_worker_pool"]),
        bin_dir=env.get("TT_BIN_DIR", str(REPO / "bin")),
    )


def schedule_window(start: Any, offset: timedelta, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``start_date``/``end_date``/``catchup`` of a scheduled DAG.

    Production: ``start`` without catchup. With ``TT_REPLAY_START`` and ``TT_REPLAY_END``
    (``make replay``): the DAG's runs for the days START…END (inclusive), scheduled by Airflow
    with catchup; ``offset`` is the schedule's time of day after the day it runs for (ingest
    01:00 → 1 h; train, Monday 03:00 for the week that ended → 1 day 3 h).
    """
    import pendulum

    env = os.environ if environ is None else environ
    first, last = env.get("TT_REPLAY_START", ""), env.get("TT_REPLAY_END", "")
    if not first or not last:
        return {"start_date": start, "catchup": False}
    first_day = pendulum.parse(first, tz="UTC")
    last_day = pendulum.parse(last, tz="UTC")
    return {"start_date": first_day + offset, "end_date": last_day + offset, "catchup": True}


def ingest_sensors(environ: Mapping[str, str] | None = None) -> bool:
    """Whether telco_drift and telco_train wait for the day's ingest (:func:`ingest_sensor`): always
    in a replay, where catchup starts every DAG's runs at once; else with ``TT_INGEST_SENSORS=1``."""
    env = os.environ if environ is None else environ
    return bool(env.get("TT_REPLAY_START")) or env.get("TT_INGEST_SENSORS", "") == "1"


def ingest_sensor(task_id: str, task: str, day_before: bool):
    """Waits for telco_ingest's ``task`` (success or skipped) of the run's day (``ds``), or of
    the day before it (``day_before``: train runs on Monday for the week that ended Sunday, and
    a drift-triggered train on the day after the drift), instead of assuming it ended by a
    fixed hour."""
    from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

    def ingest_date(logical_date, **_):
        day = logical_date - timedelta(days=1) if day_before else logical_date
        return day.replace(hour=1, minute=0, second=0, microsecond=0)

    return ExternalTaskSensor(
        task_id=task_id,
        external_dag_id="telco_ingest",
        external_task_id=task,
        execution_date_fn=ingest_date,
        allowed_states=["success", "skipped"],
        failed_states=["failed", "upstream_failed"],
        # Poke mode: a rescheduled sensor's late "success" event can reach a busy scheduler after
        # the task was queued again, which then marks it failed (task-state-changed-externally).
        mode="poke",
        poke_interval=float(os.environ.get("TT_SENSOR_POKE", "60")),
        timeout=timedelta(hours=12).total_seconds(),
        retries=0,
    )


def extra_args(binary: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The flags ``TT_ARGS_<BINARY>`` adds to every task of ``binary`` (``-`` → ``_``, upper case):
    a deployment's or a replay's settings (``make replay`` trains cheaper trees on its small days)
    without a second copy of the DAG. Appended last, so a flag given twice takes this value."""
    env = os.environ if environ is None else environ
    return shlex.split(env.get("TT_ARGS_" + binary.upper().replace("-", "_"), ""))


def table_uri(s: Settings, table: str) -> str:
    """URI of one Delta table of the lake."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    return f"{s.lake}/{table}"


def table_asset(s: Settings, table: str) -> Asset:
    """The Airflow Asset of one Delta table.

    Name and URI are *logical* (``telco.<table>``, ``delta://telcotraffic/<table>``) and do not
    depend on where the lake is: Airflow identifies an asset by both, and refuses (marks
    inactive) an asset whose name it already knows with another URI, so a URI derived from
    TT_LAKE would break producers and consumers whenever the lake moves (or per test run).
    One Airflow deployment has one lake; ``table_uri`` says where the table lives.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    return Asset(name=f"telco.{table}", uri=f"delta://telcotraffic/{table}", group="delta", extra={"format": "delta"})


# A path-safe key of the Airflow run (run ids look like scheduled__2022-01-03T01:00:00+00:00):
# outputs that are not Delta tables (model bundles, evaluation reports) live under
# <TT_MODELS>/<kind>/<run key>, so every task of a run computes the same URI and a retry
# overwrites its own try instead of piling up.
RUN_KEY = '{{ run_id | replace(":", "") | replace("+", "_") }}'


def beam_args(s: Settings) -> list[str]:
    """Runner flags of the pipeline binary.

    Production: the Flink job server (``--endpoint``) with Go SDK workers in an EXTERNAL worker
    pool (``boot --worker_pool`` sidecar next to each TaskManager, infra/flink). Local: prism
    embedded in the binary (LOOPBACK, no endpoint).
    """
    args = [f"--runner={s.beam_runner}"]
    if s.beam_endpoint:
        args.append(f"--endpoint={s.beam_endpoint}")
    if s.beam_runner in ("flink", "portable", "universal"):
        args += ["--environment_type=EXTERNAL", f"--environment_config={s.beam_worker_pool}"]
    return args


def image_ref(s: Settings, image: str) -> str:
    """Full reference of a task image (pin the tag per release; a digest also works)."""
    return f"{s.image_registry}/{image}:{s.image_tag}"


def parse_result(output: str) -> Any:
    """``output_processor`` of the local BashOperator: the JSON result line → Python value."""
    output = output.strip()
    if not output:
        return None
    return json.loads(output.splitlines()[-1])


# Environment of every task, rendered per task instance. AIRFLOW_CTX_* are the names the
# BashOperator exports by itself in local mode; the Go tasks tag their MLflow runs with them.
def _context_env(s: Settings) -> dict[str, str]:
    env = {
        "AIRFLOW_CTX_DAG_ID": "{{ dag.dag_id }}",
        "AIRFLOW_CTX_TASK_ID": "{{ task.task_id }}",
        "AIRFLOW_CTX_DAG_RUN_ID": "{{ run_id }}",
        "AIRFLOW_CTX_TRY_NUMBER": "{{ ti.try_number }}",
        "TT_LAKE": s.lake,
    }
    if s.mlflow_uri:
        env["MLFLOW_TRACKING_URI"] = s.mlflow_uri
    return env


def go_task(
    task_id: str,
    image: str,
    args: Sequence[str],
    *,
    binary: str | None = None,
    size: str = "medium",
    env: Mapping[str, str] | None = None,
    outlets: Sequence[Asset] = (),
    skip_on_exit_code: int | None = 99,
    xcom: bool = True,
    execution_timeout: timedelta = timedelta(hours=2),
    **kwargs: Any,
):
    """One Go task program as one Airflow task (KubernetesPodOperator or local BashOperator).

    :param task_id: Airflow task id (also the pod name prefix).
    :param image: image name under ``TT_IMAGE_REGISTRY`` (``generate``, ``pipeline``, ``train`` …).
    :param args: flags of the program; Jinja-templated (``{{ ds }}``, ``{{ params.x }}``,
        ``{{ ti.xcom_pull(...) }}``).
    :param binary: program name inside the image / the bin dir (default: ``image``).
    :param size: ``small``, ``medium`` or ``large`` (see ``RESOURCES``).
    :param env: extra environment (plain values, templated).
    :param outlets: Assets this task updates (the Delta tables it commits to).
    :param skip_on_exit_code: exit code that marks the task skipped (contract: 99).
    :param xcom: push the task's JSON result as XCom ``return_value``.
    :param kwargs: passed through to the operator (``trigger_rule``, ``retries`` …); Beam jobs and
        ``large`` tasks default to ``pool=HEAVY_POOL``.
    """
    s = settings()
    binary = binary or image
    args = [*args, *extra_args(binary)]
    if size not in RESOURCES:
        raise ValueError(f"{task_id}: size {size!r}: want one of {sorted(RESOURCES)}")
    full_env = {**_context_env(s), **(env or {})}
    if heavy(image, size):
        kwargs.setdefault("pool", HEAVY_POOL)
    if s.local:
        return _local_task(
            s, task_id, binary, args, full_env, outlets, skip_on_exit_code, xcom, execution_timeout, **kwargs
        )
    return _pod_task(
        s, task_id, image, binary, args, size, full_env, outlets, skip_on_exit_code, xcom, execution_timeout, **kwargs
    )


def _pod_task(
    s, task_id, image, binary, args, size, env, outlets, skip_on_exit_code, xcom, execution_timeout, **kwargs
):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
    from kubernetes.client import models as k8s

    res = RESOURCES[size]
    env = {"OMP_NUM_THREADS": res["limits"]["cpu"], "OMP_WAIT_POLICY": "passive", **env}
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"tt-{task_id.replace('_', '-')}",
        namespace=s.namespace,  # explicit: never ask the cluster/connection for it
        service_account_name=s.service_account,
        image=image_ref(s, image),
        image_pull_policy="IfNotPresent",
        cmds=[f"/usr/local/bin/{binary}"],
        arguments=[*args, "--xcom"] if xcom else list(args),
        env_vars=[k8s.V1EnvVar(name=k, value=v) for k, v in sorted(env.items())],
        secrets=[
            # Whole secrets as environment variables (envFrom secretRef); optional keys stay unset.
            Secret("env", None, SECRET_MLFLOW),
            Secret("env", None, SECRET_AWS),
        ],
        container_resources=k8s.V1ResourceRequirements(requests=res["requests"], limits=res["limits"]),
        labels={"app.kubernetes.io/part-of": "telcotraffic", "telcotraffic.io/task": binary},
        # Pod Security Standard "restricted" (infra/ labels the namespace so): non-root, no
        # privilege escalation, no capabilities, RuntimeDefault seccomp, for the task container
        # and for the XCom sidecar. The images run as 65532 on a read-only root filesystem;
        # /tmp is an emptyDir.
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=65532,
            run_as_group=65532,
            fs_group=65532,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=_restricted(k8s, read_only=True),
        xcom_sidecar_container_security_context=_restricted(k8s, read_only=True),
        volumes=[k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="2Gi"))],
        volume_mounts=[k8s.V1VolumeMount(name="tmp", mount_path="/tmp")],
        do_xcom_push=xcom,
        skip_on_exit_code=skip_on_exit_code,
        # Keep failed pods (and their logs/events) for debugging; delete the rest.
        on_finish_action="delete_succeeded_pod",
        get_logs=True,
        log_events_on_failure=True,
        reattach_on_restart=True,
        startup_timeout_seconds=600,
        termination_message_policy="FallbackToLogsOnError",
        active_deadline_seconds=int(execution_timeout.total_seconds()),
        execution_timeout=execution_timeout,
        outlets=list(outlets),
        **kwargs,
    )


def _restricted(k8s, read_only: bool):
    return k8s.V1SecurityContext(
        run_as_non_root=True,
        allow_privilege_escalation=False,
        read_only_root_filesystem=read_only,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
    )


def local_command(s: Settings, binary: str, args: Sequence[str], xcom: bool = True) -> str:
    """The bash command of a local task (templated by Airflow before it runs).

    Arguments are shell-quoted before Jinja renders them: a rendered value must not contain
    a single quote (ours are dates, numbers, URIs and names).
    """
    exe = str(Path(s.bin_dir) / binary)
    for a in args:
        if "'" in a and ("{{" in a or "{%" in a):
            # shlex.quote would split the template's own quotes and Jinja could not parse it.
            raise ValueError(f"argument {a!r}: write strings inside templates with double quotes")
    argv = " ".join(shlex.quote(a) for a in [exe, *args])
    lines = [
        "set -euo pipefail",
        f"test -x {shlex.quote(exe)} || {{ echo 'local task: {exe} missing: build it "
        f"(go build -o {s.bin_dir}/{binary} ...)' >&2; exit 1; }}",
        'tt_tmp="$(mktemp -d "${TMPDIR:-/tmp}/tt-task.XXXXXX")"',
        "trap 'rm -rf \"$tt_tmp\"' EXIT",
        'export TT_XCOM_PATH="$tt_tmp/return.json"',
        "rc=0",
        f'{argv} >"$tt_tmp/stdout" || rc=$?',
        'cat "$tt_tmp/stdout" >&2',  # the program's stdout, into the task log
        'if [ "$rc" -ne 0 ]; then exit "$rc"; fi',
    ]
    if xcom:
        lines.append('if [ -s "$TT_XCOM_PATH" ]; then cat "$TT_XCOM_PATH"; echo; else tail -n 1 "$tt_tmp/stdout"; fi')
    return "\n".join(lines) + "\n"


def _local_task(s, task_id, binary, args, env, outlets, skip_on_exit_code, xcom, execution_timeout, **kwargs):
    from airflow.providers.standard.operators.bash import BashOperator

    env = {"OMP_WAIT_POLICY": "passive", **env}
    return BashOperator(
        task_id=task_id,
        bash_command=local_command(s, binary, args, xcom),
        env=dict(env),
        append_env=True,  # MLFLOW_*/AWS_* of the local environment reach the program
        skip_on_exit_code=skip_on_exit_code,
        do_xcom_push=xcom,
        output_processor=parse_result,
        execution_timeout=execution_timeout,
        outlets=list(outlets),
        **kwargs,
    )
