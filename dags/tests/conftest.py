"""Shared fixtures of the DAG tests: an isolated Airflow home, the DagBags, the task binaries.

The Airflow environment is set here, at import time, before anything imports airflow:
AIRFLOW_HOME in a temporary folder, SQLite metadata DB, examples off, the dags/ folder of
this checkout. TT_* variables of the caller are removed so the DAGs parse with their
production defaults unless a test sets them.
"""

from __future__ import annotations

import atexit
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
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout, cwd=_HOME)


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


@pytest.fixture(scope="session")
def metadb(airflow_db):
    return MetaDB(airflow_db)
