"""A line of emulated EtherCAT slaves (virtual CiA 402 drives) on one network interface.

    python -m humanoid_rt.ethercat.emulator --interface hrt-s0 --slaves 12 [--period 0.001] [--priority 70]

The slaves are C++ (drivers/ethercat/virtual_slave, `_core.ethercat.VirtualEthercatLine`): a frame thread
on a raw AF_PACKET socket lets every slave of the line process every datagram in ring order and
sends the frame back, in microseconds, so a 1 kHz master with 12 drives is answered in time.
This process is its control channel. netns.py runs it under `ip netns exec`, so the socket (and
the thread) live in the namespace of the slave end of the veth pair. (The ESC and the drive model
exist once, in C++: the earlier Python engine could not answer a 1 kHz line of 12 drives on a
loaded machine, and a second engine doing the same would have to be kept in step by hand; SOEM
and pysoem, two independent masters, are what the tests check the C++ line against.)

Control channel: JSON lines on stdin, one JSON reply line per request on stdout (first line:
{"ready": ...}). Requests (`slave` is 1-based):
    {"cmd": "statistics"}
    {"cmd": "drive_fault", "slave": n, "code": 0x2310, "persistent": false}
    {"cmd": "clear_fault_cause", "slave": n}
    {"cmd": "freeze_encoder", "slave": n, "frozen": true}
    {"cmd": "drop_frames", "count": n}         # next n process-data frames get no answer
    {"cmd": "skip_process_data", "slave": n, "count": n}  # slave ignores n process-data datagrams (WKC short)
    {"cmd": "drive", "slave": n}                # the drive's state, position, torque
    {"cmd": "dc", "slave": n}                   # the slave's distributed-clock registers (SYNC0 active, cycle)
    {"cmd": "quit"}
"""

from __future__ import annotations

import argparse
import json
import os
import sys

DRIVE_FIELDS = ("vendor_id", "product_code", "rated_torque_mnm", "counts_per_rev", "inertia_kgm2", "viscous_nm_s_rad")

# Requests -> (method of VirtualEthercatLine, its arguments from the request with defaults).
_COMMANDS = {
    "statistics": ("statistics", {}),
    "drive_fault": ("drive_fault", {"slave": None, "code": 0x2310, "persistent": False}),
    "clear_fault_cause": ("clear_fault_cause", {"slave": None}),
    "freeze_encoder": ("freeze_encoder", {"slave": None, "frozen": True}),
    "drop_frames": ("drop_frames", {"count": None}),
    "skip_process_data": ("skip_process_data", {"slave": None, "count": None}),
    "drive": ("drive", {"slave": None}),
    "dc": ("dc", {"slave": None}),
}


def drive_params(overrides: list[dict], slaves: int) -> list:
    """One _core.ethercat.VirtualDriveParams per slave, with the per-slave overrides applied."""
    from .. import _core

    params = []
    for i in range(slaves):
        p = _core.ethercat.VirtualDriveParams()
        for key, value in (overrides[i] if i < len(overrides) and overrides[i] else {}).items():
            if key not in DRIVE_FIELDS:
                raise ValueError(f"--drives[{i}].{key}: unknown drive parameter; allowed: {', '.join(DRIVE_FIELDS)}")
            setattr(p, key, value)
        params.append(p)
    return params


def handle(line, request: dict) -> dict:
    """One control request -> its reply (errors are replies too: a bad request must not kill the line)."""
    cmd = request.get("cmd")
    if cmd not in _COMMANDS:
        return {"error": f"unknown command {cmd!r}; allowed: {', '.join([*_COMMANDS, 'quit'])}"}
    method, arguments = _COMMANDS[cmd]
    missing = [name for name, default in arguments.items() if default is None and name not in request]
    if missing:
        return {"error": f"{cmd}: missing field(s) {', '.join(missing)}"}
    kwargs = {name: request.get(name, default) for name, default in arguments.items()}
    try:
        reply = getattr(line, method)(**kwargs)
    except (IndexError, ValueError, TypeError) as error:
        return {"error": f"{cmd}: {error}"}
    if hasattr(reply, "to_dict"):  # a statistics object
        reply = reply.to_dict()
    return reply if isinstance(reply, dict) else {"ok": True}


def serve(interface: str, line, priority: int, echo: bool, control_in=sys.stdin, control_out=sys.stdout) -> None:
    line.start(interface, priority, echo)
    try:
        control_out.write(json.dumps({"ready": True, "interface": interface, "slaves": len(line), "pid": os.getpid(),
                                      "priority": line.statistics().priority}) + "\n")
        control_out.flush()
        for text in control_in:  # EOF: the parent went away
            if not text.strip():
                continue
            try:
                request = json.loads(text)
            except ValueError as error:
                reply = {"error": f"not a JSON request: {error}"}
            else:
                if request.get("cmd") == "quit":
                    control_out.write(json.dumps({"ok": True}) + "\n")
                    control_out.flush()
                    return
                reply = handle(line, request)
            control_out.write(json.dumps(reply) + "\n")
            control_out.flush()
    finally:
        line.stop()


def main(argv: list[str] | None = None) -> int:
    from .. import _core

    parser = argparse.ArgumentParser(prog="python -m humanoid_rt.ethercat.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--slaves", type=int, default=1)
    parser.add_argument("--period", type=float, default=0.001, help="drive model step per process-data frame [s]")
    parser.add_argument("--drives", default="[]",
                        help=f'JSON list of per-slave overrides, e.g. [{{"product_code": 123}}, ...] ({", ".join(DRIVE_FIELDS)})')
    parser.add_argument("--priority", type=int, default=0, help="SCHED_FIFO priority of the frame thread (0: none)")
    parser.add_argument("--echo", action="store_true", help="send every frame straight back (link reference)")
    args = parser.parse_args(argv)
    try:
        line = _core.ethercat.VirtualEthercatLine(drive_params(json.loads(args.drives), 0 if args.echo else args.slaves),
                                         args.period)
    except ValueError as error:
        parser.error(str(error))
    serve(args.interface, line, args.priority, args.echo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
