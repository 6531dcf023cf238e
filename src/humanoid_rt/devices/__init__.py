"""Serial devices beside the real-time loop: a Modbus-RTU dexterous hand, a tactile array, a force/torque stream
and an IMU, each read by its own thread at its own rate into a bounded buffer, plus virtual devices on ptys.

    from humanoid_rt.devices import DeviceHub
    with DeviceHub.from_config(load_config("robot.yaml")) as hub:
        hub["right_hand"].set_angles([500] * 6)
        columns = hub.drain_all()            # {device name: {column: array with one row per sample}}
        print(hub.statistics())

Every device follows one sample contract (`humanoid_rt.devices.base`); formats and register maps are in
firmware_interfaces/serial/.
"""

from .base import SampleBuffer, SerialDevice, StreamDevice
from .framing import FormatError, FrameScanner, crc16_modbus
from .hub import DEVICE_CLASSES, DeviceHub, open_device
from .inspire_hand import FINGERS, InspireHand, VirtualInspireHand
from .robotiq_ft import RobotiqFT, VirtualRobotiqFT
from .tactile import TactileArray, VirtualTactileArray
from .virtual import FAULTS, LinkPort, VirtualDevice
from .witmotion import VirtualWitMotionIMU, WitMotionIMU

VIRTUAL_DEVICES = {"hand": VirtualInspireHand, "tactile": VirtualTactileArray, "ft": VirtualRobotiqFT,
                   "imu": VirtualWitMotionIMU}

__all__ = [
    "DEVICE_CLASSES", "FAULTS", "FINGERS", "VIRTUAL_DEVICES", "DeviceHub", "FormatError", "FrameScanner",
    "InspireHand", "LinkPort", "RobotiqFT", "SampleBuffer", "SerialDevice", "StreamDevice", "TactileArray",
    "VirtualDevice", "VirtualInspireHand", "VirtualRobotiqFT", "VirtualTactileArray", "VirtualWitMotionIMU",
    "WitMotionIMU", "crc16_modbus", "open_device",
]
