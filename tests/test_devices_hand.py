"""The Inspire hand reader against the virtual hand: stepped over an in-process link (exact), plus pty runs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from humanoid_rt.devices import FINGERS, InspireHand, VirtualInspireHand, modbus
from humanoid_rt.devices.inspire_hand import REGISTERS


def wait_until(condition, timeout_s=10.0):
    """Poll a condition on a generous deadline (threads on a busy 2-core CI machine); False if it never held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def hand():
    virtual = VirtualInspireHand(rate_hz=100)
    device = InspireHand("right_hand", "virtual://hand", port_factory=virtual.port_factory)
    assert device.open()
    return virtual, device


def step(virtual, device, n):
    """n device periods: the model ticks (and streams), then the reader runs one cycle; returns new samples."""
    produced = 0
    for _ in range(n):
        virtual.serve_once()
        produced += device.poll_once()
    return produced


def test_poll_reads_every_register_group(hand):
    virtual, device = hand
    virtual.set_error("ring", 0x04)
    assert device.poll_once() == 1
    sample = device.latest()
    assert sample["angle"].dtype == np.uint16 and sample["angle"].tolist() == [1000] * 6
    assert sample["error"].tolist() == [0, 4, 0, 0, 0, 0]
    assert sample["status"].tolist() == [2, 7, 2, 2, 2, 2]  # position reached; the faulty finger: fault stop
    assert sample["temperature"].tolist() == [30] * 6
    stats = device.statistics()
    assert stats["frames"] == 6  # angleSet at connect + five reads
    assert stats["crc_errors"] == stats["timeouts"] == stats["exceptions"] == 0


def test_setpoints_round_trip_and_fingers_move(hand):
    virtual, device = hand
    device.set_angles([0, 100, 200, 300, 400, 500])
    device.set_speeds([1000] * 6)
    device.set_forces([300] * 6)
    device.poll_once()
    assert virtual.angle_set.tolist() == [0, 100, 200, 300, 400, 500]
    assert virtual.force_set.tolist() == [300] * 6
    assert device.statistics()["writes"] == 3
    # 2000 units/s at full speed: 1000 units take 0.5 s = 50 ticks at 100 Hz.
    step(virtual, device, 60)
    latest = device.latest()
    assert latest["angle"].tolist() == [0, 100, 200, 300, 400, 500]
    assert latest["angle_set"].tolist() == [0, 100, 200, 300, 400, 500]
    columns = device.drain()
    assert columns["angle"].shape == (61, 6) and columns["t_ns"].dtype == np.int64
    assert np.all(np.diff(columns["t_ns"]) >= 0)
    assert np.all(np.diff(columns["angle"][:, 0].astype(int)) <= 0)  # closing monotonically


def test_obstacle_stops_the_finger_and_force_rises_to_the_threshold(hand):
    virtual, device = hand
    virtual.set_obstacle("index", 600)
    device.set_forces([400] * 6)
    device.set_angles([1000, 1000, 1000, 200, 1000, 1000])
    step(virtual, device, 100)
    latest = device.latest()
    index = FINGERS.index("index")
    assert latest["angle"][index] == 600
    assert latest["force"][index] == 400
    assert latest["status"][index] == 3  # force reached
    assert latest["temperature"][index] > 30


