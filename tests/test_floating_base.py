"""Floating base, first part of issue 13: the free-floating twin, IMU and foot sensors on the loop's side,
the base state estimator against the twin's ground truth, stale-IMU supervision, and bad input.

Everything is stepped (exact). The twin with feet on the floor costs ~0.1-0.3 ms per cycle, so the long
runs are shared through module-scoped fixtures.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import ConfigError, Robot, load_config
from humanoid_rt.config import dump_config
from humanoid_rt.floating_base import standing_gains, support_joints

ROBOTS = ("generic_humanoid", "g1")

# Standing bounds over the 30 s run (measured maxima, generic humanoid / G1, in the comments; README).
STAND_HEIGHT_DROP_M = 0.01     # base height below where it started (0.9 / 0.7 mm)
STAND_TILT_DEG = 5.0           # base tilt from upright (2.2 / 1.5 deg, in the enable ramp and the arm swings)
STAND_DRIFT_M = 0.05           # horizontal drift of the base (27 / 16 mm)


def tilt_deg(quaternion) -> float:
    w, x, y, z = quaternion
    return float(np.degrees(np.arccos(np.clip(1.0 - 2.0 * (x * x + y * y), -1.0, 1.0))))


def rotation_angle_deg(q1, q2) -> float:
    """Angle of the rotation between two unit quaternions (w, x, y, z)."""
    return float(np.degrees(2.0 * np.arccos(np.clip(abs(np.dot(q1, q2)), -1.0, 1.0))))


def floating_twin_config(name: str, **bus_params) -> dict:
    """The bundled robot on one free-floating MuJoCo twin bus."""
    config = dump_config(load_config(name))
    config["buses"] = [{"name": "twin", "type": "mujoco", "floating": True, **bus_params}]
    for index, joint in enumerate(config["joints"]):
        joint["bus"], joint["device_id"] = "twin", index + 1
    return config


class GroundTruthRun:
    """A stepped run recording the twin's ground truth and the estimator every `every` cycles."""

    def __init__(self, robot: Robot, every: int = 10):
        self.robot, self.twin, self.every = robot, robot.twin(), every
        self.rows: list[dict] = []

    def step(self, cycles: int) -> None:
        for _ in range(cycles // self.every):
            state = self.robot.step(self.every)
            pose, twist = np.array(self.twin.base_pose()), np.array(self.twin.base_twist())
            self.rows.append({"t": state.time, "state": state.supervisor_state, "pose": pose, "twist": twist,
                              "base": state.base})

    def array(self, key) -> np.ndarray:
        return np.array([key(row) for row in self.rows])


def arm_motion(robot: Robot, t: float) -> np.ndarray:
    """Both arms swing slowly forward and back (shoulder pitch, elbow): the CoM moves, the feet stay."""
    q = np.zeros(robot.n_joints)
    for name in robot.joint_names:
        if "shoulder_pitch" in name:
            q[robot.joint_index(name)] = -0.5 * np.sin(2 * np.pi * 0.25 * t) - 0.3
        elif "elbow" in name:
            q[robot.joint_index(name)] = (0.4 if robot.config.name == "unitree_g1_29dof" else -0.4) * (
                1.0 - np.cos(2 * np.pi * 0.25 * t))
    return q


@pytest.fixture(scope="module", params=ROBOTS)
def standing_run(request):
    """30 s on the floating twin: enable ramp, 10 s standing, then 20 s of arm motion."""
    robot = Robot(request.param, bus="mujoco", floating=True)
    robot.set_gains(*standing_gains(robot))
    run = GroundTruthRun(robot)
    run.start_pose = np.array(run.twin.base_pose())
    robot.enable()
    run.step(10_000)
    for k in range(200):  # a new arm target every 0.1 s, reached in 0.1 s
        t = robot.now()
        robot.set_joint_targets(arm_motion(robot, t + 0.1), t=t + 0.1, ttl=0)
        run.step(100)
    run.statistics = robot.statistics()
    yield run
    robot.close()


def test_twin_is_free_floating_and_stands_on_its_soles():
    robot = Robot("generic_humanoid", bus="mujoco", floating=True)
    twin = robot.twin()
    assert twin.floating and twin.carries_imu
    pose = np.array(twin.base_pose())
    np.testing.assert_allclose(pose[3:], [1, 0, 0, 0], atol=1e-12)
    # The soles rest on the floor at the zero pose: the feet carry the robot's weight after settling.
    robot.step(200)
    sensors = robot.base_state()
    weight = robot.model.total_mass * 9.81
    np.testing.assert_allclose(sensors["foot_force"][:, 2].sum(), weight, rtol=0.05)
    assert sensors["contact"].all()
    robot.close()


def test_floating_base_in_real_time():
    """The same cycle on the real-time thread: estimator running, no allocation, no stale IMU."""
    with Robot("generic_humanoid", floating=True, priority=0, lock_memory=False) as robot:
        robot.start()
        robot.enable(timeout=10.0)
        base = robot.base_state()
        assert base["valid"] and base["imu"]["sequence"] > 0
        assert robot.state().supervisor_state == "ACTIVE"
        assert robot.statistics()["realtime_allocations"] == 0


def test_config_floating_twin_can_be_run_fixed():
    robot = Robot(floating_twin_config("generic_humanoid"), floating=False)
    assert not robot.floating and not robot.twin().floating and robot.base_estimator is None
    robot.close()


def test_fixed_base_twin_is_unchanged():
    robot = Robot("generic_humanoid", bus="mujoco")
    assert not robot.floating and not robot.twin().floating
    assert robot.twin().base_pose() == [] and robot.state().base is None
    assert not robot.base_state()["valid"]
    robot.close()


def test_twin_stands_for_ten_seconds_and_through_arm_motion(standing_run):
    run = standing_run
    assert all(row["state"] == "ACTIVE" for row in run.rows[60:])
    z = run.array(lambda row: row["pose"][2])
    tilt = run.array(lambda row: tilt_deg(row["pose"][3:]))
    drift = run.array(lambda row: np.linalg.norm(row["pose"][:2] - run.start_pose[:2]))
    assert z.min() > run.start_pose[2] - STAND_HEIGHT_DROP_M, (z.min(), run.start_pose[2])
    assert tilt.max() < STAND_TILT_DEG
    assert drift.max() < STAND_DRIFT_M
    assert run.statistics["realtime_allocations"] == 0


# Estimator bounds over the 30 s run against the twin's ground truth, noise-free IMU (measured maxima,
# generic humanoid / G1, in the comments; README).
ORIENTATION_ERROR_DEG = 0.1    # 0.015 / 0.008 deg (the IMU's one-physics-step latency)
POSITION_DRIFT_M = 0.005       # 0.64 / 0.55 mm
HEIGHT_ERROR_M = 0.005         # 0.60 / 0.60 mm
VELOCITY_ERROR_M_S = 0.05      # 0.017 / 0.015 m/s (rms 0.9 / 0.6 mm/s; true speeds up to 0.3 / 0.1 m/s)


def test_estimator_tracks_ground_truth_over_30_s(standing_run):
    run = standing_run
    rows = [row for row in run.rows if row["base"]["valid"]]
    assert len(rows) >= 2900
    first = rows[0]
    orientation_error = np.array([rotation_angle_deg(r["base"]["orientation"], r["pose"][3:]) for r in rows])
    displacement_true = np.array([r["pose"][:3] - first["pose"][:3] for r in rows])
    displacement_est = np.array([r["base"]["position"] - first["base"]["position"] for r in rows])
    height_error = np.array([r["base"]["position"][2] - (r["pose"][2] - run.twin.floor_height) for r in rows])
    velocity_error = np.array([np.linalg.norm(r["base"]["velocity"] - r["twist"][:3]) for r in rows])
    assert orientation_error.max() < ORIENTATION_ERROR_DEG
    assert np.linalg.norm(displacement_est - displacement_true, axis=1).max() < POSITION_DRIFT_M
    assert np.abs(height_error).max() < HEIGHT_ERROR_M
    assert velocity_error.max() < VELOCITY_ERROR_M_S
    # Covariance published and bounded (the filter converged, nothing blew up).
    covariance = np.array([r["base"]["covariance_diagonal"] for r in rows[100:]])
    assert np.all(np.isfinite(covariance)) and np.all(covariance > 0) and covariance[:, :6].max() < 1e-2


def test_estimator_with_a_noisy_biased_imu():
    """10 s (2 s standing, 8 s arm motion) with IMU noise and bias on every channel. Measured maxima:
    orientation 0.26 deg (the IMU's own orientation noise), position drift 2.1 mm, velocity 0.017 m/s
    (rms 0.008 m/s): the leg kinematics absorb the accelerometer bias."""
    noise = dict(imu_gyro_noise_rad_s=0.005, imu_gyro_bias_rad_s=[0.005, -0.005, 0.002], imu_accel_noise_m_s2=0.05,
                 imu_accel_bias_m_s2=[0.05, -0.05, 0.02], imu_orientation_noise_rad=0.001, seed=11)
    robot = Robot(floating_twin_config("generic_humanoid", **noise))
    robot.set_gains(*standing_gains(robot))
    run = GroundTruthRun(robot)
    robot.enable()
    run.step(2000)
    for _ in range(80):
        t = robot.now()
        robot.set_joint_targets(arm_motion(robot, t + 0.1), t=t + 0.1, ttl=0)
        run.step(100)
    rows = [row for row in run.rows if row["base"]["valid"]]
    first = rows[0]
    orientation_error = max(rotation_angle_deg(r["base"]["orientation"], r["pose"][3:]) for r in rows)
    drift = max(np.linalg.norm((r["base"]["position"] - first["base"]["position"]) - (r["pose"][:3] - first["pose"][:3]))
                for r in rows)
    velocity_error = np.array([np.linalg.norm(r["base"]["velocity"] - r["twist"][:3]) for r in rows])
    assert orientation_error < 0.6
    assert drift < 0.01
    assert velocity_error.max() < 0.05 and np.sqrt(np.mean(velocity_error ** 2)) < 0.02
    robot.close()


def test_estimator_state_in_telemetry():
    robot = Robot("generic_humanoid", floating=True)  # mock bus: level IMU at rest, contact schedule
    robot.enable()
    robot.step(50)
    telemetry = robot.drain_telemetry()
    assert telemetry["base_position"].shape == (50, 3) and telemetry["base_covariance"].shape == (50, 12)
    assert telemetry["base_valid"].all() and telemetry["base_contact"].all()
    state = robot.state()
    np.testing.assert_allclose(state.base["position"], telemetry["base_position"][-1])
    np.testing.assert_allclose(state.base["orientation"], [1, 0, 0, 0])
    # The mock robot stands still on its scheduled contacts: the estimate stays put.
    assert np.abs(telemetry["base_velocity"]).max() < 1e-3
    robot.base_estimator.contact_schedule = 0b01  # right foot lifted
    robot.step(10)
    np.testing.assert_array_equal(robot.base_state()["contact"], [True, False])
    robot.close()


def test_imu_noise_and_bias_options_take_effect():
    bias = [0.02, -0.01, 0.03]
    config = floating_twin_config("generic_humanoid", imu_gyro_noise_rad_s=0.01, imu_gyro_bias_rad_s=bias,
                                  imu_accel_noise_m_s2=0.05, imu_accel_bias_m_s2=[0.1, 0.0, 0.0],
                                  imu_orientation_noise_rad=0.002, seed=3)
    noisy = Robot(config)
    clean = Robot("generic_humanoid", bus="mujoco", floating=True)
    gyro, accel, orientation_error = [], [], []
    for robot in (noisy, clean):
        robot.set_gains(*standing_gains(robot))
        robot.enable()
        robot.step(800)  # standing still after the enable ramp
    for _ in range(300):
        noisy.step(1)
        imu = noisy.base_state()["imu"]
        gyro.append(imu["gyro"])
        accel.append(imu["accel"])
        orientation_error.append(rotation_angle_deg(imu["orientation"], noisy.twin().base_pose()[3:]))
    gyro, accel = np.array(gyro), np.array(accel)
    # At rest on the floor: gyro = bias + noise, accel = gravity + bias + noise.
    np.testing.assert_allclose(gyro.mean(axis=0), bias, atol=0.003)
    np.testing.assert_allclose(gyro.std(axis=0), 0.01, rtol=0.25)
    np.testing.assert_allclose(accel.mean(axis=0), [0.1, 0.0, 9.81], atol=0.02)
    np.testing.assert_allclose(accel.std(axis=0), 0.05, rtol=0.25)
    # A random rotation with 0.002 rad per axis: mean angle ~ 1.6 * 0.002 rad ~ 0.18 deg.
    assert 0.1 < np.mean(orientation_error) < 0.3
    clean.step(1)
    clean_imu = clean.base_state()["imu"]
    assert np.abs(clean_imu["gyro"]).max() < 5e-3  # the standing body barely sways; no bias, no noise
    noisy.close()
    clean.close()


@pytest.mark.parametrize("bus", ["mock", "mujoco"])
def test_dropped_imu_faults_at_the_configured_cycle(bus):
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["imu"]["stale_cycles"] = 7
    robot = Robot(config, bus=bus, floating=True)
    robot.set_gains(*standing_gains(robot))
    robot.enable()
    robot.step(600)
    assert robot.state().supervisor_state == "ACTIVE"
    source = robot.twin() if bus == "mujoco" else robot.mock_bus(0)
    source.drop_imu(True)
    first_missing = robot.state().cycle + 1
    robot.step(7)
    assert robot.state().supervisor_state == "ACTIVE"  # 7 cycles without a sample: still allowed
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.reason == "imu_stale"
    assert state.last_event["cycle"] == first_missing + 7 and state.last_event["limit"] == 7
    robot.reset()
    robot.step(2)
    assert robot.state().supervisor_state == "FAULT"  # refused while the IMU stays silent
    source.drop_imu(False)
    robot.reset()
    robot.step(2)
    assert robot.state().supervisor_state == "DISABLED"
    robot.close()


def test_imu_from_a_device_thread_buffer():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["imu"] = {"frame": "imu", "stale_cycles": 20, "source": "device"}
    robot = Robot(config, floating=True)
    robot.step(21)  # nothing written yet: stale from the start
    assert robot.state().supervisor_state == "FAULT" and robot.state().reason == "imu_stale"
    level = ([1, 0, 0, 0], [0, 0, 0], [0, 0, 9.81])
    robot.write_imu(*level)
    robot.reset()
    robot.step(1)
    robot.enable()
    for _ in range(120):  # a 200 Hz IMU under a 1 kHz loop: a new sample every 5 cycles, through the ramp
        robot.write_imu(*level)
        robot.step(5)
    assert robot.state().supervisor_state == "ACTIVE"
    robot.write_imu(*level)
    robot.step(21)  # 20 cycles without a new sample: allowed
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.base_state()["imu"]["sequence"] == 122
    robot.step(1)
    assert robot.state().supervisor_state == "FAULT" and robot.state().reason == "imu_stale"
    with pytest.raises(ValueError, match="orientation"):
        robot.write_imu([0, 0, 0, 0], [0, 0, 0], [0, 0, 9.81])
    robot.close()


def test_witmotion_samples_reach_the_loop():
    from humanoid_rt.devices.witmotion import WitMotionIMU
    from humanoid_rt.floating_base import connect_imu_device

    config = dump_config(load_config("generic_humanoid"))
    config["model"]["imu"] = {"frame": "imu", "stale_cycles": 20, "source": "device"}
    robot = Robot(config, floating=True)
    device = WitMotionIMU("imu", "loop://")
    connect_imu_device(robot, device)
    from humanoid_rt.devices.witmotion import (ACCELERATION, ANGULAR_VELOCITY, QUATERNION, encode_packet)

    for packet in (encode_packet(ACCELERATION, (0, 0, 2048, 0)), encode_packet(ANGULAR_VELOCITY, (0, 0, 0, 0)),
                   encode_packet(QUATERNION, (32767, 0, 0, 0))):
        device._decode(packet, 0)
    robot.step(1)
    imu = robot.base_state()["imu"]
    assert imu["sequence"] == 1
    np.testing.assert_allclose(imu["accel"], [0, 0, 9.80665], atol=1e-3)
    with pytest.raises(ValueError, match="model.imu.source"):
        connect_imu_device(Robot("generic_humanoid", floating=True), device)
    robot.close()


# --- bad input: clear errors naming the field, nothing starts ---------------------------------------


def test_contact_frame_that_does_not_exist():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["contacts"][1]["frame"] = "right_flipper"
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "model.contacts[1].frame" and "not a link of the URDF" in str(error.value)


def test_urdf_without_the_named_foot_frames():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["contacts"] = [{"frame": "left_ankle_roll_link", "sole": [0.2, 0.1]},
                                   {"frame": "right_ankle_roll_link", "sole": [0.2, 0.1]}]
    config["model"]["base"] = "floating"
    load_config(config)  # the generic humanoid has these links
    g1_style = dump_config(load_config("generic_humanoid"))
    g1_style["model"]["contacts"] = [{"frame": "left_foot_sole", "sole": [0.2, 0.1]}]
    with pytest.raises(ConfigError) as error:
        load_config(g1_style)
    assert error.value.field == "model.contacts[0].frame"


def test_floating_base_without_imu_or_contacts():
    config = dump_config(load_config("generic_humanoid"))
    del config["model"]["imu"]
    config["model"]["base"] = "floating"
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "model.imu"
    config = floating_twin_config("generic_humanoid")
    del config["model"]["contacts"]
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "model.contacts" and "floating: true" in error.value.problem
    no_imu = dump_config(load_config("generic_humanoid"))
    del no_imu["model"]["imu"]
    with pytest.raises(ValueError, match="model.imu: missing"):
        Robot(no_imu, bus="mujoco", floating=True)


def test_bad_contact_and_imu_values():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["contacts"][0]["sole"] = [0.2, -0.1]
    config["model"]["imu"]["source"] = "usb"
    config["model"]["imu"]["frame"] = "left_hand"
    with pytest.raises(ConfigError) as error:
        load_config(config)
    fields = {issue.field for issue in error.value.errors}
    assert fields == {"model.contacts[0].sole", "model.imu.source"}
    config["model"]["contacts"][0]["sole"] = [0.2, 0.1]
    config["model"]["imu"]["source"] = "bus"
    # Not fixed to the root link: the core's estimator refuses it, naming the field, before anything starts.
    with pytest.raises(ValueError, match="model.imu.frame: 'left_hand' is not fixed to the root link"):
        Robot(config, floating=True)


def test_floating_base_on_a_bus_without_imu():
    config = dump_config(load_config("generic_humanoid"))
    with pytest.raises(ValueError, match="model.imu: a floating base needs an IMU, and no bus"):
        Robot(config, bus="can-virtual", floating=True)
