"""The CiA 402 driver against canopen's own device side: a `canopen.LocalNode` with our EDS.

TEST SCAFFOLDING: canopen's LocalNode is an object dictionary with an SDO server; it has no CiA 402
behaviour. `LocalNodeCia402` below adds only what this comparison needs, with LocalNode's own
callbacks: the power state machine on writes of the controlword, the mode display, synchronous
RPDO/TPDO handling driven by the mappings our configurator wrote into the LocalNode's dictionary,
and an ideal axis (CSP: position actual = target). It is not a drive model and is not shipped.
"""

from __future__ import annotations

import struct

import can
import canopen
import numpy as np
import pytest

from conftest import enable_active
from humanoid_rt import Robot, _core
from humanoid_rt.can import cia402 as cia402_module
from humanoid_rt.can.cia402 import EDS_PATH, pdo_layout
from test_can_cia402 import cia402_config

S = _core.can.Cia402State
_FMT = {0x2: "<b", 0x3: "<h", 0x4: "<i", 0x5: "<B", 0x6: "<H", 0x7: "<I"}
_SW = {"switch_on_disabled": 0x40, "ready_to_switch_on": 0x21, "switched_on": 0x23, "operation_enabled": 0x27,
       "quick_stop_active": 0x07, "fault": 0x08}


class _CaptureBus(can.BusABC):
    """Collects what the LocalNode sends; frames reach it through Network.notify()."""

    def __init__(self):
        self.sent: list[tuple[int, bool, bytes]] = []
        super().__init__(channel="capture")

    def send(self, msg, timeout=None):
        self.sent.append((msg.arbitration_id, msg.is_extended_id, bytes(msg.data)))

    def _recv_internal(self, timeout):
        return None, False


class LocalNodeCia402:
    """A canopen.LocalNode behaving as a CiA 402 drive as far as the comparison needs (scaffolding)."""

    def __init__(self, node_id, counts_per_rad, rated_torque_nm, model=None, joint=-1, q=0.0, **_):
        self.node_id, self.joint, self.counts_per_rad = node_id, joint, counts_per_rad
        self.bus = _CaptureBus()
        self.network = canopen.Network(self.bus)  # not connected: handle() feeds it synchronously
        self.node = canopen.LocalNode(node_id, str(EDS_PATH))
        self.network.add_node(self.node)
        self.node.add_write_callback(self._on_write)
        self.network.subscribe(0x080, self._on_sync)
        self.network.subscribe(0x200 + node_id, self._on_rpdo)
        self.state = "switch_on_disabled"
        self.position = round(q * counts_per_rad)
        self._rpdo = None
        self._last_cw = 0
        self._put(0x6076, 0, round(rated_torque_nm * 1000))
        self._put(0x6041, 0, _SW[self.state])

    def _var(self, index, sub):
        obj = self.node.object_dictionary[index]
        return obj if sub == 0 and not hasattr(obj, "subindices") else obj[sub]

    def _put(self, index, sub, value):
        self.node.set_data(index, sub, struct.pack(_FMT[self._var(index, sub).data_type], value), check_writable=False)

    def get(self, index, sub=0):
        return struct.unpack(_FMT[self._var(index, sub).data_type], self.node.get_data(index, sub))[0]

    def _on_write(self, index, subindex, od, data):
        if index == 0x6060:
            self._put(0x6061, 0, struct.unpack("<b", data)[0])
        elif index == 0x6040:
            self._transition(struct.unpack("<H", data)[0])

    def _transition(self, cw):
        s = self.state
        if s == "fault":
            if cw & 0x80 and not self._last_cw & 0x80:
                s = "switch_on_disabled"
        elif not cw & 0x02:
            s = "switch_on_disabled"  # disable voltage
        elif cw & 0x06 == 0x02:
            s = "quick_stop_active" if s == "operation_enabled" else "switch_on_disabled"
        elif cw & 0x8F == 0x06:
            s = "ready_to_switch_on" if s != "quick_stop_active" else s
        elif cw & 0x8F == 0x07 and s in ("ready_to_switch_on", "operation_enabled"):
            s = "switched_on"
        elif cw & 0x8F == 0x0F and s in ("ready_to_switch_on", "switched_on"):
            s = "operation_enabled"
        self._last_cw = cw
        self.state = s
        self._put(0x6041, 0, _SW[s])

    def _mapping(self, index):
        count = self.get(index, 0)
        return [(e >> 16, (e >> 8) & 0xFF) for e in (self.get(index, k) for k in range(1, count + 1))]

    def _on_rpdo(self, can_id, data, timestamp):
        self._rpdo = bytes(data)

    def _on_sync(self, can_id, data, timestamp):
        if self._rpdo is not None:
            offset = 0
            for index, sub in self._mapping(0x1600):
                fmt = _FMT[self._var(index, sub).data_type]
                self.node.set_data(index, sub, self._rpdo[offset:offset + struct.calcsize(fmt)], check_writable=False)
                offset += struct.calcsize(fmt)
            self._rpdo = None
        if self.state == "quick_stop_active":
            self._transition(0x00)
        self._put(0x6064, 0, self.position)
        for comm, mapping in ((0x1800, 0x1A00), (0x1801, 0x1A01)):
            cob = self.get(comm, 1)
            if not cob & 0x80000000:
                payload = b"".join(struct.pack(_FMT[self._var(i, s).data_type], self.get(i, s))
                                   for i, s in self._mapping(mapping))
                self.network.send_message(cob & 0x7FF, payload)
        if self.state == "operation_enabled" and self.get(0x6061) == 8:
            self.position = self.get(0x607A)  # ideal axis: reaches the target within the cycle

    def raise_fault(self, code):
        self.state = "fault"
        self._put(0x6041, 0, _SW["fault"])
        self._put(0x603F, 0, code)
        self.network.send_message(0x080 + self.node_id, struct.pack("<HB5x", code, 1))

    # The virtual network's drive interface.
    def handle(self, can_id, payload, period_s):
        if can_id not in (0x000, 0x080, 0x600 + self.node_id, 0x200 + self.node_id):
            return None
        self.network.notify(can_id, bytes(payload), 0.0)
        out, self.bus.sent = self.bus.sent, []  # with anything sent between frames (EMCY of raise_fault)
        return out


