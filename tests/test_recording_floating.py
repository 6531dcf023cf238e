"""Recording a robot that stands (issue 13): the base state estimator's output and the balance figures of
every cycle on /base/state and /base/balance, read back identical to the telemetry, decoded the same by
mcap-ros2-support; no such channel for a fixed base; observation.base_state in the LeRobot export.

Stepped, on the generic humanoid standing on the contact QP in the twin. One recorded session is shared by
the tests (module fixture): 0.5 s enable ramp, then an episode of 1.5 s standing and a disable, whose crouch
stop runs on the fixed-base controller (no QP) for the last 0.1 s.
"""

from __future__ import annotations

import json

import numpy as np
import pinocchio
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from humanoid_rt import Robot
from humanoid_rt.recording import Recorder
from humanoid_rt.recording.base_channels import BALANCE_TOPIC, BASE_STATE_TOPIC
from humanoid_rt.recording.lerobot_base import NAMES as BASE_STATE_NAMES
from humanoid_rt.recording.lerobot_export import export_session
from humanoid_rt.recording.reader import read_episode
from humanoid_rt.recording.schemas import SUPERVISOR_STATES

from conftest import enable_active

CAPACITY = 1 << 16       # the telemetry ring and taps hold the whole run: nothing dropped
STANDING_CYCLES = 1500
CROUCH_CYCLES = 100
SOLE_MARGIN_M = 0.01     # model.standing.sole_margin_m: the QP keeps each CoP this far inside its sole
MAX_TILT_RAD = 0.05      # standing still (measured: < 0.01 rad)


def _decoded(path, topic):
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        return [decoded for _, _, _, decoded in reader.iter_decoded_messages(topics=[topic])]


@pytest.fixture(scope="module")
def standing_episode(tmp_path_factory):
    robot = Robot("generic_humanoid", bus="mujoco", floating=True, telemetry_capacity=CAPACITY)
    recorder = Recorder(robot, tmp_path_factory.mktemp("standing") / "session", telemetry_capacity=CAPACITY)
    try:
        with robot.telemetry_tap(CAPACITY) as witness:  # an independent reader of the same telemetry
            enable_active(robot)
            recorder.start("stand", skill="stand_still")
            robot.step(STANDING_CYCLES)
            robot.disable()  # a standing robot's disable is a crouch stop
            robot.step(CROUCH_CYCLES)
            summary = recorder.end("success")
            telemetry = witness.drain()
        path = recorder.session.directory / summary["file"]
        yield {"robot": robot, "recorder": recorder, "path": path, "episode": read_episode(path),
               "telemetry": telemetry, "session": recorder.session.directory}
    finally:
        recorder.close()
        robot.close()


def _episode_rows(run) -> np.ndarray:
    """The witness's rows of the episode's cycles."""
    cycles = run["episode"].streams["/joints"]["cycle"]
    rows = np.searchsorted(run["telemetry"]["cycle"], cycles)
    np.testing.assert_array_equal(run["telemetry"]["cycle"][rows], cycles)
    return rows


def test_base_state_is_recorded_every_cycle_identical_to_telemetry(standing_episode):
    run = standing_episode
    streams = run["episode"].streams
    base, balance, joints = streams[BASE_STATE_TOPIC], streams[BALANCE_TOPIC], streams["/joints"]
    assert len(joints["cycle"]) == STANDING_CYCLES + CROUCH_CYCLES
    for stream in (base, balance):  # one message per /joints message: the same cycles, times and clock
        np.testing.assert_array_equal(stream["cycle"], joints["cycle"])
        np.testing.assert_array_equal(stream["monotonic_ns"], joints["monotonic_ns"])
        np.testing.assert_array_equal(stream["loop_time"], joints["loop_time"])
    t = {key: value[_episode_rows(run)] for key, value in run["telemetry"].items()}
    pairs = {"valid": "base_valid", "position": "base_position", "orientation": "base_orientation",
             "linear_velocity": "base_velocity", "angular_velocity": "base_angular_velocity",
             "covariance_diagonal": "base_covariance", "contact": "base_contact", "imu_sequence": "imu_sequence",
             "imu_time": "imu_t", "imu_orientation": "imu_orientation", "imu_gyro": "imu_gyro",
             "imu_accel": "imu_accel"}
    for field, key in pairs.items():
        np.testing.assert_array_equal(base[field], t[key], err_msg=field)
    np.testing.assert_array_equal(base["foot_position"], t["base_foot_position"].reshape(len(t["cycle"]), -1))
    pairs = {"qp_ran": "qp_ran", "qp_ok": "qp_ok", "com": "qp_com", "com_reference": "qp_com_reference",
             "com_margin": "qp_com_margin", "cop_margin": "qp_cop_margin", "normal_force": "qp_normal_force",
             "fall_checked": "fall_checked", "tilt": "fall_tilt", "com_distance": "fall_com_distance"}
    for field, key in pairs.items():
        np.testing.assert_array_equal(balance[field], t[key], err_msg=field)
    # The channel says which foot is which, and the fall detector's limits.
    contacts = [c.frame for c in run["robot"].config.model.contacts]
    metadata = run["episode"].channel_metadata
    assert json.loads(metadata[BASE_STATE_TOPIC]["contact_frames"]) == contacts
    assert metadata[BALANCE_TOPIC]["controller"] == "contact_qp"
    assert float(metadata[BALANCE_TOPIC]["tilt_limit_rad"]) == run["robot"].standing_safety.detector.options.tilt_rad


