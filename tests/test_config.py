"""Robot config loading and validation (humanoid_rt.config)."""

from __future__ import annotations

import copy
import dataclasses
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from humanoid_rt.config import (
    MAX_JOINTS,
    ConfigError,
    LoopConfig,
    SafetyConfig,
    bundled_robots,
    dump_config,
    load_config,
)

import humanoid_rt.config as config_module

# The installed package's copy (what load_config("generic_humanoid") reads), not the source tree's.
BUNDLED_DIR = Path(config_module.__file__).resolve().parent.parent / "robots" / "generic_humanoid"  # config/ is a package
BUNDLED_YAML = BUNDLED_DIR / "robot.yaml"
BUNDLED_URDF = BUNDLED_DIR / "generic_humanoid.urdf"

# Typed out here on purpose: the test must not derive the expected order from the generator.
EXPECTED_JOINT_ORDER = [
    "left_hip_yaw", "left_hip_roll", "left_hip_pitch", "left_knee", "left_ankle_pitch", "left_ankle_roll",
    "right_hip_yaw", "right_hip_roll", "right_hip_pitch", "right_knee", "right_ankle_pitch", "right_ankle_roll",
    "waist_yaw", "waist_roll", "waist_pitch",
    "left_shoulder_pitch", "left_shoulder_roll", "left_shoulder_yaw", "left_elbow",
    "left_wrist_roll", "left_wrist_pitch", "left_wrist_yaw",
    "right_shoulder_pitch", "right_shoulder_roll", "right_shoulder_yaw", "right_elbow",
    "right_wrist_roll", "right_wrist_pitch", "right_wrist_yaw",
    "neck_yaw", "neck_pitch",
]


def joint_entry(name: str, bus: str, device_id: int) -> dict:
    return {
        "name": name,
        "bus": bus,
        "device_id": device_id,
        "limits": {"position_rad": [-1.0, 1.0], "velocity_rad_s": 10.0, "torque_nm": 50.0},
        "gains": {"kp": 100.0, "kd": 2.0},
    }


def minimal_config() -> dict:
    """The smallest valid config: only required keys, everything else defaulted."""
    return {
        "name": "test_bot",
        "model": {"urdf": str(BUNDLED_URDF)},
        "buses": [{"name": "bus_a", "type": "mock"}, {"name": "bus_b", "type": "mock"}],
        "joints": [joint_entry("j0", "bus_a", 1), joint_entry("j1", "bus_b", 1)],
    }


@pytest.fixture(scope="module")
def bundled():
    return load_config("generic_humanoid")


# --- the bundled robot -----------------------------------------------------


def test_bundled_robot_is_listed():
    assert "generic_humanoid" in bundled_robots()


def test_bundled_loads_by_name_and_by_path(bundled):
    by_path = load_config(BUNDLED_YAML)
    by_str_path = load_config(str(BUNDLED_YAML))
    assert by_path == bundled == by_str_path
    assert bundled.source_path == BUNDLED_YAML.resolve()
    assert bundled.urdf_path == BUNDLED_URDF.resolve()
    assert bundled.urdf_path.is_absolute()


def test_bundled_has_31_joints_in_robot_order(bundled):
    assert bundled.n_joints == 31
    assert list(bundled.joint_names) == EXPECTED_JOINT_ORDER


def test_bundled_uses_one_mock_bus_per_limb(bundled):
    assert [bus.name for bus in bundled.buses] == ["left_leg", "right_leg", "waist_head", "left_arm", "right_arm"]
    assert all(bus.type == "mock" for bus in bundled.buses)
    bus_of = {joint.name: joint.bus for joint in bundled.joints}
    assert bus_of["left_knee"] == "left_leg"
    assert bus_of["right_ankle_roll"] == "right_leg"
    assert bus_of["waist_pitch"] == bus_of["neck_pitch"] == "waist_head"
    assert bus_of["left_wrist_yaw"] == "left_arm"
    assert bus_of["right_shoulder_pitch"] == "right_arm"


