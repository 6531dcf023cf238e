"""Buses as plug-ins: the C++ Bus interface every bus answers (real-time mode, fault reset, counters),
Robot.bus(joint), and a bus family added by one module and one registry line."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from conftest import enable_active, small_robot_config
from humanoid_rt import Robot, _core, buses
from humanoid_rt.buses.base import BusPlugin
from humanoid_rt.config import ConfigError, dump_config, load_config
from humanoid_rt.config.fields import integer

COUNTER_KEYS = {"cycles", "frames_sent", "frames_received", "missed_replies", "rejected_frames", "send_errors"}


def test_a_bus_without_the_features_answers_with_the_defaults(make_robot):
    robot = make_robot()
    bus = robot.bus("j0")
    assert isinstance(bus, _core.MockBus)
    bus.set_realtime(True)  # a bus that never waits: accepted, nothing changes
    bus.set_realtime(False)
    bus.request_fault_reset()
    assert bus.fault_reset_pending is False
    robot.step(20)
    assert robot.bus_counters() == {"arm": dict.fromkeys(COUNTER_KEYS, 0)}


def test_can_counters_follow_the_drivers_statistics(urdf_path):
    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can-virtual", "fd": True}]
    for joint, protocol in zip(config["joints"], ("damiao", "cubemars", "robstride")):
        joint["can"] = {"protocol": protocol, "t_max": 40.0}
    with Robot(config) as robot:
        robot.step(50)
        counters, statistics = robot.bus("j2").counters(), robot.bus("j2").statistics()
    assert set(counters) == COUNTER_KEYS
    assert counters["cycles"] == statistics["cycles"] > 0
    assert counters["frames_sent"] == statistics["frames_sent"] >= 3 * 50
    assert counters["frames_received"] == statistics["frames_received"]
    assert counters["missed_replies"] == statistics["missed_replies"] == 0
    assert counters["rejected_frames"] == statistics["rejected_wrong_id"] + statistics["rejected_malformed"]


def test_reset_asks_every_bus_for_a_drive_fault_reset(make_robot):
    # request_fault_reset reaches buses through the Bus interface: on the mock bus it is a no-op that
    # leaves nothing pending, so reset() of a stepped robot is served by the next step.
    robot = make_robot()
    robot.mock_bus("j1").set_drive_error(1, 0x2310)
    robot.step(2)
    assert robot.state().supervisor_state == "FAULT"
    robot.mock_bus("j1").clear_faults()
    robot.reset()
    assert robot.step(2).supervisor_state == "DISABLED"


def test_bus_of_a_joint_by_name_and_index(make_robot):
    robot = make_robot()
    assert robot.bus("j1") is robot.bus(1) is robot.buses["arm"] is robot.mock_bus(1)
    with pytest.raises(KeyError, match="allowed: j0, j1, j2"):
        robot.bus("elbow")
    with pytest.raises(IndexError, match=r"allowed: 0\.\.2"):
        robot.bus(3)
    with pytest.raises(TypeError, match="not on an EtherCAT bus"):
        robot.ethercat_bus("j0")
    with pytest.raises(TypeError, match="MuJoCo twin"):
        robot.twin()


def test_an_override_puts_every_joint_on_one_bus(urdf_path):
    with Robot(small_robot_config(urdf_path), bus="mujoco") as robot:
        assert robot.bus("j0") is robot.bus(2) is robot.twin()
    with pytest.raises(ValueError, match="allowed: mock, mujoco, can-virtual"):
        Robot(small_robot_config(urdf_path), bus="canbus")


def test_every_bus_type_comes_from_a_plugin():
    assert buses.bus_types() == ("mock", "mujoco", "ethercat", "can", "can-virtual")
    assert buses.run_choices() == ("mock", "mujoco", "can-virtual", "ethercat-virtual")
    assert set(buses.joint_sections()) == {"can"}


# ---- a new bus family: one module, one registry line -------------------------------------------

class LaggyPlugin(BusPlugin):
    """A toy family: the mock actuators behind a configurable latency, under a type of its own."""

    params = {"laggy": {"lag_cycles": (integer(0, 10), 2)}}
    gravity_free = ("laggy",)

    def build(self, robot, bus, joints):
        options = _core.MockBusOptions()
        options.latency_cycles = bus.params["lag_cycles"]
        laggy = _core.MockBus(bus.name, options)
        for j in joints:
            joint = robot.config.joints[j]
            laggy.set_actuator(j, _core.MockActuator(), _core.JointTransmission(joint.gear, 1.0, 0.0))
        return laggy


@pytest.fixture
def laggy_registered(monkeypatch):
    module = types.ModuleType("laggy_bus")
    module.PLUGIN = LaggyPlugin()
    monkeypatch.setitem(sys.modules, "laggy_bus", module)
    monkeypatch.setitem(buses.REGISTRY, "laggy", "laggy_bus")  # the one registry line
    caches = (buses.plugins, buses._by_bus_type, buses.joint_sections)
    for cache in caches:
        cache.cache_clear()
    yield
    monkeypatch.undo()
    for cache in caches:
        cache.cache_clear()


def test_a_registered_family_is_configured_built_and_driven(laggy_registered, urdf_path):
    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "laggy", "lag_cycles": 3}]
    loaded = load_config(config)
    assert loaded.buses[0].params == {"lag_cycles": 3}
    assert load_config(dump_config(loaded)) == loaded
    config["buses"][0]["lag_cycles"] = 11
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert (error.value.field, error.value.allowed) == ("buses[0].lag_cycles", "an integer in 0..10")
    config["buses"][0] = {"name": "arm", "type": "laggy", "latency_cycles": 1}
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "buses[0].latency_cycles" and "lag_cycles" in error.value.allowed
    config["buses"][0] = {"name": "arm", "type": "laggy"}
    with Robot(config) as robot:
        assert not robot.gravity_compensation  # a gravity-free family
        enable_active(robot)
        robot.set_joint_targets(np.array([0.2, -0.2, 0.1]), duration=0.2, ttl=0)
        state = robot.step(600)
        assert state.supervisor_state == "ACTIVE"
        np.testing.assert_allclose(state.q, [0.2, -0.2, 0.1], atol=0.02)


def test_unknown_bus_type_lists_the_registered_families(laggy_registered, urdf_path):
    config = small_robot_config(urdf_path)
    config["buses"][0]["type"] = "lagy"
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.allowed == "one of mock, mujoco, ethercat, can, can-virtual, laggy"
