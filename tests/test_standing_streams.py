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
# G1's pelvis leans while its legs bend (its ankle range; 6 deg at the bottom of test_standing.py's squat):
# measured 4.4 deg lowering 6 cm, the generic humanoid under 1 deg.
LEG_MOTION_TILT_DEG = {"generic_humanoid": MAX_TILT_DEG, "g1": 6.0}
ARM_HOLD_TOLERANCE_RAD = {"generic_humanoid": 0.02, "g1": 0.02}
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


def stream_chunks(robot: Robot, executor: ChunkExecutor, start: np.ndarray, target: np.ndarray,
                  balance: Balance) -> None:
    """A policy's action chunks from start to target along a raised cosine in 2 s, then held: 16 actions at
    30 Hz (0.5 s) per chunk, a new chunk every 0.25 s, 4 s in all, the balance sampled every 10 cycles."""
    dt, horizon = 1 / 30, 16
    t_start = robot.now()
    for k in range(400):
        if k % 25 == 0:
            t0 = robot.now()
            s = np.clip((t0 - t_start + dt * np.arange(horizon)) / 2.0, 0.0, 1.0)[:, None]
            executor.submit_chunk(start + (0.5 - 0.5 * np.cos(np.pi * s)) * (target - start), t0, dt)
        executor.update()
        robot.step(10)
        balance.sample()


def _pelvis_height(robot: Robot, q: np.ndarray) -> float:
    """The pelvis above the mean sole centre at posture q (fixed-base model: the pelvis is its world frame)."""
    heights = []
    for contact in robot.config.model.contacts:
        pose = np.array(robot.model.frame_pose(list(q), contact.frame)).reshape(4, 4)
        heights.append(-(pose[:3, :3] @ np.asarray(contact.offset) + pose[:3, 3])[2])
    return float(np.mean(heights))


def test_squat_skill_on_a_standing_robot_bends_the_legs_and_is_recorded(tmp_path):
    """The bundled squat drives hips, knees and ankles by absolute targets (and the shoulders). The player
    moves the contact QP's CoM reference height with the legs, so the QP and the posture agree: the robot
    squats as deep as the skill's leg geometry says and rises again, in balance. (With the reference left at
    standing height, measured before the fix: the pelvis went 6.5 cm down instead of 8.0, the CoM 3.3 cm
    below its reference.) The episode recorded meanwhile holds the base state and balance of every cycle."""
    robot = standing()
    balance = Balance(robot)
    skill = load_skill(EXAMPLES / "squat.skill.json", robot.config)
    knee = robot.joint_index("left_knee")
    deepest_knee = [0.0]

    def watch(player):
        balance.sample(player)
        deepest_knee[0] = max(deepest_knee[0], float(robot.state().q[knee]))

    try:
        start_z = float(robot.twin().base_pose()[2])
        with Recorder(robot, tmp_path / "session", telemetry_capacity=CAPACITY) as recorder:
            recorder.start("squat", skill="squat")
            player = SkillPlayer(robot)
            player.play(skill)
            run_stepped(robot, player, skill.duration + 1.5, on_update=watch)
            summary = recorder.end("success")
        assert player.state == DONE, player.abort_reason
        balance.assert_kept()
        # The knees bent to the skill's 0.9 rad; the pelvis went down by what the legs' geometry says
        # and came back up.
        assert deepest_knee[0] > 0.85
        expected_drop = _pelvis_height(robot, np.zeros(robot.n_joints)) - _pelvis_height(
            robot, _skill_posture(robot, skill, skill.duration / 2))
        assert expected_drop > 0.07
        drop = start_z - min(balance.pelvis_z)
        assert abs(drop - expected_drop) < 0.01, (drop, expected_drop)
        assert abs(float(robot.twin().base_pose()[2]) - start_z) < 0.01
        # The episode: the estimator saw the same squat, the QP kept the CoM on its moving reference, solved
        # every cycle with every CoP inside its sole, and the fall detector stayed armed and far from its limits.
        episode = read_episode(tmp_path / "session" / summary["file"])
        base, qp, joints = episode.streams[BASE_STATE_TOPIC], episode.streams[BALANCE_TOPIC], episode.streams["/joints"]
        assert len(base["cycle"]) == len(joints["cycle"]) > 5000
        assert joints["q"][:, knee].max() > 0.85
        assert base["valid"].all() and base["contact"].all()
        assert abs(base["position"][0, 2] - base["position"][:, 2].min() - expected_drop) < 0.015
        assert qp["qp_ran"].all() and qp["qp_ok"].all()
        assert np.abs(qp["com"][:, 2] - qp["com_reference"][:, 2]).max() < 0.015  # 3.3 cm without the follower
        assert qp["cop_margin"].min() >= SOLE_MARGIN_M - 1e-6 and qp["com_margin"].min() > 0.02
        assert qp["fall_checked"].all() and qp["com_distance"].max() < -0.02
        assert np.degrees(qp["tilt"].max()) < MAX_TILT_DEG
    finally:
        robot.close()


