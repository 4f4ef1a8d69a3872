"""Shared fixtures of the DAG tests: an isolated Airflow home, the DagBags, the task binaries.

The Airflow environment is set here, at import time, before anything imports airflow:
AIRFLOW_HOME in a temporary folder, SQLite metadata DB, examples off, the dags/ folder of
this checkout. TT_* variables of the caller are removed so the DAGs parse with their
production defaults unless a test sets them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent
REPO = DAGS.parent
TESTDATA = DAGS / "testdata"

_HOME = Path(tempfile.mkdtemp(prefix="tt-airflow-home-"))
atexit.register(shutil.rmtree, _HOME, True)
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
    # Parsing imports the kubernetes client: slow on a loaded 2-core machine.
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
    "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "600",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
}
os.environ.update(AIRFLOW_ENV)
for _k in [k for k in os.environ if k.startswith("TT_") and k != "TT_UPDATE_GOLDEN"]:
    del os.environ[_k]

AIRFLOW = Path(sys.executable).with_name("airflow")


def load_dagbag(extra_env: dict[str, str] | None = None):
    """Parses dags/ like the dag processor does (BundleDagBag puts dags/ on sys.path)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    saved = dict(os.environ)
    os.environ.update(extra_env or {})
    try:
        return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder")
    finally:
        os.environ.clear()
        os.environ.update(saved)


# The same deployment settings for both modes, so only the executor differs.
COMMON_TT = {
    "TT_LAKE": "s3://test-lake/lake",
    "TT_RAW": "s3://test-lake/raw",
    "TT_MODELS": "s3://test-lake/models",
    "TT_REPORTS": "s3://test-lake/reports",
    "TT_BEAM_RUNNER": "flink",
    "TT_BEAM_ENDPOINT": "jobserver:8099",
}


@pytest.fixture(scope="session")
def dagbag():
    """DAGs parsed in production mode (KubernetesPodOperator), default settings."""
    return load_dagbag()


@pytest.fixture(scope="session")
def pod_dagbag():
    """Production mode with COMMON_TT settings."""
    return load_dagbag({**COMMON_TT, "TT_EXECUTOR": "kubernetes"})


@pytest.fixture(scope="session")
def local_dagbag(tmp_path_factory):
    """Local mode (BashOperator) with COMMON_TT settings."""
    bin_dir = tmp_path_factory.mktemp("bin")
    return load_dagbag({**COMMON_TT, "TT_EXECUTOR": "local", "TT_BIN_DIR": str(bin_dir)})


