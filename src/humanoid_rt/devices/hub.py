"""Open the robot config's `devices:` together, start and stop them together, drain them together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .base import SerialDevice
from .inspire_hand import InspireHand
from .robotiq_ft import RobotiqFT
from .tactile import TactileArray
from .witmotion import WitMotionIMU

__all__ = ["DEVICE_CLASSES", "open_device", "DeviceHub"]

DEVICE_CLASSES: dict[str, type[SerialDevice]] = {
    cls.kind: cls for cls in (InspireHand, TactileArray, RobotiqFT, WitMotionIMU)
}


def open_device(config, port_factory: Callable[..., Any] | None = None) -> SerialDevice:
    """The device object for one `humanoid_rt.config.DeviceConfig` (not started)."""
    extra = {"port_factory": port_factory} if port_factory is not None else {}
    return DEVICE_CLASSES[config.type](config.name, config.url, baudrate=config.baudrate, rate_hz=config.rate_hz,
                                       timeout_s=config.timeout_s, buffer_s=config.buffer_s, **config.params,
                                       **extra)


class DeviceHub:
    """A set of devices by name. `with DeviceHub.from_config(robot_config) as hub: hub.drain_all()`."""

    def __init__(self, devices: Iterable[SerialDevice]):
        self.devices: dict[str, SerialDevice] = {}
        for device in devices:
            if device.name in self.devices:
                raise ValueError(f"device name {device.name!r} used twice; allowed: unique names")
            self.devices[device.name] = device

    @classmethod
    def from_config(cls, config, port_factory: Callable[..., Any] | None = None) -> "DeviceHub":
        """From a RobotConfig (its `devices`) or an iterable of DeviceConfig."""
        device_configs = getattr(config, "devices", config)
        return cls(open_device(device_config, port_factory) for device_config in device_configs)

    def __getitem__(self, name: str) -> SerialDevice:
        return self.devices[name]

    def __iter__(self):
        return iter(self.devices.values())

    def __len__(self) -> int:
        return len(self.devices)

    def start(self) -> None:
        for device in self.devices.values():
            device.start()

    def stop(self) -> None:
        for device in self.devices.values():
            device.stop()

    def poll_once(self) -> dict[str, int]:
        return {name: device.poll_once() for name, device in self.devices.items()}

    def drain_all(self) -> dict[str, dict[str, np.ndarray]]:
        return {name: device.drain() for name, device in self.devices.items()}

    def statistics(self) -> dict[str, dict[str, Any]]:
        return {name: device.statistics() for name, device in self.devices.items()}

    def __enter__(self) -> "DeviceHub":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
