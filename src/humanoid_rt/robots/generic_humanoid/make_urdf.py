"""Generate generic_humanoid.urdf and robot.yaml from one joint table.

Run `python make_urdf.py` after editing the tables below; both output files
are written next to this script.  Every number that appears in both outputs
(position limits, effort, velocity) comes from the same table entry, so the
URDF and the runtime config cannot drift apart.

Conventions: x forward, y left, z up.  The zero configuration is the robot
standing straight with the arms hanging down; every joint axis is +x, +y or
+z of its frame, so at zero all frames are parallel to the pelvis frame.
Only the left side is written out: the right side is its mirror image in the
sagittal (x-z) plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
URDF_FILE = "generic_humanoid.urdf"
YAML_FILE = "robot.yaml"
ROBOT_NAME = "generic_humanoid"


@dataclass(frozen=True)
class Actuator:
    """A drive class: several joints of a humanoid share the same motor+gearbox."""

    effort_nm: float
    velocity_rad_s: float
    # Rotor inertia seen through the gearbox: what the mock drive simulates.
    reflected_inertia_kgm2: float
    viscous_nm_s_rad: float
    coulomb_nm: float


ACTUATORS = {
    "A300": Actuator(300.0, 12.0, 0.45, 0.8, 3.0),
    "A250": Actuator(250.0, 12.0, 0.40, 0.7, 2.5),
    "A200": Actuator(200.0, 10.0, 0.35, 0.6, 2.0),
    "A150": Actuator(150.0, 10.0, 0.25, 0.5, 1.5),
    "A120": Actuator(120.0, 9.0, 0.20, 0.4, 1.2),
    "A100": Actuator(100.0, 12.0, 0.15, 0.3, 1.0),
    "A60": Actuator(60.0, 14.0, 0.08, 0.2, 0.6),
    "A50": Actuator(50.0, 15.0, 0.06, 0.15, 0.5),
    "A20": Actuator(20.0, 15.0, 0.015, 0.05, 0.2),
    "A15": Actuator(15.0, 15.0, 0.012, 0.04, 0.15),
    "A10": Actuator(10.0, 8.0, 0.008, 0.03, 0.1),
}

# Default impedance: full rated torque at 1 rad of position error, and a
# damping gain that makes the mock actuator (reflected inertia only) critically
# damped.
KP_PER_NM = 1.0
SOFT_MARGIN_RAD = 0.05
# Full rated torque reachable in 10 ms.
TORQUE_RATE_PER_NM = 100.0


@dataclass(frozen=True)
class Shape:
    """A primitive that is at once the visual, the collision and the mass model."""

    kind: str  # "box" (size = x, y, z), "cylinder" (radius, length), "sphere" (radius,)
    size: tuple[float, ...]
    center: tuple[float, float, float]
    axis: str = "z"  # cylinder axis in the link frame

    def mirrored(self) -> Shape:
        x, y, z = self.center
        return replace(self, center=(x, -y, z))

    def volume_inertia(self, mass: float) -> tuple[float, float, float]:
        """Principal moments (Ixx, Iyy, Izz) about the centre, for a uniform solid."""
        if self.kind == "box":
            sx, sy, sz = self.size
            return (
                mass * (sy**2 + sz**2) / 12.0,
                mass * (sx**2 + sz**2) / 12.0,
                mass * (sx**2 + sy**2) / 12.0,
            )
        if self.kind == "cylinder":
            radius, length = self.size
            along = mass * radius**2 / 2.0
            across = mass * (3.0 * radius**2 + length**2) / 12.0
            return tuple(along if a == self.axis else across for a in "xyz")
        if self.kind == "sphere":
            (radius,) = self.size
            moment = 2.0 / 5.0 * mass * radius**2
            return (moment, moment, moment)
        raise ValueError(f"unknown shape kind {self.kind!r}")


@dataclass(frozen=True)
class Joint:
    name: str
    parent: str
    child: str
    origin: tuple[float, float, float]  # child frame in the parent frame at q = 0
    axis: str  # "x", "y" or "z"
    limits: tuple[float, float]  # rad
    actuator: str
    mass: float  # of the child link
    shape: Shape  # of the child link

    def mirrored(self) -> Joint:
        x, y, z = self.origin
        lower, upper = self.limits
        # Mirroring in the x-z plane keeps pitch (y) angles and negates roll (x)
        # and yaw (z) angles, so those ranges swap and change sign.
        limits = (lower, upper) if self.axis == "y" else (-upper, -lower)
        return replace(
            self,
            name=_to_right(self.name),
            parent=_to_right(self.parent),
            child=_to_right(self.child),
            origin=(x, -y, z),
            limits=limits,
            shape=self.shape.mirrored(),
        )


@dataclass(frozen=True)
class Frame:
    """A massless link on a fixed joint: a named target for Cartesian tasks."""

    name: str
    parent: str
    origin: tuple[float, float, float]

    def mirrored(self) -> Frame:
        x, y, z = self.origin
        return Frame(_to_right(self.name), _to_right(self.parent), (x, -y, z))


def _to_right(name: str) -> str:
    return name.replace("left_", "right_")


def box(sx, sy, sz, center=(0.0, 0.0, 0.0)) -> Shape:
    return Shape("box", (sx, sy, sz), center)


def cylinder(radius, length, center=(0.0, 0.0, 0.0), axis="z") -> Shape:
    return Shape("cylinder", (radius, length), center, axis)


def sphere(radius, center=(0.0, 0.0, 0.0)) -> Shape:
    return Shape("sphere", (radius,), center)


ROOT_LINK = "pelvis"
ROOT_MASS = 7.0
ROOT_SHAPE = box(0.16, 0.28, 0.14)

# The sole: the ankle roll link's box (length x width), its bottom face at the left_foot/right_foot frames.
SOLE_SIZE = (0.22, 0.10)

# Hip joint centres 0.20 m apart; thigh and shank 0.40 m; ankle 0.06 m above the sole.
LEFT_LEG = [
    Joint("left_hip_yaw", "pelvis", "left_hip_yaw_link", (0.0, 0.10, -0.08), "z",
          (-0.80, 1.00), "A150", 1.5, cylinder(0.05, 0.08, (0.0, 0.0, -0.03))),
    Joint("left_hip_roll", "left_hip_yaw_link", "left_hip_roll_link", (0.0, 0.0, -0.06), "x",
          (-0.35, 0.80), "A200", 1.5, cylinder(0.05, 0.10, axis="x")),
    Joint("left_hip_pitch", "left_hip_roll_link", "left_thigh_link", (0.0, 0.0, -0.02), "y",
          (-2.00, 0.55), "A250", 5.5, cylinder(0.06, 0.36, (0.0, 0.0, -0.20))),
    Joint("left_knee", "left_thigh_link", "left_shank_link", (0.0, 0.0, -0.40), "y",
          (-0.08, 2.40), "A300", 3.5, cylinder(0.05, 0.36, (0.0, 0.0, -0.20))),
    Joint("left_ankle_pitch", "left_shank_link", "left_ankle_pitch_link", (0.0, 0.0, -0.40), "y",
          (-0.80, 0.90), "A150", 0.5, cylinder(0.03, 0.06, axis="y")),
    Joint("left_ankle_roll", "left_ankle_pitch_link", "left_ankle_roll_link", (0.0, 0.0, 0.0), "x",
          (-0.35, 0.35), "A120", 1.2, box(*SOLE_SIZE, 0.04, (0.03, 0.0, -0.04))),
]

WAIST = [
    Joint("waist_yaw", "pelvis", "waist_yaw_link", (0.0, 0.0, 0.10), "z",
          (-1.50, 1.50), "A150", 1.0, cylinder(0.06, 0.04)),
    Joint("waist_roll", "waist_yaw_link", "waist_roll_link", (0.0, 0.0, 0.04), "x",
          (-0.40, 0.40), "A150", 1.0, cylinder(0.05, 0.08, axis="x")),
    Joint("waist_pitch", "waist_roll_link", "torso_link", (0.0, 0.0, 0.0), "y",
          (-0.35, 0.90), "A150", 11.0, box(0.20, 0.32, 0.36, (0.0, 0.0, 0.18))),
]

# Shoulders 0.30 m above the waist pitch axis; upper arm and forearm 0.28 / 0.24 m.
LEFT_ARM = [
    Joint("left_shoulder_pitch", "torso_link", "left_shoulder_pitch_link", (0.0, 0.20, 0.30), "y",
          (-2.90, 1.00), "A100", 1.0, cylinder(0.05, 0.08, (0.0, 0.03, 0.0), axis="y")),
    Joint("left_shoulder_roll", "left_shoulder_pitch_link", "left_shoulder_roll_link", (0.0, 0.06, 0.0), "x",
          (-0.30, 2.60), "A100", 1.0, cylinder(0.045, 0.08, (0.0, 0.0, -0.03), axis="x")),
    Joint("left_shoulder_yaw", "left_shoulder_roll_link", "left_upper_arm_link", (0.0, 0.0, -0.08), "z",
          (-2.60, 2.60), "A60", 1.8, cylinder(0.045, 0.20, (0.0, 0.0, -0.10))),
    Joint("left_elbow", "left_upper_arm_link", "left_forearm_link", (0.0, 0.0, -0.20), "y",
          (-2.60, 0.10), "A50", 1.2, cylinder(0.04, 0.20, (0.0, 0.0, -0.10))),
    Joint("left_wrist_roll", "left_forearm_link", "left_wrist_roll_link", (0.0, 0.0, -0.20), "z",
          (-2.60, 2.60), "A20", 0.4, cylinder(0.03, 0.04, (0.0, 0.0, -0.02))),
    Joint("left_wrist_pitch", "left_wrist_roll_link", "left_wrist_pitch_link", (0.0, 0.0, -0.04), "y",
          (-1.20, 1.20), "A15", 0.3, cylinder(0.025, 0.05, axis="y")),
    Joint("left_wrist_yaw", "left_wrist_pitch_link", "left_wrist_yaw_link", (0.0, 0.0, -0.02), "x",
          (-0.50, 0.80), "A15", 0.5, box(0.09, 0.035, 0.16, (0.0, 0.0, -0.09))),
]

NECK = [
    Joint("neck_yaw", "torso_link", "neck_yaw_link", (0.0, 0.0, 0.36), "z",
          (-1.40, 1.40), "A10", 0.4, cylinder(0.04, 0.06, (0.0, 0.0, 0.03))),
    Joint("neck_pitch", "neck_yaw_link", "head_link", (0.0, 0.0, 0.06), "y",
          (-0.60, 0.90), "A10", 3.0, sphere(0.10, (0.0, 0.0, 0.04))),
]

LEFT_FRAMES = [
    Frame("left_foot", "left_ankle_roll_link", (0.03, 0.0, -0.06)),  # sole centre
    Frame("left_hand", "left_wrist_yaw_link", (0.0, 0.0, -0.08)),  # palm centre
]
CENTRE_FRAMES = [
    Frame("head_camera", "head_link", (0.09, 0.0, 0.06)),
    Frame("imu", "pelvis", (0.0, 0.0, 0.05)),
]


def _mirror_all(items):
    return [item.mirrored() for item in items]


# The joint order of the robot, with the bus each joint is wired to.
JOINTS_BY_BUS = [
    ("left_leg", LEFT_LEG),
    ("right_leg", _mirror_all(LEFT_LEG)),
    ("waist_head", WAIST),
    ("left_arm", LEFT_ARM),
    ("right_arm", _mirror_all(LEFT_ARM)),
    ("waist_head", NECK),
]
JOINTS = [joint for _, chain in JOINTS_BY_BUS for joint in chain]
FRAMES = LEFT_FRAMES + _mirror_all(LEFT_FRAMES) + CENTRE_FRAMES
BUS_NAMES = list(dict.fromkeys(bus for bus, _ in JOINTS_BY_BUS))


def _num(value: float) -> str:
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


def _vec(values) -> str:
    return " ".join(_num(v) for v in values)


_AXIS_VECTORS = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}
# URDF cylinders lie along z; these rotations lay them along x or y.
_CYLINDER_RPY = {"x": (0.0, math.pi / 2, 0.0), "y": (math.pi / 2, 0.0, 0.0), "z": (0.0, 0.0, 0.0)}


def _geometry_xml(shape: Shape) -> str:
    if shape.kind == "box":
        return f'<box size="{_vec(shape.size)}"/>'
    if shape.kind == "cylinder":
        radius, length = shape.size
        return f'<cylinder radius="{_num(radius)}" length="{_num(length)}"/>'
    return f'<sphere radius="{_num(shape.size[0])}"/>'


def _link_xml(name: str, mass: float, shape: Shape) -> list[str]:
    ixx, iyy, izz = shape.volume_inertia(mass)
    rpy = _CYLINDER_RPY[shape.axis] if shape.kind == "cylinder" else (0.0, 0.0, 0.0)
    origin = f'<origin xyz="{_vec(shape.center)}" rpy="{_vec(rpy)}"/>'
    geometry = _geometry_xml(shape)
    return [
        f'  <link name="{name}">',
        "    <inertial>",
        f'      <origin xyz="{_vec(shape.center)}" rpy="0 0 0"/>',
        f'      <mass value="{_num(mass)}"/>',
        f'      <inertia ixx="{_num(ixx)}" ixy="0" ixz="0" iyy="{_num(iyy)}" iyz="0" izz="{_num(izz)}"/>',
        "    </inertial>",
        f"    <visual>{origin}<geometry>{geometry}</geometry></visual>",
        f"    <collision>{origin}<geometry>{geometry}</geometry></collision>",
        "  </link>",
    ]


def build_urdf() -> str:
    lines = [
        '<?xml version="1.0"?>',
        f"<!-- Generated by {Path(__file__).name}; edit its tables, not this file. -->",
        f'<robot name="{ROBOT_NAME}">',
    ]
    lines += _link_xml(ROOT_LINK, ROOT_MASS, ROOT_SHAPE)
    for joint in JOINTS:
        actuator = ACTUATORS[joint.actuator]
        lower, upper = joint.limits
        lines += _link_xml(joint.child, joint.mass, joint.shape)
        lines += [
            f'  <joint name="{joint.name}" type="revolute">',
            f'    <origin xyz="{_vec(joint.origin)}" rpy="0 0 0"/>',
            f'    <parent link="{joint.parent}"/>',
            f'    <child link="{joint.child}"/>',
            f'    <axis xyz="{_vec(_AXIS_VECTORS[joint.axis])}"/>',
            f'    <limit lower="{_num(lower)}" upper="{_num(upper)}" '
            f'effort="{_num(actuator.effort_nm)}" velocity="{_num(actuator.velocity_rad_s)}"/>',
            "  </joint>",
        ]
    for frame in FRAMES:
        lines += [
            f'  <link name="{frame.name}"/>',
            f'  <joint name="{frame.name}_fixed" type="fixed">',
            f'    <origin xyz="{_vec(frame.origin)}" rpy="0 0 0"/>',
            f'    <parent link="{frame.parent}"/>',
            f'    <child link="{frame.name}"/>',
            "  </joint>",
        ]
    lines.append("</robot>")
    return "\n".join(lines) + "\n"


class _Inline(dict):
    """A mapping written on one line in robot.yaml, to keep 31 joints readable."""


class _InlineList(list):
    """A sequence written on one line in robot.yaml."""


class _RobotYamlDumper(yaml.SafeDumper):
    pass


_RobotYamlDumper.add_representer(
    _Inline, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)
_RobotYamlDumper.add_representer(
    _InlineList, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)


def _joint_entry(joint: Joint, bus: str, device_id: int) -> dict:
    actuator = ACTUATORS[joint.actuator]
    kp = KP_PER_NM * actuator.effort_nm
    kd = 2.0 * math.sqrt(kp * actuator.reflected_inertia_kgm2)
    return {
        "name": joint.name,
        "bus": bus,
        "device_id": device_id,
        "gear": 1.0,
        "direction": 1,
        "offset_rad": 0.0,
        "limits": {
            "position_rad": _InlineList(joint.limits),
            "soft_margin_rad": SOFT_MARGIN_RAD,
            "velocity_rad_s": actuator.velocity_rad_s,
            "torque_nm": actuator.effort_nm,
            "torque_rate_nm_s": TORQUE_RATE_PER_NM * actuator.effort_nm,
        },
        "gains": _Inline(kp=kp, kd=round(kd, 3)),
        "mock": _Inline(
            inertia_kgm2=actuator.reflected_inertia_kgm2,
            viscous_nm_s_rad=actuator.viscous_nm_s_rad,
            coulomb_nm=actuator.coulomb_nm,
        ),
    }


def build_robot_yaml() -> str:
    joints = []
    joints_on_bus = dict.fromkeys(BUS_NAMES, 0)
    for bus, chain in JOINTS_BY_BUS:
        for joint in chain:
            joints_on_bus[bus] += 1
            joints.append(_joint_entry(joint, bus, device_id=joints_on_bus[bus]))
    config = {
        "name": ROBOT_NAME,
        "model": {"urdf": URDF_FILE, "base": "fixed", "tasks": ["left_hand", "right_hand", "left_foot", "right_foot"],
                  "gravity_compensation": True,
                  # Floating base (issue 13): the IMU on the pelvis and the soles (the ankle roll links' boxes).
                  "imu": _Inline(frame="imu", stale_cycles=10, source="bus"),
                  "contacts": [_Inline(frame=f"{side}_foot", sole=list(SOLE_SIZE), offset=[0.0, 0.0, 0.0])
                               for side in ("left", "right")]},
        "loop": {
            "rate_hz": 1000,
            "priority": 80,
            "cpu": None,
            "lock_memory": True,
            "telemetry_decimation": 1,
        },
        "safety": {
            "watchdog_ttl_s": 0.1,
            "hold_timeout_s": 0.5,
            "hold_window_rad": 0.15,
            "damping_time_s": 1.0,
            "enable_ramp_s": 0.5,
            "max_missed_replies": 3,
            "encoder_jump_rad": 0.2,
            "frozen_encoder_cycles": 200,
            "frozen_torque_nm": 5.0,
            "overspeed_factor": 1.2,
            "estop_category": 0,
        },
        # One simulated bus per limb, wired like a real robot.
        "buses": [
            _Inline(name=bus, type="mock", latency_cycles=1, position_noise_rad=1.0e-5, seed=seed)
            for seed, bus in enumerate(BUS_NAMES, start=1)
        ],
        "joints": joints,
        # Standing robot (issue 13, standing_config.py): the crouch a stop lowers into (hips and ankles
        # -0.5, knees 1.0: the pelvis ~10 cm lower, trunk upright, CoM over the feet) and the arms'
        # tuck while falling (elbows bent, arms at the sides); everything else: the defaults.
        "floating_base": {
            "fall": {"tuck": _Inline({f"{side}_{joint}": angle for side in ("left", "right")
                                      for joint, angle in (("shoulder_pitch", 0.0), ("shoulder_roll", 0.0),
                                                           ("elbow", -1.5))})},
            "stops": {"crouch": _Inline({f"{side}_{joint}": angle for side in ("left", "right")
                                         for joint, angle in (("hip_pitch", -0.5), ("knee", 1.0),
                                                              ("ankle_pitch", -0.5))})},
        },
    }
    header = f"# Generated by {Path(__file__).name}; edit its tables, not this file.\n"
    return header + yaml.dump(config, Dumper=_RobotYamlDumper, sort_keys=False, width=120)


def main() -> None:
    (HERE / URDF_FILE).write_text(build_urdf())
    (HERE / YAML_FILE).write_text(build_robot_yaml())
    print(f"wrote {HERE / URDF_FILE} and {HERE / YAML_FILE} ({len(JOINTS)} joints)")


if __name__ == "__main__":
    main()
