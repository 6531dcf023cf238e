"""`humanoid-rt demo --bus ethercat-virtual` without root: says why, exits non-zero (no root needed to test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from humanoid_rt import cli


def test_without_root_the_demo_says_so_and_exits_non_zero(monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert cli.main(["demo", "--bus", "ethercat-virtual", "--seconds", "1"]) == 3
    err = capsys.readouterr().err
    assert "needs root" in err and "CAP_NET_RAW" in err


@pytest.mark.realtime
def test_demo_on_the_virtual_line_reports_ethercat_statistics(tmp_path):
    from humanoid_rt.ethercat import have_privileges

    ok, why = have_privileges()
    if not ok:
        pytest.skip(why)
    out = tmp_path / "demo.json"
    # A fresh process, as a user runs it: SOEM keeps process-wide settings that other tests change.
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "demo", "--bus", "ethercat-virtual", "--seconds", "2",
                          "--json", str(out)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    # Known (issue 5): on the Python emulator the run often ends in FAULT (a knee past its hard limit at
    # 500 Hz); the demo then exits 1 naming the supervisor's transitions, and the report is still written.
    assert run.returncode in (0, 1), run.stderr
    if run.returncode == 1:
        assert "the supervisor stopped the robot" in run.stderr
    report = json.loads(out.read_text())
    legs = report["ethercat"]["legs"]
    assert legs["slaves"] == 12 and legs["expected_wkc"] == 36 and legs["frames_sent"] > 0
    assert {"wkc_errors", "lost_frames", "round_trip_us"} <= set(legs)
    assert report["realtime_allocations"] == 0
    assert "EtherCAT legs" in run.stdout
