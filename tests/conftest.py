"""Shared fixtures: small robots on the mock bus, run in stepped mode (exact, no sleeping)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from humanoid_rt import Robot

# A three-joint arm-like robot whose numbers are easy to reason about in tests.
SMALL_ROBOT = {
    "name": "test_arm",
    "model": {"urdf": "__URDF__"},
    "loop": {"rate_hz": 1000, "priority": 0, "lock_memory": False},
    "safety": {
        "watchdog_ttl_s": 0.1,
        "hold_timeout_s": 0.5,
        "hold_window_rad": 0.15,
        "damping_time_s": 0.2,
        "enable_ramp_s": 0.1,
        "max_missed_replies": 3,
        "encoder_jump_rad": 0.2,
        "frozen_encoder_cycles": 50,
        "frozen_torque_nm": 2.0,
        "overspeed_factor": 1.2,
        "estop_category": 0,
        "temperature_limit_c": 90.0,
    },
    "buses": [{"name": "arm", "type": "mock", "latency_cycles": 0, "position_noise_rad": 0.0, "seed": 7}],
    "joints": [
        {
            "name": f"j{i}",
            "bus": "arm",
            "device_id": i + 1,
            "limits": {
                "position_rad": [-1.0, 1.0],
                "soft_margin_rad": 0.1,
                "velocity_rad_s": 5.0,
                "torque_nm": 40.0,
                "torque_rate_nm_s": 20000.0,
                # High enough that the reference's acceleration limit (SLA) never acts in tests written
                # before it existed; tests of SLA set their own.
                "acceleration_rad_s2": 100000.0,
            },
            "gains": {"kp": 100.0, "kd": 4.0},
            "mock": {"inertia_kgm2": 0.05, "viscous_nm_s_rad": 0.05, "coulomb_nm": 0.1},
        }
        for i in range(3)
    ],
}


def small_robot_config(urdf_path, **overrides) -> dict:
    """The SMALL_ROBOT dict with `section=dict(...)` merged in (joints: a dict applied to every joint)."""
    config = copy.deepcopy(SMALL_ROBOT)
    config["model"]["urdf"] = str(urdf_path)
    for section, values in overrides.items():
        if section == "joints":
            for joint in config["joints"]:
                for key, value in values.items():
                    if isinstance(value, dict):
                        joint.setdefault(key, {}).update(value)
                    else:
                        joint[key] = value
        elif isinstance(values, dict):
            config[section].update(values)
        else:
            config[section] = values
    return config


def chain_urdf(joint_names, robot_name: str = "test_arm") -> str:
    """A serial chain of 0.3 m, 1 kg links pitching about y, one per joint name: a model for test robots."""
    links = ['<link name="base"/>']
    joints = []
    parent = "base"
    for i, name in enumerate(joint_names):
        links.append(
            f'<link name="link{i}"><inertial><origin xyz="0 0 -0.15"/><mass value="1.0"/>'
            f'<inertia ixx="0.0077" iyy="0.0077" izz="0.0005" ixy="0" ixz="0" iyz="0"/></inertial></link>')
        offset = "0 0 0" if i == 0 else "0 0 -0.3"
        joints.append(
            f'<joint name="{name}" type="revolute"><parent link="{parent}"/><child link="link{i}"/>'
            f'<origin xyz="{offset}"/><axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="40" velocity="5"/></joint>')
        parent = f"link{i}"
    links.append('<link name="tool"/>')
    joints.append(f'<joint name="tool_joint" type="fixed"><parent link="{parent}"/><child link="tool"/>'
                  '<origin xyz="0 0 -0.3"/></joint>')
    return f'<robot name="{robot_name}">' + "".join(links + joints) + "</robot>\n"


def three_joint_arm_urdf() -> str:
    """The model behind SMALL_ROBOT: joints j0, j1, j2."""
    return chain_urdf(["j0", "j1", "j2"])


@pytest.fixture
def urdf_path(tmp_path):
    path = tmp_path / "arm.urdf"
    path.write_text(three_joint_arm_urdf())
    return path


@pytest.fixture
def make_robot(urdf_path):
    robots = []

    def factory(**overrides) -> Robot:
        robot = Robot(small_robot_config(urdf_path, **overrides))
        robots.append(robot)
        return robot

    yield factory
    for robot in robots:
        robot.close()


@pytest.fixture
def small_robot(make_robot) -> Robot:
    return make_robot()


class FakeDevice:
    def __init__(self, kind):
        self.kind = kind


class FakeHub:
    """What the recorder asks of a device hub (humanoid_rt.devices.DeviceHub): drain_all() columns per
    device, statistics(), the device by name (its `kind`). Tests push() the samples."""

    def __init__(self, kinds):
        self.devices = {name: FakeDevice(kind) for name, kind in kinds.items()}
        self.pending = {name: [] for name in kinds}
        self.dropped = 0

    def push(self, name, columns):
        self.pending[name].append(columns)

    def drain_all(self):
        out = {}
        for name, batches in self.pending.items():
            if batches:
                out[name] = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
                batches.clear()
        return out

    def statistics(self):
        return {name: {"dropped": self.dropped} for name in self.devices}

    def __getitem__(self, name):
        return self.devices[name]


def enable_active(robot: Robot) -> None:
    """Enable in stepped mode and step through the ramp to ACTIVE."""
    robot.enable()
    ramp_cycles = int(round(robot.config.safety.enable_ramp_s * robot.rate_hz))
    robot.step(ramp_cycles + 1)
    assert robot.state().supervisor_state == "ACTIVE"


def accepted_transitions(robot: Robot) -> list[tuple[str, str, str, int]]:
    """(from, to, reason, cycle) of every transition so far."""
    return [(e["from_state"], e["to_state"], e["reason"], e["cycle"]) for e in robot.events()
            if e["accepted"] and e["from_state"] != e["to_state"]]


def zeros(robot: Robot) -> np.ndarray:
    return np.zeros(robot.n_joints)


@pytest.fixture(autouse=True)
def no_heap_allocation_on_loop_threads(request):
    """Every test: the loop threads (real-time or stepping) never allocate."""
    from humanoid_rt import _core

    before = _core.testing.realtime_allocations()
    yield
    allocated = _core.testing.realtime_allocations() - before - getattr(request.node, "deliberate_allocations", 0)
    assert allocated == 0, f"{allocated} heap allocations on a loop thread during this test"


# The pre-shared key of the teleop receiver tests.
TELEOP_KEY = bytes(range(32))


@pytest.fixture
def teleop_robot(make_robot):
    """A small robot ACTIVE with the C++ teleop receiver attached, and a loopback sender with its key."""
    from humanoid_rt.teleop.testing import LoopbackSender

    robot = make_robot()
    enable_active(robot)
    robot.attach_teleop(key=TELEOP_KEY)
    sender = LoopbackSender(robot, TELEOP_KEY)
    yield robot, sender
    sender.close()
