"""A star of network namespaces joined by veth pairs: a router namespace in the middle, one namespace
per machine around it (robot, operator, policy server, ...). Tests and the demo use the same code.

    with Lab(["robot", "operator"], host_spoke="bench") as lab:   # "bench": the calling (root) namespace
        lab.address("robot")          # 10.X.1.2: the robot's end of its link
        lab.hub_address("robot")      # 10.X.1.1: the router's end, what the robot connects to
        proc = lab.popen("robot", ["python", "-m", "humanoid_rt.cli", "run", ...])
        lab.set_link("robot", up=False)   # pull the robot's cable (and put it back with up=True)

    humanoid-rt netns up demo           # persistent: hrt-demo-router, hrt-demo-robot, ... (see netns_demo.sh)
    humanoid-rt netns down demo

Every name starts with `hrt-`; test labs carry the process id, so parallel runs never clash. No IP
forwarding is enabled: traffic between spokes crosses the router namespace only through the Zenoh
router process, as it would through a router machine. Needs root (CAP_NET_ADMIN).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from typing import Sequence

from ..veth import NeedsRoot, SetUp, VethLink, add_namespace, child_env, delete_namespace, in_namespace, require_privileges

_counter = itertools.count()


class Lab(SetUp):
    def __init__(self, spokes: Sequence[str] = ("robot", "operator", "policy"), *, name: str | None = None,
                 host_spoke: str | None = None, subnet: int | None = None):
        require_privileges()
        self.name = name or f"t{os.getpid() % 100000}x{next(_counter)}"
        self.spokes = list(spokes) + ([host_spoke] if host_spoke else [])
        self.host_spoke = host_spoke
        self.subnet = subnet if subnet is not None else 150 + (os.getpid() + next(_counter)) % 100
        self.hub = f"hrt-{self.name}-router"
        self._namespaces: list[str] = []
        self._links: dict[str, VethLink] = {}

    def namespace(self, spoke: str) -> str | None:
        """The spoke's namespace (None: the calling process's own namespace)."""
        if spoke == "router":
            return self.hub
        if spoke not in self.spokes:
            raise KeyError(f"spoke {spoke!r}; allowed: router, {', '.join(self.spokes)}")
        return None if spoke == self.host_spoke else f"hrt-{self.name}-{spoke}"

    def _index(self, spoke: str) -> int:
        return self.spokes.index(spoke) + 1

    def address(self, spoke: str) -> str:
        return f"10.{self.subnet}.{self._index(spoke)}.2"

    def hub_address(self, spoke: str) -> str:
        return f"10.{self.subnet}.{self._index(spoke)}.1"

    def _add_namespace(self, namespace: str) -> None:
        add_namespace(namespace)
        self._namespaces.append(namespace)

    def start(self) -> None:
        self._add_namespace(self.hub)
        for spoke in self.spokes:
            namespace = self.namespace(spoke)
            if namespace is not None:
                self._add_namespace(namespace)
            k = self._index(spoke)
            link = VethLink(f"hz{self.name[-9:]}{k}a"[-15:], f"hz{self.name[-9:]}{k}b"[-15:],
                            namespace_a=self.hub, namespace_b=namespace,
                            address_a=f"{self.hub_address(spoke)}/24", address_b=f"{self.address(spoke)}/24")
            link.create()
            self._links[spoke] = link

    def set_link(self, spoke: str, up: bool) -> None:
        """Take the spoke's link down (a pulled cable) or up again (both ends, as a cable would)."""
        self._links[spoke].set_link(up, both_ends=True)

    def command(self, spoke: str, argv: Sequence[str]) -> list[str]:
        return in_namespace(self.namespace(spoke), argv)

    def popen(self, spoke: str, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start a process in the spoke's namespace (`router` for the hub) with this humanoid_rt importable."""
        kwargs.setdefault("env", child_env())
        return subprocess.Popen(self.command(spoke, argv), **kwargs)

    def describe(self) -> dict:
        return {"router_namespace": self.hub, "spokes": {
            spoke: {"namespace": self.namespace(spoke), "address": self.address(spoke),
                    "router_address": self.hub_address(spoke)} for spoke in self.spokes}}

    def close(self) -> None:
        if self.host_spoke and self.host_spoke in self._links:
            self._links[self.host_spoke].delete()  # its end in this namespace outlives the router's namespace
        for namespace in reversed(self._namespaces):
            delete_namespace(namespace)
        self._namespaces, self._links = [], {}


def add_command(commands) -> None:
    p = commands.add_parser("netns", help="create or delete a lab of network namespaces (router + machines) for Zenoh",
                            description="up NAME: namespaces hrt-NAME-router and hrt-NAME-<spoke> joined by veth pairs "
                            "(10.213.k.0/24 per spoke; the router end is .1, the spoke .2); prints them as JSON. "
                            "down NAME: deletes them. Run programs inside with `ip netns exec hrt-NAME-<spoke> ...`.")
    p.add_argument("action", choices=("up", "down"))
    p.add_argument("name", help="lab name (letters and digits, up to 8)")
    p.add_argument("--spokes", default="robot,operator,policy", help="comma-separated machines (default robot,operator,policy)")


def main(args) -> int:
    if not (args.name.isalnum() and len(args.name) <= 8):
        print(f"humanoid-rt netns: name {args.name!r}; allowed: 1-8 letters or digits", file=sys.stderr)
        return 2
    spokes = [s for s in args.spokes.split(",") if s]
    if args.action == "down":
        for namespace in [f"hrt-{args.name}-router", *(f"hrt-{args.name}-{s}" for s in spokes)]:
            delete_namespace(namespace)
        print(f"netns: deleted lab {args.name}")
        return 0
    try:
        lab = Lab(spokes, name=args.name, subnet=213)
        lab.start()
    except (NeedsRoot, RuntimeError) as error:
        print(f"humanoid-rt netns: {error}", file=sys.stderr)
        return 2
    print(json.dumps(lab.describe(), indent=2))
    return 0
