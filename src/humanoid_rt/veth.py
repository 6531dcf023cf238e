"""Network namespaces and veth pairs: the primitives every virtual network of humanoid_rt is built from
(root only). The EtherCAT line (ethercat/netns.py), the remote-policy namespace (VethNamespace below)
and the Zenoh lab, a star of namespaces around a router (remote/netns.py), all use these.

    with VethNamespace() as ns:                         # hrt-pol-<tag>, veth hrt-pa<tag> <-> hrt-pb<tag>
        server = ns.popen([sys.executable, "-m", "humanoid_rt.cli", "policy-serve", ...,
                           "--listen", f"tcp/{ns.inside_address}:7447"])
        this side connects to tcp/{ns.inside_address}:7447   # the traffic crosses the veth link
    # namespace and veth deleted, processes started with popen() killed, also on exceptions

Every name starts with `hrt-` (or `hz` for the lab's links) and carries this process id, so parallel
runs never clash and leftovers are attributable. Nothing is routed beyond a pair.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from abc import ABC, abstractmethod
from typing import Sequence

from .errors import HumanoidRtError

_counter = itertools.count()


class NeedsRoot(HumanoidRtError, RuntimeError):
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


def require_privileges() -> None:
    ok, reason = have_privileges()
    if not ok:
        raise NeedsRoot(reason)


def ip(*args: str, namespace: str | None = None) -> None:
    """`ip [-n namespace] args...`; a RuntimeError with ip's own message when it fails."""
    argv = ["ip", *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")


def in_namespace(namespace: str | None, argv: Sequence[str]) -> list[str]:
    """argv run inside the namespace (None: the calling process's own)."""
    return (["ip", "netns", "exec", namespace] if namespace else []) + list(argv)


def child_env() -> dict:
    """The environment for a child process that must import this very copy of humanoid_rt (installed or a
    source checkout), also through `ip netns exec`."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def add_namespace(namespace: str) -> None:
    """A new network namespace with its loopback up."""
    ip("netns", "add", namespace)
    ip("link", "set", "lo", "up", namespace=namespace)


def delete_namespace(namespace: str) -> None:
    """Delete it (and the veth ends inside it); no error if it is already gone."""
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


class SetUp(ABC):
    """`with X() as x:` runs x.start() (closing what it made if start fails) and x.close() at the end, also on
    exceptions: the shape of every namespace set-up here, so none is left behind by a failing test."""

    @abstractmethod
    def start(self) -> None:
        """Create the namespaces, links and processes."""

    @abstractmethod
    def close(self) -> None:
        """Delete whatever start() created (also after a partial start); safe to call twice."""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VethLink:
    """A veth pair between two namespaces (None: the calling process's own), optionally with an address at
    each end (CIDR, e.g. "10.1.2.1/30"), both ends up, IPv6 off (the kernel would otherwise send router
    solicitations on the link: harmless, but not the traffic under test)."""

    def __init__(self, end_a: str, end_b: str, *, namespace_a: str | None = None, namespace_b: str | None = None,
                 address_a: str | None = None, address_b: str | None = None):
        for end in (end_a, end_b):
            if not 1 <= len(end) <= 15:
                raise ValueError(f"veth interface name {end!r}: allowed 1-15 characters (IFNAMSIZ)")
        self.ends = {"a": (end_a, namespace_a, address_a), "b": (end_b, namespace_b, address_b)}
        self.created = False

    @property
    def end_a(self) -> str:
        return self.ends["a"][0]

    @property
    def end_b(self) -> str:
        return self.ends["b"][0]

    def create(self) -> None:
        (end_a, ns_a, _), (end_b, ns_b, _) = self.ends["a"], self.ends["b"]
        ip("link", "add", end_a, *(["netns", ns_a] if ns_a else []), "type", "veth",
           "peer", "name", end_b, *(["netns", ns_b] if ns_b else []))
        self.created = True
        for end, namespace, address in self.ends.values():
            subprocess.run(in_namespace(namespace, ["sysctl", "-q", "-w", f"net.ipv6.conf.{end}.disable_ipv6=1"]),
                           capture_output=True)
            if address:
                ip("addr", "add", address, "dev", end, namespace=namespace)
        for end, namespace, _ in self.ends.values():
            ip("link", "set", end, "up", namespace=namespace)

    def set_link(self, up: bool, *, both_ends: bool = False) -> None:
        """End a down (a pulled cable: the other end loses its carrier) or up again; both_ends: both, as a
        cable pulled at both machines. Up waits (5 s at most) for the carrier, so the first frames are not lost."""
        for side in (("a", "b") if both_ends else ("a",)):
            end, namespace, _ = self.ends[side]
            ip("link", "set", end, "up" if up else "down", namespace=namespace)
        if up:
            self.wait_for_carrier()

    def wait_for_carrier(self, timeout: float = 5.0) -> bool:
        end, namespace, _ = self.ends["a"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["ip", *(["-n", namespace] if namespace else []), "-o", "link", "show", end],
                                   capture_output=True, text=True).stdout
            if "LOWER_UP" in state:
                return True
            time.sleep(0.01)
        return False

    def delete(self) -> None:
        """Delete the pair (deleting either end deletes both); no error if a namespace took it with it."""
        if self.created:
            end, namespace, _ = self.ends["a"]
            subprocess.run(["ip", *(["-n", namespace] if namespace else []), "link", "del", end], capture_output=True)
            self.created = False


class VethNamespace(SetUp):
    """A namespace joined to this one by a veth pair with a /30 between them; processes started inside with
    popen() are killed on close. Addresses come from 10.147.0.0/16, one /30 per pair, chosen from this process
    id and a counter so parallel runs do not collide.

    prefix: the namespace is hrt-<prefix>-<tag>; with addresses=False the link has no IP addresses (a raw
    Ethernet link, as the EtherCAT line wants)."""

    def __init__(self, prefix: str = "pol", *, interface_prefixes: tuple[str, str] = ("hrt-pa", "hrt-pb"),
                 addresses: bool = True):
        require_privileges()
        number = next(_counter)
        tag = f"{os.getpid() % 100000}{number}"
        self.namespace = f"hrt-{prefix}-{tag}"
        self.outside_interface = f"{interface_prefixes[0]}{tag}"[:15]
        self.inside_interface = f"{interface_prefixes[1]}{tag}"[:15]
        block = (os.getpid() * 7 + number) % 16384  # one /30 of 10.147.0.0/16
        self.outside_address = f"10.147.{block // 64}.{(block % 64) * 4 + 1}" if addresses else None
        self.inside_address = f"10.147.{block // 64}.{(block % 64) * 4 + 2}" if addresses else None
        self.link = VethLink(self.outside_interface, self.inside_interface, namespace_b=self.namespace,
                             address_a=f"{self.outside_address}/30" if addresses else None,
                             address_b=f"{self.inside_address}/30" if addresses else None)
        self.processes: list[subprocess.Popen] = []
        self._created_ns = False

    def start(self) -> None:
        add_namespace(self.namespace)
        self._created_ns = True
        self.link.create()

    def command(self, argv: Sequence[str]) -> list[str]:
        return in_namespace(self.namespace, argv)

    def popen(self, argv: list[str], **options) -> subprocess.Popen:
        """Start argv inside the namespace (this copy of humanoid_rt on its PYTHONPATH)."""
        options.setdefault("env", child_env())
        process = subprocess.Popen(self.command(argv), **options)
        self.processes.append(process)
        return process

    def set_link(self, up: bool) -> None:
        """Take this side of the veth pair down (a pulled cable) or up again."""
        self.link.set_link(up)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        self.link.delete()
        if self._created_ns:
            delete_namespace(self.namespace)
            self._created_ns = False