def test_bundled_urdf_agrees_with_yaml(bundled):
    urdf_joints = {
        joint.get("name"): joint.find("limit")
        for joint in ET.parse(bundled.urdf_path).getroot().iter("joint")
        if joint.get("type") == "revolute"
    }
    assert set(urdf_joints) == set(bundled.joint_names)
    for joint in bundled.joints:
        limit = urdf_joints[joint.name]
        assert float(limit.get("lower")) == joint.limits.q_min, joint.name
        assert float(limit.get("upper")) == joint.limits.q_max, joint.name
        assert float(limit.get("effort")) == joint.limits.torque, joint.name
        assert float(limit.get("velocity")) == joint.limits.velocity, joint.name


def test_bundled_standing_posture_is_inside_every_soft_range(bundled):
    assert np.all(bundled.joint_array("limits.q_soft_min") < 0.0)
    assert np.all(bundled.joint_array("limits.q_soft_max") > 0.0)


def test_bundled_gains_are_near_critical_damping_of_the_mock_actuator(bundled):
    kp, kd, inertia = (bundled.joint_array(attr) for attr in ("kp", "kd", "mock.inertia"))
    np.testing.assert_allclose(kd, 2.0 * np.sqrt(kp * inertia), rtol=0.01)
    legs = slice(0, 12)
    arms = slice(15, 29)
    assert np.all((inertia[legs] >= 0.1) & (inertia[legs] <= 1.0))
    assert inertia[arms].max() < inertia[legs].min()


def test_bundled_device_ids_are_unique_per_bus(bundled):
    addresses = [(joint.bus, joint.device_id) for joint in bundled.joints]
    assert len(set(addresses)) == len(addresses)


def test_joint_array_is_float64_in_joint_order(bundled):
    torque = bundled.joint_array("limits.torque")
    assert torque.dtype == np.float64
    assert torque.shape == (31,)
    assert torque[EXPECTED_JOINT_ORDER.index("left_knee")] == bundled.joints[3].limits.torque
    assert bundled.joint_array("device_id")[0] == 1.0


# --- defaults and derived values -------------------------------------------


def test_defaults_fill_omitted_keys():
    config = load_config(minimal_config())
    assert config.loop == LoopConfig()
    assert config.loop.rate_hz == 1000 and config.loop.cpu is None and config.loop.lock_memory is True
    assert config.safety == SafetyConfig()
    assert config.safety.watchdog_ttl_s == 0.1 and config.safety.estop_category == 0
    assert config.buses[0].params == {"latency_cycles": 1, "position_noise_rad": 0.0, "seed": 0}
    joint = config.joints[0]
    assert (joint.gear, joint.direction, joint.offset_rad) == (1.0, 1, 0.0)
    assert joint.limits.soft_margin == 0.05
    assert joint.limits.torque_rate == 20000.0
    assert (joint.mock.inertia, joint.mock.viscous, joint.mock.coulomb) == (0.2, 0.2, 0.5)
    assert config.source_path is None


def test_soft_limits_are_hard_limits_shrunk_by_the_margin():
    raw = minimal_config()
    raw["joints"][0]["limits"].update(position_rad=[-0.5, 1.5], soft_margin_rad=0.1)
    limits = load_config(raw).joints[0].limits
    assert (limits.q_min, limits.q_max) == (-0.5, 1.5)
    assert limits.q_soft_min == pytest.approx(-0.4)
    assert limits.q_soft_max == pytest.approx(1.4)


def test_zero_outside_soft_range_is_allowed():
    raw = minimal_config()
    raw["joints"][0]["limits"]["position_rad"] = [0.5, 1.5]
    assert load_config(raw).joints[0].limits.q_soft_min > 0.0


def test_integers_are_accepted_for_numbers_and_stored_as_float():
    raw = minimal_config()
    raw["joints"][0]["gear"] = 50
    raw["joints"][0]["limits"]["position_rad"] = [-2, 2]
    joint = load_config(raw).joints[0]
    assert joint.gear == 50.0 and isinstance(joint.gear, float)
    assert isinstance(joint.limits.q_min, float)


def test_config_objects_are_immutable(bundled):
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundled.joints[0].kp = 1.0


