"""Render a task's pod spec to YAML with no cluster and compare it with a golden file.

A dummy kubeconfig points at https://127.0.0.1:1 (parsed, never contacted: nothing listens on
port 1, so any API call would fail the test) and the namespace is explicit. The pod is built
with `dry_run=False`, i.e. the same path as a real run (it reads `hook.is_in_cluster` from the
kubeconfig). Regenerate the golden file with TT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import copy
import json
import os
import re
from types import SimpleNamespace

import pytest
import yaml

from conftest import TESTDATA

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: dummy
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: dummy
  user: {token: not-a-real-token}
contexts:
- name: dummy
  context: {cluster: dummy, user: dummy, namespace: not-this-namespace}
current-context: dummy
"""


@pytest.fixture
def dummy_kube(tmp_path, monkeypatch):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(cfg))
    monkeypatch.setenv(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(cfg)}}),
    )
    return cfg


def render_pod(dag, task_id, ds="2022-01-03", xcoms=None):
    from kubernetes.client import ApiClient

    op = copy.deepcopy(dag.task_dict[task_id])
    run_id = f"scheduled__{ds}T01:00:00+00:00"
    xcoms = xcoms or {}
    ti = SimpleNamespace(
        dag_id=dag.dag_id,
        task_id=task_id,
        map_index=-1,
        try_number=1,
        xcom_pull=lambda task_ids=None, **_: xcoms.get(task_ids),
    )
    context = {
        "dag": dag,
        "task": op,
        "ti": ti,
        "task_instance": ti,
        "run_id": run_id,
        "ds": ds,
        "params": dag.params.dump(),
    }
    op.render_template_fields(context)
    pod = op.build_pod_request_obj(context)
    doc = ApiClient().sanitize_for_serialization(pod)
    return pod, doc


def normalize(doc: dict) -> str:
    text = yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)
    # The pod name ends with a random 8-character suffix.
    return re.sub(r"(name: tt-[a-z-]+)-[a-z0-9]{8}\n", r"\1-XXXXXXXX\n", text)


def test_ingest_parse_pod_matches_golden(dagbag, dummy_kube):
    pod, doc = render_pod(dagbag.dags["telco_ingest"], "parse")
    assert pod.metadata.namespace == "telco-tasks"
    assert pod.metadata.labels["airflow_kpo_in_cluster"] == "False"  # read from the dummy kubeconfig
    base = pod.spec.containers[0]
    assert base.args[:5] == [
        "--job=parse",
        "--input=s3://telco-lake/raw/cesnet-tls-year22",
        "--lake=s3://telco-lake/lake",
        "--from=2022-01-03",
        "--to=2022-01-03",
    ]
    env = {e.name: e.value for e in base.env}
    assert env["AIRFLOW_CTX_DAG_RUN_ID"] == "scheduled__2022-01-03T01:00:00+00:00"
    assert env["AIRFLOW_CTX_TASK_ID"] == "parse"
    assert [c.name for c in pod.spec.containers] == ["base", "airflow-xcom-sidecar"]
    assert {v.name for v in pod.spec.volumes} >= {"xcom", "tmp"}
    assert [e.secret_ref.name for e in base.env_from] == ["telco-mlflow-auth", "telco-aws"]

    got = normalize(doc)
    golden = TESTDATA / "pod_telco_ingest_parse.yaml"
    if os.environ.get("TT_UPDATE_GOLDEN") == "1":
        golden.write_text(got)
    assert golden.exists(), f"{golden} missing: run with TT_UPDATE_GOLDEN=1"
    assert got == golden.read_text(), f"pod spec changed; review and regenerate with TT_UPDATE_GOLDEN=1 ({golden})"


def test_train_pods_render_params(dagbag, dummy_kube):
    dag = dagbag.dags["telco_train"]
    _, doc = render_pod(dag, "evaluate", xcoms={"train": {"mlflow_run_id": "0123abcd"}})
    args = doc["spec"]["containers"][0]["args"]
    bundle = "s3://telco-lake/models/classifier/scheduled__2022-01-03T010000_0000"
    assert f"--model={bundle}" in args and f"--out={bundle}/evaluation" in args
    assert "--run-id=0123abcd" in args  # train's MLflow run, from its XCom
    _, doc = render_pod(dag, "promote")
    args = doc["spec"]["containers"][0]["args"]
    assert "--name=telco-service-classifier" in args and "--min-delta=0.0" in args
    _, doc = render_pod(dag, "train")
    res = doc["spec"]["containers"][0]["resources"]
    assert res == {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}
    assert "--force=False" in doc["spec"]["containers"][0]["args"]
