"""The bundled generic humanoid URDF: structure, mass model and limits."""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

ROBOT_DIR = Path(__file__).resolve().parents[1] / "src" / "humanoid_rt" / "robots" / "generic_humanoid"
URDF_PATH = ROBOT_DIR / "generic_humanoid.urdf"
FRAMES = ("left_hand", "right_hand", "left_foot", "right_foot", "head_camera", "imu")


@pytest.fixture(scope="module")
def robot() -> ET.Element:
    return ET.parse(URDF_PATH).getroot()


@pytest.fixture(scope="module")
def revolute(robot) -> list[ET.Element]:
    return [joint for joint in robot.iter("joint") if joint.get("type") == "revolute"]


def vector(element: ET.Element | None, attribute: str = "xyz") -> np.ndarray:
    return np.array([float(v) for v in element.get(attribute).split()]) if element is not None else np.zeros(3)


def limits_of(revolute) -> dict[str, dict[str, float]]:
    return {joint.get("name"): {k: float(v) for k, v in joint.find("limit").attrib.items()} for joint in revolute}


def zero_pose_positions(robot) -> dict[str, np.ndarray]:
    """Link origins in the pelvis frame at q = 0 (valid because every joint origin has rpy 0)."""
    parent_of = {joint.find("child").get("link"): joint for joint in robot.iter("joint")}
    positions: dict[str, np.ndarray] = {}

    def position(link: str) -> np.ndarray:
        if link not in positions:
            joint = parent_of.get(link)
            positions[link] = (
                np.zeros(3) if joint is None else position(joint.find("parent").get("link")) + vector(joint.find("origin"))
            )
        return positions[link]

    for link in robot.iter("link"):
        position(link.get("name"))
    return positions


def vertical_extent(link: ET.Element) -> tuple[float, float] | None:
    """Lowest and highest z of a link's collision primitive in its own frame."""
    collision = link.find("collision")
    if collision is None:
        return None
    centre_z = vector(collision.find("origin"))[2]
    rpy = vector(collision.find("origin"), "rpy")
    shape = collision.find("geometry")[0]
    if shape.tag == "box":
        half = vector(shape, "size")[2] / 2.0
    elif shape.tag == "sphere":
        half = float(shape.get("radius"))
    else:  # cylinder: along z unless rotated onto x or y
        half = float(shape.get("length")) / 2.0 if np.allclose(rpy, 0.0) else float(shape.get("radius"))
    return centre_z - half, centre_z + half


def test_urdf_is_well_formed_with_a_pelvis_root(robot):
    assert robot.tag == "robot" and robot.get("name") == "generic_humanoid"
    links = {link.get("name") for link in robot.iter("link")}
    children = [joint.find("child").get("link") for joint in robot.iter("joint")]
    parents = {joint.find("parent").get("link") for joint in robot.iter("joint")}
    assert len(children) == len(set(children)), "a link has two parent joints"
    assert set(children) | parents <= links
    assert links - set(children) == {"pelvis"}
    assert not any(joint.get("type") == "floating" for joint in robot.iter("joint"))


def test_31_revolute_joints_with_axis_and_limits(revolute, robot):
    assert len(revolute) == 31
    assert {joint.get("type") for joint in robot.iter("joint")} == {"revolute", "fixed"}
    for joint in revolute:
        name = joint.get("name")
        assert joint.find("parent").get("link") and joint.find("child").get("link"), name
        axis = vector(joint.find("axis"))
        assert np.linalg.norm(axis) == pytest.approx(1.0), name
        limit = joint.find("limit")
        assert limit is not None, name
        assert float(limit.get("lower")) < 0.0 < float(limit.get("upper")), name
        assert float(limit.get("effort")) > 0.0, name
        assert float(limit.get("velocity")) > 0.0, name


def test_total_mass_is_adult_size(robot):
    total = sum(float(link.find("inertial/mass").get("value")) for link in robot.iter("link") if link.find("inertial") is not None)
    assert 55.0 <= total <= 70.0


def test_every_inertia_is_physical(robot):
    for link in robot.iter("link"):
        inertial = link.find("inertial")
        if inertial is None:
            continue
        mass = float(inertial.find("mass").get("value"))
        i = {k: float(v) for k, v in inertial.find("inertia").attrib.items()}
        tensor = np.array([
            [i["ixx"], i["ixy"], i["ixz"]],
            [i["ixy"], i["iyy"], i["iyz"]],
            [i["ixz"], i["iyz"], i["izz"]],
        ])
        moments = np.linalg.eigvalsh(tensor)
        name = link.get("name")
        assert mass > 0.0, name
        assert moments.min() > 0.0, name
        a, b, c = moments
        assert a + b >= c and a + c >= b and b + c >= a, name


