"""DBC descriptions of the MIT protocol family, generated from `protocols` (one file per protocol).

Each DBC holds template messages for device 1 (the layouts are the same for every device):
`<protocol>_command`, `<protocol>_reply`, and for Robstride `robstride_feedback`. Scales and
offsets use the protocol's default ranges (DEFAULT_RANGES); motors with other ranges decode
with their own numbers (`humanoid-rt can-decode` takes the tables, not the scales, for IDs).
cantools decodes with raw * scale + offset, exactly the firmware's uint_to_float; do not use
it to encode commands: it rounds where the firmware truncates (firmware_interfaces/can/README.md).

`python -m humanoid_rt.can.dbc DIR` writes the files (firmware_interfaces/can/*.dbc are its output).
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import protocols as P

__all__ = ["dbc_text", "load_database", "write_all"]

_HEADER = '''VERSION "humanoid_rt {protocol}"

NS_ :

BS_:

BU_: HOST MOTOR

'''


def _signal(name: str, start: int, bits: int, lo: float, hi: float, unit: str, signed: bool = False,
            scale: float | None = None, offset: float | None = None) -> str:
    if scale is None:
        scale = (hi - lo) / ((1 << bits) - 1)
        offset = lo
    sign = "-" if signed else "+"
    return (f' SG_ {name} : {start}|{bits}@0{sign} ({scale:.12g},{offset:.12g}) [{lo:.12g}|{hi:.12g}] "{unit}" '
            f"{{receiver}}\n")


def _message(can_id: int, extended: bool, name: str, length: int, sender: str, signals: list[str]) -> str:
    raw_id = can_id | (0x80000000 if extended else 0)
    receiver = "MOTOR" if sender == "HOST" else "HOST"
    return f"BO_ {raw_id} {name}: {length} {sender}\n" + "".join(signals).replace("{receiver}", receiver) + "\n"


def dbc_text(protocol: str) -> str:
    if protocol not in P.PROTOCOLS:
        raise ValueError(f"protocol: unknown protocol {protocol!r}; allowed: {', '.join(P.PROTOCOLS)}")
    r = P.DEFAULT_RANGES[protocol]
    out = _HEADER.format(protocol=protocol)
    if protocol == "robstride":
        cmd_id, _ = P.command_id(protocol, 1)
        rep_id, _ = P.reply_id(protocol, 1, 0xFD)
        out += _message(cmd_id, True, "robstride_command", 8, "HOST", [
            _signal("p_des", 7, 16, -r.p_max, r.p_max, "rad"),
            _signal("v_des", 23, 16, -r.v_max, r.v_max, "rad/s"),
            _signal("kp", 39, 16, 0.0, r.kp_max, "Nm/rad"),
            _signal("kd", 55, 16, 0.0, r.kd_max, "Nm s/rad"),
        ])
        out += _message(rep_id, True, "robstride_feedback", 8, "MOTOR", [
            _signal("position", 7, 16, -r.p_max, r.p_max, "rad"),
            _signal("velocity", 23, 16, -r.v_max, r.v_max, "rad/s"),
            _signal("torque", 39, 16, -r.t_max, r.t_max, "Nm"),
            _signal("temperature", 55, 16, 0.0, 6553.5, "degC", scale=0.1, offset=0.0),
        ])
        out += ('CM_ BO_ 2164260865 "Motion command (type 1); the feed-forward torque is the u16 in ID bits 23-8, '
                'device in bits 7-0.";\n')
        out += 'CM_ BO_ 2214593021 "Feedback (type 2): ID bits 21-16 fault flags, 15-8 device, 7-0 host.";\n'
        return out
    cmd_id, _ = P.command_id(protocol, 1)
    rep_id, _ = P.reply_id(protocol, 1, P.default_host_id(protocol, 1))
    out += _message(cmd_id, False, f"{protocol}_command", 8, "HOST", [
        _signal("p_des", 7, 16, -r.p_max, r.p_max, "rad"),
        _signal("v_des", 23, 12, -r.v_max, r.v_max, "rad/s"),
        _signal("kp", 27, 12, 0.0, r.kp_max, "Nm/rad"),
        _signal("kd", 47, 12, 0.0, r.kd_max, "Nm s/rad"),
        _signal("t_ff", 51, 12, -r.t_max, r.t_max, "Nm"),
    ])
    reply_signals = [
        _signal("position", 15, 16, -r.p_max, r.p_max, "rad"),
        _signal("velocity", 31, 12, -r.v_max, r.v_max, "rad/s"),
        _signal("torque", 35, 12, -r.t_max, r.t_max, "Nm"),
    ]
    if protocol == "damiao":
        reply_signals = [_signal("error_state", 7, 4, 0, 15, "", scale=1, offset=0),
                         _signal("device", 3, 4, 0, 15, "", scale=1, offset=0)] + reply_signals + [
            _signal("temperature_mos", 55, 8, 0, 255, "degC", scale=1, offset=0),
            _signal("temperature_rotor", 63, 8, 0, 255, "degC", scale=1, offset=0)]
    else:
        reply_signals = [_signal("device", 7, 8, 0, 255, "", scale=1, offset=0)] + reply_signals
    if protocol == "cubemars":
        reply_signals += [_signal("temperature", 55, 8, -128, 127, "degC", signed=True, scale=1, offset=0),
                          _signal("error_code", 63, 8, 0, 255, "", scale=1, offset=0)]
    length = 6 if protocol == "mit_reference" else 8
    out += _message(rep_id, False, f"{protocol}_reply", length, "MOTOR", reply_signals)
    out += (f'CM_ BO_ {cmd_id} "MIT command to device 1 (device N: ID N{" + 0x400" if protocol == "myactuator" else ""}); '
            'FF FF FF FF FF FF FF FC/FD/FE = enter/exit motor mode/zero.";\n')
    return out


def load_database(protocol: str):
    import cantools

    return cantools.database.load_string(dbc_text(protocol), database_format="dbc")


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for protocol in P.PROTOCOLS:
        path = directory / f"{protocol}.dbc"
        path.write_text(dbc_text(protocol))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "firmware_interfaces/can")):
        print(written)