def test_standard_decoders_read_the_same_numbers(standing_episode):
    run = standing_episode
    streams = run["episode"].streams
    decoded = _decoded(run["path"], BASE_STATE_TOPIC)
    assert len(decoded) == len(streams[BASE_STATE_TOPIC]["cycle"])
    for field in ("position", "orientation", "covariance_diagonal", "imu_gyro", "imu_accel"):
        np.testing.assert_array_equal(np.array([getattr(m, field) for m in decoded]), streams[BASE_STATE_TOPIC][field])
    np.testing.assert_array_equal(np.array([list(m.contact) for m in decoded]), streams[BASE_STATE_TOPIC]["contact"])
    decoded = _decoded(run["path"], BALANCE_TOPIC)
    for field in ("com", "cop_margin", "normal_force", "tilt", "com_distance"):
        np.testing.assert_array_equal(np.array([getattr(m, field) for m in decoded]), streams[BALANCE_TOPIC][field])
    np.testing.assert_array_equal([m.qp_ok for m in decoded], streams[BALANCE_TOPIC]["qp_ok"])


def test_recorded_base_state_and_balance_are_those_of_a_standing_robot(standing_episode):
    run = standing_episode
    robot, streams = run["robot"], run["episode"].streams
    base, balance, joints = streams[BASE_STATE_TOPIC], streams[BALANCE_TOPIC], streams["/joints"]
    states = np.array(SUPERVISOR_STATES)[joints["supervisor_state"]]
    active = states == "ACTIVE"
    assert active.sum() == STANDING_CYCLES
    # The estimator: valid, upright, both feet down, the pelvis at its standing height, at rest.
    assert base["valid"].all() and base["contact"].all()
    np.testing.assert_allclose(np.linalg.norm(base["orientation"], axis=1), 1.0, atol=1e-9)
    assert np.abs(base["position"][:, 2] - base["position"][0, 2]).max() < 0.01
    assert np.abs(base["linear_velocity"][active]).max() < 0.05
    assert (base["covariance_diagonal"] > 0).all() and (base["covariance_diagonal"][:, :3] < 1e-3).all()
    # The IMU sample it used: a new one every cycle, level, feeling gravity.
    assert np.all(np.diff(base["imu_sequence"]) == 1)
    np.testing.assert_allclose(base["imu_accel"][active, 2], 9.81, atol=0.3)
    # Balance while ACTIVE: the QP ran and solved every cycle, each CoP inside its sole by the margin, the
    # feet carry the robot's weight, the CoM inside the support polygon, the fall detector armed and calm.
    assert balance["qp_ran"][active].all() and balance["qp_ok"][active].all()
    assert balance["cop_margin"][active].min() >= SOLE_MARGIN_M - 1e-6
    model = pinocchio.buildModelFromUrdf(str(robot.config.urdf_path), pinocchio.JointModelFreeFlyer())
    weight = pinocchio.computeTotalMass(model) * 9.81  # the free flyer carries the pelvis' own mass
    np.testing.assert_allclose(balance["normal_force"][active].sum(axis=1), weight, rtol=0.05)
    assert balance["com_margin"][active].min() > 0.02
    assert np.abs(balance["com"][active] - balance["com_reference"][active]).max() < 0.01
    assert balance["fall_checked"].all()
    assert balance["tilt"].max() < MAX_TILT_RAD
    assert balance["com_distance"].max() < -0.02  # > 2 cm inside (positive: outside)
    # The crouch stop (DAMPING) runs on the fixed-base controller: no QP, its fields NaN, the detector on.
    crouching = states == "DAMPING"
    assert crouching.sum() == CROUCH_CYCLES  # the disable request is served by the first cycle after it
    assert not balance["qp_ran"][crouching].any() and not balance["qp_ok"][crouching].any()
    for field in ("com", "com_reference", "com_margin", "cop_margin", "normal_force"):
        assert np.isnan(balance[field][crouching]).all(), field


def test_fixed_base_episode_has_no_base_channels(small_robot, tmp_path):
    with Recorder(small_robot, tmp_path / "session") as recorder:
        enable_active(small_robot)
        recorder.start("reach")
        small_robot.step(20)
        summary = recorder.end("success")
    episode = read_episode(tmp_path / "session" / summary["file"])
    assert len(episode.streams["/joints"]["cycle"]) == 20
    assert BASE_STATE_TOPIC not in episode.streams and BALANCE_TOPIC not in episode.streams
    assert not any(key.startswith(("base_", "imu_", "qp_", "fall_")) for key in small_robot.drain_telemetry())


