"""Whole-body reference motions generated on the fly (used by the demo and benchmarks).

Each motion maps time [s] to joint targets in the robot's joint order, using
joint names, so it works for any robot that has the named joints (others stay
at zero). Amplitudes are kept well inside the bundled humanoid's soft limits.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def _ease(x: float) -> float:
    """0 -> 1 smoothly over x in [0, 1] (raised cosine), so a motion starts and ends at rest."""
    x = min(max(x, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * x)


class HandCircle:
    """A circle of `radius` in the y-z plane around a start pose, for a hand's Cartesian task.

    Fades in and out like SquatAndWave so the task starts and ends at the start pose.
    """

    def __init__(self, start_pose: np.ndarray, duration_s: float, radius: float = 0.06, period_s: float = 3.0,
                 fade_s: float = 1.0):
        self.start = np.array(start_pose, dtype=float)
        self.duration_s = duration_s
        self.radius = radius
        self.period_s = period_s
        self.fade_s = min(fade_s, duration_s / 2)

    def __call__(self, t: float) -> np.ndarray:
        envelope = _ease(t / self.fade_s) * _ease((self.duration_s - t) / self.fade_s)
        phase = 2 * math.pi * t / self.period_s
        pose = self.start.copy()
        pose[1, 3] += envelope * self.radius * math.sin(phase)
        pose[2, 3] += envelope * self.radius * (1 - math.cos(phase))
        return pose


class SquatAndWave:
    """A squat (hips, knees and ankles in the ratio that keeps the torso upright)
    while the right arm waves, the left arm swings and the waist turns.

    Squat depth and wave amplitude fade in over `fade_s` and out over the last `fade_s`.
    """

    def __init__(self, joint_names: Sequence[str], duration_s: float, fade_s: float = 1.0):
        # Names with a "_joint" suffix (Unitree's URDFs) match too.
        self.index = {name.removesuffix("_joint"): i for i, name in enumerate(joint_names)}
        self.n = len(joint_names)
        self.duration_s = duration_s
        self.fade_s = min(fade_s, duration_s / 2)

    def _set(self, q: np.ndarray, name: str, value: float) -> None:
        i = self.index.get(name)
        if i is not None:
            q[i] = value

    def __call__(self, t: float) -> np.ndarray:
        q = np.zeros(self.n)
        envelope = _ease(t / self.fade_s) * _ease((self.duration_s - t) / self.fade_s)
        squat = 0.35 * envelope * (0.5 - 0.5 * math.cos(2 * math.pi * t / 4.0))  # knee-bend fraction, 4 s period
        for side in ("left", "right"):
            self._set(q, f"{side}_hip_pitch", -squat)
            self._set(q, f"{side}_knee", 2 * squat)
            self._set(q, f"{side}_ankle_pitch", -squat)
        self._set(q, "waist_yaw", 0.25 * envelope * math.sin(2 * math.pi * t / 6.0))
        wave = envelope * math.sin(2 * math.pi * t / 1.2)
        self._set(q, "right_shoulder_pitch", -1.2 * envelope)
        self._set(q, "right_shoulder_roll", -0.3 * envelope)
        self._set(q, "right_elbow", -0.9 * envelope + 0.35 * wave)
        self._set(q, "right_wrist_roll", 0.3 * wave)
        self._set(q, "left_shoulder_pitch", 0.3 * envelope * math.sin(2 * math.pi * t / 2.0))
        self._set(q, "left_elbow", -0.4 * envelope)
        self._set(q, "neck_yaw", 0.3 * envelope * math.sin(2 * math.pi * t / 3.0))
        return q
