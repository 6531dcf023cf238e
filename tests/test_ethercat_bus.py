"""EtherCAT: our SOEM-based bus and pysoem against the virtual CiA 402 line over a veth pair.

Needs root (network namespaces, raw sockets); skipped otherwise, with the reason. Stepped mode
throughout: write() waits for its frame, so every cycle's outcome is exact. Behaviour only, no timing.
"""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from conftest import chain_urdf
from humanoid_rt import ConfigError, Robot, _core
from humanoid_rt.ethercat import VirtualEthercat, have_privileges

_ok, _why = have_privileges()
pytestmark = pytest.mark.skipif(not _ok, reason=_why)

VENDOR, PRODUCT = _core.ethercat.VirtualDriveParams().vendor_id, _core.ethercat.VirtualDriveParams().product_code


def legs_config(urdf_path, interface: str, n: int = 12, *, drive_mode: str = "cst", joints: dict | None = None,
                safety: dict | None = None, **bus) -> dict:
    model = urdf_path.parent / f"legs{n}.urdf"  # a chain with the leg joints' names: the whole-body model
    model.write_text(chain_urdf([f"leg{i}" for i in range(n)], "ecat_legs"))
    return {
        "name": "ecat_legs",
        # The emulated drives turn rotors without gravity: no gravity compensation for them.
        "model": {"urdf": str(model), "gravity_compensation": False},
        "loop": {"rate_hz": 1000, "priority": 0, "lock_memory": False},
        "safety": {"enable_ramp_s": 0.05, "damping_time_s": 0.2, "max_missed_replies": 3, "frozen_encoder_cycles": 20,
                   "frozen_torque_nm": 2.0, **(safety or {})},
        "buses": [{"name": "legs", "type": "ethercat", "interface": interface, "vendor_id": VENDOR,
                   "product_code": PRODUCT, "drive_mode": drive_mode,
                   # A software slave on a shared CI core can be late; stepped tests wait long.
                   "receive_timeout_us": 200_000, "frame_timeout_us": 20_000, **bus}],
        "joints": [{"name": f"leg{i}", "bus": "legs", "device_id": i + 1,
                    "limits": {"position_rad": [-2.0, 2.0], "velocity_rad_s": 8.0, "torque_nm": 60.0,
                               "acceleration_rad_s2": 100000.0},
                    "gains": {"kp": 100.0, "kd": 4.0}, **(joints or {})} for i in range(n)],
    }


@pytest.fixture(scope="module")
def line12():
    with VirtualEthercat(slaves=12) as line:
        yield line


@pytest.fixture
def robot_on(urdf_path):
    robots = []

    def make(line, **kwargs) -> Robot:
        robot = Robot(legs_config(urdf_path, line.master_interface, line.slaves, **kwargs))
        robots.append(robot)
        return robot

    yield make
    for robot in robots:
        robot.close()


def enable(robot: Robot) -> None:
    robot.enable()
    robot.step(80)
    assert robot.state().supervisor_state == "ACTIVE", robot.state().last_event


def test_twelve_drives_reach_op_and_track_in_cst(line12, robot_on):
    robot = robot_on(line12)
    bus = robot.ethercat_bus("leg0")
    assert line12.request({"cmd": "statistics"})["al_states"] == [8] * 12  # OP
    assert bus.describe().count("vendor 0xE7A product 0x4020001 out 6 B in 16 B") == 12
    assert bus.rated_torque_nm(0) == pytest.approx(50.0)  # read over CoE from 0x6076
    enable(robot)
    assert [bus.drive_state(j) for j in range(12)] == ["OPERATION_ENABLED"] * 12
    target = np.linspace(-0.3, 0.3, 12)
    robot.set_joint_targets(target, duration=0.2, ttl=0)
    state = robot.step(500)
    assert state.supervisor_state == "ACTIVE"
    np.testing.assert_allclose(state.q, target, atol=0.01)
    # The drive's own model agrees with what the bus reported (counts -> rad in the bus).
    assert line12.request({"cmd": "drive", "slave": 12})["q"] == pytest.approx(state.q[11], abs=1e-4)
    stats = bus.statistics()
    assert stats["lost_frames"] == 0 and stats["wkc_errors"] == 0
    assert stats["expected_wkc"] == 36  # 12 x (2 for outputs + 1 for inputs), one LRW
    assert robot.statistics()["realtime_allocations"] == 0
    robot.disable()
    robot.step(300)
    assert robot.state().supervisor_state == "DISABLED"
    assert bus.drive_state(0) == "SWITCH_ON_DISABLED"  # torque off at the drive too