@pytest.fixture(scope="session")
def airflow_db():
    """`airflow db migrate` once per session; returns the SQLite path."""
    proc = subprocess.run(
        [str(AIRFLOW), "db", "migrate"], env=dict(os.environ), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    # The pools the DAGs name, from the file production imports (infra/airflow/pools.json).
    from telco_factory import POOLS_FILE

    proc = subprocess.run(
        [str(AIRFLOW), "pools", "import", str(POOLS_FILE)],
        env=dict(os.environ), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, f"airflow pools import failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return _HOME / "airflow.db"


def go_binary(name: str, pkg: str) -> Path:
    """<repo>/bin/<name>, built with `go build` from ./<pkg> when missing."""
    exe = REPO / "bin" / name
    if not exe.exists():
        go = shutil.which("go")
        assert go, f"{exe} missing and no `go` on PATH to build it"
        proc = subprocess.run(
            [go, "build", "-o", str(exe), f"./{pkg}"], cwd=REPO, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, f"go build ./{pkg} failed:\n{proc.stderr}"
    return exe


def dags_test(dag_id: str, logical_date: str, env: dict[str, str], conf: dict | None = None, timeout=1200):
    """Runs `airflow dags test` in a subprocess with env added; returns the CompletedProcess."""
    cmd = [str(AIRFLOW), "dags", "test", dag_id, logical_date]
    if conf is not None:
        cmd += ["-c", json.dumps(conf)]
    full_env = {**os.environ, **env}
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout, cwd=_HOME)
    if proc.returncode != 0 and DEADLINE_DAGS_TEST_BUG in proc.stderr and "DeadlineAlertModel.get_by_id" in proc.stderr:
        # Airflow 3.3.2 bug apache/airflow#73428 (open; fix proposed in #73430): `airflow dags
        # test` of a DAG with a DeadlineAlert (telco_ingest, telco_train) crashes after the run
        # succeeded, in DagRun.update_state pruning the deadlines: its in-memory scheduler DAG
        # holds the encoded alerts where the scheduler's holds their ids. The scheduler is not
        # affected. Only that exact failure is forgiven; the tests still check every task's state.
        proc.returncode = 0
        proc.stderr += "\n[dags_test] exit 1 from apache/airflow#73428 (deadline pruning) ignored\n"
    return proc


DEADLINE_DAGS_TEST_BUG = "'dict' object has no attribute 'hex'"


class MetaDB:
    """Read-only queries on the SQLite metadata DB of the session."""

    def __init__(self, path: Path):
        self.path = path

    def _rows(self, sql, *args):
        con = sqlite3.connect(self.path)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def run_ids(self, dag_id: str) -> list[str]:
        return [r[0] for r in self._rows("select run_id from dag_run where dag_id=? order by id", dag_id)]

    def states(self, dag_id: str, run_id: str) -> dict[str, str]:
        rows = self._rows("select task_id, state from task_instance where dag_id=? and run_id=?", dag_id, run_id)
        return dict(rows)

    def xcom(self, dag_id: str, run_id: str, task_id: str):
        rows = self._rows(
            "select value from xcom where dag_id=? and run_id=? and task_id=? and key='return_value'",
            dag_id,
            run_id,
            task_id,
        )
        return json.loads(rows[0][0]) if rows else None

    def asset_events(self, asset_name: str, dag_id: str, run_id: str) -> int:
        rows = self._rows(
            "select count(*) from asset_event e join asset a on a.id = e.asset_id "
            "where a.name=? and e.source_dag_id=? and e.source_run_id=?",
            asset_name,
            dag_id,
            run_id,
        )
        return rows[0][0]

    def queued_consumers(self, asset_name: str) -> set[str]:
        """DAGs the scheduler will run for an Asset's events (asset_dag_run_queue)."""
        rows = self._rows(
            "select q.target_dag_id from asset_dag_run_queue q join asset a on a.id = q.asset_id where a.name=?",
            asset_name,
        )
        return {r[0] for r in rows}


def reserialize(env: dict[str, str], unpause: tuple[str, ...] = ()) -> None:
    """`airflow dags reserialize`: every DAG in the metadata DB as the dag processor keeps it, then
    `airflow dags unpause` of some: an Asset event queues the unpaused DAGs scheduled on it."""
    for cmd in (["dags", "reserialize"], *(["dags", "unpause", d] for d in unpause)):
        proc = subprocess.run(
            [str(AIRFLOW), *cmd], env={**os.environ, **env}, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, f"airflow {' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


class Webhook:
    """A local HTTP listener on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self):
        import http.server
        import threading

        self.posts: list[dict] = []
        self.headers: list[dict] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.headers.append(dict(self.headers))
                hook.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/telco"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def conn_env(self, password: str = "") -> dict[str, str]:
        """AIRFLOW_CONN_TELCO_ALERTS pointing at this listener."""
        conn = {"conn_type": "http", "host": self.url}
        if password:
            conn["password"] = password
        return {"AIRFLOW_CONN_TELCO_ALERTS": json.dumps(conn)}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def metadb(airflow_db):
    return MetaDB(airflow_db)


@contextlib.contextmanager
def running_mlflow(home: Path):
    """A real `mlflow server` ($TELCO_MLFLOW, else the project venv's) on a free 127.0.0.1 port,
    SQLite backend and proxied artifacts under home; yields its URI."""
    import socket
    import time
    import urllib.request

    exe = os.environ.get("TELCO_MLFLOW") or str(REPO / ".venv" / "bin" / "mlflow")
    assert Path(exe).exists(), f"{exe} not found: run `make setup` (or set TELCO_MLFLOW)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(home / "server.log", "wb")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen(
        [exe, "server", "--backend-store-uri", f"sqlite:///{home}/mlflow.db", "--artifacts-destination",
         str(home / "artifacts"), "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=home, stdout=log, stderr=log, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"},
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, (home / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """One MLflow server for the session's serving tests."""
    with running_mlflow(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture(scope="module")
def drift_mlflow_server(tmp_path_factory):
    """A second server, so the drift tests' champion is theirs alone."""
    with running_mlflow(tmp_path_factory.mktemp("mlflow-drift")) as uri:
        yield uri
