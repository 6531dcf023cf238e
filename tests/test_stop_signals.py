"""StopSignals: SIGINT/SIGTERM only flag a stop (no KeyboardInterrupt), and the old handlers come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from humanoid_rt.stop_signals import StopSignals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_flags_the_stop_instead_of_raising(signum):
    before = signal.getsignal(signum)
    with StopSignals() as stop:
        assert not stop.requested
        assert stop.wait(0.0) is False  # nothing received: a zero timeout returns at once
        os.kill(os.getpid(), signum)  # would raise KeyboardInterrupt (SIGINT) or end pytest (SIGTERM) otherwise
        assert stop.wait(30.0) is True  # an event, not a duration: returns once the handler has run
        assert stop.received == [signum]
    assert signal.getsignal(signum) is before


def test_an_ignored_sigint_still_stops_and_stays_ignored_afterwards():
    # What a process started by `cmd &` in a script or under nohup inherits.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with StopSignals(signals=(signal.SIGINT,)) as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.wait(30.0)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


# Both command-line servers that run until a signal; SIGINT also with SIGINT ignored at start (`trap '' INT`
# passes it ignored to what the shell execs), as under nohup or `cmd &` in a script.
SERVERS = {
    "zenoh-router": ["zenoh-router", "--listen", "tcp/127.0.0.1:0", "--no-multicast"],
    "virtual-device": ["virtual-device", "ft"],
}


@pytest.mark.parametrize("server, signum, sigint_at_start", [
    ("zenoh-router", signal.SIGTERM, "inherited"),
    ("zenoh-router", signal.SIGINT, "ignored"),
    ("virtual-device", signal.SIGTERM, "inherited"),  # its SIGINT cases: test_devices_cli.py
], ids=["zenoh-router-SIGTERM", "zenoh-router-SIGINT-ignored", "virtual-device-SIGTERM"])
def test_servers_stop_cleanly_on_a_signal(server, signum, sigint_at_start):
    if server == "zenoh-router":
        pytest.importorskip("zenoh")
    prefix = ["sh", "-c", "trap '' INT; exec \"$@\"", "sh"] if sigint_at_start == "ignored" else []
    process = subprocess.Popen(prefix + [sys.executable, "-m", "humanoid_rt.cli", *SERVERS[server]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()  # printed once it serves (and its handlers are in place)
        assert first_line, process.stderr.read()
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)  # only a hang takes this long
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (first_line, out, err)
    assert "Traceback" not in err, err
