"""Generates robot.yaml for the Unitree G1 (29 DoF) from its URDF in PyPI's
example-robot-data, so limits are read, not retyped. Run after upgrading that package:

    python src/humanoid_rt/robots/g1/make_config.py
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from humanoid_rt.config import EXAMPLE_ROBOT_DATA_PREFIX, example_robot_data_dir

URDF = "robots/g1_description/urdf/g1_29dof_rev_1_0.urdf"
HERE = Path(__file__).resolve().parent

# Buses as on the real robot: one per limb, plus the waist.
BUS_OF_PREFIX = (("left_hip", "left_leg"), ("left_knee", "left_leg"), ("left_ankle", "left_leg"),
                 ("right_hip", "right_leg"), ("right_knee", "right_leg"), ("right_ankle", "right_leg"),
                 ("waist", "waist"), ("left_", "left_arm"), ("right_", "right_arm"))
# Reflected inertia the mock actuator moves [kg m^2], by joint group: a rough share of the limb it carries.
MOCK_INERTIA = {"hip": 0.15, "knee": 0.1, "ankle": 0.03, "waist": 0.3, "shoulder": 0.05, "elbow": 0.02, "wrist": 0.005}


def _acceleration(velocity: float, effort: float, kp: float, inertia: float, margin: float) -> float:
    """The reference's acceleration limit (SLA), also its braking into the soft wall.

    A joint tracking a reference that brakes at a lags it by about a / w^2 (w = sqrt(kp / I)), so it
    crosses the soft wall at about sqrt(2) a / w; the wall (full torque at the hard limit) stops it
    within the soft margin when that speed is below half of sqrt(margin * effort / I). Capped at
    reaching the velocity limit in 0.2 s, the loader's default.
    """
    w = math.sqrt(kp / inertia)
    return round(min(velocity / 0.2, 0.5 * math.sqrt(margin * effort / inertia) * w / math.sqrt(2.0)), 1)


def _group(name: str) -> str:
    return next(key for key in MOCK_INERTIA if key in name)


def build_config() -> dict:
    data_dir = example_robot_data_dir()
    if data_dir is None:
        raise SystemExit("example-robot-data is not installed: pip install 'humanoid_rt[g1]'")
    root = ET.parse(data_dir / URDF).getroot()
    joints, device_ids = [], {}
    for joint in root.iter("joint"):
        if joint.get("type") == "fixed":
            continue
        name = joint.get("name")
        limit = joint.find("limit")
        effort, velocity = float(limit.get("effort")), float(limit.get("velocity"))
        lower, upper = float(limit.get("lower")), float(limit.get("upper"))
        bus = next(bus for prefix, bus in BUS_OF_PREFIX if name.startswith(prefix))
        device_ids[bus] = device_ids.get(bus, 0) + 1
        inertia = MOCK_INERTIA[_group(name)]
        kp = min(4.0 * effort, 300.0)  # full torque at 0.25 rad of error, capped for the legs
        margin = round(min(0.05, (upper - lower) / 4), 4)
        joints.append({
            "name": name,
            "bus": bus,
            "device_id": device_ids[bus],
            "limits": {
                "position_rad": [lower, upper],
                "soft_margin_rad": margin,
                "velocity_rad_s": velocity,
                "torque_nm": effort,
                "torque_rate_nm_s": 100.0 * effort,  # full torque in 10 ms
                "acceleration_rad_s2": _acceleration(velocity, effort, kp, inertia, margin),
            },
            "gains": {"kp": kp, "kd": round(2.0 * math.sqrt(kp * inertia), 3)},
            "mock": {"inertia_kgm2": inertia, "viscous_nm_s_rad": 0.1, "coulomb_nm": round(0.01 * effort, 3)},
        })
    return {
        "name": "unitree_g1_29dof",
        "model": {"urdf": EXAMPLE_ROBOT_DATA_PREFIX + URDF, "base": "fixed",
                  "tasks": ["left_rubber_hand", "right_rubber_hand", "left_ankle_roll_link", "right_ankle_roll_link"],
                  "gravity_compensation": True,
                  # Floating base (issue 13): the IMU in the pelvis; the soles span the URDF's four contact
                  # spheres of each ankle roll link (x -0.05..0.12, y +-0.03, radius 0.005, bottom z -0.035).
                  "imu": {"frame": "pelvis", "stale_cycles": 10, "source": "bus"},
                  "contacts": [{"frame": f"{side}_ankle_roll_link", "sole": [0.18, 0.07], "offset": [0.035, 0.0, -0.035]}
                               for side in ("left", "right")]},
        "loop": {"rate_hz": 1000, "priority": 80, "cpu": None, "lock_memory": True, "telemetry_decimation": 1},
        "buses": [{"name": bus, "type": "mock", "latency_cycles": 1, "position_noise_rad": 1.0e-5, "seed": i + 1}
                  for i, bus in enumerate(dict.fromkeys(j["bus"] for j in joints))],
        "joints": joints,
        # Standing robot (issue 13, standing_config.py): the crouch a stop lowers into (hips and ankles
        # -0.5, knees 1.0: the pelvis ~8 cm lower, trunk upright) and the arms' tuck while falling.
        "floating_base": {
            "fall": {"tuck": {f"{side}_{joint}_joint": angle for side in ("left", "right")
                              for joint, angle in (("shoulder_pitch", 0.0), ("shoulder_roll", 0.0), ("elbow", 1.5))}},
            "stops": {"crouch": {f"{side}_{joint}_joint": angle for side in ("left", "right")
                                 for joint, angle in (("hip_pitch", -0.5), ("knee", 1.0), ("ankle_pitch", -0.5))}},
        },
    }


def main() -> None:
    text = "# Generated by make_config.py from example-robot-data's G1 URDF; edit the script, not this file.\n"
    text += yaml.safe_dump(build_config(), sort_keys=False, default_flow_style=None, width=120)
    (HERE / "robot.yaml").write_text(text)
    print(f"wrote {HERE / 'robot.yaml'}")


if __name__ == "__main__":
    main()
