"""Where each URDF link is, from the joint positions: the transforms a 3D viewer needs.

Pinocchio (PyPI `pin`, the same library the loop links) runs the forward kinematics of the
URDF's fixed-base model; each URDF joint then becomes one parent-link -> child-link
transform, as a robot_state_publisher would give, so a viewer loading the same URDF
places every link (fixed joints included) in its own frame.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..poses import quaternions_xyzw  # noqa: F401 - re-exported: the live view's quaternion order


@dataclass(frozen=True)
class LinkTransform:
    parent: str
    child: str
    translation: tuple[float, float, float]
    rotation: tuple[float, float, float, float]  # quaternion x, y, z, w


class UrdfKinematics:
    """Link transforms of a URDF at given joint positions (joints in `joint_names` order)."""

    def __init__(self, urdf_path: str | Path, joint_names: Sequence[str]):
        import pinocchio as pin

        self._pin = pin
        self.urdf_path = Path(urdf_path)
        self.model = pin.buildModelFromUrdf(str(self.urdf_path))
        self.data = self.model.createData()
        root = ET.parse(self.urdf_path).getroot()
        self.edges: list[tuple[str, str]] = [(j.find("parent").get("link"), j.find("child").get("link"))
                                             for j in root.iter("joint")]
        children = {child for _, child in self.edges}
        roots = [link.get("name") for link in root.iter("link") if link.get("name") not in children]
        self.root_link = roots[0] if roots else ""
        self._frame_ids = {}
        for parent, child in self.edges:
            for link in (parent, child):
                if link not in self._frame_ids:
                    self._frame_ids[link] = self.model.getFrameId(link, pin.FrameType.BODY)
        missing = [link for link, fid in self._frame_ids.items() if fid >= len(self.model.frames)]
        if missing:
            raise ValueError(f"{self.urdf_path}: links {missing} are not in Pinocchio's model of the URDF")
        self._edge_frames = [self._frame_ids[link] for edge in self.edges for link in edge]  # parent, child, ...
        # Where each of the robot's joints sits in Pinocchio's configuration vector; joints the robot does not
        # drive (fingers of a hand the config leaves out, ...) stay at the model's neutral position.
        self._q = pin.neutral(self.model)
        self._slots: list[tuple[int, int, int]] = []  # (robot joint index, q index, nq)
        for i, name in enumerate(joint_names):
            if not self.model.existJointName(name):
                continue
            joint = self.model.joints[self.model.getJointId(name)]
            self._slots.append((i, joint.idx_q, joint.nq))

    @property
    def links(self) -> list[str]:
        return list(self._frame_ids)

    def transforms(self, q: np.ndarray) -> list[LinkTransform]:
        """One transform per URDF joint (parent link -> child link) at joint positions q [rad]."""
        rotations, translations = self.relative(q)
        quaternions = quaternions_xyzw(rotations)
        return [LinkTransform(parent, child, tuple(translations[i].tolist()), tuple(quaternions[i].tolist()))
                for i, (parent, child) in enumerate(self.edges)]

    def relative(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rotations (k, 3, 3), translations (k, 3)) of each edge's child link in its parent link, in one go."""
        pin = self._pin
        for i, index, nq in self._slots:
            if nq == 1:
                self._q[index] = q[i]
            else:  # continuous joint: (cos, sin)
                self._q[index], self._q[index + 1] = np.cos(q[i]), np.sin(q[i])
        pin.forwardKinematics(self.model, self.data, self._q)
        pin.updateFramePlacements(self.model, self.data)
        placements = self.data.oMf
        poses = np.stack([placements[fid].homogeneous for fid in self._edge_frames])  # (2k, 4, 4)
        parents, children = poses[0::2], poses[1::2]
        parent_rotation_t = np.transpose(parents[:, :3, :3], (0, 2, 1))
        rotations = parent_rotation_t @ children[:, :3, :3]
        translations = np.einsum("kij,kj->ki", parent_rotation_t, children[:, :3, 3] - parents[:, :3, 3])
        return rotations, translations