def test_lerobot_export_has_the_base_state_as_an_observation(standing_episode, tmp_path):
    run = standing_episode
    report = export_session(run["session"], tmp_path / "dataset", fps=30)
    assert report["episodes"] == 1 and not report["skipped"]
    info = json.loads((tmp_path / "dataset" / "meta" / "info.json").read_text())
    feature = info["features"]["observation.base_state"]
    assert feature["shape"] == [13] and feature["names"] == BASE_STATE_NAMES and feature["dtype"] == "float32"
    assert BASE_STATE_NAMES[:7] == ["base.x", "base.y", "base.z", "base.qw", "base.qx", "base.qy", "base.qz"]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "dataset" / "data" / "chunk-000" / "file-000.parquet")
    observed = np.array(table.column("observation.base_state").to_pylist())
    state = np.array(table.column("observation.state").to_pylist())
    # Each frame's base state is that of its joint sample's cycle.
    joints, base = run["episode"].streams["/joints"], run["episode"].streams[BASE_STATE_TOPIC]
    rows = [int(np.flatnonzero(np.all(joints["q"].astype(np.float32) == s, axis=1))[0]) for s in state[:5]]
    expected = np.concatenate([base["position"], base["orientation"], base["linear_velocity"],
                               base["angular_velocity"]], axis=1)[rows].astype(np.float32)
    np.testing.assert_array_equal(observed[:5], expected)
    stats = json.loads((tmp_path / "dataset" / "meta" / "stats.json").read_text())
    assert len(stats["observation.base_state"]["mean"]) == 13


def test_lerobot_export_skips_an_episode_without_the_base_state(standing_episode, tmp_path):
    """A fixed-base episode of the same robot joins a floating session's export only without the feature:
    it is skipped, naming why."""
    import shutil

    session = tmp_path / "session"
    shutil.copytree(standing_episode["session"], session, ignore=shutil.ignore_patterns(".lock"))
    with Robot("generic_humanoid", telemetry_capacity=CAPACITY) as fixed, Recorder(fixed, session) as recorder:
        enable_active(fixed)
        recorder.start("wave")
        fixed.step(100)
        recorder.end("success")
    report = export_session(session, tmp_path / "dataset", fps=30)
    assert report["episodes"] == 1
    assert len(report["skipped"]) == 1 and "floating-base state (/base/state)" in report["skipped"][0][2]


def test_floating_robot_without_the_contact_qp_records_nan_qp_fields(tmp_path):
    """On the mock bus a floating robot stands on stiff legs (no contact QP): its balance stream says so, with
    the fall detector's figures and the estimator's state still there."""
    with Robot("generic_humanoid", floating=True, telemetry_capacity=CAPACITY) as robot, \
            Recorder(robot, tmp_path / "session", telemetry_capacity=CAPACITY) as recorder:
        assert robot.standing is None and robot.standing_controller == "stiff_legs"
        enable_active(robot)
        recorder.start("stand")
        robot.step(50)
        summary = recorder.end("success")
    episode = read_episode(tmp_path / "session" / summary["file"])
    base, balance = episode.streams[BASE_STATE_TOPIC], episode.streams[BALANCE_TOPIC]
    assert len(base["cycle"]) == len(balance["cycle"]) == 50
    assert episode.channel_metadata[BALANCE_TOPIC]["controller"] == "none"
    assert base["valid"].all() and (base["imu_sequence"] > 0).all()
    assert not balance["qp_ran"].any() and not balance["qp_ok"].any()
    assert np.isnan(balance["com"]).all() and np.isnan(balance["cop_margin"]).all()
    assert balance["fall_checked"].all() and (balance["tilt"] < 1e-6).all()
    assert (balance["com_distance"] < 0).all()


def test_floating_telemetry_columns_keep_their_width_before_the_estimator_runs():
    """Before the first IMU sample the estimator has not run (valid false, no contacts yet); its columns are
    still sized by the robot's contact points, so batches from before and after concatenate (a recorder's tap)."""
    with Robot("generic_humanoid", floating=True, telemetry_capacity=CAPACITY) as robot:
        with robot.telemetry_tap(CAPACITY) as tap:
            robot.mock_bus(0).drop_imu(True)
            robot.step(3)
            before = robot.drain_telemetry()
            robot.mock_bus(0).drop_imu(False)
            robot.step(3)
            after = robot.drain_telemetry()
            both = tap.drain()
    assert not before["base_valid"].any() and after["base_valid"].all()
    assert (before["imu_sequence"] == 0).all() and (after["imu_sequence"] > 0).all()
    for key in ("base_contact", "base_covariance", "base_foot_position", "qp_cop_margin"):
        assert before[key].shape[1:] == after[key].shape[1:] == both[key].shape[1:], key
    assert both["base_covariance"].shape == (6, 12)  # two batches, joined
