"""A line of emulated EtherCAT slaves on one network interface.

    python -m humanoid_rt.ethercat.emulator --interface hrt-s0 --slaves 12 [--period 0.001]

Receives EtherCAT frames (EtherType 0x88A4) on a raw AF_PACKET socket, lets
every slave of the line process every datagram in ring order (auto-increment,
configured-address, broadcast and logical addressing, working counter, the
read-multiple-write commands), and sends the frame back, as the last slave of
a real line closes the ring and port 0 of the first slave returns it.

Control channel: JSON lines on stdin, one JSON reply line per request on
stdout (first line: {"ready": ...}). Requests:
    {"cmd": "stats"}
    {"cmd": "drive_fault", "slave": 1-based, "code": 0x2310, "persistent": false}
    {"cmd": "clear_fault_cause", "slave": n}
    {"cmd": "freeze_encoder", "slave": n, "frozen": true}
    {"cmd": "drop_frames", "count": n}         # next n process-data frames get no answer
    {"cmd": "skip_process_data", "slave": n, "count": n}  # slave ignores n process-data datagrams (WKC short)
    {"cmd": "drive", "slave": n}                # the drive's state, position, torque
    {"cmd": "quit"}
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

from .drive import DriveParams
from .esc import EmulatedSlave

ETH_P_ECAT = 0x88A4

APRD, APWR, APRW, FPRD, FPWR, FPRW, BRD, BWR, BRW, LRD, LWR, LRW, ARMW, FRMW = range(1, 15)
READS = {APRD, FPRD, BRD, LRD}
WRITES = {APWR, FPWR, BWR, LWR}
READ_WRITES = {APRW, FPRW, BRW, LRW}
LOGICAL = {LRD, LWR, LRW}


class SlaveLine:
    """Slaves 0..n-1 in ring order; processes whole EtherCAT frames in place."""

    def __init__(self, params: list[DriveParams], period_s: float):
        n = len(params)
        self.slaves = [EmulatedSlave(i, p, period_s, last=(i == n - 1)) for i, p in enumerate(params)]
        self.frames = 0
        self.process_data_frames = 0
        self.dropped_frames = 0
        self.drop_next = 0
        self.max_process_us = 0.0

    def process(self, frame: bytearray) -> bool:
        """Process an Ethernet frame in place. Returns False if the frame is to be lost."""
        self.frames += 1
        (header,) = struct.unpack_from("<H", frame, 14)
        if header >> 12 != 1:
            return False
        end = 16 + (header & 0x07FF)
        offset = 16
        logical_seen = False
        while offset + 12 <= end:
            command, _index, address, length_flags = struct.unpack_from("<BBIH", frame, offset)
            length = length_flags & 0x07FF
            data_at = offset + 10
            wkc_at = data_at + length
            if wkc_at + 2 > len(frame):
                return False
            (wkc,) = struct.unpack_from("<H", frame, wkc_at)
            if command in LOGICAL:
                logical_seen = True
            wkc = self._datagram(command, address, frame, data_at, length, wkc)
            struct.pack_into("<H", frame, wkc_at, wkc & 0xFFFF)
            offset = wkc_at + 2
            if not length_flags & 0x8000:
                break
        if logical_seen:
            self.process_data_frames += 1
            for slave in self.slaves:
                slave.process_data()
            if self.drop_next > 0:
                self.drop_next -= 1
                self.dropped_frames += 1
                return False
        frame[6] |= 0x02  # a real line returns the frame with the source MAC's locally-administered bit set
        return True

    def _datagram(self, command: int, address: int, frame: bytearray, at: int, length: int, wkc: int) -> int:
        adp, ado = address & 0xFFFF, address >> 16
        if command in LOGICAL:
            for slave in self.slaves:
                if slave.skip_pd > 0:
                    slave.skip_pd -= 1
                    continue
                read_done = write_done = False
                for log, flen, phys, kind in slave.fmmus:
                    lo, hi = max(log, address), min(log + flen, address + length)
                    if lo >= hi:
                        continue
                    a, p = at + lo - address, phys + lo - log
                    if kind & 1 and command in (LRD, LRW):  # inputs: slave memory -> frame
                        frame[a:a + hi - lo] = slave.read(p, hi - lo)
                        read_done = True
                    if kind & 2 and command in (LWR, LRW):  # outputs: frame -> slave memory
                        slave.write(p, bytes(frame[a:a + hi - lo]))
                        write_done = True
                wkc += (1 if read_done else 0) + (2 if command == LRW and write_done else 1 if write_done else 0)
            return wkc
        if command in (BRD, BWR, BRW):
            for slave in self.slaves:
                if command == BRD:
                    current = slave.read(ado, length)
                    frame[at:at + length] = bytes(x | y for x, y in zip(frame[at:at + length], current))
                    wkc += 1
                elif command == BWR:
                    slave.write(ado, bytes(frame[at:at + length]))
                    wkc += 1
                else:
                    current = slave.read(ado, length)
                    slave.write(ado, bytes(frame[at:at + length]))
                    frame[at:at + length] = bytes(x | y for x, y in zip(frame[at:at + length], current))
                    wkc += 3
            struct.pack_into("<H", frame, at - 8, (adp + len(self.slaves)) & 0xFFFF)
            return wkc
        auto = command in (APRD, APWR, APRW, ARMW)
        for slave in self.slaves:
            if auto:
                addressed = (adp + slave.position) & 0xFFFF == 0
            else:
                addressed = struct.unpack_from("<H", slave.mem, 0x0010)[0] == adp
            if command in (ARMW, FRMW):
                if addressed:
                    frame[at:at + length] = slave.read(ado, length)
                else:
                    slave.write(ado, bytes(frame[at:at + length]))
                wkc += 1
                continue
            if not addressed:
                continue
            if command in (APRD, FPRD):
                frame[at:at + length] = slave.read(ado, length)
                wkc += 1
            elif command in (APWR, FPWR):
                slave.write(ado, bytes(frame[at:at + length]))
                wkc += 1
            else:
                current = slave.read(ado, length)
                slave.write(ado, bytes(frame[at:at + length]))
                frame[at:at + length] = current
                wkc += 3
        if auto:
            struct.pack_into("<H", frame, at - 8, (adp + len(self.slaves)) & 0xFFFF)
        return wkc

    # ------------------------------------------------------------------ control
    def control(self, request: dict) -> dict:
        cmd = request.get("cmd")
        if cmd == "stats":
            return {"frames": self.frames, "process_data_frames": self.process_data_frames,
                    "dropped_frames": self.dropped_frames, "max_process_us": round(self.max_process_us, 1),
                    "al_states": [s.al_state for s in self.slaves]}
        if cmd == "drop_frames":
            self.drop_next = int(request["count"])
            return {"ok": True}
        slave = self.slaves[int(request["slave"]) - 1] if "slave" in request else None
        if slave is None:
            return {"error": f"unknown command {cmd!r} or missing slave"}
        if cmd == "drive_fault":
            slave.drive.inject_fault(int(request.get("code", 0x2310)), bool(request.get("persistent", False)))
        elif cmd == "clear_fault_cause":
            slave.drive.clear_fault_cause()
        elif cmd == "freeze_encoder":
            slave.drive.freeze_encoder(bool(request.get("frozen", True)))
        elif cmd == "skip_process_data":
            slave.skip_pd = int(request["count"])
        elif cmd == "drive":
            d = slave.drive
            return {"state": d.state, "q": d.q, "dq": d.dq, "tau": d.tau, "al_state": slave.al_state,
                    "controlword": d.last_controlword, "mode": d.od[(0x6060, 0)][1],
                    "rxpdo": d.od[(0x1C12, 1)][1], "fault_code": d.fault_code}
        else:
            return {"error": f"unknown command {cmd!r}"}
        return {"ok": True}


def serve(interface: str, line: SlaveLine, control_in=sys.stdin, control_out=sys.stdout) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ECAT))
    sock.bind((interface, ETH_P_ECAT))
    control_out.write(json.dumps({"ready": True, "interface": interface, "slaves": len(line.slaves) if line else 0,
                                  "pid": os.getpid()}) + "\n")
    control_out.flush()
    fd_in = control_in.fileno()
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    poller.register(fd_in, select.POLLIN)
    buffer = b""
    while True:
        for fd, _events in poller.poll():
            if fd == sock.fileno():
                frame = bytearray(sock.recv(2048))
                start = time.perf_counter()
                if line is None:  # --echo: the raw link reference, no EtherCAT processing
                    sock.send(frame)
                elif line.process(frame):
                    sock.send(frame)
                if line is not None:
                    line.max_process_us = max(line.max_process_us, (time.perf_counter() - start) * 1e6)
            else:
                chunk = os.read(fd_in, 65536)
                if not chunk:
                    return  # the parent went away
                buffer += chunk
                while b"\n" in buffer:
                    text, buffer = buffer.split(b"\n", 1)
                    if not text.strip():
                        continue
                    try:
                        request = json.loads(text)
                        if request.get("cmd") == "quit":
                            control_out.write(json.dumps({"ok": True}) + "\n")
                            control_out.flush()
                            return
                        reply = line.control(request) if line else {"ok": True}
                    except Exception as error:  # a bad request must not kill the line
                        reply = {"error": f"{type(error).__name__}: {error}"}
                    control_out.write(json.dumps(reply) + "\n")
                    control_out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m humanoid_rt.ethercat.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--slaves", type=int, default=1)
    parser.add_argument("--period", type=float, default=0.001, help="drive model step per process-data frame [s]")
    parser.add_argument("--drives", default="[]",
                        help='JSON list of per-slave overrides, e.g. [{"product_code": 123}, ...] (DriveParams fields)')
    parser.add_argument("--echo", action="store_true", help="send every frame straight back (link reference)")
    args = parser.parse_args(argv)
    if args.echo:
        serve(args.interface, None)
        return 0
    overrides = json.loads(args.drives)
    params = []
    for i in range(args.slaves):
        p = DriveParams()
        for key, value in (overrides[i] if i < len(overrides) and overrides[i] else {}).items():
            setattr(p, key, value)
        params.append(p)
    serve(args.interface, SlaveLine(params, args.period))
    return 0


if __name__ == "__main__":
    sys.exit(main())
