"""The `humanoid-rt` command line."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from . import buses
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
    demo.add_argument("--rate", type=_rate, default=None,
                      help=f"loop rate in Hz: {', '.join(map(str, LOOP_RATES_HZ))} (default 1000)")
    demo.add_argument("--bus", default="mock", choices=buses.run_choices(),
                      help=f"{buses.run_help()} (default mock)")
    demo.add_argument("--view", action="store_true", help="open the MuJoCo viewer when a display exists (ignored headless)")
    demo.add_argument("--robot", default="generic_humanoid",
                      help=f"bundled robot name or config path (bundled: {', '.join(bundled_robots())}; "
                           "g1 needs pip install 'humanoid_rt[g1]')")
    demo.add_argument("--priority", type=_priority, default=None, help="SCHED_FIFO priority 1..99 (default: the config's)")
    demo.add_argument("--cpu", type=_cpu, default=None, help="CPU to pin the loop thread to (default: the config's)")
    demo.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the report as JSON")
    demo.add_argument("--stand", action="store_true",
                      help="floating twin (--bus mujoco) standing on the contact QP: stand, reach, squat; balance report")
    demo.add_argument("--record", type=Path, default=None, metavar="DIR",
                      help="record the run as an episode (MCAP) in the session directory DIR")
    from .live.cli import add_arguments as add_live_arguments

    add_live_arguments(demo)

    check = commands.add_parser(
        "check-config", help="validate a robot config and print every problem",
        description="Validates a robot YAML (or bundled robot name) and prints each problem with the field and the allowed values.",
    )
    check.add_argument("config", help="path to a robot YAML, or a bundled robot name")

    bench = commands.add_parser(
        "bench", help="benchmark suite: loop latency vs cyclictest, compute, API, Python baseline, teleop",
        description="Measures, in one invocation: loop wakeup latency against cyclictest (run just before, same "
        "priority and period) at 1, 2 and 4 kHz; compute time per cycle by robot size and controller; Python API "
        "call overhead; a pure-Python loop on the same work; teleop latency and loopback rate; the standing "
        "controller's control time on the twin (G1, generic) against the same QP from Python. Writes one JSON "
        "file and prints a summary. Needs root for SCHED_FIFO; cyclictest from rt-tests.")
    bench.add_argument("--quick", action="store_true", help="short runs for CI (under two minutes)")
    bench.add_argument("--bus", default="mock", choices=buses.run_choices() + ("config",),
                       help=f"bus the loop-latency section runs on (default mock): {buses.run_help()}; or config: "
                       "the --robot config's own buses, i.e. the hardware (HIL); a section whose hardware is absent is "
                       "skipped with the reason in the summary and the JSON")
    bench.add_argument("--robot", default="generic_humanoid", metavar="ROBOT",
                       help="bundled robot name or config path for the bus sections (default generic_humanoid)")
    bench.add_argument("--soak", type=_positive_seconds, default=None, metavar="MINUTES",
                       help="instead: loop + teleop + telemetry reader for MINUTES; reports RSS growth, overruns, drops")
    bench.add_argument("--sections", default=None, metavar="LIST",
                       help="comma-separated sections to run (default all): latency, compute, api, baseline, teleop, "
                       "recording, standing")
    bench.add_argument("--seconds", type=_positive_seconds, default=None, metavar="SECONDS",
                       help="length of each real-time run (latency per rate, baseline, teleop, standing per robot); "
                       "default 10, 1 with --quick; the issue-13 standing figure: --sections standing --seconds 60")
    bench.add_argument("--json", type=Path, default=Path("bench.json"), metavar="PATH", help="output (default bench.json)")

    compare = commands.add_parser("bench-compare", help="compare two benchmark JSON files as ratios",
                                  description="Prints every figure of B against A as a ratio and flags regressions.")
    compare.add_argument("a", type=Path, help="the reference run")
    compare.add_argument("b", type=Path, help="the run to check")
    compare.add_argument("--threshold", type=float, default=0.10, help="regression threshold as a fraction (default 0.10)")

    from .tuning.cli import add_parser as add_tune_parser

    add_tune_parser(commands)
    for plugin in buses.plugins():  # each bus family's own commands (CAN: can-decode)
        plugin.add_commands(commands)

    commands.add_parser(
        "doctor", help="report this machine's real-time capability and what to change", add_help=False,
    )

    # ---- LeRobot export (humanoid_rt/recording/lerobot_export.py) ----
    from .recording.lerobot_export import add_command as add_export_command

    add_export_command(commands)

    # ---- teleop: run, teleop-send, teleop-keygen (humanoid_rt/teleop/cli.py) ----
    from .teleop.cli import add_commands as add_teleop_commands

    add_teleop_commands(commands, bundled=", ".join(bundled_robots()))

    # ---- recording: episodes, recover (humanoid_rt/recording/cli.py) ----
    from .recording.cli import add_commands as add_recording_commands

    add_recording_commands(commands)

    # ---- skills: play, skill-info (humanoid_rt/skills/cli.py) ----
    from .skills.cli import add_commands as add_skill_commands

    add_skill_commands(commands, bundled=", ".join(bundled_robots()))

    # ---- serial devices: virtual-device (humanoid_rt/devices/cli.py) ----
    from .devices.cli import add_commands as add_device_commands

    add_device_commands(commands)

    # ---- Zenoh: zenoh-router, zenoh-acl, zenoh-certs, fleet, netns (humanoid_rt/remote/cli.py) ----
    from .remote.cli import add_commands as add_remote_commands

    add_remote_commands(commands)
    # ---- fleet: catalog, board (humanoid_rt/catalog/cli.py, humanoid_rt/board/cli.py) ----
    from .board.cli import add_commands as add_board_commands
    from .catalog.cli import add_commands as add_catalog_commands

    add_catalog_commands(commands)
    add_board_commands(commands)
    # ---- remote policy: policy-serve (humanoid_rt/remote/policy_server.py) ----
    from .remote.policy_server import add_command as add_policy_serve_command

    add_policy_serve_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["doctor"]:
        from .doctor import main as doctor_main

        return doctor_main(argv[1:])
    args = _build_parser().parse_args(argv)
    if args.command == "bench":
        from .benchmarks.suite import run_suite, soak

        try:
            if args.soak is not None:
                soak(args.soak, args.json)
            else:
                from .benchmarks.suite import SECTIONS

                sections = SECTIONS if args.sections is None else tuple(
                    name.strip() for name in args.sections.split(",") if name.strip())
                run_suite(quick=args.quick, bus=args.bus, json_path=args.json, robot=args.robot, sections=sections,
                          seconds=args.seconds)
        except ValueError as error:
            print(f"humanoid-rt bench: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "bench-compare":
        from .benchmarks.compare import main as compare_main

        try:
            return compare_main(args.a, args.b, args.threshold)
        except ValueError as error:
            print(f"humanoid-rt {error}", file=sys.stderr)
            return 2
    if args.command == "tune":
        from .tuning.cli import run as run_tune

        try:
            return run_tune(args)
        except (ConfigError, KeyError, ValueError) as error:
            print(f"humanoid-rt tune: {error}", file=sys.stderr)
            return 2
    if args.command == "check-config":
        return _check_config(args.config)
    for plugin in buses.plugins():
        code = plugin.run_command(args)
        if code is not None:
            return code
    if args.command == "export-lerobot":  # ---- LeRobot export ----
        from .recording.lerobot_export import main as export_main

        return export_main(args)
    if args.command == "demo":
        if args.stand:  # floating base (issue 13): the standing scenario on the contact QP
            if args.bus != "mujoco":
                print(f"humanoid-rt demo --stand: --bus must be mujoco (the free-floating twin); got {args.bus}",
                      file=sys.stderr)
                return 2
            from .standing_scenario import run_stand_demo

            return run_stand_demo(args.robot, args.seconds if args.seconds != 10.0 else 20.0)
        try:
            from .demo import run_demo
            from .live.cli import LiveOptions

            report = run_demo(seconds=args.seconds,
                              rate_hz=args.rate or 1000,
                              bus=args.bus, robot_name=args.robot, json_path=args.json, priority=args.priority,
                              cpu=args.cpu, view=args.view, record=args.record, live=LiveOptions.from_args(args))
        except (ConfigError, ValueError) as error:  # ValueError: --live/--metrics-port options (humanoid_rt.live)
            print(f"humanoid-rt demo: {error}", file=sys.stderr)
            return 2
        except RuntimeError as error:  # a virtual set-up without root, or a bring-up that failed (names the step)
            if args.bus not in buses.setup_choices() and not isinstance(error, buses.unavailable_errors()):
                raise
            print(f"humanoid-rt demo --bus {args.bus}: {error}", file=sys.stderr)
            return 3
        except KeyboardInterrupt:
            print("humanoid-rt demo: interrupted; the robot was stopped safely", file=sys.stderr)
            return 130
        if report["final_state"] != "DISABLED":
            print(f"humanoid-rt demo: the supervisor stopped the robot ({report['final_state']}; transitions: "
                  f"{'; '.join(report['transitions'])})", file=sys.stderr)
            return 1
        return 0
    if args.command in ("run", "teleop-send", "teleop-keygen"):  # ---- teleop ----
        from .teleop.cli import main as teleop_main

        return teleop_main(args)
    if args.command in ("episodes", "recover"):  # ---- recording ----
        from .recording.cli import main as recording_main

        return recording_main(args)
    if args.command == "virtual-device":  # ---- serial devices ----
        from .devices.cli import main as devices_main

        return devices_main(args)
    if args.command == "catalog":  # ---- fleet ----
        from .catalog.cli import main as catalog_main

        return catalog_main(args)
    if args.command == "board":
        from .board.cli import main as board_main

        return board_main(args)
    if args.command in ("play", "skill-info"):  # ---- skills ----
        from .skills.cli import main as skills_main

        return skills_main(args)
    from .remote.cli import COMMANDS as REMOTE_COMMANDS  # ---- Zenoh ----

    if args.command in REMOTE_COMMANDS:
        from .remote.cli import main as remote_main

        return remote_main(args)
    if args.command == "policy-serve":  # ---- remote policy ----
        from .remote.policy_server import main as policy_serve_main

        return policy_serve_main(args)
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