def test_bad_setpoints_name_the_finger_and_the_range(hand):
    _, device = hand
    with pytest.raises(ValueError) as caught:
        device.set_angles([0, 1001, 500, -1, 2.5, 0])
    message = str(caught.value)
    assert "angle_set.ring: 1001 out of range; allowed: an integer 0..1000" in message
    assert "angle_set.index: -1 out of range" in message
    assert "angle_set.thumb_bend: 2.5 not an integer" in message
    with pytest.raises(ValueError, match="force_set: 5 values; allowed: 6, one per finger"):
        device.set_forces([1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="speed_set: not a sequence"):
        device.set_speeds(7)
    device.poll_once()
    assert device.statistics()["writes"] == 0  # nothing was queued


def test_exception_responses_from_the_model(hand):
    virtual, device = hand
    master = modbus.ModbusRtuMaster(device._port, 115200)
    with pytest.raises(modbus.ModbusExceptionResponse) as caught:
        master.read_holding(1, 1547, 6)  # not the start of a group
    assert caught.value.code == 0x02
    with pytest.raises(modbus.ModbusExceptionResponse) as caught:
        master.write_multiple(1, REGISTERS["angle_act"].address, [0] * 6)  # read-only
    assert caught.value.code == 0x02
    with pytest.raises(modbus.ModbusExceptionResponse) as caught:
        master.write_multiple(1, REGISTERS["angle_set"].address, [0, 0, 1001, 0, 0, 0])
    assert caught.value.code == 0x03
    device._port.write(modbus.with_crc(bytes([1, 0x06, 0x05, 0xCE, 0x00, 0x01])))  # write single register
    assert device._port.read(5) == modbus.exception_response(1, 0x06, 0x01)
    with pytest.raises(modbus.ModbusTimeout):
        master.read_holding(2, 1546, 6)  # another slave id: silence


def test_garbled_short_dropped_and_garbage_responses_are_counted_and_polling_resumes(hand):
    virtual, device = hand
    for fault, counter in (("garble", "crc_errors"), ("short", "timeouts"), ("drop", "timeouts"),
                           ("garbage", "resyncs")):
        before = device.statistics()[counter]
        virtual.inject(fault)
        assert device.poll_once() == 0, fault
        assert device.statistics()[counter] == before + 1, fault
        assert device.poll_once() == 1, fault  # the next poll is clean again
    assert device.statistics()["disconnects"] == 0


def test_stall_counts_timeouts_then_samples_resume(hand):
    virtual, device = hand
    virtual.inject("stall", 3)
    assert step(virtual, device, 3) == 0
    assert device.statistics()["timeouts"] == 3
    assert step(virtual, device, 2) == 2


def test_failed_write_is_retried_on_the_next_poll(hand):
    virtual, device = hand
    device.set_angles([500] * 6)
    virtual.inject("drop")  # the write's echo is lost
    assert device.poll_once() == 0
    assert device.statistics()["timeouts"] == 1
    assert device.poll_once() == 1
    assert device.statistics()["writes"] == 1 and device.latest()["angle_set"].tolist() == [500] * 6


def test_disconnect_is_counted_reconnects_and_samples_resume(hand):
    virtual, device = hand
    assert step(virtual, device, 2) == 2
    virtual.disconnect()
    assert device.poll_once() == 0
    assert device.poll_once() == 0  # still unplugged: the reopen fails
    stats = device.statistics()
    assert stats["disconnects"] == 1 and stats["open_failures"] == 1 and not stats["connected"]
    virtual.reconnect()
    assert step(virtual, device, 2) == 2
    stats = device.statistics()
    assert stats["reconnects"] == 1 and stats["connected"]
    assert "disconnects" in stats["last_error"] or "open_failures" in stats["last_error"]


def test_slave_id_is_configurable():
    virtual = VirtualInspireHand(slave_id=5)
    device = InspireHand("h", "virtual://", slave_id=5, port_factory=virtual.port_factory)
    assert device.poll_once() == 1
    wrong = InspireHand("h", "virtual://", slave_id=6, port_factory=virtual.port_factory)
    assert wrong.poll_once() == 0 and wrong.statistics()["open_failures"] == 1
    with pytest.raises(ValueError, match="slave_id: 0; allowed: an integer 1..247"):
        InspireHand("h", "x", slave_id=0)


# --- real file descriptors -------------------------------------------------------------------


def test_pymodbus_client_reads_and_writes_the_virtual_hand_on_a_pty(tmp_path):
    from pymodbus.client import ModbusSerialClient

    virtual = VirtualInspireHand(rate_hz=200)
    path = virtual.open_pty(tmp_path / "hand.tty")
    virtual.start()
    client = ModbusSerialClient(port=path, baudrate=115200, timeout=2, retries=3)
    try:
        assert client.connect()
        reply = client.read_holding_registers(REGISTERS["angle_act"].address, count=6, device_id=1)
        assert not reply.isError() and reply.registers == [1000] * 6
        reply = client.write_registers(REGISTERS["angle_set"].address, [10, 20, 30, 40, 50, 60], device_id=1)
        assert not reply.isError()
        assert wait_until(lambda: virtual.angle_set.tolist() == [10, 20, 30, 40, 50, 60])
        reply = client.read_holding_registers(1500, count=3, device_id=1)
        assert reply.isError() and reply.exception_code == 0x02
    finally:
        client.close()
        virtual.close()


def test_threaded_hand_on_a_pty_survives_a_disconnect(tmp_path):
    virtual = VirtualInspireHand(rate_hz=200)
    path = virtual.open_pty(tmp_path / "hand.tty")
    virtual.start()
    device = InspireHand("right_hand", path, rate_hz=100, timeout_s=0.2, backoff_s=(0.02, 0.2))
    device.start()
    try:
        assert wait_until(lambda: device.statistics()["frames"] >= 10)
        device.set_angles([0] * 6)
        assert wait_until(lambda: device.latest() is not None and device.latest()["angle"][0] < 1000)
        virtual.disconnect_for(0.3)
        assert wait_until(lambda: device.statistics()["reconnects"] >= 1)
        device.drain()
        resumed = []
        assert wait_until(lambda: resumed.append(len(device.drain()["t_ns"])) or sum(resumed) >= 3)
        stats = device.statistics()
        assert stats["disconnects"] >= 1 and stats["errors"] == 0
    finally:
        device.stop()
        virtual.close()
    assert not device.connected


def test_missing_port_is_retried_with_backoff_without_raising(tmp_path):
    device = InspireHand("absent", str(tmp_path / "no-such-tty"), backoff_s=(0.01, 0.05))
    device.start()
    try:
        assert wait_until(lambda: device.statistics()["open_failures"] >= 3)
    finally:
        device.stop()
    stats = device.statistics()
    assert stats["errors"] == 0 and stats["reconnects"] == 0 and "no-such-tty" in stats["last_error"]
