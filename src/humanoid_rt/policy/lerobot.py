"""A LeRobot-shaped robot over a humanoid_rt Robot, without depending on lerobot.

It follows the interface LeRobot's `Robot` classes expose (`observation_features`,
`action_features`, `connect`, `is_connected`, `is_calibrated`, `calibrate`,
`configure`, `get_observation`, `send_action` returning the action actually sent,
`disconnect`), with flat "<joint>.pos" / ".vel" / ".effort" float features, so a
LeRobot policy loop or recorder can drive the robot. Cameras are not part of this
runtime; compose them in the caller.

send_action() clips to the soft limits and to `max_relative_target` (per step, relative to
the measured position, like LeRobot's safety option) and sends the result as a setpoint
stamped `lead_s` ahead; the C++ loop's velocity limit and supervisor still apply.
For chunked policies use ChunkExecutor instead (blending, acceleration limits).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class LeRobotAdapter:
    def __init__(self, robot, *, joints: Sequence[str] | None = None, max_relative_target: float | None = None,
                 lead_s: float = 0.05, ttl: float | None = None):
        self.robot = robot
        self.name = robot.config.name
        self.joints = tuple(robot.joint_names if joints is None else joints)
        self.index = np.array([robot.joint_index(j) for j in self.joints])
        self.max_relative_target = max_relative_target
        self.lead_s = lead_s
        self.ttl = ttl
        self.q_low = robot.config.joint_array("limits.q_soft_min")[self.index]
        self.q_high = robot.config.joint_array("limits.q_soft_max")[self.index]
        self._connected = False

    @property
    def observation_features(self) -> dict[str, type]:
        return {f"{j}.{kind}": float for kind in ("pos", "vel", "effort") for j in self.joints}

    @property
    def action_features(self) -> dict[str, type]:
        return {f"{j}.pos": float for j in self.joints}

    @property
    def is_connected(self) -> bool:
        return self._connected and not self.robot.closed

    @property
    def is_calibrated(self) -> bool:
        return True  # joint offsets live in the robot config (transmission offsets)

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def connect(self, calibrate: bool = True) -> None:
        """Enable the robot if it is not (in real time waits for ACTIVE; stepped: served by the next step())."""
        if self.robot.state().supervisor_state not in ("ACTIVE", "ENABLING", "HOLD"):
            self.robot.enable()
        self._connected = True

    def get_observation(self) -> dict[str, Any]:
        state = self.robot.state()
        obs: dict[str, Any] = {}
        for values, kind in ((state.q, "pos"), (state.dq, "vel"), (state.tau, "effort")):
            for name, value in zip(self.joints, values[self.index]):
                obs[f"{name}.{kind}"] = float(value)
        return obs

    def send_action(self, action: dict[str, Any]) -> dict[str, Any]:
        if not self.is_connected:
            raise RuntimeError("send_action: not connected; call connect() first")
        expected = set(self.action_features)
        unknown = sorted(set(action) - expected)
        missing = sorted(expected - set(action))
        if unknown or missing:
            raise ValueError(f"action: unknown keys {unknown[:3]} / missing keys {missing[:3]}; allowed: "
                             f"<joint>.pos for {', '.join(self.joints)}")
        goal = np.array([float(action[f"{j}.pos"]) for j in self.joints])
        bad = np.flatnonzero(~np.isfinite(goal))
        if bad.size:
            raise ValueError(f"action[{self.joints[bad[0]]}.pos]: must be finite (got {goal[bad[0]]})")
        state = self.robot.state()
        if self.max_relative_target is not None:
            present = state.q[self.index]
            goal = np.clip(goal, present - self.max_relative_target, present + self.max_relative_target)
        goal = np.clip(goal, self.q_low, self.q_high)
        q = state.q_ref.copy()
        q[self.index] = goal
        kwargs = {} if self.ttl is None else {"ttl": self.ttl}
        self.robot.set_joint_targets(q, t=self.robot.now() + self.lead_s, source="policy", **kwargs)
        return {f"{j}.pos": float(v) for j, v in zip(self.joints, goal)}

    def disconnect(self) -> None:
        if self._connected and not self.robot.closed:
            self.robot.disable()
        self._connected = False
