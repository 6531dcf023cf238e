"""A robot's name in a fleet (Robot(robot_id=...)): checked once, used as a Zenoh key chunk, a metrics
label and a catalogue partition."""

from __future__ import annotations

import os
import re
import socket

_ROBOT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Ids a robot may not have: humanoid_rt/policy/<server>/... belongs to the remote policy servers
#: (firmware_interfaces/zenoh/KEYS.md), so a robot called "policy" would share their keys.
RESERVED_ROBOT_IDS = ("policy",)


def resolve_robot_id(robot_id: str | None, config_name: str) -> str:
    """One robot's name in a fleet: the explicit id, else $HUMANOID_RT_ROBOT_ID, else "<config>-<host>".

    It becomes a Zenoh key chunk (humanoid_rt/<robot_id>/...), a Prometheus label and a catalogue
    partition (robot=<robot_id>), so it is limited to characters all three take unescaped.
    """
    source = "robot_id"
    if robot_id is None and os.environ.get("HUMANOID_RT_ROBOT_ID"):
        robot_id, source = os.environ["HUMANOID_RT_ROBOT_ID"], "HUMANOID_RT_ROBOT_ID"
    if robot_id is None:
        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "localhost"
        robot_id = f"{config_name}-{host}"[:64]
    if not isinstance(robot_id, str) or not _ROBOT_ID_PATTERN.fullmatch(robot_id):
        raise ValueError(f"{source}: {robot_id!r} is not a robot id; allowed: 1-64 characters of "
                         "letters, digits, '_', '.', '-', starting with a letter or digit")
    if robot_id in RESERVED_ROBOT_IDS:
        raise ValueError(f"{source}: {robot_id!r} is reserved (humanoid_rt/{robot_id}/... are the policy servers' "
                         f"Zenoh keys); not allowed: {', '.join(RESERVED_ROBOT_IDS)}")
    return robot_id
