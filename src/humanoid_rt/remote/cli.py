"""Commands of the Zenoh layer, wired into humanoid_rt.cli: zenoh-router, zenoh-acl, zenoh-certs, fleet, netns.

(`run --zenoh` and `teleop-send --zenoh` live with the teleop commands in humanoid_rt/teleop/cli.py.)
"""

from __future__ import annotations

COMMANDS = ("zenoh-router", "zenoh-acl", "zenoh-certs", "fleet", "netns", "robot-request")


def add_commands(commands) -> None:
    from . import certs, fleet, netns, operator, router

    router.add_commands(commands)
    certs.add_command(commands)
    fleet.add_command(commands)
    netns.add_command(commands)
    operator.add_command(commands)


def main(args) -> int:
    if args.command in ("zenoh-router", "zenoh-acl"):
        from .router import main as router_main

        return router_main(args)
    if args.command == "zenoh-certs":
        from .certs import main as certs_main

        return certs_main(args)
    if args.command == "fleet":
        from .fleet import main as fleet_main

        return fleet_main(args)
    if args.command == "robot-request":
        from .operator import main as request_main

        return request_main(args)
    from .netns import main as netns_main

    return netns_main(args)
