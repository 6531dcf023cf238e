"""A network namespace joined to this one by a veth pair with a /30 between them (root only).

    with VethNamespace() as ns:                         # hrt-pol-<tag>, veth hrt-pa<tag> <-> hrt-pb<tag>
        server = ns.popen([sys.executable, "-m", "humanoid_rt.cli", "policy-serve", ...,
                           "--listen", f"tcp/{ns.inside_address}:7447"])
        robot side connects to tcp/{ns.inside_address}:7447   # the traffic crosses the veth link
    # namespace and veth deleted, processes started with popen() killed, also on exceptions

Used by the remote-policy tests and bench/run_policy_remote.py to put a policy server on the far side
of a real kernel link. Addresses come from 10.147.0.0/16, one /30 per pair, chosen from this process
id and a counter so parallel runs do not collide; nothing is routed beyond the pair.
"""

from __future__ import annotations

import itertools
import os
import subprocess

from ..ethercat.netns import NeedsRoot, _child_env, _ip, _quiet_ipv6, have_privileges

_counter = itertools.count()


class VethNamespace:
    def __init__(self):
        ok, reason = have_privileges()
        if not ok:
            raise NeedsRoot(reason)
        number = next(_counter)
        tag = f"{os.getpid() % 100000}{number}"
        self.namespace = f"hrt-pol-{tag}"
        self.outside_interface = f"hrt-pa{tag}"[:15]
        self.inside_interface = f"hrt-pb{tag}"[:15]
        block = (os.getpid() * 7 + number) % 16384  # one /30 of 10.147.0.0/16
        self.outside_address = f"10.147.{block // 64}.{(block % 64) * 4 + 1}"
        self.inside_address = f"10.147.{block // 64}.{(block % 64) * 4 + 2}"
        self.processes: list[subprocess.Popen] = []
        self._created_ns = self._created_link = False

    def __enter__(self) -> "VethNamespace":
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
        _ip("link", "add", self.outside_interface, "type", "veth", "peer", "name", self.inside_interface)
        self._created_link = True
        _ip("link", "set", self.inside_interface, "netns", self.namespace)
        _quiet_ipv6(interface=self.outside_interface)
        _quiet_ipv6("ip", "netns", "exec", self.namespace, interface=self.inside_interface)
        _ip("addr", "add", f"{self.outside_address}/30", "dev", self.outside_interface)
        _ip("-n", self.namespace, "addr", "add", f"{self.inside_address}/30", "dev", self.inside_interface)
        _ip("link", "set", self.outside_interface, "up")
        _ip("-n", self.namespace, "link", "set", self.inside_interface, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")

    def popen(self, argv: list[str], **options) -> subprocess.Popen:
        """Start argv inside the namespace (this copy of humanoid_rt on its PYTHONPATH)."""
        options.setdefault("env", _child_env())
        process = subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv], **options)
        self.processes.append(process)
        return process

    def set_link(self, up: bool) -> None:
        """Take this side of the veth pair down (a pulled cable) or up again."""
        _ip("link", "set", self.outside_interface, "up" if up else "down")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        if self._created_link:
            subprocess.run(["ip", "link", "del", self.outside_interface], capture_output=True)
            self._created_link = False
        if self._created_ns:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)
            self._created_ns = False