def test_relative_urdf_resolves_against_the_yaml_file(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "bot.urdf").write_text(BUNDLED_URDF.read_text())
    raw = minimal_config()
    raw["model"]["urdf"] = "models/bot.urdf"
    config_file = tmp_path / "bot.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    assert load_config(config_file).urdf_path == (tmp_path / "models" / "bot.urdf").resolve()


def test_exponent_without_dot_is_read_as_a_number(tmp_path):
    text = yaml.safe_dump(minimal_config()).replace("type: mock", "type: mock\n  position_noise_rad: 1e-5", 1)
    config_file = tmp_path / "bot.yaml"
    config_file.write_text(text)
    assert load_config(config_file).buses[0].params["position_noise_rad"] == 1e-5


# --- round trip ---------------------------------------------------------------


def test_dump_then_load_round_trips(bundled):
    dumped = dump_config(bundled)
    assert load_config(dumped) == bundled
    # and through YAML text, which is what a user saving the dump gets
    assert load_config(yaml.safe_load(yaml.safe_dump(dumped))) == bundled


def test_dump_writes_defaults_out():
    dumped = dump_config(load_config(minimal_config()))
    assert dumped["loop"]["rate_hz"] == 1000
    assert dumped["buses"][0]["latency_cycles"] == 1
    assert dumped["joints"][0]["limits"]["torque_rate_nm_s"] == 20000.0
    assert dumped["joints"][0]["mock"]["inertia_kgm2"] == 0.2


# --- invalid configs ------------------------------------------------------------


def set_path(raw: dict, dotted: str, value) -> None:
    """Set raw[a][b][c] for "a.b.c"; list indices are written as numbers."""
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[int(last) if isinstance(node, list) else last] = value


