"""CANopen CiA 402 drives on CAN: the power state machine (codecs, our virtual drive, canopen's
LocalNode), SDO configuration with canopen and its errors, a robot enabled, tracking and disabled
in CSP / CSV / CST, drive faults -> FAULT at the right cycle, fault reset, config checks."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import accepted_transitions, enable_active, small_robot_config
from humanoid_rt import Robot, _core
from humanoid_rt.can.cia402 import STATUSWORD, Cia402ConfigError, VirtualCia402Drive
from humanoid_rt.config import ConfigError, load_config

C = _core.can
S = C.Cia402State
MODES_BY_COMMAND = {"csp": "drive_impedance", "csv": "drive_impedance", "cst": "torque"}


def cia402_config(urdf_path, mode="cst", **bus):
    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can-virtual", "fd": True, **bus}]  # 3 drives at 1 kHz: CAN-FD
    for joint in config["joints"]:
        joint["can"] = {"protocol": "cia402", "counts_per_rad": 4096 / 6.283185307179586 * 10, "rated_torque_nm": 20.0,
                        "mode": mode}
        joint["command_mode"] = MODES_BY_COMMAND[mode]
    return config


# --- pure state machine ------------------------------------------------------------------

@pytest.mark.parametrize("statusword, state", [
    (0x0000, S.NOT_READY_TO_SWITCH_ON), (0x0040, S.SWITCH_ON_DISABLED), (0x0250, S.SWITCH_ON_DISABLED),
    (0x0021, S.READY_TO_SWITCH_ON), (0x0031, S.READY_TO_SWITCH_ON), (0x0023, S.SWITCHED_ON),
    (0x0027, S.OPERATION_ENABLED), (0x0637, S.OPERATION_ENABLED), (0x0007, S.QUICK_STOP_ACTIVE),
    (0x000F, S.FAULT_REACTION_ACTIVE), (0x0008, S.FAULT), (0x0218, S.FAULT),
])
def test_statusword_masks(statusword, state):
    assert C.decode_statusword(statusword) == state


def test_controlword_walks_to_operation_enabled_and_stops_per_category():
    nxt = C.next_controlword
    assert [nxt(s, True, 0, False, False) for s in (S.SWITCH_ON_DISABLED, S.READY_TO_SWITCH_ON, S.SWITCHED_ON,
                                                    S.OPERATION_ENABLED)] == [0x06, 0x07, 0x0F, 0x0F]
    assert nxt(S.QUICK_STOP_ACTIVE, True, 0, False, False) == 0x00  # leave through switch on disabled
    assert nxt(S.OPERATION_ENABLED, False, 0, False, False) == 0x00  # category 0: disable voltage (STO)
    assert nxt(S.OPERATION_ENABLED, False, 1, False, False) == 0x02  # category 1: quick stop
    assert nxt(S.SWITCHED_ON, False, 1, False, False) == 0x00
    assert nxt(S.FAULT, True, 0, False, True) == 0x00  # no reset requested
    assert [nxt(S.FAULT, True, 0, True, phase) for phase in (False, True)] == [0x00, 0x80]  # rising edge


def drive_states(drive, controlwords):
    states = []
    for cw in controlwords:
        drive.apply_controlword(cw)
        states.append(C.decode_statusword(drive.value(0x6041)).name.lower())
    return states


def test_virtual_drive_follows_the_transition_table():
    drive = VirtualCia402Drive(1, 1000.0, 1.0)
    assert drive_states(drive, [0x0F, 0x06, 0x07, 0x0F]) == [
        "switch_on_disabled", "ready_to_switch_on", "switched_on", "operation_enabled"]
    assert drive_states(drive, [0x07, 0x0F, 0x06, 0x0F]) == [
        "switched_on", "operation_enabled", "ready_to_switch_on", "operation_enabled"]
    assert drive_states(drive, [0x02, 0x02]) == ["quick_stop_active", "switch_on_disabled"]  # at rest: stops at once
    assert drive_states(drive, [0x06, 0x07, 0x0F, 0x00]) == [
        "ready_to_switch_on", "switched_on", "operation_enabled", "switch_on_disabled"]
    drive.state = "fault"
    assert drive_states(drive, [0x00, 0x06, 0x80, 0x80]) == ["fault", "fault", "switch_on_disabled",
                                                             "switch_on_disabled"]
    drive.state = "fault"
    assert drive_states(drive, [0x80]) == ["fault"]  # no rising edge: the bit was already set
    assert all((value & 0x6F) in (0x00, 0x40, 0x21, 0x23, 0x27, 0x07, 0x0F, 0x08) or (value & 0x4F) in (0x40, 0x08, 0x0F)
               for value in STATUSWORD.values())


# --- a robot through CiA 402 ------------------------------------------------------------

@pytest.mark.parametrize("mode", ["csp", "csv", "cst"])
def test_enable_track_disable(urdf_path, mode):
    with Robot(cia402_config(urdf_path, mode)) as robot:
        bus, network = robot.buses["arm"], robot.can_network
        robot.step(3)
        assert [bus.state(j) for j in range(3)] == [S.SWITCH_ON_DISABLED] * 3
        assert all(network.drive(j).value(0x6061) == {"csp": 8, "csv": 9, "cst": 10}[mode] for j in range(3))
        robot.enable(wait=False)
        states = []
        for _ in range(4):
            robot.step(1)
            states.append(bus.state(0))
        # Shutdown, switch on, enable operation: one transition per cycle, seen one cycle later.
        assert states == [S.SWITCH_ON_DISABLED, S.READY_TO_SWITCH_ON, S.SWITCHED_ON, S.OPERATION_ENABLED]
        state = robot.step(200)
        assert state.supervisor_state == "ACTIVE"
        q = np.array([0.3, -0.4, 0.2])
        robot.set_joint_targets(q, duration=0.3, ttl=0)
        state = robot.step(800)
        assert state.supervisor_state == "ACTIVE" and state.fresh.all()
        assert np.max(np.abs(state.q - q)) < 0.02, state.q
        network.sync()
        assert all(abs(network.drive(j).q - q[j]) < 0.02 for j in range(3))
        robot.disable()
        state = robot.step(300)
        assert state.supervisor_state == "DISABLED"
        assert [bus.state(j) for j in range(3)] == [S.SWITCH_ON_DISABLED] * 3
        assert bus.controlword(0) == 0x00
        stats = bus.statistics()
        assert stats["missed_replies"] == 0 and stats["rejected"] == 0
        assert robot.statistics()["realtime_allocations"] == 0


def test_stop_category_1_quick_stops_the_drives(urdf_path):
    config = cia402_config(urdf_path, "cst")
    config["safety"]["estop_category"] = 1
    with Robot(config) as robot:
        bus = robot.buses["arm"]
        enable_active(robot)
        robot.estop()  # category 1: the loop damps (torque on), then torque off
        for _ in range(1000):
            robot.step(1)
            if bus.controlword(0) != 0x0F:
                break
        assert bus.controlword(0) == 0x02  # torque off as quick stop, not disable voltage
        robot.step(1)
        assert bus.state(0) in (S.QUICK_STOP_ACTIVE, S.SWITCH_ON_DISABLED)
        robot.step(50)
        assert bus.state(0) == S.SWITCH_ON_DISABLED
        assert robot.state().supervisor_state == "ESTOP"


def test_drive_fault_faults_at_the_right_cycle_and_resets(urdf_path):
    with Robot(cia402_config(urdf_path, "cst")) as robot:
        bus, network = robot.buses["arm"], robot.can_network
        enable_active(robot)
        last = robot.state().cycle
        network.inject(1, "error_code", 0x2310)  # over-current
        # Raised at the SYNC written in cycle last+1; TPDO (fault reaction) + EMCY read in cycle last+2.
        state = robot.step(2)
        assert state.supervisor_state == "FAULT" and state.reason == "drive_fault"
        assert [t for t in accepted_transitions(robot) if t[1] == "FAULT"] == [("ACTIVE", "FAULT", "drive_fault",
                                                                                last + 2)]
        assert state.drive_error[1] == 0x2310 and state.drive_error[0] == 0
        assert bus.statistics()["emergencies"] == 1
        robot.step(2)
        assert bus.state(1) == S.FAULT
        robot.reset(wait=False)  # refused: the drive is still in fault ... but the reset was asked for
        robot.step(1)
        assert robot.state().supervisor_state == "FAULT"
        robot.step(3)  # 0x00, then 0x80 (rising edge): the drive leaves Fault
        assert bus.state(1) == S.SWITCH_ON_DISABLED and not bus.fault_reset_pending
        robot.reset(wait=False)
        assert robot.step(1).supervisor_state == "DISABLED"
        enable_active(robot)
        assert robot.state().supervisor_state == "ACTIVE"


def test_missing_tpdos_fault_after_max_missed_replies(urdf_path):
    with Robot(cia402_config(urdf_path, "cst")) as robot:
        enable_active(robot)
        last = robot.state().cycle
        robot.can_network.inject(2, "no_reply", -1)
        state = robot.step(8)
        assert state.supervisor_state == "FAULT"
        assert [t for t in accepted_transitions(robot) if t[1] == "FAULT"] == [("ACTIVE", "FAULT", "missed_replies",
                                                                                last + 2 + 3)]
        with pytest.raises(ValueError, match="allowed: no_reply, error_code"):
            robot.can_network.inject(2, "garbled", 1)


# --- SDO configuration errors --------------------------------------------------------------

def test_sdo_errors_are_named(urdf_path, monkeypatch):
    config = cia402_config(urdf_path, "csv")
    robot_options = {"virtual_cia402_options": {1: {"supported_modes": (8, 10)}}}
    monkeypatch.setattr(Robot, "virtual_cia402_options", robot_options["virtual_cia402_options"], raising=False)
    with pytest.raises(Cia402ConfigError, match=r"joint j1 \(node 2\): mode csv is not supported by the drive "
                                                r"\(0x6502 = 0x00000280\); joints\[..\]\.can\.mode allowed for it: csp, cst"):
        Robot(config)
    monkeypatch.setattr(Robot, "virtual_cia402_options", {2: {"missing_objects": (0x60FF,)}}, raising=False)
    with pytest.raises(Cia402ConfigError, match=r"joint j2 \(node 3\): setting PDO mapping entry 2 \(object 0x60FF\) "
                                                r"\(0x1600 sub 2\) = 0x60ff0020: SDO abort 0x06020000 \(object does not exist\)"):
        Robot(config)
    monkeypatch.setattr(Robot, "virtual_cia402_options", {0: {"rated_torque_nm": 30.0}}, raising=False)
    with pytest.raises(Cia402ConfigError, match=r"can.rated_torque_nm is 20 Nm but the drive's 0x6076 is 30000 mNm"):
        Robot(config)


# --- config ---------------------------------------------------------------------------------

def issues(config):
    with pytest.raises(ConfigError) as error:
        load_config(config)
    return {issue.field: issue for issue in error.value.errors}


def test_config_cia402_fields(urdf_path):
    config = cia402_config(urdf_path, "csp")
    loaded = load_config(config)
    c = loaded.joints[0].can
    assert (c.protocol, c.mode, c.rated_torque_nm) == ("cia402", "csp", 20.0)
    config["joints"][0]["can"]["mode"] = "pp"
    del config["joints"][1]["can"]["counts_per_rad"]
    config["joints"][2]["device_id"] = 128
    found = issues(config)
    assert found["joints[0].can.mode"].allowed == "null or one of csp, csv, cst"
    assert found["joints[1].can.counts_per_rad"].problem == "missing: required for protocol cia402"
    assert found["joints[2].device_id"].allowed == "an integer in 1..127"


def test_config_cia402_mode_needs_matching_command_mode_and_no_mixing(urdf_path):
    config = cia402_config(urdf_path, "cst")
    config["joints"][0]["command_mode"] = "drive_impedance"
    config["joints"][1]["can"]["t_max"] = 10.0
    found = issues(config)
    assert found["joints[0].command_mode"].allowed == "torque"
    assert found["joints[1].can.t_max"].allowed == "absent (or null) for protocol cia402"
    config = cia402_config(urdf_path, "cst")
    config["joints"][2]["can"] = {"protocol": "damiao", "t_max": 40.0, "mode": "cst"}
    assert issues(config)["joints[2].can.mode"].problem == "only for protocol cia402, not damiao"
    del config["joints"][2]["can"]["mode"]
    assert "mixes CANopen CiA 402 drives with MIT-family motors" in issues(config)["buses[0]"].problem


def test_shipped_eds_is_the_firmware_interface_copy():
    from pathlib import Path

    from humanoid_rt.can.cia402 import EDS_PATH

    committed = Path(__file__).resolve().parents[1] / "firmware_interfaces" / "can" / "cia402_servo.eds"
    assert EDS_PATH.read_text() == committed.read_text()
