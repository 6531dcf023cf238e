"""The `humanoid-rt` command line."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .config import LOOP_RATES_HZ, ConfigError, bundled_robots, load_config


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 (got {text!r})") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 (got {text!r})")
    return value


def _rate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value not in LOOP_RATES_HZ:
        raise argparse.ArgumentTypeError(f"allowed: {', '.join(map(str, LOOP_RATES_HZ))} (got {text!r})")
    return value


def _cpu(text: str) -> int:
    count = os.cpu_count() or 1
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < count:
        raise argparse.ArgumentTypeError(f"allowed: a CPU number 0..{count - 1} (got {text!r})")
    return value


def _priority(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 99:
        raise argparse.ArgumentTypeError(f"allowed: a SCHED_FIFO priority 1..99 (got {text!r})")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="humanoid-rt",
        description="Real-time control runtime for full-size humanoid robots.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the bundled humanoid through a whole-body motion in real time and report loop timing",
        description="Runs a simulated humanoid (no hardware) in real time: enable, a squat-and-wave motion streamed "
        "at 100 Hz, disable; then prints cycles, overruns, wakeup-latency and compute-time percentiles.",
    )
    demo.add_argument("--seconds", type=_positive_seconds, default=10.0, help="run time (default 10)")
    demo.add_argument("--rate", type=_rate, default=1000,
                      help=f"loop rate in Hz: {', '.join(map(str, LOOP_RATES_HZ))} (default 1000)")
    demo.add_argument("--bus", default="mock", choices=("mock", "can-virtual"),
                      help="bus to run on: mock, or can-virtual (virtual CAN motors on 4 CAN-FD buses) (default mock)")
    demo.add_argument("--robot", default="generic_humanoid", help=f"bundled robot name or config path (bundled: {', '.join(bundled_robots())})")
    demo.add_argument("--priority", type=_priority, default=None, help="SCHED_FIFO priority 1..99 (default: the config's)")
    demo.add_argument("--cpu", type=_cpu, default=None, help="CPU to pin the loop thread to (default: the config's)")
    demo.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the report as JSON")

    check = commands.add_parser(
        "check-config", help="validate a robot config and print every problem",
        description="Validates a robot YAML (or bundled robot name) and prints each problem with the field and the allowed values.",
    )
    check.add_argument("config", help="path to a robot YAML, or a bundled robot name")

    # ---- CAN ----
    decode = commands.add_parser(
        "can-decode", help="decode a candump or python-can log with the CAN protocols' DBC files",
        description="Decodes every frame of a CAN log (candump -l / candump output, or any python-can log: .asc, "
        ".blf, .csv, .log, .trc) as commands and replies of the MIT protocol family, with the DBC files of "
        "firmware_interfaces/can/.",
    )
    decode.add_argument("log", type=Path, help="the log file")
    decode.add_argument("--protocol", action="append", choices=_can_protocols(), default=None,
                        help="protocol(s) to try, in order (default: all)")
    decode.add_argument("--limit", type=int, default=None, metavar="N", help="stop after N frames")
    # ---- end CAN ----

    commands.add_parser(
        "doctor", help="report this machine's real-time capability and what to change", add_help=False,
    )
    return parser


def _can_protocols() -> tuple[str, ...]:  # ---- CAN ----
    from .can.protocols import PROTOCOLS

    return PROTOCOLS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["doctor"]:
        from .doctor import main as doctor_main

        return doctor_main(argv[1:])
    args = _build_parser().parse_args(argv)
    if args.command == "check-config":
        return _check_config(args.config)
    if args.command == "can-decode":  # ---- CAN ----
        from .can.decode import main as decode_main

        return decode_main(args.log, protocols=args.protocol, limit=args.limit)
    if args.command == "demo":
        try:
            from .demo import run_demo

            run_demo(seconds=args.seconds, rate_hz=args.rate, bus=args.bus, robot_name=args.robot,
                     json_path=args.json, priority=args.priority, cpu=args.cpu)
        except ConfigError as error:
            print(f"humanoid-rt demo: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("humanoid-rt demo: interrupted; the robot was stopped safely", file=sys.stderr)
            return 130
        return 0
    raise AssertionError(args.command)


def _check_config(source: str) -> int:
    try:
        config = load_config(source)
    except ConfigError as error:
        print(f"{len(error.errors)} problem(s) in {source}:")
        for issue in error.errors:
            print(f"  {issue.field}: {issue.problem}; allowed: {issue.allowed} (got {issue.got!r})")
        return 1
    buses = ", ".join(f"{b.name} ({b.type})" for b in config.buses)
    print(f"{source}: OK: {config.name}, {config.n_joints} joints, {config.loop.rate_hz} Hz, buses: {buses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
