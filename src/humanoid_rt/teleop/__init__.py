"""Teleop: the authenticated UDP setpoint stream (firmware_interfaces/teleop/PROTOCOL.md).

Robot side: `robot.attach_teleop(key_file=..., port=...)` starts the C++ receiver
thread (no Python, no GIL on the packet path). Operator side: `TeleopClient`
and `humanoid-rt teleop-send`.
"""

from .protocol import load_key, parse_url, write_key
from .receiver import TeleopReceiver
from .sender import TeleopClient, Trajectory, load_trajectory, sine_generator

__all__ = ["TeleopClient", "TeleopReceiver", "Trajectory", "load_key", "load_trajectory", "parse_url",
           "sine_generator", "write_key"]
