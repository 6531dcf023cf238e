"""Tactile, F/T and IMU readers against their virtual devices; the sample contract; the hub and its config."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humanoid_rt.config import ConfigError, dump_config, load_config
from humanoid_rt.devices import (
    DeviceHub, RobotiqFT, SampleBuffer, TactileArray, VirtualInspireHand, VirtualRobotiqFT, VirtualTactileArray,
    VirtualWitMotionIMU, WitMotionIMU)
from humanoid_rt.devices import witmotion as wm

from test_devices_hand import step, wait_until


def connected(device_class, virtual, **kwargs):
    device = device_class("dev", "virtual://", port_factory=virtual.port_factory, **kwargs)
    assert device.open()
    return device


STREAMS = [
    (TactileArray, lambda: VirtualTactileArray(rows=8, cols=12), {"rows": 8, "cols": 12}, 1),
    (RobotiqFT, VirtualRobotiqFT, {}, 1),
    (WitMotionIMU, VirtualWitMotionIMU, {}, 4),  # four packets per tick, one sample
]


@pytest.mark.parametrize("device_class, make_virtual, kwargs, frames_per_tick", STREAMS)
def test_contract_columns_and_counts(device_class, make_virtual, kwargs, frames_per_tick):
    virtual = make_virtual()
    device = connected(device_class, virtual, **kwargs)
    assert device.latest() is None
    empty = device.drain()
    assert set(empty) == {"t_ns", *device.COLUMNS} and all(len(column) == 0 for column in empty.values())
    assert step(virtual, device, 5) == 5
    columns = device.drain()
    assert columns["t_ns"].dtype == np.int64 and columns["t_ns"].shape == (5,)
    for name, (dtype, shape) in device.COLUMNS.items():
        assert columns[name].dtype == dtype and columns[name].shape == (5,) + shape, name
    assert device.drain()["t_ns"].shape == (0,)  # drained means gone
    stats = device.statistics()
    assert stats["frames"] == 5 * frames_per_tick
    for key in ("crc_errors", "timeouts", "resyncs", "disconnects", "reconnects", "dropped"):
        assert stats[key] == 0, key
    assert stats["last_error"] == ""


@pytest.mark.parametrize("device_class, make_virtual, kwargs, frames_per_tick", STREAMS)
def test_faults_are_counted_and_the_stream_recovers(device_class, make_virtual, kwargs, frames_per_tick):
    virtual = make_virtual()
    device = connected(device_class, virtual, **kwargs)
    step(virtual, device, 2)
    virtual.inject("garble")  # the first frame of the next tick (the IMU's acceleration packet)
    step(virtual, device, 1)
    assert device.statistics()["crc_errors"] == 1
    virtual.inject("garbage")
    step(virtual, device, 1)
    assert device.statistics()["resyncs"] >= 1
    virtual.inject("stall", 2)
    assert step(virtual, device, 2) == 0
    assert device.statistics()["timeouts"] == 2
    virtual.inject("short")
    step(virtual, device, 2)  # the torn frame's tail is skipped up to the next frame
    assert step(virtual, device, 3) == 3
    assert device.statistics()["disconnects"] == 0


@pytest.mark.parametrize("device_class, make_virtual, kwargs, frames_per_tick", STREAMS)
def test_disconnect_reconnect_and_samples_resume(device_class, make_virtual, kwargs, frames_per_tick):
    virtual = make_virtual()
    device = connected(device_class, virtual, **kwargs)
    step(virtual, device, 2)
    virtual.disconnect()
    assert step(virtual, device, 3) == 0
    virtual.reconnect()
    device.open()
    assert step(virtual, device, 3) == 3
    stats = device.statistics()
    assert stats["disconnects"] == 1 and stats["reconnects"] == 1 and stats["open_failures"] == 2


def test_tactile_sequence_gaps_and_shape_errors():
    virtual = VirtualTactileArray(rows=4, cols=4)
    device = connected(TactileArray, virtual, rows=4, cols=4)
    step(virtual, device, 2)
    virtual.inject("drop", 3)
    step(virtual, device, 4)
    stats = device.statistics()
    assert stats["seq_gaps"] == 1 and stats["lost_frames"] == 3
    assert device.drain()["seq"].tolist() == [0, 1, 5]
    wrong = connected(TactileArray, virtual, rows=4, cols=5)
    step(virtual, wrong, 1)
    assert wrong.statistics()["shape_errors"] == 1 and wrong.latest() is None


def test_tactile_blob_moves():
    virtual = VirtualTactileArray(rows=16, cols=16, rate_hz=100)
    device = connected(TactileArray, virtual)
    step(virtual, device, 50)
    pressure = device.drain()["pressure"]
    peaks = [np.unravel_index(np.argmax(frame), frame.shape) for frame in pressure]
    assert len(set(peaks)) > 5 and pressure.max() > 3000


def test_ft_streams_only_after_the_start_request_and_stops_on_ff():
    virtual = VirtualRobotiqFT(rate_hz=100)
    virtual.serve_once()
    assert not virtual.streaming
    device = connected(RobotiqFT, virtual)
    assert virtual.streaming
    step(virtual, device, 100)
    wrench = device.drain()["wrench"]
    assert wrench.shape == (100, 6)
    np.testing.assert_allclose(wrench[-1], virtual.wrench(), atol=0.006)  # the format's 0.01 N / 0.001 Nm steps
    assert -12 < wrench[:, 2].mean() < -7  # Fz around -9.81 N
    device.stop()
    assert not virtual.streaming


def test_imu_units():
    virtual = VirtualWitMotionIMU(rate_hz=100, yaw_rate_rad_s=0.5)
    device = connected(WitMotionIMU, virtual)
    step(virtual, device, 20)
    columns = device.drain()
    np.testing.assert_allclose(columns["accel"][:, 2], wm.GRAVITY, rtol=1e-3)
    np.testing.assert_allclose(columns["gyro"][:, 2], 0.5, rtol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(columns["quat"], axis=1), 1.0, atol=1e-3)
    yaw = 2 * np.arctan2(columns["quat"][-1, 3], columns["quat"][-1, 0])
    assert math.isclose(yaw, 0.5 * 20 / 100, abs_tol=1e-3)


def test_imu_columns_are_nan_until_measured():
    virtual = VirtualWitMotionIMU()
    device = connected(WitMotionIMU, virtual)
    virtual.inject("drop", 2)  # acceleration and angular velocity of the first tick
    step(virtual, device, 1)
    sample = device.latest()
    assert np.isnan(sample["accel"]).all() and np.isnan(sample["gyro"]).all() and not np.isnan(sample["quat"]).any()


def test_sample_buffer_overflow_drops_the_oldest_and_counts():
    buffer = SampleBuffer({"value": (np.int32, ())}, capacity=3)
    for t in range(5):
        buffer.append(t, {"value": t * 10})
    assert buffer.dropped == 2
    columns = buffer.drain()
    assert columns["t_ns"].tolist() == [2, 3, 4] and columns["value"].tolist() == [20, 30, 40]
    with pytest.raises(ValueError, match="capacity: 0; allowed: an integer >= 1"):
        SampleBuffer({}, capacity=0)


def test_threaded_tactile_on_a_pty_survives_a_disconnect(tmp_path):
    virtual = VirtualTactileArray(rows=16, cols=16, rate_hz=200)
    path = virtual.open_pty(tmp_path / "tactile.tty")
    virtual.start()
    device = TactileArray("palm", path, rate_hz=200, backoff_s=(0.02, 0.2))
    device.start()
    try:
        assert wait_until(lambda: device.statistics()["frames"] >= 20)
        virtual.inject("garble")
        assert wait_until(lambda: device.statistics()["crc_errors"] >= 1)
        virtual.disconnect_for(0.3)
        assert wait_until(lambda: device.statistics()["reconnects"] >= 1)
        device.drain()
        resumed = []
        assert wait_until(lambda: resumed.append(len(device.drain()["t_ns"])) or sum(resumed) >= 10)
    finally:
        device.stop()
        virtual.close()
    stats = device.statistics()
    assert stats["disconnects"] >= 1 and stats["errors"] == 0


# --- config and hub -----------------------------------------------------------------------


def robot_with(devices):
    raw = dump_config(load_config("generic_humanoid"))
    raw["devices"] = devices
    return raw


def test_config_devices_defaults_and_round_trip():
    config = load_config(robot_with([
        {"name": "right_hand", "type": "inspire_hand", "url": "/dev/ttyUSB0", "slave_id": 2},
        {"name": "palm", "type": "tactile", "url": "loop://", "rows": 8, "rate_hz": 150},
        {"name": "wrist_ft", "type": "robotiq_ft", "url": "/dev/ttyUSB1"},
        {"name": "imu", "type": "witmotion_imu", "url": "/dev/ttyUSB2", "baudrate": 921600, "timeout_s": 0.5},
    ]))
    hand, palm, ft, imu = config.devices
    assert (hand.baudrate, hand.rate_hz, hand.params) == (115200, 100, {"slave_id": 2})
    assert (palm.rate_hz, palm.params) == (150, {"rows": 8, "cols": 16})
    assert (ft.baudrate, ft.params) == (19200, {"slave_id": 9})
    assert (imu.baudrate, imu.timeout_s) == (921600, 0.5)
    assert load_config(dump_config(config)) == config
    assert load_config("generic_humanoid").devices == ()


def test_config_device_errors_name_field_and_allowed_values_all_at_once():
    with pytest.raises(ConfigError) as caught:
        load_config(robot_with([
            {"name": "a", "type": "gripper", "url": "x"},
            {"name": "b", "type": "inspire_hand", "url": "", "slave_id": 300, "rows": 4},
            {"name": "b", "type": "tactile", "url": "x", "rate_hz": 0, "cols": 65},
            "not a mapping",
        ]))
    issues = {issue.field: issue for issue in caught.value.errors}
    assert issues["devices[0].type"].allowed == "one of inspire_hand, tactile, robotiq_ft, witmotion_imu"
    assert issues["devices[1].url"].allowed == "a non-empty string"
    assert issues["devices[1].slave_id"].allowed == "an integer in 1..247"
    assert "unknown key 'rows'" in issues["devices[1].rows"].problem
    assert issues["devices[2].name"].problem == "duplicate device name"
    assert issues["devices[2].rate_hz"].allowed == "an integer in 1..1000"
    assert issues["devices[2].cols"].allowed == "an integer in 1..64"
    assert issues["devices[3]"].problem == "not a mapping"


def test_hub_opens_devices_from_config_and_drains_all():
    config = load_config(robot_with([
        {"name": "right_hand", "type": "inspire_hand", "url": "hand"},
        {"name": "palm", "type": "tactile", "url": "tactile", "rows": 4, "cols": 4},
    ]))
    virtual = {"hand": VirtualInspireHand(), "tactile": VirtualTactileArray(rows=4, cols=4)}
    hub = DeviceHub.from_config(config, port_factory=lambda url, **kw: virtual[url].port_factory(url, **kw))
    assert [device.name for device in hub] == ["right_hand", "palm"]
    hub.poll_once()  # opens both
    for _ in range(3):
        for model in virtual.values():
            model.serve_once()
        hub.poll_once()
    columns = hub.drain_all()
    assert columns["right_hand"]["angle"].shape == (4, 6)
    assert columns["palm"]["pressure"].shape == (3, 4, 4)
    assert hub.statistics()["palm"]["frames"] == 3
    with pytest.raises(ValueError, match="device name 'x' used twice"):
        DeviceHub([TactileArray("x", "a"), TactileArray("x", "b")])
