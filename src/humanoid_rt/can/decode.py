"""`humanoid-rt can-decode LOG`: a CAN log decoded as MIT-family commands and replies.

Logs: candump's `-l` format `(t) can0 123#DEADBEEF` / `123##1...` (FD), candump's screen
format `can0  123   [8]  DE AD BE EF ...`, and whatever python-can's LogReader reads
(.asc, .blf, .csv, .log, .trc). Frames are told apart by their IDs (protocols.py):
MyActuator 0x400/0x500/0x140/0x240 + device, Robstride by its 29-bit type field, and the
11-bit reference/CubeMars/Damiao frames by the first protocol asked for (default
mit_reference): ID 0 is the host (replies), other IDs are devices (commands), and a Damiao
frame is a reply when its ID is the device nibble + 0x10 (the master-ID convention).
Payloads are decoded with the protocol's DBC (dbc.py) at the default ranges.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import protocols as P
from .dbc import load_database

__all__ = ["LogFrame", "read_log", "classify", "decode_frame", "main"]

_CANDUMP_L = re.compile(r"^\((?P<t>[\d.]+)\)\s+(?P<ch>\S+)\s+(?P<id>[0-9A-Fa-f]+)#(?P<fd>#[0-9A-Fa-f])?(?P<data>[0-9A-Fa-f]*)\s*$")
_CANDUMP_SCREEN = re.compile(r"^\s*(?P<ch>\S+)\s+(?P<id>[0-9A-Fa-f]+)\s+\[(?P<len>\d+)\]\s*(?P<data>(?:[0-9A-Fa-f]{2}\s*)*)$")


@dataclass(frozen=True)
class LogFrame:
    t: float | None
    channel: str
    can_id: int
    extended: bool
    data: bytes


def _from_candump_line(line: str, number: int, path: Path) -> LogFrame | None:
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    m = _CANDUMP_L.match(line)
    if m:
        ident = m["id"]
        return LogFrame(float(m["t"]), m["ch"], int(ident, 16), len(ident) > 3, bytes.fromhex(m["data"]))
    m = _CANDUMP_SCREEN.match(line)
    if m:
        ident = m["id"]
        data = bytes.fromhex(m["data"].replace(" ", ""))
        if len(data) != int(m["len"]):
            raise ValueError(f"{path}:{number}: frame length [{m['len']}] but {len(data)} data bytes")
        return LogFrame(None, m["ch"], int(ident, 16), len(ident) > 3, data)
    raise ValueError(f"{path}:{number}: not a candump line; allowed: '(t) can0 123#0011' or 'can0  123   [2]  00 11' "
                     f"(got {line[:60]!r})")


def read_log(path: Path) -> Iterator[LogFrame]:
    """Frames of a candump text log or any log python-can reads."""
    if not path.is_file():
        raise ValueError(f"log: no such file: {path}")
    if path.suffix.lower() in (".asc", ".blf", ".csv", ".trc", ".mf4", ".db"):
        import can

        for msg in can.LogReader(str(path)):
            if not (msg.is_error_frame or msg.is_remote_frame):
                yield LogFrame(msg.timestamp, str(msg.channel), msg.arbitration_id, msg.is_extended_id, bytes(msg.data))
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            frame = _from_candump_line(line, number, path)
            if frame is not None:
                yield frame


def classify(frame: LogFrame, protocols: list[str]) -> tuple[str, str, int] | None:
    """(protocol, kind, device) of a frame, or None; kind is command, reply, feedback, special or system."""
    cid, data = frame.can_id, frame.data
    if frame.extended:
        if "robstride" not in protocols:
            return None
        kind = (cid >> 24) & 0x1F
        if kind == P.ROBSTRIDE_MOTION:
            return "robstride", "command", cid & 0xFF
        if kind == P.ROBSTRIDE_FEEDBACK:
            return "robstride", "feedback", (cid >> 8) & 0xFF
        if kind in (P.ROBSTRIDE_ENABLE, P.ROBSTRIDE_STOP, P.ROBSTRIDE_ZERO):
            return "robstride", "special", cid & 0xFF
        return None
    if "myactuator" in protocols:
        for base, kind in ((P.MYACTUATOR_COMMAND_BASE, "command"), (P.MYACTUATOR_REPLY_BASE, "reply"),
                           (P.MYACTUATOR_SYSTEM_BASE, "system"), (P.MYACTUATOR_SYSTEM_REPLY_BASE, "system")):
            if base < cid <= base + 0xFF:
                return "myactuator", kind, cid - base
    for protocol in protocols:
        if protocol not in ("mit_reference", "cubemars", "damiao"):
            continue
        if len(data) == 8 and data[:7] == b"\xff" * 7 and data[7] in P.SPECIAL_LAST_BYTE:
            return protocol, "special", cid
        if protocol == "damiao" and len(data) == 8 and cid == (data[0] & 0xF) + 0x10:
            return protocol, "reply", data[0] & 0xF
        if cid == 0 and data:
            return protocol, "reply", data[0]
        if len(data) == 8:
            return protocol, "command", cid
    return None


_DATABASES: dict[str, object] = {}


def decode_frame(frame: LogFrame, protocols: list[str]) -> str:
    found = classify(frame, protocols)
    where = f"{frame.channel} {frame.can_id:0{8 if frame.extended else 3}X}"
    if found is None:
        return f"{where} [{len(frame.data)}] {frame.data.hex()}  (not a frame of {', '.join(protocols)})"
    protocol, kind, device = found
    if kind == "special":
        if protocol == "robstride":
            name = {P.ROBSTRIDE_ENABLE: "enable", P.ROBSTRIDE_STOP: "stop", P.ROBSTRIDE_ZERO: "zero"}[(frame.can_id >> 24) & 0x1F]
        else:
            name = P.SPECIAL_LAST_BYTE[frame.data[7]]
        return f"{where} {protocol} device {device}: {name}"
    if kind == "system":
        return f"{where} {protocol} device {device}: system command 0x{frame.data[0]:02X}" if frame.data else where
    db = _DATABASES.get(protocol) or _DATABASES.setdefault(protocol, load_database(protocol))
    message = db.get_message_by_name(f"{protocol}_{kind}")
    try:
        values = message.decode(frame.data, decode_choices=False)
    except Exception as error:  # cantools raises several types for short or odd payloads
        return f"{where} {protocol} device {device}: {kind} undecodable ({error})"
    if protocol == "robstride" and kind == "command":
        r = P.DEFAULT_RANGES["robstride"]
        values["t_ff"] = P.uint_to_float((frame.can_id >> 8) & 0xFFFF, -r.t_max, r.t_max, 16)
    if protocol == "robstride" and kind == "feedback":
        values["fault_bits"] = (frame.can_id >> 16) & 0x3F
    text = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    return f"{where} {protocol} device {device}: {kind} {text}"


def main(log: Path, *, protocols: list[str] | None = None, limit: int | None = None, out=sys.stdout) -> int:
    chosen = list(protocols or ("mit_reference", "robstride", "myactuator"))
    if limit is not None and limit < 1:
        print(f"humanoid-rt can-decode: --limit: must be >= 1 (got {limit})", file=sys.stderr)
        return 2
    count = 0
    try:
        for frame in read_log(Path(log)):
            t = "" if frame.t is None else f"({frame.t:.6f}) "
            print(t + decode_frame(frame, chosen), file=out)
            count += 1
            if limit is not None and count >= limit:
                break
    except ValueError as error:
        print(f"humanoid-rt can-decode: {error}", file=sys.stderr)
        return 2
    print(f"{count} frame(s)", file=out)
    return 0
