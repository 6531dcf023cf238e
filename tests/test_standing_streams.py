"""Skills and action chunks on a robot standing on the contact QP (issue 13), stepped on the twin: the motion
completes as on a fixed base while the QP keeps the balance (no QP failure, every CoP inside its sole, no
fall, small tilt); a skill that bends the legs takes the CoM reference height along (standing_motion.py);
frame-target skills act in the stance frame; and the episode recorded meanwhile has /base/state and
/base/balance with the same story in them.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import Robot
from humanoid_rt.policy import ChunkExecutor
from humanoid_rt.poses import quaternion_wxyz
from humanoid_rt.recording import Recorder
from humanoid_rt.recording.base_channels import BALANCE_TOPIC, BASE_STATE_TOPIC
from humanoid_rt.recording.reader import read_episode
from humanoid_rt.skills import DONE, Skill, SkillPlayer, load_skill, run_stepped
from humanoid_rt.skills.cli import EXAMPLES
from humanoid_rt.standing_scenario import tilt_deg
from humanoid_rt.standing_motion import ComHeightFollower

CAPACITY = 1 << 16
SOLE_MARGIN_M = 0.01        # model.standing.sole_margin_m: the QP keeps each CoP this far inside its sole
MAX_TILT_DEG = 3.0          # measured maxima in the comments of each test
FALL_REASONS = ("fall_tilt", "fall_com_outside_support", "fall_contact_lost")


def standing(name: str = "generic_humanoid") -> Robot:
    """The robot standing on the contact QP in the twin, 1 s after the enable."""
    robot = Robot(name, bus="mujoco", floating=True, telemetry_capacity=CAPACITY)
    robot.enable()
    robot.step(1000)
    assert robot.state().supervisor_state == "ACTIVE" and robot.standing is not None
    return robot


class Balance:
    """Samples the standing robot every stream interval: ground-truth tilt, the QP's status."""

    def __init__(self, robot: Robot):
        self.robot, self.twin = robot, robot.twin()
        self.statistics_before = robot.standing_statistics()
        self.max_tilt_deg = 0.0
        self.pelvis_z: list[float] = []

    def sample(self, _player=None) -> None:
        pose = np.array(self.twin.base_pose())
        self.max_tilt_deg = max(self.max_tilt_deg, tilt_deg(pose[3:]))
        self.pelvis_z.append(float(pose[2]))

    def assert_kept(self, max_tilt_deg: float = MAX_TILT_DEG) -> None:
        robot = self.robot
        statistics = robot.standing_statistics()
        assert statistics["failures"] == 0 and statistics["solves"] > self.statistics_before["solves"]
        assert min(statistics["min_cop_margin_per_foot"]) >= SOLE_MARGIN_M - 1e-6
        assert statistics["min_com_margin"] > 0.02
        assert not [e for e in robot.events() if e["reason"] in FALL_REASONS]
        assert robot.state().supervisor_state == "ACTIVE"
        assert self.max_tilt_deg < max_tilt_deg, self.max_tilt_deg


def test_wave_skill_plays_on_a_standing_robot_and_the_episode_records_its_balance(tmp_path):
    robot = standing()
    balance = Balance(robot)
    skill = load_skill(EXAMPLES / "wave.skill.json", robot.config)
    try:
        with Recorder(robot, tmp_path / "session", telemetry_capacity=CAPACITY) as recorder:
            recorder.start("wave", skill="wave")
            player = SkillPlayer(robot)
            player.play(skill)
            run_stepped(robot, player, skill.duration + 1.5, on_update=balance.sample)
            summary = recorder.end("success")
        assert player.state == DONE and player.skills_started == 1
        balance.assert_kept()
        # The arm went where the skill goes: its peak elbow bend, and back to rest at the end.
        state = robot.state()
        for name in skill.joints:
            assert abs(state.q[robot.joint_index(name)] - skill.q[-1, skill.joints.index(name)]) < 0.05, name
        # The episode tells the same story per cycle: a valid, level base on both feet, the QP solving every
        # cycle with every CoP inside its sole, the fall detector armed and far from its limits.
        episode = read_episode(tmp_path / "session" / summary["file"])
        base, qp, joints = episode.streams[BASE_STATE_TOPIC], episode.streams[BALANCE_TOPIC], episode.streams["/joints"]
        elbow = joints["q"][:, robot.joint_index("right_elbow")]
        assert elbow.min() < -0.9  # the wave is in the episode
        assert len(base["cycle"]) == len(joints["cycle"]) > 4000
        assert base["valid"].all() and base["contact"].all()
        assert np.degrees(np.arccos(np.clip(1 - 2 * (base["orientation"][:, 1] ** 2 + base["orientation"][:, 2] ** 2),
                                            -1, 1))).max() < MAX_TILT_DEG
        assert qp["qp_ran"].all() and qp["qp_ok"].all()
        assert qp["cop_margin"].min() >= SOLE_MARGIN_M - 1e-6 and qp["com_margin"].min() > 0.02
        assert qp["fall_checked"].all() and qp["com_distance"].max() < -0.02
    finally:
        robot.close()


