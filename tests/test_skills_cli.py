"""`humanoid-rt skill-info` and `humanoid-rt play`, as subprocesses (exit codes and output as a user sees them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from humanoid_rt.skills.cli import EXAMPLES


def run_cli(*args, cwd, timeout=60.0):
    return subprocess.run([sys.executable, "-m", "humanoid_rt.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_skill_info_summarises_and_checks_against_a_robot(tmp_path):
    result = run_cli("skill-info", "wave", "--robot", "generic_humanoid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wave: gesture skill for generic_humanoid (synthetic), 4.000 s" in result.stdout
    assert "right_elbow" in result.stdout and "fits robot generic_humanoid" in result.stdout


def test_skill_info_and_play_reject_a_bad_skill_with_the_field(tmp_path):
    doc = json.loads((EXAMPLES / "wave.skill.json").read_text())
    doc["joints"][2] = "right_elbo"
    path = tmp_path / "bad.skill.json"
    path.write_text(json.dumps(doc))
    result = run_cli("skill-info", str(path), "--robot", "generic_humanoid", cwd=tmp_path)
    assert result.returncode == 2
    assert "joints[2]: unknown joint for this robot" in result.stderr and "(got 'right_elbo')" in result.stderr
    result = run_cli("play", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "joints[2]: unknown joint" in result.stderr
    result = run_cli("play", "wave", "--speed", "-1", cwd=tmp_path)
    assert result.returncode == 2 and "must be a number > 0" in result.stderr


@pytest.mark.realtime
def test_play_runs_a_bundled_skill_to_the_end(tmp_path):
    result = run_cli("play", "squat", "--speed", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "player: DONE" in result.stdout and "supervisor ACTIVE" in result.stdout
