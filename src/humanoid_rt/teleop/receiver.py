"""The robot side: a thin Python handle on the C++ receiver thread (humanoid_rt._core.teleop.Receiver).

Every packet is handled in C++: the GIL is never taken between recvfrom and
the setpoint buffer. Python only starts, stops and reads statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .. import _core
from . import protocol

REJECT_REASONS: tuple[str, ...] = tuple(_core.teleop.REJECT_REASONS[1:])

#: Receiver options and their defaults (see cpp/include/humanoid_rt/teleop_receiver.hpp).
DEFAULTS = {
    "priority": 0,                   # 0: SCHED_OTHER; else SCHED_FIFO below the loop's priority
    "start_gate_rad": 0.8,           # refuse to engage when a target is farther than this from the measured pose
    "ramp_velocity_fraction": 0.25,  # ramp in at this fraction of each joint's velocity limit
    "velocity_fraction": 1.0,        # engaged: targets move at most this fraction of the velocity limit
    "max_step_rad": 0.5,             # engaged: at most this far per packet
    "replay_window": 64,             # sequence numbers remembered per session
    "poll_timeout_s": 0.002,
    "pose_start_gate_m": 0.3,        # refuse a frame's first pose farther than this from its measured position
    "pose_start_gate_rad": 0.8,      # ... or turned more than this from its measured orientation
}


class TeleopReceiver:
    """Receives teleop packets for one robot. Create with Robot.attach_teleop()."""

    def __init__(self, loop, key: bytes, *, host: str = "127.0.0.1", port: int = 0,
                 joint_names: Sequence[str] = (), hand_joints: Mapping[str, Sequence[tuple[str, float, float]]] | None = None,
                 pose_stiffness: Sequence[float] | None = None, pose_damping: Sequence[float] | None = None,
                 **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"teleop option: unknown {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}, "
                            "pose_stiffness, pose_damping")
        if len(key) < protocol.MIN_KEY_BYTES:
            raise ValueError(f"key: {len(key)} bytes; allowed: at least {protocol.MIN_KEY_BYTES}")
        index = {name: i for i, name in enumerate(joint_names)}
        hands = []
        for hand, joints in (hand_joints or {}).items():
            if hand not in protocol.HANDS:
                raise ValueError(f"hand_joints: hand {hand!r}; allowed: left, right")
            for name, open_q, closed_q in joints:
                if name not in index:
                    raise ValueError(f"hand_joints.{hand}: unknown joint {name!r}; allowed: {', '.join(joint_names)}")
                hands.append((protocol.HANDS[hand], index[name], float(open_q), float(closed_q)))
        merged = {**DEFAULTS, **options}
        self._receiver = _core.teleop.Receiver(loop, bytes(key), host=host, port=int(port), hand_joints=hands,
                                               pose_stiffness=pose_stiffness, pose_damping=pose_damping, **merged)
        self.host = host
        self._receiver.start()

    @property
    def port(self) -> int:
        """The UDP port bound (useful with port=0)."""
        return self._receiver.port

    @property
    def url(self) -> str:
        return f"udp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._receiver.running

    def statistics(self) -> dict:
        """Counters and latency histograms; never blocks the receiver thread.

        accepted, rejected {reason: count}, gaps, estops, setpoints written/applied/superseded,
        poses_applied and pose_engagements (frame-pose records written to their tasks, frames engaged
        through the pose start gate), hand_unsupported (valid hand packets that moved nothing, and why
        in last_unsupported), base_targets_applied / clipped_base_target / base_target_unsupported (kind-4
        pelvis targets written to the contact QP, clipped to model.standing.base_target, or on a robot
        without the contact QP), clipping counts, send_to_receive_latency (meaningful when sender and
        robot share CLOCK_MONOTONIC, e.g. loopback) and receive_to_applied_latency [us].
        """
        return self._receiver.statistics().to_dict()

    def close(self) -> None:
        self._receiver.stop()

    def __enter__(self) -> "TeleopReceiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def key_from(key: bytes | None, key_file: str | Path | None) -> bytes:
    if (key is None) == (key_file is None):
        raise ValueError("teleop key: give exactly one of key (bytes) or key_file (path)")
    return protocol.load_key(key_file) if key_file is not None else bytes(key)
