"""The one CiA 402 implementation (drivers/cia402/) against vectors of the profile (CiA 402-2 /
IEC 61800-7-201): statusword masks, the controlword command table with its numbered transitions,
the quick stop option codes 0x605A and the stop-category mapping both buses use, and the virtual
drive (the one the EtherCAT slave and the CANopen node run) reacting to each category."""

from __future__ import annotations

import pytest

from humanoid_rt import _core

C = _core.can
S = C.Cia402State

# Statusword values as drives send them: the state bits of the spec table plus bit 4 voltage enabled,
# bit 9 remote, and bits 10 (target reached) / 12 / 13 (mode specific) that carry no state.
CANONICAL = {S.NOT_READY_TO_SWITCH_ON: 0x0000, S.SWITCH_ON_DISABLED: 0x0040, S.READY_TO_SWITCH_ON: 0x0021,
             S.SWITCHED_ON: 0x0023, S.OPERATION_ENABLED: 0x0027, S.QUICK_STOP_ACTIVE: 0x0007,
             S.FAULT_REACTION_ACTIVE: 0x000F, S.FAULT: 0x0008}


@pytest.mark.parametrize("statusword, state", [
    (0x0250, S.SWITCH_ON_DISABLED), (0x0231, S.READY_TO_SWITCH_ON), (0x0233, S.SWITCHED_ON),
    (0x0237, S.OPERATION_ENABLED), (0x1637, S.OPERATION_ENABLED), (0x0217, S.QUICK_STOP_ACTIVE),
    (0x021F, S.FAULT_REACTION_ACTIVE), (0x0218, S.FAULT), (0x0208, S.FAULT), (0x0200, S.NOT_READY_TO_SWITCH_ON),
])
def test_statusword_vectors(statusword, state):
    assert C.decode_statusword(statusword) == state


@pytest.mark.parametrize("state", list(CANONICAL))
def test_statusword_bits_outside_the_mask_never_change_the_state(state):
    # Masks 0x4F (x0xx xxxx or x1xx for the disabled states) and 0x6F: bit 4 and bits 7..15 are free
    # everywhere; bit 5 (quick stop) is free where the mask is 0x4F.
    free = [4] + list(range(7, 16)) + ([5] if state in (S.NOT_READY_TO_SWITCH_ON, S.SWITCH_ON_DISABLED, S.FAULT,
                                                         S.FAULT_REACTION_ACTIVE) else [])
    for bits in range(1 << len(free)):
        extra = sum(1 << b for k, b in enumerate(free) if bits >> k & 1)
        assert C.decode_statusword(CANONICAL[state] | extra) == state, hex(CANONICAL[state] | extra)


# (transition, state, controlword, quick stop option, expected); previous controlword 0x00.
TRANSITIONS = [
    (1, S.NOT_READY_TO_SWITCH_ON, 0x00, 2, S.SWITCH_ON_DISABLED),
    (2, S.SWITCH_ON_DISABLED, 0x06, 2, S.READY_TO_SWITCH_ON),
    (2, S.SWITCH_ON_DISABLED, 0x0E, 2, S.READY_TO_SWITCH_ON),  # Shutdown is 0xxx x110: bit 3 free
    (3, S.READY_TO_SWITCH_ON, 0x07, 2, S.SWITCHED_ON),
    (34, S.READY_TO_SWITCH_ON, 0x0F, 2, S.OPERATION_ENABLED),  # Switch on + enable operation
    (4, S.SWITCHED_ON, 0x0F, 2, S.OPERATION_ENABLED),
    (5, S.OPERATION_ENABLED, 0x07, 2, S.SWITCHED_ON),  # Disable operation
    (6, S.SWITCHED_ON, 0x06, 2, S.READY_TO_SWITCH_ON),
    (7, S.READY_TO_SWITCH_ON, 0x00, 2, S.SWITCH_ON_DISABLED),
    (7, S.READY_TO_SWITCH_ON, 0x02, 2, S.SWITCH_ON_DISABLED),
    (8, S.OPERATION_ENABLED, 0x06, 2, S.READY_TO_SWITCH_ON),
    (9, S.OPERATION_ENABLED, 0x00, 2, S.SWITCH_ON_DISABLED),
    (9, S.OPERATION_ENABLED, 0x0D, 2, S.SWITCH_ON_DISABLED),  # Disable voltage is 0xxx xx0x
    (10, S.SWITCHED_ON, 0x00, 2, S.SWITCH_ON_DISABLED),
    (10, S.SWITCHED_ON, 0x0B, 2, S.SWITCH_ON_DISABLED),  # Quick stop is 0xxx x01x
    (11, S.OPERATION_ENABLED, 0x02, 2, S.QUICK_STOP_ACTIVE),
    (11, S.OPERATION_ENABLED, 0x0B, 6, S.QUICK_STOP_ACTIVE),
    (11, S.OPERATION_ENABLED, 0x02, 0, S.SWITCH_ON_DISABLED),  # option 0: disable drive function at once
    (12, S.QUICK_STOP_ACTIVE, 0x00, 6, S.SWITCH_ON_DISABLED),
    (14, S.FAULT_REACTION_ACTIVE, 0x0F, 2, S.FAULT),
    (15, S.FAULT, 0x80, 2, S.SWITCH_ON_DISABLED),
    (16, S.QUICK_STOP_ACTIVE, 0x0F, 6, S.OPERATION_ENABLED),
    (0, S.QUICK_STOP_ACTIVE, 0x0F, 2, S.QUICK_STOP_ACTIVE),  # no 16 with options 1..4
    (0, S.SWITCH_ON_DISABLED, 0x0F, 2, S.SWITCH_ON_DISABLED),  # enable without shutdown first: nothing
    (0, S.OPERATION_ENABLED, 0x8F, 2, S.OPERATION_ENABLED),  # bit 7 selects fault reset: no transition
    (0, S.FAULT, 0x06, 2, S.FAULT),
]


