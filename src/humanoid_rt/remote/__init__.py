"""humanoid_rt beyond one machine, over Eclipse Zenoh (key space: firmware_interfaces/zenoh/KEYS.md).

Robot side: `robot.attach_zenoh(...)` / `RobotNode` publishes state, events and health, declares a
liveliness token and the info/request queryables, and relays authenticated teleop packets from
`cmd/*` to the robot's C++ teleop receiver. Operator side: `ZenohTeleopClient`, `RobotHandle`.
Fleet view: `FleetView`. Remote policy inference: `policy_server.PolicyServer`
(`humanoid-rt policy-serve`), `remote_chunks.RemoteChunkSource` / `RemotePolicy` on the robot, the
wire format in `policy_wire.py` (firmware_interfaces/zenoh/POLICY.md), reference policies in
`reference_policy.py`. Sessions: `SessionOptions`, `open_session`. Zenoh runs on its own
(non-real-time) threads and reaches the loop only through the existing setpoint buffers.
"""

from .keys import RobotKeys
from .session import SessionOptions, open_session

__all__ = ["RobotKeys", "SessionOptions", "open_session"]
