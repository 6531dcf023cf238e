"""Build the C++ EtherCAT bus (drivers/ethercat) from a robot config's bus entry."""

from __future__ import annotations

from typing import Sequence

from .. import _core
from ..config import ConfigError, ConfigIssue

_MODES = {"cst": "CST", "csp": "CSP", "csv": "CSV"}


def expected_slaves(bus_cfg, joint_device_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(position, vendor_id, product_code) of the line the config expects."""
    params = bus_cfg.params
    if params.get("slaves"):
        return [(s["position"], s["vendor_id"], s["product_code"]) for s in params["slaves"]]
    return [(p, params["vendor_id"], params["product_code"]) for p in range(1, max(joint_device_ids) + 1)]


def make_ethercat_bus(config, bus_cfg, joints: Sequence[int]) -> _core.ethercat.EthercatBus:
    params = bus_cfg.params
    mode = params["drive_mode"]
    device_ids = [config.joints[j].device_id for j in joints]
    slaves = expected_slaves(bus_cfg, device_ids)
    issues = []
    for j in joints:
        joint = config.joints[j]
        if not 1 <= joint.device_id <= len(slaves):
            issues.append(ConfigIssue(config.name, f"joints[{j}].device_id", f"no slave at position {joint.device_id} on "
                                      f"EtherCAT bus {bus_cfg.name!r}",
                                      f"a slave position 1..{len(slaves)} (device_id is the position on the line)",
                                      joint.device_id))
        if mode in ("csp", "csv") and joint.command_mode != "drive_impedance":
            issues.append(ConfigIssue(config.name, f"joints[{j}].command_mode", f"drive_mode {mode} on bus {bus_cfg.name!r} "
                                      "takes position/velocity targets", "drive_impedance (or drive_mode: cst)",
                                      joint.command_mode))
    if issues:
        raise ConfigError(issues)
    options = _core.ethercat.EthercatBusOptions()
    options.interface = params["interface"]
    options.slaves = [_core.ethercat.EthercatSlaveSpec(p, v, c) for p, v, c in slaves]
    options.receive_timeout_us = params["receive_timeout_us"]
    options.wkc_tolerance = params["wkc_tolerance"]
    options.frame_timeout_us = params["frame_timeout_us"]
    options.distributed_clocks = params["distributed_clocks"]
    options.state_timeout_s = params["state_timeout_s"]
    options.stop_category = config.safety.estop_category
    bus = _core.ethercat.EthercatBus(bus_cfg.name, options)
    for j in joints:
        bus.add_drive(j, config.joints[j].device_id, getattr(_core.Cia402Mode, _MODES[mode]))
    return bus
