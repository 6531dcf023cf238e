"""The MuJoCo model of a robot, generated from the same URDF the controller's
Pinocchio model loads, so the twin and the controller share one description.

MuJoCo's own URDF importer reads the kinematics, masses and inertias; this
module then adds what a URDF does not say about the physical robot: a floor,
one torque-limited motor per configured joint (ctrlrange = the joint's torque
limit), joint damping and rotor armature, and contact filtering (the robot
touches the floor, not itself). Visual geometry and mesh collisions are dropped:
meshes referenced by package:// paths are not needed for dynamics.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import mujoco
import numpy as np


@dataclass(frozen=True)
class TwinContact:
    """A foot's sole (issue 13): a box whose bottom face is centred on `offset` in `frame`."""

    frame: str                                   # URDF link or frame of the foot
    sole: tuple[float, float]                    # length (frame x), width (frame y) [m]
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


#: Thickness of the generated sole boxes [m] (only their bottom face touches the floor).
SOLE_THICKNESS_M = 0.02
#: Names the MuJoCo bus looks for (drivers/mujoco/mujoco_bus.cpp).
IMU_SITE = "humanoid_rt_imu"
FREE_JOINT = "floating_base"


@dataclass(frozen=True)
class TwinJoint:
    name: str              # joint name in the URDF (and the MuJoCo model)
    torque_limit_nm: float  # actuator ctrlrange


def actuator_name(joint: str) -> str:
    return f"{joint}_motor"


def _urdf_for_mujoco(urdf_path: Path) -> str:
    root = ET.parse(urdf_path).getroot()
    for link in root.iter("link"):
        for element in list(link):
            if element.tag == "visual":
                link.remove(element)
            elif element.tag == "collision" and element.find("geometry/mesh") is not None:
                link.remove(element)
    extension = ET.SubElement(root, "mujoco")
    ET.SubElement(extension, "compiler", {"discardvisual": "true", "fusestatic": "true", "strippath": "false"})
    return ET.tostring(root, encoding="unicode")


def _frame_on_body(spec: "mujoco.MjSpec", urdf_path: Path, frame: str, field: str):
    """The MuJoCo body a URDF link/frame rides on and the frame's placement in it (rotation, translation).

    MuJoCo's importer makes one body per moving link (fusestatic merges fixed links into their parent),
    whose frame is its joint's frame; Pinocchio's frame placements are relative to that same joint frame.
    """
    import pinocchio

    model = pinocchio.buildModelFromUrdf(str(urdf_path), pinocchio.JointModelFreeFlyer())
    if not model.existFrame(frame):
        raise ValueError(f"{field}: {frame!r} is not a frame of {urdf_path}")
    placed = model.frames[model.getFrameId(frame)]
    if placed.parentJoint <= 1:
        body = spec.worldbody.first_body()
    else:
        body = spec.joint(model.names[placed.parentJoint]).parent
    return body, np.array(placed.placement.rotation), np.array(placed.placement.translation)


def _quaternion(rotation: np.ndarray) -> list[float]:
    quaternion = np.zeros(4)
    mujoco.mju_mat2Quat(quaternion, np.ascontiguousarray(rotation).reshape(-1))
    return quaternion.tolist()


def _add_floating_base(spec: "mujoco.MjSpec", urdf_path: Path, contacts: Sequence[TwinContact],
                       imu_frame: str) -> list[str]:
    """A free joint on the root, sole boxes, the IMU site and sensors. Returns the foot bodies' names."""
    spec.worldbody.first_body().add_freejoint(name=FREE_JOINT)
    feet = []
    for index, contact in enumerate(contacts):
        body, rotation, translation = _frame_on_body(spec, urdf_path, contact.frame, f"model.contacts[{index}].frame")
        if body.name not in feet:  # the sole replaces the foot link's own collision geometry
            for geom in list(body.geoms):
                spec.delete(geom)
        centre = translation + rotation @ (np.array(contact.offset) + np.array([0.0, 0.0, SOLE_THICKNESS_M / 2]))
        body.add_geom(name=f"humanoid_rt_sole_{index}", type=mujoco.mjtGeom.mjGEOM_BOX,
                      size=[contact.sole[0] / 2, contact.sole[1] / 2, SOLE_THICKNESS_M / 2],
                      pos=centre.tolist(), quat=_quaternion(rotation), friction=[1.0, 0.02, 0.001],
                      rgba=[0.8, 0.3, 0.2, 1])
        feet.append(body.name)
    body, rotation, translation = _frame_on_body(spec, urdf_path, imu_frame, "model.imu.frame")
    body.add_site(name=IMU_SITE, pos=translation.tolist(), quat=_quaternion(rotation))
    for suffix, kind in (("quat", mujoco.mjtSensor.mjSENS_FRAMEQUAT), ("gyro", mujoco.mjtSensor.mjSENS_GYRO),
                         ("accel", mujoco.mjtSensor.mjSENS_ACCELEROMETER)):
        spec.add_sensor(name=f"{IMU_SITE}_{suffix}", type=kind, objtype=mujoco.mjtObj.mjOBJ_SITE, objname=IMU_SITE)
    return feet


