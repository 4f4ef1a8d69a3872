"""infra/ and images/ checked without a cluster: every manifest parses, has the required fields,
round-trips through the official Kubernetes models without losing a field (a misspelt field is
dropped by the models, so it shows up here), and agrees with the DAGs' settings
(dags/telco_factory.py): namespaces, service accounts, secret names, service DNS names and
ports, image names and tags, lake layout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from conftest import REPO
from telco_factory import DEFAULTS, SECRET_AWS, SECRET_MLFLOW, TABLES

INFRA = REPO / "infra"
IMAGES = REPO / "images"
NOT_MANIFESTS = {INFRA / "airflow" / "values.yaml", INFRA / "s3" / "layout.yaml"}
NAMESPACES = {"telco-airflow", "telco-tasks", "telco-mlflow", "telco-flink"}
CLUSTER_SCOPED = {"Namespace"}
MODEL = {  # kind -> Kubernetes python client model
    "Namespace": "V1Namespace",
    "ServiceAccount": "V1ServiceAccount",
    "Role": "V1Role",
    "RoleBinding": "V1RoleBinding",
    "ResourceQuota": "V1ResourceQuota",
    "LimitRange": "V1LimitRange",
    "NetworkPolicy": "V1NetworkPolicy",
    "Secret": "V1Secret",
    "Deployment": "V1Deployment",
    "Service": "V1Service",
    "PersistentVolumeClaim": "V1PersistentVolumeClaim",
}
CRDS = {"FlinkDeployment": "flink.apache.org/v1beta1"}


def manifests() -> list[tuple[Path, dict]]:
    out = []
    for path in sorted(INFRA.rglob("*.yaml")):
        if path in NOT_MANIFESTS:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append((path, doc))
    return out


DOCS = manifests()


def find(kind: str, name: str, namespace: str | None = None) -> dict:
    hits = [
        d
        for _, d in DOCS
        if d["kind"] == kind
        and d["metadata"]["name"] == name
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]
    assert len(hits) == 1, f"{kind} {namespace}/{name}: {len(hits)} found"
    return hits[0]


def key_paths(node, prefix="") -> set[str]:
    paths = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if v is None:
                continue
            p = f"{prefix}.{k}"
            paths.add(p)
            paths |= key_paths(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            paths |= key_paths(v, f"{prefix}[{i}]")
    return paths


def test_manifests_found():
    kinds = {d["kind"] for _, d in DOCS}
    assert kinds == set(MODEL) | set(CRDS), kinds
    assert len(DOCS) >= 25


@pytest.mark.parametrize(
    "path,doc", DOCS, ids=[f"{p.relative_to(INFRA)}:{d['kind']}/{d['metadata']['name']}" for p, d in DOCS]
)
def test_manifest(path, doc):
    from kubernetes.client import ApiClient

    assert {"apiVersion", "kind", "metadata"} <= set(doc)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
    kind = doc["kind"]
    if kind in CLUSTER_SCOPED:
        assert "namespace" not in doc["metadata"]
    else:
        assert doc["metadata"].get("namespace") in NAMESPACES, "namespaced object without one of our namespaces"
    if kind in CRDS:
        assert doc["apiVersion"] == CRDS[kind]
        return
    api = ApiClient()
    obj = api._ApiClient__deserialize(doc, MODEL[kind])
    back = api.sanitize_for_serialization(obj)
    lost = key_paths(doc) - key_paths(back)
    assert not lost, f"fields unknown to {MODEL[kind]} (misspelt?): {sorted(lost)}"
    if kind == "Deployment":
        spec = doc["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        for c in spec["template"]["spec"]["containers"]:
            assert c.get("resources", {}).get("limits"), f"{c['name']}: no limits"
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False
    if kind == "Service":
        sel = doc["spec"]["selector"]
        targets = [
            d
            for _, d in DOCS
            if d["kind"] == "Deployment"
            and d["metadata"]["namespace"] == doc["metadata"]["namespace"]
            and sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert targets, f"service {doc['metadata']['name']} selects no Deployment"
        ports = {p["name"] for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in doc["spec"]["ports"]:
            assert isinstance(p["targetPort"], int) or p["targetPort"] in ports


def test_secret_templates_hold_no_credentials():
    for _, d in DOCS:
        if d["kind"] != "Secret":
            continue
        for key, value in d.get("stringData", {}).items():
            if re.search(r"(SECRET|PASSWORD|KEY_ID|secret-key)", key):
                assert value == "CHANGE-ME", (d["metadata"]["name"], key)
            for m in re.finditer(r"(password|://[^:/]+:)([^@\s]*)", value):
                assert "CHANGE-ME" in m.group(0) or m.group(2) in ("", "CHANGE-ME"), (d["metadata"]["name"], key)
        assert "data" not in d, "base64 data in a template"


def test_task_pods_rbac_and_secrets_match_the_dags():
    assert find("Namespace", "telco-tasks")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    sa = find("ServiceAccount", DEFAULTS["service_account"], DEFAULTS["namespace"])
    assert sa["automountServiceAccountToken"] is False
    for name in (SECRET_MLFLOW, SECRET_AWS):
        find("Secret", name, DEFAULTS["namespace"])
    role = find("Role", "airflow-pod-launcher", DEFAULTS["namespace"])
    rules = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    need = {("pods", "create"), ("pods", "get"), ("pods", "list"), ("pods", "watch"), ("pods", "delete"),
            ("pods/log", "get"), ("pods/exec", "create"), ("events", "list")}  # fmt: skip
    assert need <= rules
    binding = find("RoleBinding", "airflow-pod-launcher", DEFAULTS["namespace"])
    values = yaml.safe_load((INFRA / "airflow" / "values.yaml").read_text())
    worker_sa = values["workers"]["serviceAccount"]["name"]
    assert {"kind": "ServiceAccount", "name": worker_sa, "namespace": "telco-airflow"} in binding["subjects"]


def test_airflow_values_match_the_dag_defaults():
    values = yaml.safe_load((INFRA / "airflow" / "values.yaml").read_text())
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["TT_EXECUTOR"] == "kubernetes"
    for key in ("namespace", "service_account", "image_registry", "image_tag", "lake", "raw", "models", "reports",
                "mlflow_uri"):  # fmt: skip
        assert env[f"TT_{key.upper()}"] == DEFAULTS[key], key
    assert env["TT_BEAM_ENDPOINT"] == DEFAULTS["beam_endpoint"]
    conn = json.loads(env["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    assert conn["extra"]["in_cluster"] is True and conn["extra"]["namespace"] == DEFAULTS["namespace"]
    json.loads(conn["extra"]["xcom_sidecar_container_resources"])
    reqs = (REPO / "dags" / "requirements.txt").read_text()
    assert f"apache-airflow=={values['airflowVersion']}" in reqs
    assert values["dags"]["gitSync"]["subPath"] == "dags"
    assert values["executor"] == "KubernetesExecutor"


def test_mlflow_service_matches_the_tracking_uri():
    uri = urlparse(DEFAULTS["mlflow_uri"])
    svc_name, svc_ns = uri.hostname.split(".")[:2]
    svc = find("Service", svc_name, svc_ns)
    assert uri.port in [p["port"] for p in svc["spec"]["ports"]]
    dep = find("Deployment", "mlflow", svc_ns)
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert uri.hostname in hosts and uri.netloc in hosts
    assert "--serve-artifacts" in args
    assert not any(a.startswith("--default-artifact-root") for a in args)  # would bypass the proxy
    assert any(a.startswith("--artifacts-destination=s3://") for a in args)


def test_beam_job_server_and_worker_pool_match_the_pipeline_flags():
    host, port = DEFAULTS["beam_endpoint"].rsplit(":", 1)
    svc = find("Service", host.split(".")[0], host.split(".")[1])
    assert int(port) in [p["port"] for p in svc["spec"]["ports"]]
    flink = find("FlinkDeployment", "telco-flink", "telco-flink")
    containers = flink["spec"]["taskManager"]["podTemplate"]["spec"]["containers"]
    pool = next(c for c in containers if c["name"] == "beam-worker-pool")
    assert DEFAULTS["beam_worker_pool"] == f"localhost:{pool['ports'][0]['containerPort']}"
    assert pool["image"] == f"{DEFAULTS['image_registry']}/beam-worker-pool:{DEFAULTS['image_tag']}"
    assert {"secretRef": {"name": SECRET_AWS}} in pool["envFrom"]
    find("Secret", SECRET_AWS, "telco-flink")
    job = find("Deployment", "beam-jobserver", "telco-flink")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--job-port={port}" in args
    master = next(a for a in args if a.startswith("--flink-master=")).split("=", 1)[1]
    assert master.startswith(f"{flink['metadata']['name']}-rest.")  # the operator's REST service


def test_lake_layout_matches_the_dags():
    layout = yaml.safe_load((INFRA / "s3" / "layout.yaml").read_text())
    bucket = layout["bucket"]
    assert DEFAULTS["lake"] == f"s3://{bucket}/lake"
    assert DEFAULTS["raw"] + "/" == f"s3://{bucket}/" + next(p for p in layout["prefixes"] if p.startswith("raw/"))
    assert set(layout["prefixes"]["lake/"]["tables"]) == set(TABLES)
    for key in ("models", "reports"):
        assert DEFAULTS[key] == f"s3://{bucket}/{key}" and f"{key}/" in layout["prefixes"]
    for name in ("task-policy.json", "lifecycle.json"):
        json.loads((INFRA / "s3" / name).read_text())


def test_every_image_has_a_containerfile():
    build = (IMAGES / "build.sh").read_text()
    names = re.search(r"^ALL=\(([^)]*)\)", build, re.M).group(1).split()
    files = {p.name.removesuffix(".Containerfile") for p in IMAGES.glob("*.Containerfile")}
    assert set(names) == files
    from test_structure import GO_TASKS

    assert {img for img, _ in GO_TASKS.values()} <= files
    for name in files:
        text = (IMAGES / f"{name}.Containerfile").read_text()
        assert re.search(r"^FROM scratch$", text, re.M), name
        assert re.search(r"^USER 65532:65532$", text, re.M), name
        binary = "/opt/apache/beam/boot" if name == "beam-worker-pool" else f"/usr/local/bin/{name}"
        assert re.search(rf'^ENTRYPOINT \["{re.escape(binary)}"', text, re.M), name


def test_every_dag_image_and_binary_exists(dagbag):
    """Each image a DAG's pod names is one build.sh builds (its Containerfile, in ALL), its
    ENTRYPOINT is the program the pod runs, and that program is a Go main of this repo: a DAG
    naming a missing image or binary fails here, with no list of excused ones."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    build = (IMAGES / "build.sh").read_text()
    built = set(re.search(r"^ALL=\(([^)]*)\)", build, re.M).group(1).split())
    prefix = f"{DEFAULTS['image_registry']}/"
    seen = set()
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            if not isinstance(t, KubernetesPodOperator):
                continue
            where = f"{dag.dag_id}.{t.task_id}"
            assert t.image.startswith(prefix) and t.image.endswith(f":{DEFAULTS['image_tag']}"), (where, t.image)
            name = t.image[len(prefix) :].rsplit(":", 1)[0]
            seen.add(name)
            assert name in built, f"{where}: image {name} is not built by images/build.sh"
            text = (IMAGES / f"{name}.Containerfile").read_text()
            entry = re.search(r'^ENTRYPOINT \["([^"]+)"', text, re.M).group(1)
            assert t.cmds == [entry], f"{where}: runs {t.cmds}, image {name}'s ENTRYPOINT is {entry}"
            pkg = REPO / ("beam/cmd" if name == "pipeline" else "tasks") / Path(entry).name
            assert (pkg / "main.go").is_file(), f"{where}: no Go main {pkg.relative_to(REPO)} for {entry}"
    assert seen == built - {"beam-worker-pool"}, f"images no DAG runs (or runs but not built): {built ^ seen}"


def flink_pod_specs():
    """(where, pod spec) of every pod infra/flink/ runs: Deployments and the FlinkDeployment's
    pod templates (shared one and TaskManager's)."""
    for path, doc in DOCS:
        if path.parent.name != "flink":
            continue
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Deployment":
            yield name, doc["spec"]["template"]["spec"]
        elif doc["kind"] == "FlinkDeployment":
            yield f"{name} podTemplate", doc["spec"]["podTemplate"]["spec"]
            for role in ("jobManager", "taskManager"):
                tpl = doc["spec"][role].get("podTemplate")
                if tpl:
                    yield f"{name} {role}", tpl["spec"]


def test_flink_containers_hardened_like_the_task_pods():
    specs = list(flink_pod_specs())
    assert len(specs) == 3, [w for w, _ in specs]
    for where, spec in specs:
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, where
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, (where, c["name"])
            assert sc.get("readOnlyRootFilesystem") is True, (where, c["name"])
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], (where, c["name"])
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where} {c['name']}: a read-only root needs a writable /tmp"
