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
    # 1 kHz with the bus's and the supervisor's normal tolerances: the C++ virtual line answers in time.
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["rate_hz"] == 1000 and report["final_state"] == "DISABLED", report["transitions"]
    legs = report["ethercat"]["legs"]
    assert legs["slaves"] == 12 and legs["expected_wkc"] == 36
    assert legs["frames_sent"] >= report["cycles"]  # one frame per cycle (plus bring-up and shutdown)
    assert legs["wkc_errors"] == 0 and legs["bus_faults"] == 0  # every frame that came back, every slave had seen
    assert legs["dc_slaves"] == 12  # distributed clocks on every drive
    rt = legs["round_trip_time"]
    assert 0 < rt["p50_us"] <= rt["p99_us"] <= rt["max_us"]
    emulator = legs["emulator"]
    assert emulator["al_states"] == [8] * 12 and emulator["dropped_frames"] == 0
    assert emulator["process_data_frames"] >= legs["frames_sent"] - legs["lost_frames"]
    assert report["realtime_allocations"] == 0
    assert "EtherCAT legs" in run.stdout and "DC on 12" in run.stdout
