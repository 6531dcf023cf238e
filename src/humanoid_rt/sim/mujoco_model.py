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


def build_mjcf(urdf_path: str | Path, joints: Sequence[TwinJoint], *, timestep: float,
               joint_damping: float = 0.5, armature: float = 0.01, floor: bool = True) -> str:
    """MJCF text for the twin: fixed base (the URDF root is welded to the world)."""
    spec = mujoco.MjSpec.from_string(_urdf_for_mujoco(Path(urdf_path)))
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
        lowest = min((data.geom_xpos[g, 2] - model.geom_rbound[g] for g in range(model.ngeom)), default=0.0)
        spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1],
                                pos=[0, 0, float(lowest)], contype=0, conaffinity=1, rgba=[0.4, 0.4, 0.45, 1])
    spec.compile()  # raises with MuJoCo's message if anything is inconsistent
    return spec.to_xml()


def qpos_addresses(mjcf_xml: str, joint_names: Sequence[str]) -> np.ndarray:
    """Where each joint sits in qpos (for viewers mirroring the twin)."""
    model = mujoco.MjModel.from_xml_string(mjcf_xml)
    return np.array([model.jnt_qposadr[model.joint(name).id] for name in joint_names])