def test_squat_skill_bends_the_legs_of_a_standing_robot_with_the_com_reference():
    """The bundled squat moves hips, knees and ankles by absolute targets: with the CoM reference left at
    standing height the QP would hold the body up against them (the player then aborts on the tracking
    error); the player moves the reference height with the legs, so the robot squats and rises."""
    robot = standing()
    balance = Balance(robot)
    skill = load_skill(EXAMPLES / "squat.skill.json", robot.config)
    try:
        start_z = float(robot.twin().base_pose()[2])
        player = SkillPlayer(robot)
        player.play(skill)
        assert player._com is not None
        knee = robot.joint_index("left_knee")
        deepest = {"knee": 0.0, "z": start_z}

        def watch(p):
            balance.sample(p)
            deepest["knee"] = max(deepest["knee"], float(robot.state().q[knee]))

        run_stepped(robot, player, skill.duration + 1.5, on_update=watch)
        assert player.state == DONE, player.abort_reason
        balance.assert_kept()
        # The knees bent to the skill's 0.9 rad and the pelvis went down by what the legs' geometry says.
        assert deepest["knee"] > 0.85
        expected_drop = ComHeightFollower(robot).height(np.zeros(robot.n_joints)) - ComHeightFollower(robot).height(
            _skill_posture(robot, skill, 2.0))
        drop = start_z - min(balance.pelvis_z)
        assert abs(drop - expected_drop) < 0.02, (drop, expected_drop)
        assert abs(float(robot.twin().base_pose()[2]) - start_z) < 0.01  # and rose again
    finally:
        robot.close()


def _skill_posture(robot: Robot, skill: Skill, t: float) -> np.ndarray:
    q = np.zeros(robot.n_joints)
    q_skill, _, _, _ = skill.sample(t)
    for name, value in zip(skill.joints, q_skill):
        q[robot.joint_index(name)] = value
    return q


def test_action_chunks_move_the_arms_of_a_standing_robot():
    robot = standing()
    balance = Balance(robot)
    arms = [name for name in robot.joint_names if "shoulder" in name or "elbow" in name]
    try:
        executor = ChunkExecutor(robot, joints=arms)
        assert executor._com is None  # arms only: the CoM reference is the QP's own
        start = robot.state().q_ref[[robot.joint_index(n) for n in arms]]
        target = start.copy()
        for i, name in enumerate(arms):
            if "shoulder_pitch" in name:
                target[i] = -0.8
            elif "elbow" in name:
                target[i] = -0.6 if "left" in name else -0.6
        dt, horizon = 1 / 30, 16
        t_start = robot.now()
        for k in range(100):  # 1 s per chunk of 16 actions at 30 Hz, a new chunk every 0.25 s; 4 s in all
            if k % 25 == 0:
                t0 = robot.now()
                s = np.clip((t0 - t_start + dt * np.arange(horizon)) / 2.0, 0.0, 1.0)[:, None]
                executor.submit_chunk(start + (0.5 - 0.5 * np.cos(np.pi * s)) * (target - start), t0, dt)
            executor.update()
            robot.step(10)
            balance.sample()
        state = robot.state()
        np.testing.assert_allclose(state.q_ref[[robot.joint_index(n) for n in arms]], target, atol=1e-3)
        np.testing.assert_allclose(state.q[[robot.joint_index(n) for n in arms]], target, atol=0.05)
        assert executor.underrun_updates > 0  # the last chunk ended at the target: held there
        balance.assert_kept()
    finally:
        robot.close()
