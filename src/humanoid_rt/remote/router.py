"""A Zenoh router for a fleet (a Python process in router mode) and its access-control rules.

    humanoid-rt zenoh-acl router.json5 --robot robot-1 --operator op-alice=robot-1 --viewer desk-3 \
        --tls-dir certs/ --listen tls/0.0.0.0:7447
    humanoid-rt zenoh-router --zenoh-config router.json5

The ACL (Zenoh's `access_control`, matched on the certificate common name each node presents over
mTLS) denies everything by default and allows:
  * a robot: everything under its own humanoid_rt/<robot_id>/**, and (policy-use, every robot unless
    --policy-use names some) querying the policy servers, humanoid_rt/policy/**;
  * an operator: what a viewer may, plus put on humanoid_rt/<robot>/cmd/** and query
    humanoid_rt/<robot>/request/** for the robots it is listed for;
  * a viewer (fleet view): subscribe to state, events, health and liveliness of every robot, query info;
  * a policy server (policy-serve): answer queries under humanoid_rt/policy/<its name>/** only (its
    certificate name is its --name).
firmware_interfaces/zenoh/router.json5 is an example written by this generator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Mapping, Sequence

from .keys import POLICY_PREFIX, ROOT, check_robot_id

_ALL_MESSAGES = ["put", "delete", "declare_subscriber", "query", "declare_queryable", "reply", "liveliness_token",
                 "declare_liveliness_subscriber", "liveliness_query"]
_BOTH = ["ingress", "egress"]
_OBSERVED = [f"{ROOT}/*/state", f"{ROOT}/*/events", f"{ROOT}/*/health"]
_ALIVE = f"{ROOT}/*/alive"
_INFO = f"{ROOT}/*/info"


def access_control(robots: Sequence[str], operators: Mapping[str, Sequence[str]], viewers: Sequence[str] = (),
                   policy_servers: Sequence[str] = (), policy_users: Sequence[str] | None = None) -> dict:
    """The `access_control` section: default deny, one subject per certificate common name.

    policy_users: the robots granted policy-use (None: every robot); policy_servers: the certificate names
    allowed to serve, each under humanoid_rt/policy/<name>/** only.
    """
    from .policy_server import check_server_name

    for robot in robots:
        check_robot_id(robot)
    for server in policy_servers:
        check_server_name(server)
    policy_users = list(robots) if policy_users is None else list(policy_users)
    unknown = [r for r in policy_users if r not in robots]
    if unknown:
        raise ValueError(f"policy-use: robots {unknown} not declared; allowed: {', '.join(robots) or 'none'}")
    rules = [
        {"id": "observe-in", "permission": "allow", "flows": ["ingress"],
         "messages": ["declare_subscriber", "declare_liveliness_subscriber", "liveliness_query", "query"],
         "key_exprs": [*_OBSERVED, _ALIVE, _INFO]},
        {"id": "observe-out", "permission": "allow", "flows": ["egress"],
         "messages": ["put", "delete", "reply", "liveliness_token", "declare_queryable"],
         "key_exprs": [*_OBSERVED, _ALIVE, _INFO]},
        # Robots must see the fleet's wildcard subscriptions and queries (humanoid_rt/*/state, ...): ACL rules
        # match a wildcard key only where the rule's key expressions include it, and a publisher that hears of
        # no subscriber sends nothing.
        {"id": "observed", "permission": "allow", "flows": ["egress"],
         "messages": ["declare_subscriber", "declare_liveliness_subscriber", "liveliness_query", "query"],
         "key_exprs": [*_OBSERVED, _ALIVE, _INFO]},
        # policy-use: a robot sends queries to the policy servers and gets their replies (and hears of their
        # queryables, so its querier knows someone answers); it cannot serve.
        {"id": "policy-use", "permission": "allow", "flows": ["ingress"], "messages": ["query"],
         "key_exprs": [f"{POLICY_PREFIX}/**"]},
        {"id": "policy-use-replies", "permission": "allow", "flows": ["egress"],
         "messages": ["reply", "declare_queryable"], "key_exprs": [f"{POLICY_PREFIX}/**"]},
    ]
    for server in policy_servers:  # policy-serve: declare the queryable and reply, under its own name only
        rules.append({"id": f"policy-serve-{server}", "permission": "allow", "flows": ["ingress"],
                      "messages": ["declare_queryable", "reply"], "key_exprs": [f"{POLICY_PREFIX}/{server}/**"]})
        rules.append({"id": f"policy-serve-{server}-queries", "permission": "allow", "flows": ["egress"],
                      "messages": ["query"], "key_exprs": [f"{POLICY_PREFIX}/{server}/**"]})
    subjects, policies = [], []
    for robot in robots:
        rules.append({"id": f"robot-{robot}", "permission": "allow", "flows": _BOTH, "messages": _ALL_MESSAGES,
                      "key_exprs": [f"{ROOT}/{robot}/**"]})
        rules.append({"id": f"command-{robot}", "permission": "allow", "flows": _BOTH,
                      # declare_subscriber / declare_queryable reach the operator so its publisher and
                      # querier know someone listens (Zenoh filters writes nobody would receive).
                      "messages": ["put", "query", "reply", "declare_subscriber", "declare_queryable"],
                      "key_exprs": [f"{ROOT}/{robot}/cmd/**", f"{ROOT}/{robot}/request/**"]})
        subjects.append({"id": f"robot {robot}", "cert_common_names": [robot]})
        policy_rules = ["policy-use", "policy-use-replies"] if robot in policy_users else []
        policies.append({"subjects": [f"robot {robot}"], "rules": [f"robot-{robot}", "observed", *policy_rules]})
    for operator, allowed in operators.items():
        unknown = [r for r in allowed if r not in robots]
        if unknown:
            raise ValueError(f"operator {operator}: robots {unknown} not declared; allowed: {', '.join(robots)}")
        subjects.append({"id": f"operator {operator}", "cert_common_names": [operator]})
        policies.append({"subjects": [f"operator {operator}"],
                         "rules": ["observe-in", "observe-out", *[f"command-{r}" for r in allowed]]})
    for viewer in viewers:
        subjects.append({"id": f"viewer {viewer}", "cert_common_names": [viewer]})
        policies.append({"subjects": [f"viewer {viewer}"], "rules": ["observe-in", "observe-out"]})
    for server in policy_servers:
        subjects.append({"id": f"policy {server}", "cert_common_names": [server]})
        policies.append({"subjects": [f"policy {server}"],
                         "rules": [f"policy-serve-{server}", f"policy-serve-{server}-queries"]})
    return {"enabled": True, "default_permission": "deny", "rules": rules, "subjects": subjects, "policies": policies}


