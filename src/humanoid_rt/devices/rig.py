"""A simulated sensor set on ptys: what `humanoid-rt demo --record` records beside the loop.

    with virtual_sensor_rig(tmpdir) as hub:   # virtual devices serving, readers polling
        hub.drain_all()

One of each device the runtime reads, each a virtual model on its own pty, read through the
real serial path (pyserial, framing, CRC, reconnect) at its own rate:
right_hand (Inspire RH56 Modbus-RTU, 100 Hz), right_wrist_ft (Robotiq FT 300 stream,
100 Hz), right_palm_tactile (16x16 taxels, 200 Hz), pelvis_imu (WitMotion, 200 Hz).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from .hub import DeviceHub
from .inspire_hand import InspireHand, VirtualInspireHand
from .robotiq_ft import RobotiqFT, VirtualRobotiqFT
from .tactile import TactileArray, VirtualTactileArray
from .witmotion import VirtualWitMotionIMU, WitMotionIMU

RIG = (
    ("right_hand", VirtualInspireHand, InspireHand, 100.0),
    ("right_wrist_ft", VirtualRobotiqFT, RobotiqFT, 100.0),
    ("right_palm_tactile", VirtualTactileArray, TactileArray, 200.0),
    ("pelvis_imu", VirtualWitMotionIMU, WitMotionIMU, 200.0),
)


@contextlib.contextmanager
def virtual_sensor_rig(directory: str | Path) -> Iterator[DeviceHub]:
    """Start the virtual devices (pty links in `directory`) and a started hub reading them."""
    with contextlib.ExitStack() as stack:
        readers = []
        for name, virtual_class, reader_class, rate_hz in RIG:
            virtual = virtual_class(rate_hz=rate_hz)
            path = virtual.open_pty(Path(directory) / f"{name}.tty")
            virtual.start()
            stack.callback(virtual.close)
            readers.append(reader_class(name, path, rate_hz=rate_hz))
        hub = stack.enter_context(DeviceHub(readers))
        yield hub
