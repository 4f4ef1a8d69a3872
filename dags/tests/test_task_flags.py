"""Every flag a DAG passes to a Go program is a flag the program accepts.

For each Go task of every DAG (production mode, KubernetesPodOperator; test_structure checks
that the local twin runs the same arguments), the program is built once per session from
``tasks/<binary>`` or ``beam/cmd/<binary>`` into a temporary folder, its ``-h`` output is parsed
for flag names, and the names of the DAG's ``--name=value`` arguments (``--xcom`` included) must
all be among them. Templated values are not rendered: only names matter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

# Flags a DAG passes that another branch is adding to its program (binary → flag names):
# telco_vacuum's compact task runs `pipeline --job=compact --week=YYYY-Www`, whose --week the
# compaction work brings to beam/cmd/pipeline. The test below fails as soon as the program
# accepts one of them, so the entry goes with the merge.
PENDING_FLAGS: dict[str, set[str]] = {}

# Go's flag usage lists each flag as "  -name [type]" at the start of a line.
FLAG_LINE = re.compile(r"^  -([A-Za-z0-9][\w.-]*)", re.MULTILINE)


def program_package(binary: str) -> str | None:
    """The Go main package of a task binary, relative to the repo, or None."""
    for pkg in (f"tasks/{binary}", f"beam/cmd/{binary}"):
        if (REPO / pkg / "main.go").is_file():
            return pkg
    return None


def flag_names(args) -> list[str]:
    """Names of the flags in a program's arguments (``--a=1`` and ``-a`` → ``a``)."""
    return [a.lstrip("-").split("=", 1)[0] for a in args if a.startswith("-")]


def go_tasks(dagbag):
    """(dag_id, task_id, binary, arguments) of every Go task of every DAG."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    for dag_id in sorted(dagbag.dags):
        for task in dagbag.dags[dag_id].tasks:
            if isinstance(task, KubernetesPodOperator):
                yield dag_id, task.task_id, Path(task.cmds[0]).name, list(task.arguments)


@pytest.fixture(scope="session")
def program_flags(tmp_path_factory):
    """binary → the flag names its ``-h`` lists; each program is built once per session."""
    bin_dir = tmp_path_factory.mktemp("task-bin")
    cache: dict[str, set[str]] = {}

    def flags(binary: str) -> set[str]:
        if binary not in cache:
            go = shutil.which("go")
            assert go, "no `go` on PATH to build the task programs"
            exe = bin_dir / binary
            pkg = program_package(binary)
            proc = subprocess.run(
                [go, "build", "-o", str(exe), f"./{pkg}"], cwd=REPO, capture_output=True, text=True, timeout=900
            )
            assert proc.returncode == 0, f"go build ./{pkg} failed:\n{proc.stderr}"
            proc = subprocess.run([str(exe), "-h"], capture_output=True, text=True, timeout=120)
            usage = proc.stdout + proc.stderr
            names = set(FLAG_LINE.findall(usage))
            assert "xcom" in names, f"`{binary} -h` (exit {proc.returncode}) lists no --xcom; usage:\n{usage}"
            cache[binary] = names
        return cache[binary]

    return flags


def test_flag_names():
    args = ["--lake=s3://b/{{ ds }}", "--force={{ params.force_retrain }}", "-v", "--xcom", "value"]
    assert flag_names(args) == ["lake", "force", "v", "xcom"]
    usage = "Usage of x:\n  -lake string\n    \tlake root\n  -v\tverbose\n  -xcom\n    \tresult\n"
    assert set(FLAG_LINE.findall(usage)) == {"lake", "v", "xcom"}


def test_every_go_task_has_a_program(dagbag):
    """No excuses: every program a DAG runs is a Go main of this repo."""
    binaries = {b for _, _, b, _ in go_tasks(dagbag)}
    assert binaries, "no Go tasks found in the DAGs"
    missing = {b for b in binaries if program_package(b) is None}
    assert not missing, f"DAG tasks run programs that are not in tasks/ or beam/cmd/: {missing}"


def test_dag_flags_are_accepted_by_the_programs(dagbag, program_flags):
    mismatches, checked = [], 0
    for binary, names in PENDING_FLAGS.items():
        landed = names & program_flags(binary)
        assert not landed, f"{binary} accepts {landed} now: remove them from PENDING_FLAGS so they are checked"
    for dag_id, task_id, binary, args in go_tasks(dagbag):
        accepted = program_flags(binary) | PENDING_FLAGS.get(binary, set())
        unknown = [n for n in flag_names(args) if n not in accepted]
        if unknown:
            mismatches.append(f"{dag_id}.{task_id} ({binary}): " + ", ".join(f"--{n}" for n in unknown))
        checked += 1
    assert checked >= 8, f"only {checked} Go tasks checked"
    assert not mismatches, "DAG arguments the programs do not accept:\n" + "\n".join(mismatches)
