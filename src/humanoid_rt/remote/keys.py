"""The Zenoh key space of humanoid_rt (firmware_interfaces/zenoh/KEYS.md is the reference).

Every robot lives under ``humanoid_rt/<robot_id>/``; robot ids are single key chunks
(robot.resolve_robot_id validates them), so ``humanoid_rt/*/alive`` matches every robot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..robot_id import _ROBOT_ID_PATTERN, RESERVED_ROBOT_IDS

ROOT = "humanoid_rt"
#: Command streams and the teleop packet kinds each one carries (PROTOCOL.md `kind`).
COMMAND_KINDS = {"joints": (1,), "frames": (2,), "hands": (3,)}
REQUESTS = ("enable", "disable", "reset", "estop")
#: Reserved chunk: humanoid_rt/policy/<server>/infer belongs to the policy servers, not a robot.
RESERVED_IDS = RESERVED_ROBOT_IDS
#: The policy servers' keys (firmware_interfaces/zenoh/POLICY.md): queryables a robot asks.
POLICY_PREFIX = f"{ROOT}/policy"
POLICY_INFER = POLICY_PREFIX + "/{name}/infer"
POLICY_INFO = POLICY_PREFIX + "/{name}/info"


def check_robot_id(robot_id: str) -> str:
    if not isinstance(robot_id, str) or not _ROBOT_ID_PATTERN.fullmatch(robot_id):
        raise ValueError(f"robot id: {robot_id!r}; allowed: 1-64 characters of letters, digits, '-', '_', '.'")
    if robot_id in RESERVED_IDS:
        raise ValueError(f"robot id: {robot_id!r} is reserved ({POLICY_PREFIX}/... are the policy servers' keys); "
                         f"not allowed: {', '.join(RESERVED_IDS)}")
    return robot_id


@dataclass(frozen=True)
class RobotKeys:
    """The key expressions of one robot."""

    robot_id: str

    def __post_init__(self):
        check_robot_id(self.robot_id)

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.robot_id}"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def health(self) -> str:
        return f"{self.prefix}/health"

    @property
    def alive(self) -> str:
        return f"{self.prefix}/alive"

    @property
    def info(self) -> str:
        return f"{self.prefix}/info"

    def command(self, stream: str) -> str:
        if stream not in COMMAND_KINDS:
            raise ValueError(f"command stream: {stream!r}; allowed: {', '.join(COMMAND_KINDS)}")
        return f"{self.prefix}/cmd/{stream}"

    def request(self, name: str) -> str:
        if name not in REQUESTS:
            raise ValueError(f"request: {name!r}; allowed: {', '.join(REQUESTS)}")
        return f"{self.prefix}/request/{name}"


#: Wildcards a fleet view subscribes to.
ALL_ALIVE = f"{ROOT}/*/alive"
ALL_STATE = f"{ROOT}/*/state"
ALL_HEALTH = f"{ROOT}/*/health"
ALL_EVENTS = f"{ROOT}/*/events"


def robot_id_of(key_expr: str) -> str:
    """humanoid_rt/<robot_id>/... -> robot_id."""
    parts = str(key_expr).split("/")
    if len(parts) < 3 or parts[0] != ROOT:
        raise ValueError(f"key {key_expr!r}: not under {ROOT}/<robot_id>/")
    return parts[1]