def test_csp_mode_maps_rxpdo_0x1600_and_follows_position(robot_on):
    with VirtualEthercat(slaves=2) as line:
        robot = robot_on(line, drive_mode="csp", joints={"command_mode": "drive_impedance"})
        assert line.request({"cmd": "drive", "slave": 1})["rxpdo"] == 0x1600
        assert line.request({"cmd": "drive", "slave": 1})["mode"] == 8
        enable(robot)
        robot.set_joint_targets([0.4, -0.2], duration=0.1, ttl=0)
        state = robot.step(200)
        np.testing.assert_allclose(state.q, [0.4, -0.2], atol=1e-3)


def test_mismatched_slave_count_names_the_step(urdf_path):
    with VirtualEthercat(slaves=2) as line:
        with pytest.raises(RuntimeError, match=r"step scan: found 2 slave\(s\), the config expects 3"):
            Robot(legs_config(urdf_path, line.master_interface, n=3))


def test_mismatched_product_names_the_slave(urdf_path):
    with VirtualEthercat(slaves=3, drives=[{}, {"product_code": 0x1234}, {}]) as line:
        with pytest.raises(RuntimeError, match=r"step scan, slave 2 .*product 0x1234, the config expects vendor 0xE7A "
                                               r"product 0x4020001 at position 2"):
            Robot(legs_config(urdf_path, line.master_interface, n=3))


def test_csp_needs_drive_impedance_joints(urdf_path):
    with pytest.raises(ConfigError, match=r"joints\[0\]\.command_mode.*drive_impedance"):
        Robot(legs_config(urdf_path, "hrt-nonexistent", n=1, drive_mode="csp"))


def test_missing_interface_names_the_open_step(urdf_path):
    with pytest.raises(RuntimeError, match=r"step open: cannot open a raw EtherCAT socket on interface hrt-nonexist"):
        Robot(legs_config(urdf_path, "hrt-nonexist", n=1))


def test_wkc_errors_beyond_tolerance_fault_at_the_right_cycle(robot_on):
    with VirtualEthercat(slaves=2) as line:
        robot = robot_on(line, wkc_tolerance=4, safety={"max_missed_replies": 1000})
        bus = robot.ethercat_bus(0)
        enable(robot)
        # Slave 2 ignores 4 process-data datagrams: exactly the tolerance, no fault.
        line.request({"cmd": "skip_process_data", "slave": 2, "count": 4})
        robot.step(10)
        assert robot.state().supervisor_state == "ACTIVE"
        assert bus.statistics()["wkc_errors"] == 4
        # 6 in a row: the 5th bad frame is one too many; read() of the next cycle reports it.
        line.request({"cmd": "skip_process_data", "slave": 2, "count": 6})
        cycle0 = robot.state().cycle
        robot.step(12)
        faults = [e for e in robot.events() if e["to_state"] == "FAULT"]
        assert faults and faults[0]["reason"] == "bus_error"
        # write() of cycle c0+k sends frame k; frames 1..5 bad -> read() at cycle c0+6 sees 5 > 4.
        assert faults[0]["cycle"] == cycle0 + 6
        assert bus.statistics()["wkc_errors"] == 10
        assert [bus.drive_state(j) for j in range(2)] == ["SWITCH_ON_DISABLED"] * 2  # torque off (quick stop, cat 0)
        robot.reset()
        assert robot.step(2).supervisor_state == "DISABLED"  # the line is healthy again


def test_lost_frames_are_counted_and_fault_through_missed_replies(robot_on):
    with VirtualEthercat(slaves=2) as line:
        robot = robot_on(line, wkc_tolerance=100, safety={"max_missed_replies": 3},
                         receive_timeout_us=20_000)
        bus = robot.ethercat_bus(0)
        enable(robot)
        line.request({"cmd": "drop_frames", "count": 2})
        state = robot.step(5)
        assert state.supervisor_state == "ACTIVE"
        assert bus.statistics()["lost_frames"] == 2
        assert line.request({"cmd": "statistics"})["dropped_frames"] == 2
        line.request({"cmd": "drop_frames", "count": 5})
        robot.step(8)
        assert robot.state().supervisor_state == "FAULT"
        assert robot.state().reason == "missed_replies"
        assert bus.statistics()["lost_frames"] == 7


