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

import itertools
import json
import os
import select
import subprocess
import sys
import time

_counter = itertools.count()


class NeedsRoot(RuntimeError):
    pass


def have_privileges() -> tuple[bool, str]:
    """(ok, reason): creating namespaces and raw sockets needs root (CAP_NET_ADMIN + CAP_NET_RAW)."""
    if os.geteuid() != 0:
        return False, "creating network namespaces, veth pairs and raw EtherCAT sockets needs root " \
                      "(CAP_NET_ADMIN and CAP_NET_RAW); run with sudo"
    try:
        subprocess.run(["ip", "-V"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        return False, f"the `ip` tool (iproute2) is needed: {error}"
    return True, ""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _quiet_ipv6(*prefix: str, interface: str) -> None:
    # The kernel would otherwise send IPv6 router solicitations on the link; harmless, but not EtherCAT.
    subprocess.run([*prefix, "sysctl", "-q", "-w", f"net.ipv6.conf.{interface}.disable_ipv6=1"], capture_output=True)


def _child_env() -> dict:
    # The emulator must import this very copy of humanoid_rt (installed or a source checkout).
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class VirtualEthercat:
    """A veth pair, a namespace and an emulated line of `slaves` CiA 402 drives on its far end."""

    # SCHED_FIFO priority of the emulator's frame thread: below the loop's default 80 (the master
    # comes first, as on a real robot where the slaves are hardware), above everything else, so a
    # loaded machine cannot make the line late.
    PRIORITY = 70

    def __init__(self, slaves: int = 12, period_s: float = 0.001, drives: list[dict] | None = None,
                 echo: bool = False, priority: int = PRIORITY):
        ok, reason = have_privileges()
        if not ok:
            raise NeedsRoot(reason)
        tag = f"{os.getpid() % 100000}{next(_counter)}"
        self.namespace = f"hrt-ecat-{tag}"
        self.master_interface = f"hrt-m{tag}"[:15]
        self.slave_interface = f"hrt-s{tag}"[:15]
        self.slaves = slaves
        self.period_s = period_s
        self.drives = drives or []
        self.echo = echo  # reflect frames unprocessed (the raw-link reference of bench/run_ethercat.py)
        self.priority = priority
        self.process: subprocess.Popen | None = None
        self._created_ns = self._created_link = False

    def __enter__(self) -> "VirtualEthercat":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        _ip("netns", "add", self.namespace)
        self._created_ns = True
        _ip("link", "add", self.master_interface, "type", "veth", "peer", "name", self.slave_interface)
        self._created_link = True
        _ip("link", "set", self.slave_interface, "netns", self.namespace)
        _quiet_ipv6(interface=self.master_interface)
        _quiet_ipv6("ip", "netns", "exec", self.namespace, interface=self.slave_interface)
        _ip("link", "set", self.master_interface, "up")
        _ip("-n", self.namespace, "link", "set", self.slave_interface, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")
        self._start_emulator()

    def restart(self, echo: bool) -> None:
        """Replace the emulator on the same veth pair: the line of drives, or (echo) a plain reflector."""
        self._stop_emulator()
        self.echo = echo
        self._start_emulator()

    def _start_emulator(self) -> None:
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-m", "humanoid_rt.ethercat.emulator",
             "--interface", self.slave_interface, "--slaves", str(self.slaves), "--period", repr(self.period_s),
             "--drives", json.dumps(self.drives), "--priority", str(self.priority), *(["--echo"] if self.echo else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env=_child_env(),
        )
        ready = self._readline(timeout=20.0)
        if not ready.get("ready"):
            raise RuntimeError(f"EtherCAT emulator did not start: {ready}")
        self._wait_for_carrier()

    def _wait_for_carrier(self) -> None:
        # Wait for the veth carrier, so the first frames are not lost while the link comes up.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with open(f"/sys/class/net/{self.master_interface}/operstate") as f:
                if f.read().strip() == "up":
                    return
            time.sleep(0.01)

    def set_link(self, up: bool) -> None:
        """Take the master end of the veth pair down (a pulled cable) or up again."""
        _ip("link", "set", self.master_interface, "up" if up else "down")
        if up:
            self._wait_for_carrier()

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
        if self._created_link:
            # Deleting either end deletes the pair; the master end is in this namespace.
            subprocess.run(["ip", "link", "del", self.master_interface], capture_output=True)
            self._created_link = False
        if self._created_ns:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)
            self._created_ns = False

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
