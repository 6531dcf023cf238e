"""A robot on virtual CAN motors in stepped mode: tracking, enable/disable sequences, faults,
statistics and the RT discipline of the CAN driver."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import accepted_transitions, enable_active, small_robot_config
from humanoid_rt import Robot
from humanoid_rt.config import ConfigError

PROTOCOLS = ("mit_reference", "cubemars", "damiao", "robstride", "myactuator")


def can_config(urdf_path, protocols=("damiao", "cubemars", "robstride"), **bus):
    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can-virtual", "fd": True, **bus}]
    for joint, protocol in zip(config["joints"], protocols):
        joint["can"] = {"protocol": protocol, "t_max": 40.0}
    return config


@pytest.fixture
def make_can_robot(urdf_path):
    robots = []

    def factory(protocols=("damiao", "cubemars", "robstride"), **bus) -> Robot:
        robot = Robot(can_config(urdf_path, protocols, **bus))
        robots.append(robot)
        return robot

    yield factory
    for robot in robots:
        robot.close()


def stats(robot):
    return robot.buses["arm"].statistics()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_enable_track_disable(make_can_robot, protocol):
    robot = make_can_robot((protocol,) * 3)
    network = robot.can_network
    robot.step(5)
    network.sync()
    expects_enter = protocol != "myactuator"  # motion mode acts on every command: no enter/exit frames
    assert not any(m.enabled for m in network.motors()) or not expects_enter
    enable_active(robot)
    network.sync()
    assert all(m.enabled for m in network.motors())
    assert stats(robot)["special_frames"] == (3 if expects_enter else 0)
    q = np.array([0.3, -0.4, 0.2])
    robot.set_joint_targets(q, duration=0.3, ttl=0)
    state = robot.step(800)
    assert state.supervisor_state == "ACTIVE"
    # Through 16-bit positions and 12-bit torques the joints still settle on target.
    assert np.max(np.abs(state.q - q)) < 0.02, state.q
    network.sync()
    assert all(abs(network.motor(j).q - q[j]) < 0.02 for j in range(3))
    assert state.fresh.all()
    robot.disable()
    state = robot.step(300)
    assert state.supervisor_state == "DISABLED"
    network.sync()
    if expects_enter:
        assert not any(m.enabled for m in network.motors())  # exit motor mode sent on torque off
        assert stats(robot)["special_frames"] == 6
    s = stats(robot)
    assert s["missed_replies"] == 0 and s["rejected_wrong_id"] == 0 and s["rejected_malformed"] == 0
    assert robot.statistics()["realtime_allocations"] == 0


def test_drive_impedance_mode_sends_gains(urdf_path):
    config = can_config(urdf_path, ("cubemars",) * 3)
    for joint in config["joints"]:
        joint["command_mode"] = "drive_impedance"
        joint["can"]["kd_max"] = 5.0
    with Robot(config) as robot:
        enable_active(robot)
        q = np.array([0.2, 0.1, -0.1])
        robot.set_joint_targets(q, duration=0.2, ttl=0)
        state = robot.step(600)
        assert state.supervisor_state == "ACTIVE"
        assert np.max(np.abs(state.q - q)) < 0.02


@pytest.mark.parametrize("max_missed", [0, 3])
def test_missing_replies_fault_at_the_right_cycle(make_can_robot, urdf_path, max_missed):
    config = can_config(urdf_path)
    config["safety"]["max_missed_replies"] = max_missed
    with Robot(config) as robot:
        enable_active(robot)
        last = robot.state().cycle
        robot.can_network.inject(1, "no_reply", -1)
        # The fault hits the next command (written in cycle last+1); its reply is due at the read
        # of cycle last+2. The supervisor faults at the (max_missed+1)-th consecutive miss.
        expected = last + 2 + max_missed
        for _ in range(max_missed + 5):
            state = robot.step(1)
            if state.supervisor_state == "FAULT":
                break
        assert state.supervisor_state == "FAULT"
        fault = [t for t in accepted_transitions(robot) if t[1] == "FAULT"]
        assert fault == [("ACTIVE", "FAULT", "missed_replies", expected)]
        assert robot.events()[-1]["joint"] == 1
        assert not state.fresh[1] and state.fresh[0] and state.fresh[2]
        assert robot.buses["arm"].missed_replies(1) == max_missed + 1
        robot.can_network.clear_faults()
        robot.step(3)
        robot.reset()
        assert robot.step(1).supervisor_state == "DISABLED"


@pytest.mark.parametrize("fault, counter", [("wrong_id", "rejected_wrong_id"), ("garbled", "rejected_malformed")])
def test_bad_frames_rejected_and_counted(make_can_robot, fault, counter):
    robot = make_can_robot()
    enable_active(robot)
    before = stats(robot)
    for joint in range(3):
        robot.can_network.inject(joint, fault, 2)  # two bad replies each: within the tolerance of 3
    seen_stale = []
    for _ in range(6):
        seen_stale.append(not robot.step(1).fresh.all())
    after = stats(robot)
    assert after[counter] - before[counter] == 6
    assert after["missed_replies"] - before["missed_replies"] == 6
    assert seen_stale == [False, True, True, False, False, False]
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.statistics()["realtime_allocations"] == 0


def test_over_temperature_and_error_codes_fault(make_can_robot):
    robot = make_can_robot(("damiao", "cubemars", "robstride"))
    enable_active(robot)
    robot.can_network.inject(1, "over_temperature", 95.0)
    state = robot.step(3)
    assert state.supervisor_state == "FAULT" and state.reason == "over_temperature"
    assert state.temperature_c[1] == 95.0
    robot.can_network.clear_faults()
    robot.step(3)
    robot.reset()
    enable_active(robot)
    robot.can_network.inject(0, "error_code", 0xA)  # Damiao over-current
    state = robot.step(3)
    assert state.supervisor_state == "FAULT" and state.reason == "drive_fault"
    assert state.drive_error[0] == 0xA
    robot.can_network.clear_faults()
    robot.step(3)
    robot.reset()
    enable_active(robot)
    robot.can_network.inject(2, "error_code", 0x04)  # Robstride fault bits
    state = robot.step(3)
    assert state.reason == "drive_fault" and state.drive_error[2] == 0x04


def test_fault_injection_names_what_a_protocol_cannot_report(make_can_robot):
    robot = make_can_robot(("mit_reference", "myactuator", "damiao"))
    with pytest.raises(ValueError, match="mit_reference reports no temperature; allowed for: cubemars, damiao"):
        robot.can_network.inject(0, "over_temperature", 100.0)
    with pytest.raises(ValueError, match="myactuator reports no error code"):
        robot.can_network.inject(1, "error_code", 3)
    with pytest.raises(ValueError, match="damiao error codes are integers in 8..14"):
        robot.can_network.inject(2, "error_code", 3)
    with pytest.raises(ValueError, match="fault: unknown fault 'smoke'; allowed: no_reply"):
        robot.can_network.inject(2, "smoke")


def test_temperature_reported_or_nan(make_can_robot):
    robot = make_can_robot(("mit_reference", "cubemars", "robstride"))
    state = robot.step(2)
    assert np.isnan(state.temperature_c[0])
    assert state.temperature_c[1] == 35.0 and state.temperature_c[2] == pytest.approx(35.0)


def test_stepped_runs_are_exact(urdf_path):
    runs = []
    for _ in range(2):
        with Robot(can_config(urdf_path)) as robot:
            enable_active(robot)
            robot.set_joint_targets(np.array([0.3, -0.2, 0.1]), duration=0.2, ttl=0)
            robot.step(200)
            runs.append(robot.drain_telemetry()["q"])
    assert np.array_equal(runs[0], runs[1])


def test_silent_device_refused_at_configure(urdf_path):
    from humanoid_rt.can import virtual

    original = virtual.VirtualCanNetwork.add_motor

    def add_silent(self, *args, **kwargs):
        motor = original(self, *args, **kwargs)
        if motor.joint == 2:
            motor.no_reply = -1
        return motor

    virtual.VirtualCanNetwork.add_motor = add_silent
    try:
        with pytest.raises(RuntimeError, match=r"CAN bus arm: configure: no reply within .* from joint 2 \(robstride device 3\)"):
            Robot(can_config(urdf_path))
    finally:
        virtual.VirtualCanNetwork.add_motor = original


def test_socketcan_refused_clearly_without_kernel_can(urdf_path):
    config = can_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can", "interface": "can0", "fd": True}]
    with pytest.raises(RuntimeError, match=r"CAN bus arm: (socket\(PF_CAN\) failed|SIOCGIFINDEX)"):
        Robot(config)


# --- config ------------------------------------------------------------------------------


def issues(config):
    with pytest.raises(ConfigError) as error:
        from humanoid_rt.config import load_config

        load_config(config)
    return {issue.field: issue for issue in error.value.errors}


def test_config_names_protocol_field(urdf_path):
    config = can_config(urdf_path)
    config["joints"][0]["can"]["protocol"] = "canopen"
    found = issues(config)
    assert found["joints[0].can.protocol"].allowed == "one of mit_reference, cubemars, damiao, robstride, myactuator, cia402"


def test_config_requires_can_section_and_ranges(urdf_path):
    config = can_config(urdf_path)
    del config["joints"][0]["can"]
    config["joints"][1]["can"]["t_max"] = 10.0  # the joint's torque limit is 40 Nm
    config["joints"][2]["device_id"] = 300  # Robstride device ids are 8 bits
    found = issues(config)
    assert "joints[0].can" in found and "missing" in found["joints[0].can"].problem
    assert found["joints[1].can.t_max"].problem == "range 10 does not cover the motor-side torque limit (40)"
    assert found["joints[2].device_id"].allowed == "an integer in 1..255"


def test_config_bus_load_check(urdf_path):
    config = can_config(urdf_path, ("robstride",) * 3, fd=False)  # classic CAN at 1 Mbit/s, 29-bit IDs
    found = issues(config)
    issue = found["buses[0]"]
    assert "bus load too high at 1000 Hz: 3 joints, 6 frames = 960.0 us per 1000 us cycle: load 96.0 % (max 80 %)" in issue.problem
    config["buses"][0]["max_load"] = 0.97
    from humanoid_rt.config import load_config

    assert load_config(config).buses[0].params["max_load"] == 0.97
    config["buses"][0]["bitrate"] = 300000
    assert issues(config)["buses[0].bitrate"].allowed == "one of 125000, 250000, 500000, 1000000"


def test_bundled_humanoid_on_can_virtual_layout():
    robot = Robot("generic_humanoid", bus="can-virtual")
    try:
        buses = {b.name: b for b in robot.config.buses}
        assert sorted(buses) == ["can0", "can1", "can2", "can3"]
        per_bus = {name: [j.can.protocol for j in robot.config.joints if j.bus == name] for name in buses}
        assert sorted(len(v) for v in per_bus.values()) == [7, 8, 8, 8]
        assert {p for v in per_bus.values() for p in v} == set(PROTOCOLS)
        robot.enable()
        state = robot.step(600)
        assert state.supervisor_state == "ACTIVE" and state.fresh.all()
        assert robot.statistics()["realtime_allocations"] == 0
        assert all(b.statistics()["missed_replies"] == 0 for b in robot.buses.values())
    finally:
        robot.close()
