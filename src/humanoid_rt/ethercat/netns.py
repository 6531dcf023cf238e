"""Network namespace + veth plumbing for the virtual EtherCAT line (root only).

    with VirtualEthercat(slaves=12) as line:       # creates hrt-* netns and veth, starts the emulator
        bus interface: line.master_interface        # the veth end in this (root) namespace
        line.request({"cmd": "drive_fault", "slave": 3})
    # emulator stopped, namespace and veth deleted, also on exceptions

The emulator runs as a child process inside the namespace on the other veth
end, so master and slaves are separated by a real kernel link. Every name
starts with `hrt-` and carries this process id, so parallel runs never clash
and leftovers are attributable.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys

# The primitives live in humanoid_rt/veth.py (shared with the Zenoh lab and the remote-policy tests);
# NeedsRoot, have_privileges and _child_env stay importable from here.
from ..veth import NeedsRoot, SetUp, VethNamespace, child_env as _child_env, have_privileges, require_privileges

__all__ = ["NeedsRoot", "VirtualEthercat", "have_privileges"]


class VirtualEthercat(SetUp):
    """A veth pair, a namespace and an emulated line of `slaves` CiA 402 drives on its far end."""

    # SCHED_FIFO priority of the emulator's frame thread: below the loop's default 80 (the master
    # comes first, as on a real robot where the slaves are hardware), above everything else, so a
    # loaded machine cannot make the line late.
    PRIORITY = 70

    def __init__(self, slaves: int = 12, period_s: float = 0.001, drives: list[dict] | None = None,
                 echo: bool = False, priority: int = PRIORITY):
        require_privileges()
        # A raw Ethernet link (no IP addresses): master end here, slave end in hrt-ecat-<tag>.
        self.net = VethNamespace("ecat", interface_prefixes=("hrt-m", "hrt-s"), addresses=False)
        self.namespace = self.net.namespace
        self.master_interface = self.net.outside_interface
        self.slave_interface = self.net.inside_interface
        self.slaves = slaves
        self.period_s = period_s
        self.drives = drives or []
        self.echo = echo  # reflect frames unprocessed (the raw-link reference of bench/run_ethercat.py)
        self.priority = priority
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.net.start()
        self._start_emulator()

    def restart(self, echo: bool) -> None:
        """Replace the emulator on the same veth pair: the line of drives, or (echo) a plain reflector."""
        self._stop_emulator()
        self.echo = echo
        self._start_emulator()

    def _start_emulator(self) -> None:
        self.process = subprocess.Popen(
            self.net.command([sys.executable, "-m", "humanoid_rt.ethercat.emulator",
             "--interface", self.slave_interface, "--slaves", str(self.slaves), "--period", repr(self.period_s),
             "--drives", json.dumps(self.drives), "--priority", str(self.priority), *(["--echo"] if self.echo else [])]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env=_child_env(),
        )
        ready = self._readline(timeout=20.0)
        if not ready.get("ready"):
            raise RuntimeError(f"EtherCAT emulator did not start: {ready}")
        self.net.link.wait_for_carrier()  # so the first frames are not lost while the link comes up

    def set_link(self, up: bool) -> None:
        """Take the master end of the veth pair down (a pulled cable) or up again (waits for the carrier)."""
        self.net.set_link(up)

    def _readline(self, timeout: float) -> dict:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"EtherCAT emulator: no reply within {timeout} s")
        text = self.process.stdout.readline()
        if not text:
            err = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"EtherCAT emulator exited (code {self.process.poll()}): {err.strip()[-2000:]}")
        return json.loads(text)

    def request(self, request: dict, timeout: float = 5.0) -> dict:
        """Send one control request to the emulator and return its reply (see emulator.py)."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("EtherCAT emulator is not running")
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._readline(timeout)
        if "error" in reply:
            raise RuntimeError(f"EtherCAT emulator: {reply['error']}")
        return reply

    def close(self) -> None:
        self._stop_emulator()
        self.net.close()

    def _stop_emulator(self) -> None:
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                try:
                    self.process.stdin.write('{"cmd": "quit"}\n')
                    self.process.stdin.flush()
                    self.process.wait(timeout=2.0)
                except (OSError, subprocess.TimeoutExpired, ValueError):
                    self.process.kill()
                    self.process.wait(timeout=2.0)
        finally:
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    stream.close()
                except Exception:
                    pass
            self.process = None
