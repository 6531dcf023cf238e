"""The floating base in a LeRobot export (lerobot_export.py): `observation.base_state`.

An episode of a standing robot has the base state estimator's output on `/base/state` (base_channels.py,
FORMAT.md "Floating base"). The export turns it into one float32 feature of 13 values per frame, taken
from the same cycle as the frame's joint sample (the latest message at or before the frame time):

    base.x base.y base.z          base origin in world [m] (x, y from where the robot stood at the first estimate)
    base.qw base.qx base.qy base.qz   world_R_base, unit quaternion
    base.vx base.vy base.vz       base origin velocity, world axes [m/s]
    base.wx base.wy base.wz       base angular velocity, base axes [rad/s]

A session exports the feature when its first exported episode has the channel; an episode that
disagrees (a fixed-base episode in a floating session, or the reverse) is skipped with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base_channels import BASE_STATE_TOPIC

FEATURE = "observation.base_state"
COMPONENTS = (("position", ("x", "y", "z")), ("orientation", ("qw", "qx", "qy", "qz")),
              ("linear_velocity", ("vx", "vy", "vz")), ("angular_velocity", ("wx", "wy", "wz")))
NAMES = [f"base.{label}" for _, labels in COMPONENTS for label in labels]


def has_base_state(summary) -> bool:
    """An episode file's summary says it holds /base/state messages."""
    counts = summary.statistics.channel_message_counts
    return any(channel.topic == BASE_STATE_TOPIC and counts.get(channel_id)
               for channel_id, channel in summary.channels.items())


def disagreement(session_has_it: bool | None, episode_has_it: bool) -> str | None:
    """Why an episode cannot join the export (None: it can); the first exported episode decides."""
    if session_has_it is None or session_has_it == episode_has_it:
        return None
    return (f"{'no ' if not episode_has_it else ''}floating-base state ({BASE_STATE_TOPIC}) unlike the session's "
            f"first exported episode ({'with' if session_has_it else 'without'} it)")


def feature_spec() -> dict[str, Any]:
    return {"dtype": "float32", "shape": [len(NAMES)], "names": list(NAMES)}


def frames(episode, frame_t: np.ndarray) -> np.ndarray:
    """(frames, 13): the base state of the latest /base/state message at or before each frame time
    (monotonic_ns); before the first message, the first one."""
    stream = episode.streams.get(BASE_STATE_TOPIC)
    if stream is None or not len(stream["monotonic_ns"]):
        raise ValueError(f"{BASE_STATE_TOPIC}: no messages (the session's other episodes have the base state)")
    times = stream["monotonic_ns"].astype(np.int64)
    order = np.argsort(times, kind="stable")
    values = np.concatenate([stream[name] for name, _ in COMPONENTS], axis=1)[order]
    rows = np.clip(np.searchsorted(times[order], frame_t, side="right") - 1, 0, len(times) - 1)
    return values[rows].astype(np.float32)