@pytest.mark.parametrize("transition, state, controlword, option, expected", TRANSITIONS)
def test_controlword_command_table(transition, state, controlword, option, expected):
    assert C.device_transition(state, controlword, 0x00, option, True) == expected


def test_fault_reset_needs_a_rising_edge_and_a_cleared_cause():
    assert C.device_transition(S.FAULT, 0x80, 0x80, 2, True) == S.FAULT  # bit 7 already high
    assert C.device_transition(S.FAULT, 0x80, 0x00, 2, False) == S.FAULT  # the cause persists
    assert C.device_transition(S.FAULT, 0x80, 0x00, 2, True) == S.SWITCH_ON_DISABLED


def test_stop_categories_map_to_quick_stop_options_and_controlwords():
    """Category 0: Disable voltage 0x00 in every state (and 0x605A = 0); 1 / 2: Quick stop 0x02 where there is
    torque to stop, with 0x605A = 2 (ramp, then Switch on disabled) / 6 (ramp, then hold)."""
    assert [C.quick_stop_option_for_category(c) for c in (0, 1, 2)] == [0, 2, 6]
    nxt = C.next_controlword
    for category, from_torque in ((0, 0x00), (1, 0x02), (2, 0x02)):
        assert nxt(S.OPERATION_ENABLED, False, category, False, False) == from_torque
        assert nxt(S.QUICK_STOP_ACTIVE, False, category, False, False) == from_torque
        for state in (S.SWITCH_ON_DISABLED, S.READY_TO_SWITCH_ON, S.SWITCHED_ON, S.NOT_READY_TO_SWITCH_ON,
                      S.FAULT_REACTION_ACTIVE):
            assert nxt(state, False, category, False, False) == 0x00
        assert nxt(S.FAULT, False, category, True, True) == 0x80
    # The EtherCAT bus's binding applies the same mapping.
    assert [_core.cia402.next_controlword(0x0237, False, stop_category=c) for c in (0, 1, 2)] == [0x00, 0x02, 0x02]
    assert [_core.cia402.quick_stop_option(c) for c in (0, 1, 2)] == [0, 2, 6]


def moving_drive(bandwidth_hz: float = 20.0) -> C.Cia402VirtualDrive:
    load = C.Cia402DriveLoad()
    load.inertia_kgm2, load.viscous_nm_s_rad, load.substeps, load.bandwidth_hz = 0.05, 0.0, 4, bandwidth_hz
    drive = C.Cia402VirtualDrive(load, 0.0)
    for cw in (0x06, 0x07, 0x0F):
        drive.controlword(cw, 2)
    assert drive.state == S.OPERATION_ENABLED
    for _ in range(100):  # spin up in CST at 1 Nm
        drive.step(0.001, C.Cia402Mode.CST, 0.0, 0.0, 1.0, 100.0)
    assert drive.dq > 1.0
    return drive


@pytest.mark.parametrize("category", [0, 1, 2])
def test_the_virtual_drive_stops_per_category(category):
    drive = moving_drive()
    option = C.quick_stop_option_for_category(category)
    states, speeds = [], []
    for _ in range(400):
        drive.controlword(C.next_controlword(drive.state, False, category, False, False), option)
        drive.step(0.001, C.Cia402Mode.CST, 0.0, 0.0, 1.0, 100.0)  # the target torque no longer acts
        states.append(drive.state)
        speeds.append(abs(drive.dq))
    if category == 0:  # torque off at once: coasting (no friction here), never a quick stop
        assert states[0] == S.SWITCH_ON_DISABLED and S.QUICK_STOP_ACTIVE not in states
        assert speeds[-1] == pytest.approx(speeds[0]) and drive.tau == 0.0
    else:  # braking on the quick-stop ramp to standstill
        assert states[0] == S.QUICK_STOP_ACTIVE and speeds[-1] < 1e-3
        assert states[-1] == (S.SWITCH_ON_DISABLED if category == 1 else S.QUICK_STOP_ACTIVE)


@pytest.mark.parametrize("category, controlword", [(0, 0x00), (1, 0x02)])  # the config's estop categories
def test_ethercat_bus_and_virtual_slave_stop_per_category(urdf_path, category, controlword):
    """Over the virtual EtherCAT line: the bus sets 0x605A and sends the controlword of the shared mapping (as the
    CANopen bus does, tests/test_can_cia402.py), and the slave's drive ends where the category says."""
    from humanoid_rt import Robot
    from humanoid_rt.ethercat import VirtualEthercat, have_privileges

    ok, why = have_privileges()
    if not ok:
        pytest.skip(why)
    from test_ethercat_bus import enable, legs_config

    with VirtualEthercat(slaves=1) as line:
        robot = Robot(legs_config(urdf_path, line.master_interface, 1, safety={"estop_category": category}))
        try:
            enable(robot)
            assert line.request({"cmd": "drive", "slave": 1})["controlword"] == 0x0F
            robot.estop()
            sent = []
            for _ in range(400):
                robot.step(1)
                sent.append(line.request({"cmd": "drive", "slave": 1})["controlword"])
                if sent[-1] != 0x0F:
                    break
            assert sent[-1] == controlword
            robot.step(300)
            assert line.request({"cmd": "drive", "slave": 1})["state"] == "SWITCH_ON_DISABLED"
        finally:
            robot.close()
