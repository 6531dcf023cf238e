"""The robot's URDF and its meshes, for a viewer that asks over the WebSocket.

Foxglove's and Lichtblick's URDF layer fetch `package://` mesh URIs through the server
(the protocol's fetchAsset). Only files inside the package directories the URDF itself
lives in are served: a viewer cannot read anything else on the robot.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse


class UrdfAssets:
    """Answers asset requests for one URDF: its package:// URIs, resolved as ROS would, confined to its packages."""

    def __init__(self, urdf_path: str | Path):
        self.urdf_path = Path(urdf_path).resolve()
        self.urdf_text = self.urdf_path.read_text()
        self.served = 0
        self.refused = 0

    def resolve(self, uri: str) -> Path | None:
        """The file a package:// (or the URDF's own file://) URI names, or None when it is not one of ours."""
        parsed = urlparse(uri)
        if parsed.scheme == "package":
            package, relative = parsed.netloc, unquote(parsed.path).lstrip("/")
            # A package is a directory of that name above the URDF (ROS's layout; example-robot-data's too).
            for root in self.urdf_path.parents:
                if root.name == package:
                    return self._inside(root, root / relative)
            return None
        if parsed.scheme == "file":
            return self._inside(self.urdf_path.parent, Path(unquote(parsed.path)))
        return None

    @staticmethod
    def _inside(root: Path, candidate: Path) -> Path | None:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(root.resolve()):
            return resolved
        return None

    def __call__(self, uri: str) -> bytes | None:
        """The SDK's asset_handler: the file's bytes, or None (the viewer is told it does not exist)."""
        path = self.resolve(uri)
        if path is None:
            self.refused += 1
            return None
        self.served += 1
        return path.read_bytes()
