"""`humanoid-rt virtual-device`: serves the protocol on the pty it prints, until interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import serial

from humanoid_rt.devices import witmotion as wm


# A process started by `cmd &` in a script or under nohup inherits SIGINT ignored (and Python leaves it so):
# `kill -INT` must stop the device either way. The shell's `trap '' INT` passes SIGINT ignored to what it execs.
SIGINT_AT_START = {"inherited": [], "ignored": ["sh", "-c", "trap '' INT; exec \"$@\"", "sh"]}


@pytest.mark.parametrize("sigint_at_start", sorted(SIGINT_AT_START))
def test_virtual_imu_serves_packets_on_the_printed_pty(tmp_path, sigint_at_start):
    link = tmp_path / "imu.tty"
    command = [sys.executable, "-m", "humanoid_rt.cli", "virtual-device", "imu", "--link", str(link)]
    process = subprocess.Popen(SIGINT_AT_START[sigint_at_start] + command,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith(f"virtual imu on {link}")
        port = serial.serial_for_url(str(link), baudrate=115200, timeout=5)
        try:
            scanner = wm.make_scanner()
            frames = []
            deadline = time.monotonic() + 30.0  # "serves packets": within a generous wait, not at a rate
            while len(frames) < 8 and time.monotonic() < deadline:
                frames += scanner.feed(port.read(64))
            assert len(frames) >= 8, f"{len(frames)} packets from the virtual IMU in 30 s"
            assert {wm.decode_packet(frame)[0] for frame in frames} >= {wm.ACCELERATION, wm.QUATERNION}
        finally:
            port.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=30)  # a hung device only: stopping takes well under 1 s
        except subprocess.TimeoutExpired:
            process.kill()  # never leave it serving after the test
            out, err = process.communicate()
            pytest.fail(f"virtual-device still running 30 s after SIGINT: {out!r} {err!r}")
    assert process.returncode == 0, err
    assert "stopped" in out


def test_bad_fault_argument_names_the_allowed_values(capsys):
    from humanoid_rt.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["virtual-device", "ft", "--fault", "melt:1"])
    assert caught.value.code == 2
    assert "FAULT one of garble, drop, short, garbage, stall, disconnect" in capsys.readouterr().err