def test_drive_fault_reset_and_back_to_active_without_a_jump(robot_on):
    with VirtualEthercat(slaves=2) as line:
        robot = robot_on(line)
        bus = robot.ethercat_bus(0)
        enable(robot)
        robot.set_joint_targets([0.3, -0.2], duration=0.1, ttl=0)
        robot.step(300)  # holding away from zero: the drives apply torque to stay there
        line.request({"cmd": "drive_fault", "slave": 2, "code": 0x2310, "persistent": True})
        state = robot.step(3)
        assert state.supervisor_state == "FAULT"
        assert state.last_event["reason"] == "drive_fault" and state.last_event["joint"] == 1
        assert state.last_event["value"] == 0x2310  # 0x603F, from the TxPDO
        assert bus.drive_state(1) == "FAULT"
        # The cause persists at the drive: a fault reset does not clear it, the supervisor refuses.
        bus.fault_reset()
        robot.step(3)
        assert bus.drive_state(1) == "FAULT"
        robot.reset()
        robot.step(1)
        assert robot.state().supervisor_state == "FAULT"
        # Cause gone: fault reset (bit 7 rising edge) clears the drive, then the supervisor resets.
        line.request({"cmd": "clear_fault_cause", "slave": 2})
        bus.fault_reset()
        robot.step(3)
        assert bus.drive_state(1) == "SWITCH_ON_DISABLED"
        robot.reset()
        assert robot.step(1).supervisor_state == "DISABLED"
        robot.drain_telemetry()
        q_before = robot.state().q.copy()
        enable(robot)
        robot.step(100)
        t = robot.drain_telemetry()
        enabling = np.flatnonzero(t["state"] == int(robot.STATE_CODES["ENABLING"]))[0]
        # ENABLING starts from the measured position, not from the target held before the fault ...
        np.testing.assert_allclose(t["q_ref"][enabling], t["q"][enabling], atol=1e-3)
        # ... and nothing jumps on the way back to ACTIVE: positions move smoothly and stay put.
        assert np.max(np.abs(np.diff(t["q"], axis=0))) < 2e-3
        np.testing.assert_allclose(robot.state().q, q_before, atol=0.02)
        assert robot.state().supervisor_state == "ACTIVE"
        assert [bus.drive_state(j) for j in range(2)] == ["OPERATION_ENABLED"] * 2


def test_frozen_encoder_faults_while_motion_is_expected(robot_on):
    with VirtualEthercat(slaves=2) as line:
        robot = robot_on(line)
        enable(robot)
        line.request({"cmd": "freeze_encoder", "slave": 1, "frozen": True})
        robot.set_joint_targets([1.0, 0.0], duration=0.5, ttl=0)
        robot.step(200)
        state = robot.state()
        assert state.supervisor_state == "FAULT"
        assert state.reason == "encoder_frozen" and state.last_event["joint"] == 0


def test_pysoem_brings_the_virtual_line_to_op_and_exchanges_data():
    pysoem = pytest.importorskip("pysoem")
    with VirtualEthercat(slaves=3) as line:
        master = pysoem.Master()
        master.open(line.master_interface)
        try:
            assert master.config_init() == 3
            for slave in master.slaves:
                assert (slave.man, slave.id) == (VENDOR, PRODUCT)
                slave.sdo_write(0x6060, 0, bytes([10]))  # CST
                slave.sdo_write(0x1C12, 0, bytes([0]))
                slave.sdo_write(0x1C12, 1, struct.pack("<H", 0x1602))
                slave.sdo_write(0x1C12, 0, bytes([1]))
            master.config_map()
            assert master.state_check(pysoem.SAFEOP_STATE, 500_000) == pysoem.SAFEOP_STATE
            assert [len(s.output) for s in master.slaves] == [6] * 3
            assert [len(s.input) for s in master.slaves] == [16] * 3
            master.state = pysoem.OP_STATE
            master.write_state()
            for _ in range(200):
                master.send_processdata()
                master.receive_processdata(20_000)
                if master.state_check(pysoem.OP_STATE, 1000) == pysoem.OP_STATE:
                    break
            assert master.state_check(pysoem.OP_STATE, 500_000) == pysoem.OP_STATE

            def cycle(controlword: int, torque: int = 0) -> list[int]:
                for slave in master.slaves:
                    slave.output = struct.pack("<Hhbx", controlword, torque, 10)
                master.send_processdata()
                assert master.receive_processdata(20_000) == master.expected_wkc == 9
                return [struct.unpack_from("<H", bytes(s.input))[0] for s in master.slaves]

            cycle(0x06)
            cycle(0x07)
            cycle(0x0F)
            statuswords = cycle(0x0F, torque=200)  # 20 % of rated torque
            assert all(sw & 0x6F == 0x27 for sw in statuswords)  # operation enabled
            for _ in range(20):
                cycle(0x0F, torque=200)
            position = struct.unpack_from("<i", bytes(master.slaves[0].input), 2)[0]
            assert position > 0  # the drive turned under positive torque
            assert line.request({"cmd": "drive", "slave": 1})["state"] == "OPERATION_ENABLED"
        finally:
            master.close()


