"""SupervisorState: one str enum for the supervisor's states, equal to the names the API used before,
numbered as the C++ supervisor numbers them, accepted wherever a state name is."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import enable_active, zeros
from humanoid_rt import HumanoidRtError, SupervisorState, _core
from humanoid_rt.remote import codec
from humanoid_rt.supervisor_state import UnknownSupervisorState


def test_members_and_codes_are_the_cores():
    assert {state.name: state.code for state in SupervisorState} == {
        name: int(value) for name, value in _core.SupervisorState.__members__.items()}
    assert SupervisorState.from_code(7) is SupervisorState.RECOVERY


def test_a_member_is_its_name_for_comparison_formatting_and_json():
    state = SupervisorState.ACTIVE
    assert state == "ACTIVE" and "ACTIVE" == state and state != "HOLD"
    assert state in ("ACTIVE", "HOLD") and {"ACTIVE": 1}[state] == 1
    assert f"{state:<8}|" == "ACTIVE  |" and str(state) == "ACTIVE"
    assert json.dumps({"state": state}) == '{"state": "ACTIVE"}'


def test_the_robot_reports_members_that_still_equal_the_old_strings(small_robot):
    robot = small_robot
    assert robot.state().supervisor_state is SupervisorState.DISABLED
    enable_active(robot)
    state = robot.state()
    assert state.supervisor_state is SupervisorState.ACTIVE and state.supervisor_state == "ACTIVE"
    assert robot.read_state().supervisor_state is SupervisorState.ACTIVE
    robot.set_joint_targets(zeros(robot), ttl=0.01)
    assert robot.step(30).supervisor_state is SupervisorState.HOLD


def test_wait_for_state_takes_members_or_names_and_names_a_typo(small_robot):
    robot = small_robot
    assert robot.wait_for_state("DISABLED").supervisor_state is SupervisorState.DISABLED
    assert robot.wait_for_state(SupervisorState.ACTIVE, "DISABLED").cycle == robot.state().cycle
    with pytest.raises(UnknownSupervisorState, match=r"wait_for_state: 'ACTVE' is not a supervisor state; "
                                                     r"allowed: DISABLED, ENABLING, ACTIVE, HOLD, DAMPING, FAULT, "
                                                     r"ESTOP, RECOVERY"):
        robot.wait_for_state("ACTVE")


def test_parse_errors_are_humanoid_rt_and_value_errors():
    for bad in ("active", "", 3):
        with pytest.raises(UnknownSupervisorState) as caught:
            SupervisorState.parse(bad)
        assert isinstance(caught.value, HumanoidRtError) and isinstance(caught.value, ValueError)
    with pytest.raises(UnknownSupervisorState, match=r"code 8; allowed: 0..7"):
        SupervisorState.from_code(8)


def test_the_zenoh_state_message_carries_every_state_including_recovery(small_robot):
    snapshot = small_robot.state()
    for state in SupervisorState:
        payload = codec.encode_state(dataclasses.replace(snapshot, supervisor_state=state.value), sequence=1)
        assert payload[5] == state.code
        assert codec.decode_state(payload).supervisor_state is state
    payload = bytearray(codec.encode_state(snapshot, sequence=1))
    payload[5] = 8
    with pytest.raises(ValueError, match=r"supervisor state 8; allowed: 0..7"):
        codec.decode_state(bytes(payload))
