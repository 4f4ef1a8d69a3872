"""The bash command of a local-mode task, executed for real against stub programs.

Proves the XCom/exit-code parity of the BashOperator twin without Airflow: the command's last
stdout line is the program's JSON result (return.json when the program wrote one at
$TT_XCOM_PATH, else its last stdout line), the program's own stdout goes to stderr (the log),
and exit codes 0 / 1 / 99 pass through unchanged.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from telco_factory import local_command, parse_result, settings

STUB = """#!/bin/sh
echo "progress: $*" >&2
echo "some earlier line"
if [ -n "$STUB_XCOM" ]; then printf '%s' "$STUB_XCOM" > "$TT_XCOM_PATH"; fi
echo "$STUB_RESULT"
exit "${STUB_RC:-0}"
"""


@pytest.fixture
def stub_bin(tmp_path) -> Path:
    exe = tmp_path / "bin" / "stub"
    exe.parent.mkdir()
    exe.write_text(STUB)
    exe.chmod(0o755)
    return exe.parent


def run(bin_dir: Path, env: dict[str, str], args=("--a=1", "--b=x y")):
    s = settings({"TT_EXECUTOR": "local", "TT_BIN_DIR": str(bin_dir)})
    cmd = local_command(s, "stub", list(args))
    return subprocess.run(["bash", "-c", cmd], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True)


def test_last_stdout_line_is_the_result(stub_bin):
    p = run(stub_bin, {"STUB_RESULT": '{"rows": 3}'})
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == '{"rows": 3}'
    assert parse_result(p.stdout) == {"rows": 3}
    assert "progress: --a=1 --b=x y" in p.stderr  # args quoted once, progress reaches the log
    assert "some earlier line" in p.stderr and "some earlier line" not in p.stdout


def test_xcom_file_wins_when_written(stub_bin):
    p = run(stub_bin, {"STUB_RESULT": '{"rows": 3}', "STUB_XCOM": '{"rows": 3, "from": "file"}'})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[-1]) == {"rows": 3, "from": "file"}


@pytest.mark.parametrize("rc", [1, 99])
def test_exit_codes_pass_through(stub_bin, rc):
    p = run(stub_bin, {"STUB_RESULT": "{}", "STUB_RC": str(rc)})
    assert p.returncode == rc
    assert p.stdout == ""  # no XCom on failure/skip


def test_missing_binary_fails_with_message(tmp_path):
    p = run(tmp_path, {})
    assert p.returncode == 1
    assert "missing: build it" in p.stderr


def test_temp_dir_removed(stub_bin, tmp_path):
    p = run(stub_bin, {"STUB_RESULT": "{}", "TMPDIR": str(tmp_path)})
    assert p.returncode == 0
    assert not list(tmp_path.glob("tt-task.*"))


def test_parse_result():
    assert parse_result("") is None
    assert parse_result('{"a": 1}\n') == {"a": 1}
    with pytest.raises(json.JSONDecodeError):
        parse_result("not json")


def test_settings_validation():
    with pytest.raises(ValueError):
        settings({"TT_EXECUTOR": "celery"})
    s = settings({})
    assert s.executor == "kubernetes" and s.lake == "s3://telco-lake/lake" and s.beam_runner == "flink"
    loc = settings({"TT_EXECUTOR": "local"})
    assert loc.beam_runner == "prism" and loc.beam_endpoint == "" and loc.lake.endswith("/.demo/lake")


def test_single_quotes_inside_templates_are_refused():
    s = settings({"TT_EXECUTOR": "local"})
    with pytest.raises(ValueError, match="double quotes"):
        local_command(s, "x", ["--v={{ ti.xcom_pull(task_ids='a') }}"])
    local_command(s, "x", ['--v={{ ti.xcom_pull(task_ids="a") }}', "--name=it's fine without a template"])


def test_templates_survive_shell_quoting():
    """The quoted command still holds each template intact, so Jinja renders it."""
    import jinja2

    from telco_factory import RUN_KEY

    s = settings({"TT_EXECUTOR": "local", "TT_BIN_DIR": "/b"})
    cmd = local_command(s, "x", [f"--out=/m/{RUN_KEY}", '--v={{ ti["v"] }}'])
    out = jinja2.Template(cmd).render(run_id="scheduled__2022-01-03T01:00:00+00:00", ti={"v": 7})
    assert "/b/x '--out=/m/scheduled__2022-01-03T010000_0000' '--v=7'" in out
