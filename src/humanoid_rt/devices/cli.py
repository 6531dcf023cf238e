"""`humanoid-rt virtual-device {hand,tactile,ft,imu}`: serve a virtual device on a pty until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from ..stop_signals import StopSignals
from . import FAULTS, VIRTUAL_DEVICES

_FAULT_HELP = ", ".join(FAULTS)


def _fault(text: str) -> tuple[str, float]:
    name, _, period = text.partition(":")
    try:
        seconds = float(period) if period else 1.0
    except ValueError:
        seconds = -1.0
    if name not in FAULTS + ("disconnect",) or not seconds > 0:
        raise argparse.ArgumentTypeError(f"allowed: FAULT[:SECONDS] with FAULT one of {_FAULT_HELP}, disconnect "
                                         f"and SECONDS > 0 (got {text!r})")
    return name, seconds


def add_commands(commands) -> None:
    parser = commands.add_parser(
        "virtual-device", help="serve a virtual hand, tactile array, F/T sensor or IMU on a pty",
        description="Creates a pty, prints its path (or --link, a stable symlink to it), and serves the device's "
        "wire protocol until Ctrl-C: hand = Inspire RH56-style Modbus-RTU, tactile = taxel frames, ft = Robotiq "
        "FT 300 stream, imu = WitMotion packets (formats: firmware_interfaces/serial/).")
    parser.add_argument("device", choices=sorted(VIRTUAL_DEVICES), help="which device")
    parser.add_argument("--rate", type=float, default=None, metavar="HZ", help="tick rate (default: the device's)")
    parser.add_argument("--link", default=None, metavar="PATH",
                        help="also create a symlink PATH to the pty, re-pointed when the device comes back")
    parser.add_argument("--fault", type=_fault, action="append", default=[], metavar="FAULT[:SECONDS]",
                        help=f"inject FAULT every SECONDS (default 1): {_FAULT_HELP}, or disconnect (for 1 s)")


def main(args) -> int:
    device_class = VIRTUAL_DEVICES[args.device]
    device = device_class() if args.rate is None else device_class(rate_hz=args.rate)
    # Ctrl-C and SIGTERM only flag the stop (from before the path is printed: whoever reads it may stop us at
    # once): nothing is raised inside the device's locks or select(), and the device always closes.
    with StopSignals() as stop:
        try:
            path = device.open_pty(args.link)
            print(f"virtual {args.device} on {path}" + (f" ({device.pty_path})" if args.link else ""), flush=True)
            device.start()
            due = {name: time.monotonic() + seconds for name, seconds in args.fault}
            while not stop.wait(0.1):
                now = time.monotonic()
                for name, seconds in args.fault:
                    if now >= due[name]:
                        due[name] = now + seconds
                        device.disconnect_for(1.0) if name == "disconnect" else device.inject(name)
        finally:
            device.close()
            print(f"virtual {args.device}: stopped; {dict(device.applied)}", flush=True)
    return 0
