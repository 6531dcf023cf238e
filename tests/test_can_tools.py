"""DBC files, can-decode, the bus-load numbers, virtual motors over python-can, and a real-time run."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import enable_active, small_robot_config
from humanoid_rt import Robot, _core
from humanoid_rt.can import protocols as P
from humanoid_rt.can.busload import frame_time_s
from humanoid_rt.can.dbc import dbc_text, load_database
from humanoid_rt.can.decode import main as decode_main
from humanoid_rt.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
C = _core.can
PROTO = {"mit_reference": C.Protocol.MIT_REFERENCE, "cubemars": C.Protocol.CUBEMARS, "damiao": C.Protocol.DAMIAO,
         "robstride": C.Protocol.ROBSTRIDE, "myactuator": C.Protocol.MYACTUATOR}


@pytest.mark.parametrize("protocol", P.PROTOCOLS)
def test_committed_dbc_is_generated(protocol):
    assert (REPO / "firmware_interfaces" / "can" / f"{protocol}.dbc").read_text() == dbc_text(protocol)


@pytest.mark.parametrize("protocol", P.PROTOCOLS)
def test_dbc_decodes_like_the_cpp_codec(protocol):
    db = load_database(protocol)
    ranges = C.default_ranges(PROTO[protocol])
    rng = np.random.default_rng(3)
    for _ in range(50):
        q, dq, kp, kd, tau = (rng.uniform(-ranges.p_max, ranges.p_max), rng.uniform(-ranges.v_max, ranges.v_max),
                              rng.uniform(0, ranges.kp_max), rng.uniform(0, ranges.kd_max),
                              rng.uniform(-ranges.t_max, ranges.t_max))
        can_id, extended, payload = C.encode_command(PROTO[protocol], ranges, 1, 0, q, dq, kp, kd, tau)
        decoded = db.get_message_by_name(f"{protocol}_command").decode(payload)
        assert abs(decoded["p_des"] - q) <= 2 * ranges.p_max / 65535 * 1.01
        assert abs(decoded["kp"] - kp) <= ranges.kp_max / 4095 * 1.01


def test_can_decode_candump(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("(1.000000) can0 001#FFFFFFFFFFFFFFFC\n"
                   "(1.000100) can0 000#017FFF7FF7FF\n"
                   "(1.000300) can1 0300FD01#0000000000000000\n"
                   "(1.000400) can1 02A501FD#7FFF8000FFFF01C2\n"
                   "  can2  402   [8]  7F FF 7F F0 00 00 07 FF\n")
    out = io.StringIO()
    assert decode_main(log, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("mit_reference device 1: enter")
    assert "reply device=1 position=-0.0002" in lines[1]
    assert "robstride device 1: enable" in lines[2]
    assert "temperature=45.0000" in lines[3] and "fault_bits=37" in lines[3]
    assert "myactuator device 2: command" in lines[4]
    assert lines[-1] == "5 frame(s)"


def test_can_decode_python_can_asc(tmp_path):
    import can

    path = tmp_path / "run.asc"
    with can.ASCWriter(str(path)) as writer:
        writer.on_message_received(can.Message(timestamp=1.0, arbitration_id=0, is_extended_id=False,
                                               data=bytes.fromhex("037fff7ff7ff"), channel=0))
    out = io.StringIO()
    assert decode_main(path, out=out) == 0
    assert "mit_reference device 3: reply" in out.getvalue()


def test_can_decode_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.log"
    bad.write_text("hello\n")
    assert cli_main(["can-decode", str(bad)]) == 2
    assert "not a candump line; allowed:" in capsys.readouterr().err
    assert cli_main(["can-decode", str(tmp_path / "missing.log")]) == 2
    with pytest.raises(SystemExit):
        cli_main(["can-decode", str(bad), "--protocol", "canopen"])
    assert "invalid choice: 'canopen'" in capsys.readouterr().err


def test_frame_times():
    # classic 11-bit 8 bytes: 111 bits + 24 stuff bits; firmware_interfaces/can/README.md: ~3 motors per
    # 1 Mbit/s bus at 1 kHz
    assert frame_time_s(8, extended=False, fd=False, bitrate=1_000_000) == pytest.approx(135e-6)
    assert frame_time_s(8, extended=True, fd=False, bitrate=1_000_000) == pytest.approx(160e-6)
    fd = frame_time_s(8, extended=False, fd=True, bitrate=1_000_000, data_bitrate=5_000_000)
    assert 50e-6 < fd < 60e-6  # ~7-8 motors per CAN-FD 1/5 Mbit/s bus at 1 kHz, 80 % load
    with pytest.raises(ValueError, match="classic CAN carries at most 8 bytes"):
        frame_time_s(12, extended=False, fd=False, bitrate=1_000_000)


def test_virtual_motor_over_python_can():
    can = pytest.importorskip("can")
    from humanoid_rt.can.virtual import VirtualCanNetwork

    from can.interfaces.udp_multicast import UdpMulticastBus

    try:
        device_bus = can.Bus(interface="udp_multicast", channel=UdpMulticastBus.DEFAULT_GROUP_IPv4)
        host_bus = can.Bus(interface="udp_multicast", channel=UdpMulticastBus.DEFAULT_GROUP_IPv4)
    except (OSError, can.CanError) as error:
        pytest.skip(f"udp_multicast unavailable here: {error}")
    network = VirtualCanNetwork(0.001)
    network.add_python_can_channel("mc")
    network.add_motor("mc", "cubemars", 5, q0=0.25)
    stop = threading.Event()
    server = threading.Thread(target=network.serve_python_can, args=(device_bus, "mc"), kwargs={"stop": stop})
    server.start()
    try:
        ranges = C.default_ranges(C.Protocol.CUBEMARS)
        can_id, ext, payload = C.encode_special(C.Protocol.CUBEMARS, C.Special.ENTER, 5, 0)
        host_bus.send(can.Message(arbitration_id=can_id, is_extended_id=ext, data=payload))
        reply = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            msg = host_bus.recv(0.5)
            if msg is not None and msg.arbitration_id == 0:
                reply = msg
                break
        if reply is None:
            pytest.skip("no multicast delivery on this machine (no route for the group)")
        out = C.decode_reply(C.Protocol.CUBEMARS, ranges, 5, reply.arbitration_id, reply.is_extended_id, bytes(reply.data))
        assert out["q"] == pytest.approx(0.25, abs=1e-3) and out["temperature_c"] == 35.0
        assert network.motors()[0].enabled
    finally:
        stop.set()
        server.join()
        device_bus.shutdown()
        host_bus.shutdown()


def test_native_responder_run_without_missed_replies(urdf_path):
    """Three MIT-family protocols served by the C++ responder (the real-time path), stepped so the count is
    exact: every cycle each motor answers. (In real time, replies that come too late are counted missed:
    a scheduling figure, measured by `humanoid-rt bench --bus can-virtual`, never asserted.)"""
    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can-virtual", "fd": True}]
    for joint, protocol in zip(config["joints"], ("damiao", "cubemars", "robstride")):
        joint["can"] = {"protocol": protocol, "t_max": 40.0}
    config["loop"]["rate_hz"] = 1000
    with Robot(config) as robot:
        enable_active(robot)
        robot.can_network.serve_natively()
        before = robot.buses["arm"].statistics()
        robot.step(500)
        robot.can_network.serve_in_python()
        stats = robot.buses["arm"].statistics()
        loop = robot.statistics()
        assert robot.state().supervisor_state == "ACTIVE"
    assert stats["missed_replies"] == 0 and stats["replies"] - before["replies"] == 3 * 500
    assert loop["realtime_allocations"] == 0


def test_demo_report_has_buses_section(tmp_path, monkeypatch):
    from humanoid_rt import demo

    captured = {}
    real_robot = demo.Robot

    def stepped_robot(*args, **kwargs):  # the demo in stepped form: exact, no real time asserted
        robot = real_robot(*args, **kwargs)
        robot.start = lambda: {"notes": "", "priority": 0, "sched_fifo": False, "memory_locked": False,
                               "cpu_dma_latency_zero": False, "cpu_pinned": False, "cpu": -1}
        robot.enable = lambda **kw: (real_robot.enable(robot, wait=False), robot.step(600))
        robot.disable = lambda **kw: (real_robot.disable(robot, wait=False), robot.step(1100))
        captured["robot"] = robot
        return robot

    monkeypatch.setattr(demo, "Robot", stepped_robot)
    monkeypatch.setattr(demo.time, "sleep", lambda s: captured["robot"].step(10))
    path = tmp_path / "report.json"
    report = demo.run_demo(seconds=2.0, rate_hz=1000, bus="can-virtual", json_path=path, echo=lambda *a: None)
    data = json.loads(path.read_text())
    assert sorted(data["buses"]) == ["can0", "can1", "can2", "can3"]
    for bus in data["buses"].values():
        assert bus["missed_replies"] == 0 and bus["frames_sent"] > 0 and 0 < bus["load"] <= 0.8
    assert report["final_state"] == "DISABLED"
    assert "bus can0" in demo.format_report(report)