def test_cia402_codec_golden_values():
    from humanoid_rt import _core

    decode = _core.cia402.decode_statusword
    assert decode(0x0250) == "SWITCH_ON_DISABLED"
    assert decode(0x0231) == "READY_TO_SWITCH_ON"
    assert decode(0x0233) == "SWITCHED_ON"
    assert decode(0x0237) == "OPERATION_ENABLED"
    assert decode(0x0217) == "QUICK_STOP_ACTIVE"
    assert decode(0x021F) == "FAULT_REACTION_ACTIVE"
    assert decode(0x0218) == "FAULT"
    nxt = _core.cia402.next_controlword
    assert [nxt(sw, True) for sw in (0x0250, 0x0231, 0x0233, 0x0237)] == [0x06, 0x07, 0x0F, 0x0F]
    assert nxt(0x0237, False) == 0x02  # quick stop: the drive reacts per 0x605A
    assert nxt(0x0218, True) == 0x00 and nxt(0x0218, True, True) == 0x80
    assert [_core.cia402.quick_stop_option(c) for c in (0, 1, 2)] == [0, 2, 6]


def test_esi_description_matches_the_virtual_drive_pdos():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    pdos = _core.ethercat.virtual_drive_pdos()  # what the virtual drive (drivers/ethercat/virtual_slave) maps
    root = ET.parse(Path(__file__).resolve().parents[1] / "firmware_interfaces/ethercat/hrt_cia402_drive.xml").getroot()
    described = set()
    for tag in ("RxPdo", "TxPdo"):
        for pdo in root.iter(tag):
            index = int(pdo.find("Index").text[2:], 16)
            entries = [(int(e.find("Index").text[2:], 16), int(e.find("BitLen").text)) for e in pdo.iter("Entry")]
            assert entries == [(obj, bits) for obj, _, bits in pdos[index]]
            described.add(index)
    assert described == set(pdos) == {0x1600, 0x1601, 0x1602, 0x1A00}


def test_link_down_faults_within_the_configured_cycles(robot_on):
    with VirtualEthercat(slaves=2) as line:
        # Lost frames are what a dead link gives: the bus's tolerance decides (the supervisor's is set wide).
        robot = robot_on(line, wkc_tolerance=2, receive_timeout_us=5000, safety={"max_missed_replies": 1000})
        bus = robot.ethercat_bus(0)
        enable(robot)
        cycle0 = robot.state().cycle
        line.set_link(False)  # ip link set <master end> down
        robot.step(8)
        faults = [e for e in robot.events() if e["to_state"] == "FAULT"]
        assert faults and faults[0]["reason"] == "bus_error"
        # write() of cycle c0+k sends frame k; frames 1..3 lost -> read() at cycle c0+4 sees 3 > 2.
        assert faults[0]["cycle"] == cycle0 + 4
        assert bus.statistics()["lost_frames"] >= 3
        # Link back: the same line answers again and the robot can be reset and enabled.
        line.set_link(True)
        robot.step(3)
        robot.reset()
        assert robot.step(2).supervisor_state == "DISABLED"
        enable(robot)


