"""The `humanoid-rt` command line: help, check-config, argument validation, demo and doctor JSON.

Commands run as subprocesses (`python -m humanoid_rt.cli`) so exit codes, stdout and
stderr are exactly what a user sees. The demo runs the loop in real time, so those
tests are marked realtime and assert behaviour only (keys, final state, roughly how
many cycles ran), never latency or duration figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import humanoid_rt

BUNDLED_DIR = Path(humanoid_rt.__file__).resolve().parent / "robots" / "generic_humanoid"

DEMO_OPTIONS = ("--seconds", "--rate", "--bus", "--robot", "--priority", "--cpu", "--json")
PERCENTILE_KEYS = ("p50_us", "p99_us", "p999_us", "max_us")


def run_cli(*args: str, cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess:
    # cwd is a temporary directory so `-m` cannot pick up a source checkout instead of the
    # installed package.
    return subprocess.run(
        [sys.executable, "-m", "humanoid_rt.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


# ----------------------------------------------------------------------------- help


def test_top_level_help_lists_every_subcommand(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("demo", "check-config", "doctor"):
        assert command in result.stdout


def test_no_subcommand_is_a_usage_error(tmp_path):
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "COMMAND" in result.stderr or "command" in result.stderr


def test_demo_help_mentions_every_option(tmp_path):
    result = run_cli("demo", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in DEMO_OPTIONS:
        assert option in result.stdout, option
    # The allowed rates are listed in the help, not only in the error.
    assert "250, 500, 1000, 2000, 4000" in " ".join(result.stdout.split())


def test_check_config_help_mentions_its_argument(tmp_path):
    result = run_cli("check-config", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "config" in result.stdout
    assert "bundled robot name" in result.stdout


def test_doctor_help_mentions_json(tmp_path):
    result = run_cli("doctor", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--json" in result.stdout
    assert "usage: humanoid-rt doctor" in result.stdout


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "humanoid-rt"
    if not script.exists():
        pytest.skip("humanoid-rt console script not next to this interpreter")
    result = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "check-config" in result.stdout


# ---------------------------------------------------------------------- check-config


def test_check_config_bundled_robot_is_ok(tmp_path):
    result = run_cli("check-config", "generic_humanoid", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert "31 joints" in result.stdout


def test_check_config_bundled_yaml_path_is_ok(tmp_path):
    result = run_cli("check-config", str(BUNDLED_DIR / "robot.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.fixture
def broken_yaml(tmp_path) -> Path:
    """The bundled config with three independent mistakes."""
    config = yaml.safe_load((BUNDLED_DIR / "robot.yaml").read_text())
    config["model"]["urdf"] = str(BUNDLED_DIR / "generic_humanoid.urdf")
    config["joints"][2]["limits"]["velocity_rad_s"] = -1
    config["joints"][5]["stiffness"] = 3.0  # unknown key
    config["loop"]["rate_hz"] = 1234
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_check_config_reports_every_problem_with_allowed_values(tmp_path, broken_yaml):
    result = run_cli("check-config", str(broken_yaml), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "OK" not in result.stdout
    assert "3 problem(s)" in result.stdout
    problems = {line.strip().split(":", 1)[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert set(problems) == {"joints[2].limits.velocity_rad_s", "joints[5].stiffness", "loop.rate_hz"}
    for line in problems.values():
        assert "allowed" in line, line
    assert "> 0" in problems["joints[2].limits.velocity_rad_s"]
    assert "(got -1)" in problems["joints[2].limits.velocity_rad_s"]
    assert "unknown key" in problems["joints[5].stiffness"]
    assert "velocity_rad_s" not in problems["joints[5].stiffness"] and "limits" in problems["joints[5].stiffness"]
    assert "250, 500, 1000, 2000, 4000" in problems["loop.rate_hz"]


@pytest.mark.parametrize(
    "contents, field",
    [("name: x\njoints: [\n", "YAML"), (None, "no such file")],
    ids=["invalid-yaml", "missing-file"],
)
def test_check_config_unreadable_input_exits_1(tmp_path, contents, field):
    path = tmp_path / "robot.yaml"
    if contents is not None:
        path.write_text(contents)
    result = run_cli("check-config", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert field in result.stdout
    assert "allowed" in result.stdout


# ------------------------------------------------------------------ bad demo arguments


@pytest.mark.parametrize(
    "args, option, allowed",
    [
        (("--rate", "1234"), "--rate", "250, 500, 1000, 2000, 4000"),
        (("--rate", "fast"), "--rate", "250, 500, 1000, 2000, 4000"),
        (("--seconds", "-1"), "--seconds", "> 0"),
        (("--seconds", "0"), "--seconds", "> 0"),
        (("--seconds", "abc"), "--seconds", "> 0"),
        (("--seconds", "nan"), "--seconds", "> 0"),
        (("--priority", "0"), "--priority", "1..99"),
        (("--priority", "100"), "--priority", "1..99"),
        (("--bus", "nonsense"), "--bus", "mock"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_demo_rejects_bad_arguments(tmp_path, args, option, allowed):
    # Exit status 2 before any loop starts: the guard timeout is generous and only
    # catches a demo that ran instead of refusing.
    result = run_cli("demo", *args, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert option in result.stderr
    assert allowed in result.stderr
    assert "cycles" not in result.stdout  # no report: nothing ran


# ------------------------------------------------------------------------- demo JSON


@pytest.mark.realtime
@pytest.mark.parametrize("rate_hz", [1000, 4000])
def test_demo_writes_json_report(tmp_path, rate_hz):
    out = tmp_path / "out.json"
    result = run_cli("demo", "--seconds", "1.5", "--rate", str(rate_hz), "--json", str(out), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cycles" in result.stdout
    report = json.loads(out.read_text())

    for key in ("cycles", "overruns", "rate_hz", "wakeup_latency", "compute_time", "final_state"):
        assert key in report, key
    assert isinstance(report["cycles"], int) and report["cycles"] > 0
    # An overrun drops the period boundaries already passed: every overrun skips at least one, and
    # nothing else skips one. (How many overruns a loaded machine causes is measured in bench/.)
    assert isinstance(report["overruns"], int) and isinstance(report["skipped_periods"], int)
    assert report["overruns"] <= report["skipped_periods"] and report["overruns"] <= report["cycles"]
    assert (report["overruns"] == 0) == (report["skipped_periods"] == 0)
    assert report["rate_hz"] == pytest.approx(rate_hz)
    for histogram in ("wakeup_latency", "compute_time"):
        values = report[histogram]
        assert set(PERCENTILE_KEYS) <= set(values), histogram
        for key in PERCENTILE_KEYS:
            assert isinstance(values[key], (int, float)) and not isinstance(values[key], bool), (histogram, key)
            assert values[key] >= 0
        # Consistency of the report (quantiles are monotone), not a timing figure.
        assert values["p50_us"] <= values["p99_us"] <= values["p999_us"] <= values["max_us"], (histogram, values)
    assert report["final_state"] == "DISABLED"

    # The supervisor went through the whole lifecycle. (A stalled streamer on a loaded machine
    # may add a HOLD in between, so only the ends are pinned.)
    transitions = [t.split(" ", 1)[0] for t in report["transitions"]]
    assert transitions[:2] == ["DISABLED->ENABLING", "ENABLING->ACTIVE"], transitions
    assert transitions[-1] == "DAMPING->DISABLED", transitions


# --------------------------------------------------------------------------- doctor


def test_doctor_writes_json_checks(tmp_path):
    out = tmp_path / "doctor.json"
    result = run_cli("doctor", "--json", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert isinstance(report["checks"], list) and report["checks"]
    names = [check["name"] for check in report["checks"]]
    assert "sched_fifo" in names and "mlockall" in names
    for check in report["checks"]:
        assert {"name", "ok", "value", "advice"} <= set(check)
        assert check["ok"] in (True, False, None)  # None: informational, no verdict
        assert check["name"] in result.stdout  # the text report shows the same checks
    assert isinstance(report["realtime_ready"], bool)


def test_demo_exit_code_follows_the_supervisor(monkeypatch, capsys):
    """A demo whose robot the supervisor stopped (FAULT, ESTOP) exits 1 and says why; a clean one exits 0."""
    from humanoid_rt import cli, demo

    for final_state, expected in (("DISABLED", 0), ("FAULT", 1)):
        monkeypatch.setattr(demo, "run_demo", lambda **kw: {"final_state": final_state,
                                                             "transitions": ["ACTIVE->FAULT (drive_fault) at t=1.000s"]})
        assert cli.main(["demo", "--seconds", "1"]) == expected
    assert "the supervisor stopped the robot (FAULT" in capsys.readouterr().err