@pytest.fixture
def local_node_robot(urdf_path, monkeypatch):
    monkeypatch.setattr(cia402_module, "VirtualCia402Drive", LocalNodeCia402)
    robot = Robot(cia402_config(urdf_path, "csp"))
    yield robot
    robot.close()


def test_sdo_configuration_lands_in_canopens_dictionary(local_node_robot):
    for j in range(3):
        drive = local_node_robot.can_network.drive(j)
        assert drive.get(0x6060) == 8 and drive.get(0x6061) == 8
        for mapping, entries in pdo_layout("csp").items():
            assert [drive.get(mapping, k) for k in range(1, drive.get(mapping, 0) + 1)] == entries
        assert drive.get(0x1400, 1) == 0x200 + drive.node_id and drive.get(0x1800, 1) == 0x180 + drive.node_id
        assert drive.get(0x1801, 2) == 1  # synchronous TPDOs


def test_state_machine_tracking_and_disable_against_local_node(local_node_robot):
    robot = local_node_robot
    bus = robot.buses["arm"]
    robot.step(2)
    assert [bus.state(j) for j in range(3)] == [S.SWITCH_ON_DISABLED] * 3
    robot.enable(wait=False)
    states = []
    for _ in range(4):
        robot.step(1)
        states.append(bus.state(2))
    assert states == [S.SWITCH_ON_DISABLED, S.READY_TO_SWITCH_ON, S.SWITCHED_ON, S.OPERATION_ENABLED]
    robot.step(150)
    q = np.array([0.2, -0.3, 0.1])
    robot.set_joint_targets(q, duration=0.2, ttl=0)
    state = robot.step(400)
    assert state.supervisor_state == "ACTIVE" and state.fresh.all()
    assert np.max(np.abs(state.q - q)) < 1e-3  # the ideal axis: only count quantisation remains
    robot.disable()
    assert robot.step(300).supervisor_state == "DISABLED"
    assert [robot.can_network.drive(j).state for j in range(3)] == ["switch_on_disabled"] * 3
    assert bus.statistics()["missed_replies"] == 0


def test_fault_and_reset_against_local_node(local_node_robot):
    robot = local_node_robot
    bus = robot.buses["arm"]
    enable_active(robot)
    robot.can_network.sync()
    robot.can_network.drive(0).raise_fault(0x7305)  # incremental sensor fault
    # EMCY and the fault statusword leave with the frames of the next write; read one cycle later.
    assert robot.step(1).supervisor_state == "ACTIVE"
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.drive_error[0] == 0x7305
    robot.reset_drive_faults()
    robot.step(3)
    assert bus.state(0) == S.SWITCH_ON_DISABLED
    robot.reset(wait=False)
    assert robot.step(1).supervisor_state == "DISABLED"