def router_config(*, listen: Sequence[str], tls_dir: str | Path | None, name: str = "router",
                  robots: Sequence[str] = (), operators: Mapping[str, Sequence[str]] | None = None,
                  viewers: Sequence[str] = (), policy_servers: Sequence[str] = (),
                  policy_users: Sequence[str] | None = None) -> dict:
    """A complete router config: mode, listen endpoints, mTLS files from tls_dir (ca.pem, <name>.pem/.key), ACL."""
    config: dict = {"mode": "router", "listen": {"endpoints": list(listen)},
                    "scouting": {"multicast": {"enabled": False}}}
    if tls_dir is not None:
        tls_dir = Path(tls_dir)  # as given: relative paths are relative to where the router runs
        config["transport"] = {"link": {"tls": {
            "root_ca_certificate": str(tls_dir / "ca.pem"),
            "listen_certificate": str(tls_dir / f"{name}.pem"), "listen_private_key": str(tls_dir / f"{name}.key"),
            "enable_mtls": True, "verify_name_on_connect": False}}}
    if robots or operators or viewers or policy_servers:
        config["access_control"] = access_control(robots, operators or {}, viewers, policy_servers, policy_users)
    return config


def write_router_config(path: str | Path, **kwargs) -> Path:
    path = Path(path)
    text = ("// humanoid_rt fleet router (written by humanoid_rt.remote.router; see firmware_interfaces/zenoh/SECURITY.md)\n"
            + json.dumps(router_config(**kwargs), indent=2) + "\n")
    path.write_text(text)
    return path


