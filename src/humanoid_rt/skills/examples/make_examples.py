"""Generate the example skills for the bundled humanoid (generic_humanoid).

    python -m humanoid_rt.skills.examples.make_examples      # rewrites *.skill.json next to this file

Each motion starts and ends at rest (raised-cosine envelopes), stays well inside
the soft limits, and is sampled at 100 Hz with analytic velocities.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from humanoid_rt.skills.format import Skill

RATE_HZ = 100.0
HERE = Path(__file__).resolve().parent


def _ease(x):
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _d_ease(x, scale):
    inside = (x > 0) & (x < 1)
    return np.where(inside, 0.5 * np.pi * np.sin(np.pi * np.clip(x, 0, 1)) * scale, 0.0)


def _numeric_velocity(t, q):
    return np.gradient(q, t, axis=0)


def _skill(name, scenario, joints, t, q, description):
    dq = _numeric_velocity(t, q)
    dq[0] = 0.0
    dq[-1] = 0.0
    return Skill(name=name, scenario=scenario, robot="generic_humanoid", source="synthetic", rate_hz=RATE_HZ,
                 joints=tuple(joints), t=t, q=q, dq=dq, description=description)


def wave(duration=4.0) -> Skill:
    t = np.arange(0.0, duration + 1e-9, 1 / RATE_HZ)
    envelope = _ease(t / 0.8) * _ease((duration - t) / 0.8)
    oscillation = np.sin(2 * np.pi * t / 1.0)
    joints = ["right_shoulder_pitch", "right_shoulder_roll", "right_elbow", "right_wrist_roll"]
    q = np.column_stack([-1.3 * envelope, -0.4 * envelope, -0.8 * envelope + 0.35 * envelope * oscillation,
                         0.3 * envelope * oscillation])
    return _skill("wave", "gesture", joints, t, q, "Right arm up, the forearm waves four times.")


def squat(duration=4.0) -> Skill:
    t = np.arange(0.0, duration + 1e-9, 1 / RATE_HZ)
    depth = 0.45 * (0.5 - 0.5 * np.cos(2 * np.pi * t / duration))  # down and up once
    joints = []
    columns = []
    for side in ("left", "right"):
        joints += [f"{side}_hip_pitch", f"{side}_knee", f"{side}_ankle_pitch"]
        columns += [-depth, 2 * depth, -depth]
    joints += ["left_shoulder_pitch", "right_shoulder_pitch"]
    columns += [-0.8 * depth / 0.45, -0.8 * depth / 0.45]  # arms forward for balance
    return _skill("squat", "posture", joints, t, np.column_stack(columns),
                  "Squat to 0.9 rad knee flexion and back, torso upright, arms forward.")


def box_pick_and_place(duration=8.0) -> Skill:
    """Both arms reach forward-down to a box, close in (grip), lift, turn the waist, lower, release, return."""
    keys = [  # time, waist_yaw, shoulder_pitch, shoulder_roll (left; right mirrored), elbow, hip_pitch, knee
        (0.0, 0.00, 0.0, 0.00, 0.0, 0.0, 0.0),
        (1.5, 0.00, -0.9, 0.35, -0.5, -0.35, 0.7),   # reach down, arms open
        (2.3, 0.00, -0.9, 0.12, -0.5, -0.35, 0.7),   # close in on the box
        (3.5, 0.00, -0.6, 0.12, -1.0, 0.0, 0.0),     # lift, elbows bent
        (5.0, 0.70, -0.6, 0.12, -1.0, 0.0, 0.0),     # turn
        (6.0, 0.70, -0.9, 0.12, -0.5, -0.35, 0.7),   # lower
        (6.6, 0.70, -0.9, 0.35, -0.5, -0.35, 0.7),   # release
        (8.0, 0.00, 0.0, 0.00, 0.0, 0.0, 0.0),       # back to the start
    ]
    keys = np.array(keys)
    t = np.arange(0.0, duration + 1e-9, 1 / RATE_HZ)
    # Between keyframes: raised-cosine interpolation (rest at every keyframe).
    values = np.zeros((t.size, keys.shape[1] - 1))
    for k in range(len(keys) - 1):
        t0, t1 = keys[k, 0], keys[k + 1, 0]
        mask = (t >= t0 - 1e-12) & (t <= t1 + 1e-12)
        s = _ease((t[mask] - t0) / (t1 - t0))[:, None]
        values[mask] = (1 - s) * keys[k, 1:] + s * keys[k + 1, 1:]
    waist, shoulder_pitch, shoulder_roll, elbow, hip, knee = values.T
    joints = ["waist_yaw", "left_shoulder_pitch", "left_shoulder_roll", "left_elbow", "right_shoulder_pitch",
              "right_shoulder_roll", "right_elbow", "left_hip_pitch", "left_knee", "left_ankle_pitch",
              "right_hip_pitch", "right_knee", "right_ankle_pitch"]
    q = np.column_stack([waist, shoulder_pitch, shoulder_roll, elbow, shoulder_pitch, -shoulder_roll, elbow,
                         hip, knee, hip, hip, knee, hip])
    # ankle = hip keeps the shank-to-torso geometry of the squat (ankle_pitch = -knee/2 = hip)
    return _skill("box_pick_and_place", "pick_and_place", joints, t, q,
                  "Reach down to a box in front, grip it between both hands, lift, turn the waist 0.7 rad, "
                  "lower and release it, return.")


def main() -> None:
    for skill in (wave(), squat(), box_pick_and_place()):
        path = skill.save(HERE / f"{skill.name}.skill.json")
        print(f"wrote {path.name}: {skill.summary()}")


if __name__ == "__main__":
    main()