# Worst |q - q_ref| over a bundled skill's joints on the standing twin, measured: wave 0.128 rad (the right elbow;
# 0.091 on the fixed base), box_pick_and_place 0.127 rad (the right knee, lowering to the box while the hips
# and ankles lean the pelvis back over the feet against the arms reaching forward).
SKILL_TRACKING_RAD = {"wave": 0.14, "box_pick_and_place": 0.14}


@pytest.mark.parametrize("skill_name", list(SKILL_TRACKING_RAD))
def test_joint_skill_plays_to_the_end_on_a_standing_robot(skill_name):
    """A bundled skill plays to the end on the QP-standing twin: the player's tracking check (0.15 rad per
    joint) never aborts it, and the balance is kept. Every joint's posture row in the QP carries its reference's
    acceleration (contact_wbc.hpp); the arms, waist and head take the loop's joint impedance, as stiff as on the
    fixed base (with the QP's soft gain alone the wave's elbow lagged 0.35 rad); the legs keep the soft gain,
    their CoM reference following the skill (the CoM height follower). Without the legs' feed-forward the box
    skill's knee lagged its reference by 0.1501 rad and the player stopped it."""
    robot = standing()
    balance = Balance(robot)
    skill = load_skill(EXAMPLES / f"{skill_name}.skill.json", robot.config)
    columns = [robot.joint_index(n) for n in skill.joints]
    worst = [0.0]

    def watch(player):
        balance.sample(player)
        state = robot.state()
        worst[0] = max(worst[0], float(np.abs(state.q[columns] - state.q_ref[columns]).max()))

    try:
        player = SkillPlayer(robot)
        player.play(skill)
        run_stepped(robot, player, skill.duration + 1.0, on_update=watch)
        assert player.state == DONE, player.abort_reason
        assert worst[0] < SKILL_TRACKING_RAD[skill_name], worst[0]
        balance.assert_kept()
    finally:
        robot.close()


def _skill_posture(robot: Robot, skill: Skill, t: float) -> np.ndarray:
    q = np.zeros(robot.n_joints)
    q_skill, _, _, _ = skill.sample(t)
    for name, value in zip(skill.joints, q_skill):
        q[robot.joint_index(name)] = value
    return q


@pytest.mark.parametrize("robot_name", ["generic_humanoid", "g1"])
def test_action_chunks_move_the_arms_of_a_standing_robot(robot_name):
    """A policy's action chunks (16 actions at 30 Hz, a new chunk every 0.25 s, blended) raise both arms
    forward in 2 s and hold them: the arms get there while the QP keeps the balance."""
    robot = standing(robot_name)
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
                target[i] = start[i] + (0.6 if robot.config.name == "unitree_g1_29dof" else -0.6)  # bend
        stream_chunks(robot, executor, start, target, balance)
        state = robot.state()
        np.testing.assert_allclose(state.q_ref[[robot.joint_index(n) for n in arms]], target, atol=1e-3)
        # Held by the QP's posture task, which takes the loop's joint impedance for the arms: measured within
        # 0.007 rad (generic) / 0.001 rad (G1; 0.11 rad short with the QP's own soft posture gain).
        tolerance = ARM_HOLD_TOLERANCE_RAD[robot_name]
        np.testing.assert_allclose(state.q[[robot.joint_index(n) for n in arms]], target, atol=tolerance)
        assert executor.chunks_received == 16 and executor.underrun_updates == 0
        balance.assert_kept()
    finally:
        robot.close()


