"""The `devices:` section: serial devices beside the loop (hands, tactile arrays, F/T sensors, IMUs)."""

from __future__ import annotations

from typing import Any

from .fields import INVALID, REQUIRED, Parser, Validator, integer, nonempty_text, number, one_of, optional
from .types import DeviceConfig

DEVICE_TYPES = ("inspire_hand", "tactile", "robotiq_ft", "witmotion_imu")
MAX_DEVICES = 32
_DEVICE_COMMON_KEYS: dict[str, tuple[Parser, Any]] = {
    "name": (nonempty_text, REQUIRED),
    "type": (one_of(*DEVICE_TYPES), REQUIRED),
    "url": (nonempty_text, REQUIRED),
    "rate_hz": (integer(1, 1000), None),  # default per type below
    "baudrate": (integer(1200, 12_000_000), None),
    "timeout_s": (optional(number(above=0), "null or a finite number > 0"), None),
    "buffer_s": (number(above=0), 10.0),
}
_SLAVE_ID = integer(1, 247)
# Per type: defaults of the common keys, then the type's own keys.
_DEVICE_DEFAULTS = {
    "inspire_hand": {"rate_hz": 100, "baudrate": 115200},  # RH56: 115200 8N1
    "tactile": {"rate_hz": 200, "baudrate": 2_000_000},  # 16x16 at 200 Hz is ~106 kB/s
    "robotiq_ft": {"rate_hz": 100, "baudrate": 19200},  # FT 300: 19200 8N1, streams at 100 Hz
    "witmotion_imu": {"rate_hz": 200, "baudrate": 115200},
}
_DEVICE_PARAM_KEYS: dict[str, dict[str, tuple[Parser, Any]]] = {
    "inspire_hand": {"slave_id": (_SLAVE_ID, 1)},
    "tactile": {"rows": (integer(1, 64), 16), "cols": (integer(1, 64), 16)},
    "robotiq_ft": {"slave_id": (_SLAVE_ID, 9)},
    "witmotion_imu": {},
}


def parse_devices(check: Validator, raw: Any) -> list[DeviceConfig]:
    """The `devices:` list: every problem reported with its field and the allowed values, all at once."""
    if raw is None or raw == []:
        return []
    devices: list[DeviceConfig] = []
    first_index_of: dict[str, int] = {}
    for index, raw_device in enumerate(check.items(raw, "devices", "device", maximum=MAX_DEVICES)):
        path = f"devices[{index}]"
        if not isinstance(raw_device, dict):
            check.report(path, "not a mapping", "a mapping with keys: " + ", ".join(_DEVICE_COMMON_KEYS)
                         + ", and the keys of its type", raw_device)
            continue
        common, params = check.typed(raw_device, path, _DEVICE_COMMON_KEYS, _DEVICE_PARAM_KEYS)
        if params is not INVALID:
            for key in ("rate_hz", "baudrate"):
                if common[key] is None:
                    common[key] = _DEVICE_DEFAULTS[common["type"]][key]
        name = common["name"]
        if name is not INVALID:
            if name in first_index_of:
                check.report(f"{path}.name", "duplicate device name",
                             f"a name not already used (devices[{first_index_of[name]}] is {name!r})", name)
                continue
            first_index_of[name] = index
        if INVALID in common.values() or params is INVALID or INVALID in params.values():
            continue
        devices.append(DeviceConfig(params=params, **common))
    return devices


def dump_device(device: DeviceConfig) -> dict[str, Any]:
    return {"name": device.name, "type": device.type, "url": device.url, "rate_hz": device.rate_hz,
            "baudrate": device.baudrate, "timeout_s": device.timeout_s, "buffer_s": device.buffer_s,
            **device.params}