def serve(options, ready_line: bool = True) -> None:
    """Run a router session until SIGTERM/SIGINT (prints one JSON line when listening)."""
    from .session import open_session

    from ..stop_signals import StopSignals

    with StopSignals() as stop:  # the handlers only flag: Event.set() in a handler can deadlock Event.wait()
        session = open_session(options)
        try:
            if ready_line:
                print(json.dumps({"ready": True, "zid": str(session.zid()), "listen": list(options.listen)}), flush=True)
            stop.wait()
        finally:
            session.close()


# ------------------------------------------------------------------------------------ command line
def add_commands(commands) -> None:
    from . import session

    router = commands.add_parser("zenoh-router", help="run a Zenoh router for a fleet (Python, router mode)",
                                 description="Runs a Zenoh router until Ctrl-C/SIGTERM. The router config (JSON5: "
                                 "listen endpoints, TLS files, access_control) comes from --zenoh-config; write one "
                                 "with `humanoid-rt zenoh-acl`.")
    session.add_arguments(router, default_mode="router")

    acl = commands.add_parser("zenoh-acl", help="write a router config with mTLS and per-operator access control",
                              description=__doc__.split("\n\n")[2])
    acl.add_argument("path", type=Path, help="JSON5 file to write")
    acl.add_argument("--listen", action="append", default=[], metavar="ENDPOINT", help="e.g. tls/0.0.0.0:7447")
    acl.add_argument("--tls-dir", type=Path, default=None, help="directory of `humanoid-rt zenoh-certs` (ca.pem, NAME.pem)")
    acl.add_argument("--name", default="router", help="the router's certificate name (default router)")
    acl.add_argument("--robot", action="append", default=[], metavar="ROBOT_ID")
    acl.add_argument("--operator", action="append", default=[], metavar="NAME=ROBOT[,ROBOT...]")
    acl.add_argument("--viewer", action="append", default=[], metavar="NAME")
    acl.add_argument("--policy-server", action="append", default=[], metavar="NAME",
                     help="a policy server's certificate name, also its policy-serve --name (policy-serve)")
    acl.add_argument("--policy-use", action="append", default=None, metavar="ROBOT_ID",
                     help="a robot allowed to query the policy servers (policy-use; repeatable; default: every "
                     "--robot; `--policy-use none`: no robot)")


def _policy_users(entries):
    if entries is None:
        return None
    return [] if entries == ["none"] else [r for entry in entries for r in entry.split(",") if r]


def main(args) -> int:
    from .session import options_from_args

    try:
        if args.command == "zenoh-acl":
            operators = {}
            for entry in args.operator:
                name, sep, robots = entry.partition("=")
                if not sep or not name:
                    raise ValueError(f"--operator: {entry!r}; allowed: NAME=ROBOT[,ROBOT...]")
                operators[name] = [r for r in robots.split(",") if r]
            path = write_router_config(args.path, listen=args.listen or ["tls/0.0.0.0:7447"], tls_dir=args.tls_dir,
                                       name=args.name, robots=args.robot, operators=operators, viewers=args.viewer,
                                       policy_servers=args.policy_server,
                                       policy_users=_policy_users(args.policy_use))
            print(f"zenoh-acl: wrote {path}")
            return 0
        serve(options_from_args(args, args.zenoh_config))
        return 0
    except (ValueError, ConnectionError) as error:
        print(f"humanoid-rt {args.command}: {error}", file=sys.stderr)
        return 2