def test_com_height_follows_only_leg_streams_of_a_robot_standing_on_the_qp(small_robot):
    robot = standing()
    try:
        assert ComHeightFollower.for_stream(robot, ["right_elbow", "waist_yaw"]) is None  # upper body: the QP's CoM
        follower = ComHeightFollower.for_stream(robot, ["left_knee"])
        q = np.zeros(robot.n_joints)
        follower.start(q)
        bent = _skill_posture(robot, load_skill(EXAMPLES / "squat.skill.json", robot.config), 2.0)
        assert follower.height(bent) < follower.height(q) - 0.04  # the CoM lower over the same feet
        follower.follow(q, 0.02)  # no change: nothing sent, the caller's reference stays
        np.testing.assert_array_equal(robot.com_offset, [0.0, 0.0, 0.0])
        follower.follow(bent, 0.02)
        np.testing.assert_allclose(robot.com_offset, [0.0, 0.0, follower.height(bent) - follower.height(q)])
    finally:
        robot.close()
    assert ComHeightFollower.for_stream(small_robot, ["j0"]) is None  # a fixed base has no contact QP


def test_frame_target_skill_moves_a_standing_robots_hand_in_the_stance_frame():
    """A skill's frame targets go to the contact QP's hand task, whose frame is the stance frame (the pelvis
    where the robot stood at enable, levelled): for a robot standing where it was enabled that is the frame
    the fixed-base model gives, so a skill authored from robot.frame_pose() lifts the hand as written."""
    robot = standing()
    balance = Balance(robot)
    try:
        start = robot.frame_pose("left_hand")
        t = np.arange(0.0, 1.0 + 1e-9, 0.01)
        position = start[:3, 3] + np.outer(0.5 - 0.5 * np.cos(np.pi * t), [0.05, 0.0, 0.05])
        quaternion = np.tile(quaternion_wxyz(start[:3, :3]), (t.size, 1))
        skill = Skill(name="lift_hand", scenario="manipulation", robot="generic_humanoid", source="synthetic",
                      rate_hz=100.0, joints=("waist_yaw",), t=t, q=np.zeros((t.size, 1)),
                      frames={"left_hand": {"position": position, "quaternion": quaternion,
                                            "stiffness": np.array([800.0, 40.0])}})
        player = SkillPlayer(robot)
        player.play(skill)
        run_stepped(robot, player, 2.5, on_update=balance.sample)
        assert player.state == DONE, player.abort_reason
        balance.assert_kept()
        task = robot.task_errors()["left_hand"]
        np.testing.assert_allclose(task["reference_position"], position[-1], atol=1e-6)
        # Held 11 mm short (low), where the posture task pulls the arm toward its old joint reference
        # (test_standing.py allows 4 cm while the hands hold a reach).
        assert np.linalg.norm(task["position_error"]) < 0.02
        # The hand itself rose and went forward by the skill's 5 cm (the pelvis stayed where it was).
        moved = robot.frame_pose("left_hand")[:3, 3] - start[:3, 3]
        np.testing.assert_allclose(moved, [0.05, 0.0, 0.05], atol=0.015)
    finally:
        robot.close()


@pytest.mark.parametrize("robot_name", ["generic_humanoid", "g1"])
def test_action_chunks_that_bend_the_legs_lower_a_standing_robot(robot_name):
    """A policy driving the legs (chunks toward a posture 6 cm lower over the same feet, from
    floating_base.crouch_posture): the executor takes the CoM reference height along, so the pelvis goes down
    by the legs' 6 cm while the QP keeps the balance (measured 6.0 / 5.9 cm; with the reference left at
    standing height 4.6 / 4.8 cm, the CoM 3.6 cm under it and the legs 0.1 rad off their reference)."""
    from humanoid_rt.floating_base import crouch_posture, support_joints

    robot = standing(robot_name)
    balance = Balance(robot)
    legs = support_joints(robot.config)
    columns = [robot.joint_index(n) for n in legs]
    try:
        executor = ChunkExecutor(robot, joints=legs)
        assert executor._com is not None
        start = robot.state().q_ref[columns]
        target = crouch_posture(robot, 0.06, robot.state().q_ref)[columns]
        start_z = float(robot.twin().base_pose()[2])
        stream_chunks(robot, executor, start, target, balance)
        balance.assert_kept(LEG_MOTION_TILT_DEG[robot_name])
        np.testing.assert_allclose(robot.state().q_ref[columns], target, atol=1e-3)
        drop = start_z - float(robot.twin().base_pose()[2])
        assert abs(drop - 0.06) < 0.01, drop
        assert abs(robot.com_offset[2] + 0.06) < 0.02  # the CoM went down with the pelvis (a little less)
    finally:
        robot.close()