def foot_bodies(mjcf_xml: str, contacts: Sequence[TwinContact]) -> list[str]:
    """The MuJoCo body carrying each contact's sole box (in model.contacts order)."""
    model = mujoco.MjModel.from_xml_string(mjcf_xml)
    return [model.body(model.geom(f"humanoid_rt_sole_{i}").bodyid[0]).name for i in range(len(contacts))]


def build_mjcf(urdf_path: str | Path, joints: Sequence[TwinJoint], *, timestep: float,
               joint_damping: float = 0.5, armature: float = 0.01, floor: bool = True,
               contacts: Sequence[TwinContact] = (), imu_frame: str | None = None) -> str:
    """MJCF text for the twin: fixed base (the URDF root is welded to the world), or, with contacts and
    an IMU frame (issue 13), a free-floating base standing on sole boxes with an IMU on the root."""
    spec = mujoco.MjSpec.from_string(_urdf_for_mujoco(Path(urdf_path)))
    if (imu_frame is None) != (not contacts):
        raise ValueError("a floating twin needs both contacts (model.contacts) and an IMU frame (model.imu)")
    if imu_frame is not None:
        _add_floating_base(spec, Path(urdf_path), contacts, imu_frame)
    spec.option.timestep = timestep
    spec.modelname = Path(urdf_path).stem + "_twin"
    model_joints = {j.name for j in spec.joints}
    for joint in joints:
        if joint.name not in model_joints:
            raise ValueError(f"joints: {joint.name!r} is not a joint of {urdf_path}; "
                             f"allowed: {', '.join(sorted(model_joints))}")
        mj_joint = spec.joint(joint.name)
        mj_joint.damping[0] = joint_damping
        mj_joint.armature = armature
        spec.add_actuator(name=actuator_name(joint.name), target=joint.name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
                          ctrlrange=[-joint.torque_limit_nm, joint.torque_limit_nm],
                          ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE)
    # Contacts: robot geoms collide with the floor only (contype 1 / conaffinity 0 never pair with each other).
    for geom in spec.geoms:
        geom.contype, geom.conaffinity = 1, 0
    if floor:
        model = spec.compile()
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        # The fixed twin keeps its historical floor (bounding spheres); a floating one stands on its soles.
        bottom = _geom_bottom if imu_frame is not None else (lambda m, d, g: d.geom_xpos[g, 2] - m.geom_rbound[g])
        lowest = min((bottom(model, data, g) for g in range(model.ngeom)), default=0.0)
        spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1],
                                pos=[0, 0, float(lowest)], contype=0, conaffinity=1, rgba=[0.4, 0.4, 0.45, 1])
    spec.compile()  # raises with MuJoCo's message if anything is inconsistent
    return spec.to_xml()


def _geom_bottom(model, data, g: int) -> float:
    """The lowest point of geom g (exact for boxes and spheres, its bounding sphere otherwise)."""
    z, R, size = data.geom_xpos[g, 2], data.geom_xmat[g].reshape(3, 3), model.geom_size[g]
    if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX:
        return float(z - np.abs(R[2]) @ size)
    if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
        return float(z - size[0])
    return float(z - model.geom_rbound[g])


def qpos_addresses(mjcf_xml: str, joint_names: Sequence[str]) -> np.ndarray:
    """Where each joint sits in qpos (for viewers mirroring the twin)."""
    model = mujoco.MjModel.from_xml_string(mjcf_xml)
    return np.array([model.jnt_qposadr[model.joint(name).id] for name in joint_names])