@pytest.mark.parametrize("dc", [True, False])
def test_distributed_clocks_are_configured_and_sync0_runs_on_the_slaves(robot_on, dc):
    with VirtualEthercat(slaves=3) as line:
        robot = robot_on(line, distributed_clocks=dc)
        bus = robot.ethercat_bus(0)
        robot.step(50)
        stats = bus.statistics()
        slaves = [line.request({"cmd": "dc", "slave": k}) for k in (1, 2, 3)]
        assert stats["expected_wkc"] == 9  # the DC datagram in the frame does not change the working counter
        if not dc:
            assert stats["dc_slaves"] == 0 and not any(s["sync0_active"] for s in slaves)
            return
        assert bus.describe().count(" DC\n") == 3  # the ESCs advertise DC (register 0x0008)
        assert stats["dc_slaves"] == 3
        assert all(s["sync0_active"] and s["cycle_ns"] == 1_000_000 for s in slaves)  # SYNC0 at the loop period
        # SOEM starts SYNC0 on a whole cycle, 100 ms (its SyncDelay) after it read the slave's time; then it runs.
        assert all(s["start_ns"] % 1_000_000 == 0 for s in slaves)
        deadline = time.monotonic() + 5.0
        while line.request({"cmd": "dc", "slave": 3})["sync0_pulses"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert line.request({"cmd": "dc", "slave": 3})["sync0_pulses"] > 0
        # SOEM measured the propagation delays along the line from the port receive times ...
        delays = [s["delay_ns"] for s in slaves]
        assert delays[0] == 0 and delays[0] < delays[1] < delays[2]
        # ... and set each slave's offset so its system time is the master's clock (EtherCAT epoch
        # 2000-01-01), although the slaves' local clocks started at different moments.
        master_now = time.time_ns() - 946_684_800 * 10**9
        assert all(abs(s["system_time_ns"] - master_now) < 10**9 for s in slaves)
        assert len({s["offset_ns"] for s in slaves}) == 3
        # Every process-data frame carries the reference clock's time back to the master (FRMW 0x0910).
        assert abs(stats["dc_time_ns"] - master_now) < 10**9


def test_whole_robot_legs_on_ethercat_arms_on_virtual_can(urdf_path):
    arms = ["arm0", "arm1", "arm2"]
    with VirtualEthercat(slaves=12) as line:
        config = legs_config(urdf_path, line.master_interface, 12)
        model = urdf_path.parent / "whole.urdf"
        model.write_text(chain_urdf([j["name"] for j in config["joints"]] + arms, "whole"))
        config["model"]["urdf"] = str(model)
        config["buses"].append({"name": "arms", "type": "can-virtual", "fd": True})
        config["joints"] += [{"name": name, "bus": "arms", "device_id": k + 1, "can": {"protocol": "damiao", "t_max": 40.0},
                              "limits": {"position_rad": [-2.0, 2.0], "velocity_rad_s": 8.0, "torque_nm": 40.0},
                              "gains": {"kp": 100.0, "kd": 4.0}} for k, name in enumerate(arms)]
        robot = Robot(config)
        try:
            assert set(robot.buses) == {"legs", "arms"}
            enable(robot)
            target = np.linspace(-0.3, 0.3, 15)
            robot.set_joint_targets(target, duration=0.2, ttl=0)
            state = robot.step(800)
            assert state.supervisor_state == "ACTIVE"
            np.testing.assert_allclose(state.q, target, atol=0.02)  # CAN: 16-bit positions, 12-bit torques
            ecat = robot.ethercat_bus("leg0").statistics()
            assert ecat["wkc_errors"] == 0 and ecat["lost_frames"] == 0
            assert robot.buses["arms"].statistics()["missed_replies"] == 0
            assert robot.statistics()["realtime_allocations"] == 0
        finally:
            robot.close()


def test_the_line_answers_frames_in_process_without_a_network():
    line = _core.ethercat.VirtualEthercatLine([_core.ethercat.VirtualDriveParams()] * 3, 0.001)

    def frame(command: int, adp: int, ado: int, data: bytes) -> bytes:
        datagram = struct.pack("<BBHHHH", command, 0, adp, ado, len(data), 0) + data + b"\0\0"  # header, data, WKC
        return b"\xff" * 6 + b"\x02" * 6 + b"\x88\xa4" + struct.pack("<H", len(datagram) | 0x1000) + datagram

    back = line.process_frame(frame(7, 0, 0x0000, bytes(2)))  # BRD ESC type/revision
    assert back[16 + 10:16 + 12] == b"\x11\x01"
    assert struct.unpack_from("<H", back, 16 + 12)[0] == 3  # working counter: every slave
    assert struct.unpack_from("<H", back, 16 + 2)[0] == 3  # ADP incremented by each slave
    back = line.process_frame(frame(1, 0xFFFF, 0x0008, bytes(2)))  # APRD features of the 2nd slave
    assert struct.unpack_from("<H", back, 16 + 10)[0] & 0x0004  # distributed clocks supported
    assert struct.unpack_from("<H", back, 16 + 12)[0] == 1
    assert line.process_frame(b"\xff" * 14 + struct.pack("<H", 0x5000)) is None  # not EtherCAT commands
    with pytest.raises(IndexError, match=r"slave 4: the line has slaves 1\.\.3"):
        line.drive(4)
