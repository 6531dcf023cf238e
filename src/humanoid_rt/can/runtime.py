"""Building CAN buses for a Robot: SocketCAN channels, or virtual motors on socketpairs.

`make_can_bus()` is what the CAN plug-in (plugin.py) builds for bus types `can` and `can-virtual`;
`virtual_can_config()` is the `bus="can-virtual"` override: the robot's joints moved onto
four CAN-FD buses of virtual motors, a mix of the protocol family.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

from .. import _core
from ..config import RobotConfig, dump_config, load_config
from .config import CAN_BUS_TYPES
from . import protocols as P
from .virtual import MotorModel, VirtualCanNetwork

__all__ = ["make_can_bus", "virtual_can_config", "VIRTUAL_BUSES", "can_bus_report"]

_PROTOCOL_ENUM = {
    "mit_reference": _core.can.Protocol.MIT_REFERENCE,
    "cubemars": _core.can.Protocol.CUBEMARS,
    "damiao": _core.can.Protocol.DAMIAO,
    "robstride": _core.can.Protocol.ROBSTRIDE,
    "myactuator": _core.can.Protocol.MYACTUATOR,
}

#: The can-virtual layout: four CAN-FD buses (1 Mbit/s arbitration, 8 Mbit/s data), each with a
#: main protocol; joints past the sixth on a bus use `extra`, and `first` names protocols for the
#: bus's first joints (so every protocol of the family runs in the demo).
VIRTUAL_BUSES = (
    {"name": "can0", "main": "damiao", "extra": "mit_reference", "first": ()},
    {"name": "can1", "main": "cubemars", "extra": "mit_reference", "first": ()},
    {"name": "can2", "main": "myactuator", "extra": "myactuator", "first": ()},
    {"name": "can3", "main": "cubemars", "extra": "cubemars", "first": ("robstride", "robstride")},
)

#: Stepped mode on virtual buses: how long read() waits for the virtual motors' replies. Stepped runs
#: must be exact on a loaded machine, where the motors' thread (Python or C++) can wait hundreds of
#: milliseconds for a CPU; the driver's own default (50 ms) suits hardware driven step by step. Only a
#: reply that never comes (a fault injected on purpose) costs the whole wait.
VIRTUAL_STEPPED_REPLY_TIMEOUT_S = 1.0


def _ranges(joint) -> _core.can.MitRanges:
    c = joint.can
    return _core.can.MitRanges(c.p_max, c.v_max, c.kp_max, c.kd_max, c.t_max)


def make_cia402_bus(robot, bus_cfg, joints: Sequence[int]) -> _core.Bus:
    """A CANopen bus of CiA 402 drives: SDO configuration with canopen, then the C++ cyclic bus."""
    from .cia402 import DriveSetup, SocketpairBus, VirtualCia402Drive, configure_drives

    params = bus_cfg.params
    setups = [DriveSetup(j, robot.config.joints[j].name, robot.config.joints[j].device_id,
                         robot.config.joints[j].can.mode, robot.config.joints[j].can.rated_torque_nm) for j in joints]
    if bus_cfg.type == "can":
        import can
        import socket

        sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)  # raises clearly without kernel CAN
        try:
            if params["fd"]:
                sock.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FD_FRAMES, 1)
            sock.bind((params["interface"],))
            sdo_bus = can.Bus(interface="socketcan", channel=params["interface"], fd=params["fd"])
            try:
                configure_drives(sdo_bus, setups, stop_category=robot.config.safety.estop_category)
            finally:
                sdo_bus.shutdown()
        except BaseException:
            sock.close()
            raise
        fd = sock.detach()
    else:
        network = getattr(robot, "can_network", None)
        if network is None:
            network = robot.can_network = VirtualCanNetwork(robot.period_s, seed=params["seed"])
        fd = network.add_channel(bus_cfg.name, fd=params["fd"])
        for j in joints:
            joint = robot.config.joints[j]
            model = MotorModel(inertia_kgm2=joint.mock.inertia / joint.gear**2,
                               viscous_nm_s_rad=joint.mock.viscous / joint.gear**2,
                               coulomb_nm=joint.mock.coulomb / joint.gear,
                               torque_limit_nm=joint.limits.torque / joint.gear)
            # Tests give a drive other properties than the config expects (virtual_cia402_options[joint]).
            kwargs = dict(node_id=joint.device_id, counts_per_rad=joint.can.counts_per_rad,
                          rated_torque_nm=joint.can.rated_torque_nm, model=model, joint=j, q=joint.offset_rad)
            kwargs.update(getattr(robot, "virtual_cia402_options", {}).get(j, {}))
            network.add_cia402_drive(bus_cfg.name, VirtualCia402Drive(**kwargs))
        network.ensure_running()
        sdo_bus = SocketpairBus(fd, params["fd"])
        try:
            configure_drives(sdo_bus, setups, stop_category=robot.config.safety.estop_category)
        except BaseException:
            os.close(fd)
            raise
    options = _core.can.Cia402BusOptions()
    options.fd = params["fd"]
    options.reply_timeout_s = params["reply_timeout_us"] * 1e-6
    if bus_cfg.type != "can":
        options.stepped_reply_timeout_s = VIRTUAL_STEPPED_REPLY_TIMEOUT_S
    options.stop_category = robot.config.safety.estop_category
    bus = _core.can.Cia402Bus(bus_cfg.name, fd, options)
    for j in joints:
        c = robot.config.joints[j].can
        bus.add_device(_core.can.Cia402Device(j, robot.config.joints[j].device_id,
                                              getattr(_core.can.Cia402Mode, c.mode.upper()), c.counts_per_rad,
                                              c.rated_torque_nm))
    return bus


def make_can_bus(robot, bus_cfg, joints: Sequence[int]) -> _core.Bus:
    if all(robot.config.joints[j].can.protocol == "cia402" for j in joints):  # CANopen (config: never mixed)
        return make_cia402_bus(robot, bus_cfg, joints)
    params = bus_cfg.params
    options = _core.can.CanBusOptions()
    options.fd = params["fd"]
    options.reply_timeout_s = params["reply_timeout_us"] * 1e-6
    if bus_cfg.type != "can":
        options.stepped_reply_timeout_s = VIRTUAL_STEPPED_REPLY_TIMEOUT_S
    if bus_cfg.type == "can":
        bus = _core.can.CanBus.open_socketcan(bus_cfg.name, params["interface"], options)
    else:
        network = getattr(robot, "can_network", None)
        if network is None:
            network = robot.can_network = VirtualCanNetwork(robot.period_s, seed=params["seed"])
        fd = network.add_channel(bus_cfg.name, fd=params["fd"])
        bus = _core.can.CanBus(bus_cfg.name, fd, options)
        for j in joints:
            joint = robot.config.joints[j]
            c = joint.can
            model = MotorModel(
                # The mock section describes the load at the joint; the motor sees it through the gear.
                inertia_kgm2=joint.mock.inertia / joint.gear**2,
                viscous_nm_s_rad=joint.mock.viscous / joint.gear**2,
                coulomb_nm=joint.mock.coulomb / joint.gear,
                torque_limit_nm=joint.limits.torque / joint.gear,
            )
            network.add_motor(bus_cfg.name, c.protocol, joint.device_id, host_id=c.host_id,
                              ranges=P.Ranges(c.p_max, c.v_max, c.kp_max, c.kd_max, c.t_max), model=model, joint=j,
                              q0=joint.offset_rad)
        network.ensure_running()
    for j in joints:
        joint = robot.config.joints[j]
        bus.add_device(_core.can.CanDevice(j, _PROTOCOL_ENUM[joint.can.protocol], joint.device_id, joint.can.host_id,
                                           _ranges(joint)))
    return bus


def virtual_can_config(config: RobotConfig) -> RobotConfig:
    """`config` with its joints on the four virtual CAN-FD buses of VIRTUAL_BUSES.

    Original buses are kept whole where possible: the four largest become can0..can3, the joints
    of the others go one by one to the bus with the fewest joints. Ranges are the protocol's
    defaults widened to cover each joint's limits (a virtual motor can be any size).
    """
    raw = dump_config(config)
    order: dict[str, list[int]] = {}
    for i, joint in enumerate(config.joints):
        order.setdefault(joint.bus, []).append(i)
    groups = sorted(order.values(), key=len, reverse=True)
    n_buses = min(len(VIRTUAL_BUSES), len(groups))
    assigned = [list(g) for g in groups[:n_buses]]
    for group in groups[n_buses:]:
        for i in group:
            min(assigned, key=len).append(i)
    safety = config.safety
    raw["buses"] = [{"name": VIRTUAL_BUSES[b]["name"], "type": "can-virtual", "fd": True, "bitrate": 1000000,
                     "data_bitrate": 8000000, "seed": b} for b in range(n_buses)]
    for b, members in enumerate(assigned):
        layout = VIRTUAL_BUSES[b]
        for k, i in enumerate(sorted(members)):
            joint, j = config.joints[i], raw["joints"][i]
            protocol = layout["first"][k] if k < len(layout["first"]) else (layout["main"] if k < 6 else layout["extra"])
            d = P.DEFAULT_RANGES[protocol]
            g, lim = joint.gear, joint.limits
            reach = max(abs(joint.direction * g * q + joint.offset_rad) for q in (lim.q_min, lim.q_max))
            j["bus"] = layout["name"]
            j["device_id"] = k + 1
            j["can"] = {
                "protocol": protocol,
                "host_id": None,
                "p_max": max(d.p_max, math.ceil(reach)),
                "v_max": max(d.v_max, math.ceil(1.25 * safety.overspeed_factor * lim.velocity * g)),
                "kp_max": max(d.kp_max, math.ceil(joint.kp / g**2)),
                "kd_max": max(d.kd_max, math.ceil(joint.kd / g**2)),
                "t_max": max(d.t_max, math.ceil(lim.torque / g)),
            }
    return load_config(raw)


def can_bus_report(robot) -> dict[str, dict]:
    """Per CAN bus: driver statistics and the computed load (for the demo report)."""
    from .busload import bus_load

    out = {}
    for bus_cfg in robot.config.buses:
        if bus_cfg.type not in CAN_BUS_TYPES or bus_cfg.name not in robot.buses:
            continue
        stats = robot.buses[bus_cfg.name].statistics()
        protocols = [j.can.protocol for j in robot.config.joints if j.bus == bus_cfg.name]
        p = bus_cfg.params
        load = bus_load(bus_cfg.name, protocols, rate_hz=robot.rate_hz, fd=p["fd"], bitrate=p["bitrate"],
                        data_bitrate=p["data_bitrate"] if p["fd"] else None, max_load=p["max_load"])
        out[bus_cfg.name] = {
            "type": bus_cfg.type,
            "fd": p["fd"],
            "joints": len(protocols),
            "protocols": sorted(set(protocols)),
            "load": round(load.load, 4),
            **stats.to_dict(),
        }
    return out