def remove_path(raw: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[last]


def many_joints(count: int) -> list[dict]:
    return [joint_entry(f"j{index}", "bus_a", index + 1) for index in range(count)]


NAN, INF = float("nan"), float("inf")

# (case id, mutation of the minimal config, expected field, text the allowed values must contain)
BAD_CONFIGS = [
    ("name not a string", lambda r: set_path(r, "name", 42), "name", "a non-empty string"),
    ("name empty", lambda r: set_path(r, "name", ""), "name", "a non-empty string"),
    ("missing name", lambda r: remove_path(r, "name"), "name", "a non-empty string"),
    ("unknown top key", lambda r: set_path(r, "colour", "red"), "colour", "name, model, loop, safety, buses, joints"),
    ("rate not allowed", lambda r: set_path(r, "loop.rate_hz", 999), "loop.rate_hz", "250, 500, 1000, 2000, 4000"),
    ("rate as float", lambda r: set_path(r, "loop.rate_hz", 1000.0), "loop.rate_hz", "250, 500, 1000, 2000, 4000"),
    ("priority negative", lambda r: set_path(r, "loop.priority", -1), "loop.priority", "an integer in 0..99"),
    ("priority 100", lambda r: set_path(r, "loop.priority", 100), "loop.priority", "an integer in 0..99"),
    ("bool for int", lambda r: set_path(r, "loop.priority", True), "loop.priority", "an integer in 0..99"),
    ("negative cpu", lambda r: set_path(r, "loop.cpu", -1), "loop.cpu", "null or an integer >= 0"),
    ("lock_memory string", lambda r: set_path(r, "loop.lock_memory", "yes"), "loop.lock_memory", "true or false"),
    ("decimation zero", lambda r: set_path(r, "loop.telemetry_decimation", 0), "loop.telemetry_decimation", ">= 1"),
    ("unknown loop key", lambda r: set_path(r, "loop.rate", 1000), "loop.rate", "rate_hz, priority, cpu"),
    ("loop not a mapping", lambda r: set_path(r, "loop", [1000]), "loop", "a mapping with keys: rate_hz"),
    ("ttl zero", lambda r: set_path(r, "safety.watchdog_ttl_s", 0.0), "safety.watchdog_ttl_s", "a finite number > 0"),
    ("str for number", lambda r: set_path(r, "safety.hold_timeout_s", "0.5"), "safety.hold_timeout_s", "> 0"),
    ("ttl infinite", lambda r: set_path(r, "safety.watchdog_ttl_s", INF), "safety.watchdog_ttl_s", "a finite number"),
    ("negative ramp", lambda r: set_path(r, "safety.enable_ramp_s", -0.1), "safety.enable_ramp_s", ">= 0"),
    ("bool missed replies", lambda r: set_path(r, "safety.max_missed_replies", False), "safety.max_missed_replies", ">= 0"),
    ("frozen cycles 1", lambda r: set_path(r, "safety.frozen_encoder_cycles", 1), "safety.frozen_encoder_cycles", ">= 2"),
    ("overspeed below 1", lambda r: set_path(r, "safety.overspeed_factor", 0.9), "safety.overspeed_factor", ">= 1"),
    ("estop category 2", lambda r: set_path(r, "safety.estop_category", 2), "safety.estop_category", "one of 0, 1"),
    ("missing buses", lambda r: remove_path(r, "buses"), "buses", "a list of 1..64 bus mappings"),
    ("unknown bus type", lambda r: set_path(r, "buses.0.type", "canbus"), "buses.0.type", "one of mock"),
    # ---- CAN ----
    ("can on a mock joint", lambda r: set_path(r, "joints.0.can", {"protocol": "damiao"}), "joints[0].can",
     "a joint whose bus has type can or can-virtual"),
    ("latency too big", lambda r: set_path(r, "buses.0.latency_cycles", 101), "buses.0.latency_cycles", "0..100"),
    ("negative noise", lambda r: set_path(r, "buses.1.position_noise_rad", -1e-3), "buses.1.position_noise_rad", ">= 0"),
    ("negative seed", lambda r: set_path(r, "buses.0.seed", -1), "buses.0.seed", "an integer in 0.."),
    ("unknown bus key", lambda r: set_path(r, "buses.0.baud", 1000000), "buses.0.baud", "name, type, latency_cycles"),
    ("duplicate bus", lambda r: set_path(r, "buses.1.name", "bus_a"), "buses.1.name", "buses[0]"),
    ("no joints", lambda r: set_path(r, "joints", []), "joints", "a list of 1..64 joint mappings"),
    ("joints not a list", lambda r: set_path(r, "joints", {"j0": {}}), "joints", "a list of 1..64 joint mappings"),
    ("too many joints", lambda r: set_path(r, "joints", many_joints(MAX_JOINTS + 1)), "joints", "1..64"),
    ("unknown bus", lambda r: set_path(r, "joints.1.bus", "bus_z"), "joints.1.bus", "one of bus_a, bus_b"),
    ("duplicate joint", lambda r: set_path(r, "joints.1.name", "j0"), "joints.1.name", "joints[0]"),
    ("duplicate device", lambda r: set_path(r, "joints.1.bus", "bus_a"), "joints.1.device_id", "unique on bus 'bus_a'"),
    ("device id too big", lambda r: set_path(r, "joints.0.device_id", 70000), "joints.0.device_id", "0..65535"),
    ("missing device id", lambda r: remove_path(r, "joints.0.device_id"), "joints.0.device_id", "0..65535"),
    ("direction zero", lambda r: set_path(r, "joints.0.direction", 0), "joints.0.direction", "one of 1, -1"),
    ("gear zero", lambda r: set_path(r, "joints.0.gear", 0.0), "joints.0.gear", "a finite number > 0"),
    ("offset infinite", lambda r: set_path(r, "joints.0.offset_rad", -INF), "joints.0.offset_rad", "a finite number"),
    ("velocity NaN", lambda r: set_path(r, "joints.1.limits.velocity_rad_s", NAN), "joints.1.limits.velocity_rad_s", "> 0"),
    ("torque bool", lambda r: set_path(r, "joints.0.limits.torque_nm", True), "joints.0.limits.torque_nm", "> 0"),
    ("range reversed", lambda r: set_path(r, "joints.0.limits.position_rad", [1.0, -1.0]), "joints.0.limits.position_rad", "min < max"),
    ("range of three", lambda r: set_path(r, "joints.0.limits.position_rad", [-1, 0, 1]), "joints.0.limits.position_rad", "[min, max]"),
    ("range with NaN", lambda r: set_path(r, "joints.0.limits.position_rad", [NAN, 1.0]), "joints.0.limits.position_rad", "finite"),
    ("margin too big", lambda r: set_path(r, "joints.0.limits.soft_margin_rad", 1.0), "joints.0.limits.soft_margin_rad", "< (max - min) / 2 = 1"),
    ("default margin too big", lambda r: set_path(r, "joints.0.limits.position_rad", [-0.04, 0.04]), "joints.0.limits.soft_margin_rad", "= 0.04"),
    ("unknown limits key", lambda r: set_path(r, "joints.0.limits.velocity", 3.0), "joints.0.limits.velocity", "velocity_rad_s"),
    ("negative kp", lambda r: set_path(r, "joints.0.gains.kp", -1.0), "joints.0.gains.kp", "a finite number >= 0"),
    ("gains not a mapping", lambda r: set_path(r, "joints.0.gains", [100.0, 2.0]), "joints.0.gains", "kp, kd"),
    ("zero mock inertia", lambda r: set_path(r, "joints.0.mock.inertia_kgm2", 0.0), "joints.0.mock.inertia_kgm2", "> 0"),
    ("missing urdf file", lambda r: set_path(r, "model.urdf", "does_not_exist.urdf"), "model.urdf", "URDF"),
]


def yaml_field(dotted: str) -> str:
    """The error's field spelling of a set_path path: joints.1.bus -> joints[1].bus."""
    parts: list[str] = []
    for key in dotted.split("."):
        if key.isdigit():
            parts[-1] += f"[{key}]"
        else:
            parts.append(key)
    return ".".join(parts)


@pytest.mark.parametrize(
    ("mutate", "field", "allowed"),
    [pytest.param(mutate, field, allowed, id=case) for case, mutate, field, allowed in BAD_CONFIGS],
)
def test_bad_config_is_rejected_naming_the_field(mutate, field, allowed):
    raw = minimal_config()
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    error = caught.value
    assert [issue.field for issue in error.errors] == [yaml_field(field)], str(error)
    assert allowed in error.allowed
    assert f"<dict>: {yaml_field(field)}: " in str(error)
    assert f"; allowed: {error.allowed} (got " in str(error)


def test_the_minimal_config_is_valid():
    # Guards the table above: every case must fail because of its mutation alone.
    assert load_config(minimal_config()).joint_names == ("j0", "j1")


def test_max_joints_is_accepted():
    raw = minimal_config()
    raw["joints"] = many_joints(MAX_JOINTS)
    assert load_config(raw).n_joints == MAX_JOINTS


def test_all_errors_are_collected():
    raw = minimal_config()
    raw["loop"] = {"rate_hz": 300}
    raw["joints"][0]["limits"]["velocity_rad_s"] = -1.0
    raw["joints"][1]["bus"] = "bus_q"
    raw["joints"][1]["gains"]["kd"] = "high"
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    error = caught.value
    assert [issue.field for issue in error.errors] == [
        "loop.rate_hz",
        "joints[0].limits.velocity_rad_s",
        "joints[1].gains.kd",
        "joints[1].bus",
    ]
    assert len(str(error).splitlines()) == 4
    assert (error.field, error.got) == ("loop.rate_hz", 300)
    assert "250, 500, 1000, 2000, 4000" in error.allowed


def test_error_is_a_value_error_with_the_documented_message():
    raw = minimal_config()
    raw["loop"] = {"priority": 120}
    with pytest.raises(ValueError, match=r"^<dict>: loop\.priority: out of range; allowed: an integer in 0\.\.99 \(got 120\)$"):
        load_config(raw)


# --- file-level errors -----------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path):
    config_file = tmp_path / "broken.yaml"
    config_file.write_text("name: bot\nloop:\n  rate_hz: [1000\n  priority: 80\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    error = caught.value
    assert error.field == "<file>"
    assert error.allowed == "valid YAML"
    assert "line 4" in str(error)
    assert str(config_file) in str(error)


def test_duplicate_yaml_key_names_the_line(tmp_path):
    config_file = tmp_path / "twice.yaml"
    config_file.write_text("name: bot\nloop:\n  rate_hz: 1000\n  rate_hz: 500\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert caught.value.field == "<file>"
    assert "duplicate key 'rate_hz'" in str(caught.value)
    assert "line 4" in str(caught.value)
    assert caught.value.got == "  rate_hz: 500"


def test_missing_file_lists_bundled_robots(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.field == "<file>"
    assert "generic_humanoid" in caught.value.allowed
    assert caught.value.got == str(missing)


def test_unknown_robot_name_is_a_missing_file():
    with pytest.raises(ConfigError) as caught:
        load_config("generic_humanoid_v9")
    assert caught.value.field == "<file>"
    assert "generic_humanoid" in caught.value.allowed


@pytest.mark.parametrize("text", ["", "- just\n- a list\n"], ids=["empty", "list"])
def test_document_must_be_a_mapping(tmp_path, text):
    config_file = tmp_path / "odd.yaml"
    config_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert caught.value.field == "<root>"
    assert "name, model, loop, safety, buses, joints" in caught.value.allowed


def test_bundled_yaml_file_is_plain_data():
    # The bundled file must load with a stock YAML parser too (no custom tags).
    raw = yaml.safe_load(BUNDLED_YAML.read_text())
    assert len(raw["joints"]) == 31
    assert all(math.isfinite(joint["limits"]["torque_nm"]) for joint in raw["joints"])


def test_dict_input_is_not_modified():
    raw = minimal_config()
    snapshot = copy.deepcopy(raw)
    load_config(raw)
    assert raw == snapshot


# ---- EtherCAT bus params (issue 5) ----

def ethercat_config(**bus) -> dict:
    config = minimal_config()
    config["buses"][1] = {"name": "bus_b", "type": "ethercat", "interface": "eth1", "vendor_id": 0x9A,
                          "product_code": 0x30924, **bus}
    return config


def test_ethercat_bus_defaults():
    bus = load_config(ethercat_config()).buses[1]
    assert bus.type == "ethercat"
    assert bus.params == {"interface": "eth1", "vendor_id": 0x9A, "product_code": 0x30924, "slaves": None,
                          "drive_mode": "cst", "receive_timeout_us": 800, "frame_timeout_us": 2000,
                          "wkc_tolerance": 3, "distributed_clocks": True, "state_timeout_s": 3.0}


def test_ethercat_slave_list_is_accepted():
    slaves = [{"position": 1, "vendor_id": 1, "product_code": 2}, {"position": 2, "vendor_id": 1, "product_code": 3}]
    assert load_config(ethercat_config(slaves=slaves)).buses[1].params["slaves"] == slaves


@pytest.mark.parametrize("bus, field, allowed", [
    ({"interface": ""}, "interface", "a non-empty string"),
    ({"vendor_id": -1}, "vendor_id", "an integer in 0..4294967295"),
    ({"product_code": 2**32}, "product_code", "an integer in 0..4294967295"),
    ({"drive_mode": "pp"}, "drive_mode", "one of cst, csp, csv"),
    ({"receive_timeout_us": 10}, "receive_timeout_us", "an integer in 50..1000000"),
    ({"wkc_tolerance": -1}, "wkc_tolerance", "an integer in 0..100000"),
    ({"distributed_clocks": "yes"}, "distributed_clocks", "true or false"),
    ({"slaves": [{"position": 2, "vendor_id": 1, "product_code": 2}]}, "slaves", "positions 1..n in order"),
    ({"slaves": [{"position": 1, "vendor_id": 1}]}, "slaves", "position: 1.., vendor_id: u32, product_code: u32"),
    ({"latency_cycles": 1}, "latency_cycles", ""),  # a mock key on an EtherCAT bus
])
def test_bad_ethercat_params_name_the_field(bus, field, allowed):
    with pytest.raises(ConfigError) as info:
        load_config(ethercat_config(**bus))
    issues = [issue for issue in info.value.errors if issue.field.endswith(field)]
    assert issues, [str(i) for i in info.value.errors]
    assert allowed in issues[0].allowed


def test_ethercat_requires_interface_and_identity():
    config = ethercat_config()
    for key in ("interface", "vendor_id", "product_code"):
        del config["buses"][1][key]
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert {issue.field.rsplit(".", 1)[-1] for issue in info.value.errors} >= {"interface", "vendor_id", "product_code"}
