"""Compute time per cycle by robot size and controller, from the real-time loop's own histogram."""

from __future__ import annotations

import time

import numpy as np

from ..config import example_robot_data_dir
from ..robot import Robot
from ..robots.from_urdf import config_from_urdf
from .latency import SUMMARY_KEYS

# name -> (config source, hand frames for two Cartesian tasks); the example-robot-data ones need it installed.
ROBOTS = {
    "generic_humanoid": ("generic_humanoid", ("left_hand", "right_hand")),
    "g1": ("example-robot-data:robots/g1_description/urdf/g1_29dof_rev_1_0.urdf", ("left_rubber_hand", "right_rubber_hand")),
    "romeo": ("example-robot-data:robots/romeo_description/urdf/romeo.urdf", ("l_wrist", "r_wrist")),
}
CONTROLLERS = ("joint_impedance", "whole_body")


def _robot(source: str, hands, bus: str) -> Robot:
    if source.startswith("example-robot-data:"):
        return Robot(config_from_urdf(source, tasks=hands), bus=bus)
    return Robot(source, bus=bus)


def load_gravity_on_mock_buses(robot: Robot) -> None:
    """Gives the mock actuators the model's gravity torque at the current posture as a constant external
    load. The mock plant has no gravity: gravity compensation alone would push the arms into their
    limits (a FAULT, after which the cycle costs nothing). With the load it cancels, as on a robot."""
    load = robot.model.gravity(list(robot.state().q))
    for j, g in enumerate(load):
        robot.bus(j).set_external_torque(j, -g)


def cycle_compute(robot_name: str, controller: str, seconds: float, bus: str = "mock") -> dict:
    """Runs the loop in real time for `seconds` and returns its compute-time percentiles.

    joint_impedance: no model terms (gravity off, no tasks); whole_body: gravity + two hand tasks
    + null-space posture (the mock actuators carry the gravity load, see load_gravity_on_mock_buses).
    Both include bus read/write, supervisor, interpolation, safety and telemetry. The supervisor's
    final state is reported: a run that ended in FAULT measured cheap torque-off cycles.
    """
    source, hands = ROBOTS[robot_name]
    if source.startswith("example-robot-data:") and example_robot_data_dir() is None:
        return {"skipped": "needs pip install 'humanoid_rt[g1]' (example-robot-data)"}
    with _robot(source, hands, bus) as robot:
        # Set up in stepped mode (exact, and not in the histogram): enabled, in a posture 0.4 rad inside the
        # soft limits (arms hanging straight put the elbows at their stops, where a hand task can only
        # push them through), then the measured run in real time continues from there.
        robot.set_gravity_compensation(controller == "whole_body")
        robot.enable()
        robot.step(int(robot.rate_hz))
        low, high = robot.config.joint_array("limits.q_soft_min"), robot.config.joint_array("limits.q_soft_max")
        margin = np.minimum(0.4, (high - low) / 4)
        robot.set_joint_targets(np.clip(0.0, low + margin, high - margin), ttl=0, duration=0.5)
        robot.step(int(robot.rate_hz))
        if controller == "whole_body":
            if bus == "mock":
                load_gravity_on_mock_buses(robot)
            for hand in hands:
                pose = robot.frame_pose(hand)
                pose[2, 3] += 0.05
                robot.set_frame_target(hand, pose, duration=0.5)
        robot.start()
        time.sleep(seconds)
        stats = robot.statistics()
        compute = stats["compute_time"]
        return {"joints": robot.n_joints, "cycles": stats["cycles"], "overruns": stats["overruns"],
                "final_state": robot.state().supervisor_state,
                "compute_time": {"count": compute["count"]} | {k: round(compute[k], 2) for k in SUMMARY_KEYS},
                "realtime_allocations": stats["realtime_allocations"]}
