"""The Python examples run as shipped (stepped ones only: they finish in a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_stream_example_holds_then_damps_when_the_stream_stops():
    out = run("02_stream_targets.py")
    assert "streaming: ACTIVE" in out
    assert "ACTIVE -> HOLD  (watchdog_expired)" in out
    assert "HOLD -> DAMPING  (hold_timeout)" in out
    assert "DAMPING -> DISABLED  (damping_complete)" in out


def test_fault_injection_example():
    out = run("03_fault_injection.py")
    assert "FAULT: drive_fault on right_hip_pitch, max |tau| now 0.0 Nm" in out
    assert "accepted=False (drive_fault)" in out
    assert "reset -> DISABLED" in out


@pytest.mark.realtime
def test_hold_and_move_example_runs_in_real_time():
    out = run("01_hold_and_move.py")
    assert "ACTIVE" in out and "loop statistics" in out