def test_named_frames_are_fixed_children(robot):
    fixed_children = {joint.find("child").get("link"): joint for joint in robot.iter("joint") if joint.get("type") == "fixed"}
    for frame in FRAMES:
        assert frame in fixed_children, frame
    assert fixed_children["imu"].find("parent").get("link") == "pelvis"


def test_zero_configuration_is_standing_straight_with_arms_down(robot):
    at_zero = zero_pose_positions(robot)
    left_sole, right_sole = at_zero["left_foot"], at_zero["right_foot"]
    assert left_sole[2] == pytest.approx(right_sole[2])
    assert left_sole[1] == pytest.approx(-right_sole[1]) and left_sole[1] > 0.0
    extents = [
        (at_zero[link.get("name")][2] + low, at_zero[link.get("name")][2] + high)
        for link in robot.iter("link")
        if (extent := vertical_extent(link)) is not None
        for low, high in [extent]
    ]
    lowest = min(low for low, _ in extents)
    highest = max(high for _, high in extents)
    assert lowest == pytest.approx(left_sole[2]), "the soles are the lowest points"
    assert 1.65 <= highest - lowest <= 1.75
    shoulder = at_zero["left_shoulder_roll_link"]
    hand = at_zero["left_hand"]
    assert shoulder[2] - hand[2] > 0.5, "the arm hangs down"
    assert np.allclose(hand[:2], shoulder[:2])
    assert at_zero["head_camera"][2] > shoulder[2]


@pytest.mark.parametrize(
    ("joints", "low", "high"),
    [
        (("hip_yaw", "hip_roll", "hip_pitch", "knee"), 150.0, 300.0),
        (("ankle_pitch", "ankle_roll"), 100.0, 150.0),
        (("shoulder_pitch", "shoulder_roll", "shoulder_yaw"), 60.0, 100.0),
        (("elbow",), 40.0, 60.0),
        (("wrist_roll", "wrist_pitch", "wrist_yaw"), 10.0, 20.0),
    ],
)
def test_limb_torques_are_typical_of_full_size_humanoids(revolute, joints, low, high):
    limits = limits_of(revolute)
    for side in ("left_", "right_"):
        for joint in joints:
            assert low <= limits[side + joint]["effort"] <= high, side + joint


def test_neck_torque_is_about_10_nm(revolute):
    limits = limits_of(revolute)
    assert limits["neck_yaw"]["effort"] == pytest.approx(10.0, abs=5.0)
    assert limits["neck_pitch"]["effort"] == pytest.approx(10.0, abs=5.0)


def test_right_side_mirrors_left_side(robot, revolute):
    limits = limits_of(revolute)
    axis_of = {joint.get("name"): vector(joint.find("axis")) for joint in revolute}
    for name, left in limits.items():
        if not name.startswith("left_"):
            continue
        right = limits[name.replace("left_", "right_")]
        assert (right["effort"], right["velocity"]) == (left["effort"], left["velocity"]), name
        if axis_of[name][1] == 1.0:  # pitch keeps its range in the mirror image
            assert (right["lower"], right["upper"]) == (left["lower"], left["upper"]), name
        else:  # roll and yaw ranges swap and change sign
            assert (right["lower"], right["upper"]) == (-left["upper"], -left["lower"]), name
    mass = {link.get("name"): float(link.find("inertial/mass").get("value")) for link in robot.iter("link") if link.find("inertial") is not None}
    for name, value in mass.items():
        if name.startswith("left_"):
            assert mass[name.replace("left_", "right_")] == value, name


def test_committed_files_match_the_generator(monkeypatch):
    spec = importlib.util.spec_from_file_location("make_urdf", ROBOT_DIR / "make_urdf.py")
    generator = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the module executes.
    monkeypatch.setitem(sys.modules, "make_urdf", generator)
    spec.loader.exec_module(generator)
    assert URDF_PATH.read_text() == generator.build_urdf(), "run make_urdf.py"
    assert (ROBOT_DIR / "robot.yaml").read_text() == generator.build_robot_yaml(), "run make_urdf.py"
