"""`humanoid-rt run`, `teleop-send` and `teleop-keygen` (wired into humanoid_rt.cli)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from . import protocol
from .run_report import AppliedSetpoints, build_report, write_report


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value <= 10000 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"allowed: a packet rate in Hz, 0 < rate <= 10000 (got {text!r})")
    return value


def _url(text: str) -> tuple[str, int]:
    try:
        return protocol.parse_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 (got {text!r})")
    return value


def add_commands(commands, bundled: str) -> None:
    run = commands.add_parser(
        "run", help="run a robot in real time, optionally driven by a teleop stream, printing live counters",
        description="Starts the robot's loop in real time, enables it, and (with --teleop) receives authenticated "
        "teleop packets on udp://HOST:PORT (binds 127.0.0.1 unless HOST says otherwise). Prints supervisor state "
        "and teleop counters every --interval seconds; Ctrl-C stops the robot safely.",
    )
    run.add_argument("--config", default="generic_humanoid", help=f"robot YAML or bundled robot name (bundled: {bundled})")
    run.add_argument("--bus", default=None, choices=("mock",), help="run every joint on this bus type")
    run.add_argument("--teleop", type=_url, default=None, metavar="udp://HOST:PORT", help="receive teleop packets here")
    run.add_argument("--key-file", type=Path, default=None, help="pre-shared key file (hex); required with --teleop")
    run.add_argument("--seconds", type=_seconds, default=None, help="stop after this long (default: until Ctrl-C)")
    run.add_argument("--interval", type=_seconds, default=1.0, help="seconds between counter lines (default 1)")
    run.add_argument("--start-gate", type=_seconds, default=0.8, metavar="RAD",
                     help="refuse to engage when a first target is farther than this from the pose (default 0.8)")
    run.add_argument("--no-enable", action="store_true", help="do not enable the robot (teleop packets are then refused)")
    from ..live.cli import add_arguments as add_live_arguments

    add_live_arguments(run)
    # ---- Zenoh (humanoid_rt/remote) ----
    run.add_argument("--zenoh", nargs="?", const="", default=None, metavar="ZENOH_CONFIG",
                     help="put the robot on Zenoh (humanoid_rt/<robot id>/...; firmware_interfaces/zenoh/KEYS.md), "
                     "optionally with a Zenoh JSON5 config file; commands need --key-file")
    run.add_argument("--robot-id", default=None, help="the robot's fleet id (default $HUMANOID_RT_ROBOT_ID or <config>-<host>)")
    run.add_argument("--state-rate", type=_rate, default=100.0, metavar="HZ", help="Zenoh state rate (default 100)")
    from ..remote import session as zenoh_session

    zenoh_session.add_arguments(run, default_mode="peer", config_file=False)  # the file is --zenoh's
    run.add_argument("--json", type=Path, default=None, metavar="PATH",
                     help="at the end (also after Ctrl-C), write a report: the setpoints the loop applied (count, "
                     "per source, the last one) and the teleop counters")

    send = commands.add_parser(
        "teleop-send", help="stream joint targets to a robot from a trajectory file or a generator",
        description="Streams authenticated teleop packets at --rate. Trajectory files: CSV with a header "
        "`t,<joint>,...` (t in s, positions in rad) or NPZ with t, q, joint_names; the sender interpolates "
        "linearly between samples. The generator `sine` moves --joints around 0 by --amplitude.",
    )
    target = send.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", type=_url, metavar="udp://HOST:PORT", help="the robot's teleop address")
    target.add_argument("--zenoh", metavar="ROBOT_ID", help="send over Zenoh to this robot (found by id; "
                        "its joint names come from its info unless --robot is given)")
    zenoh_session.add_arguments(send, default_mode="peer")
    send.add_argument("--key-file", type=Path, required=True, help="pre-shared key file (hex)")
    source = send.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="trajectory file (.csv or .npz)")
    source.add_argument("--generator", choices=("sine",), help="a built-in target generator")
    send.add_argument("--robot", default=None, help="robot config naming the joints (default generic_humanoid; "
                      "with --zenoh: the robot's own joint names)")
    send.add_argument("--rate", type=_rate, default=100.0, help="packets per second (default 100)")
    send.add_argument("--seconds", type=_seconds, default=None, help="stop after this long (default: the file's length; "
                      "a generator runs until Ctrl-C)")
    send.add_argument("--joints", default="right_elbow", help="generator: comma-separated joint names")
    send.add_argument("--amplitude", type=float, default=0.2, help="generator: amplitude [rad] (default 0.2)")
    send.add_argument("--frequency", type=_seconds, default=0.5, help="generator: frequency [Hz] (default 0.5)")
    send.add_argument("--ttl", type=_seconds, default=None, help="packet TTL [s] (default: max(0.1, 5 intervals))")
    send.add_argument("--due-in", type=_seconds, default=None, help="target due time after sending [s] "
                      "(default: 2 intervals, at least 10 ms)")

    keygen = commands.add_parser("teleop-keygen", help="write a new random pre-shared teleop key (hex) to a file")
    keygen.add_argument("path", type=Path)
    keygen.add_argument("--force", action="store_true", help="overwrite an existing file")


def main(args) -> int:
    try:
        if args.command == "teleop-keygen":
            if args.path.exists() and not args.force:
                print(f"humanoid-rt teleop-keygen: {args.path} exists; use --force to overwrite", file=sys.stderr)
                return 2
            protocol.write_key(args.path)
            print(f"wrote a 32-byte key to {args.path} (mode 0600); copy it to the robot and the operator station")
            return 0
        if args.command == "teleop-send":
            return _send(args)
        return _run(args)
    except ValueError as error:
        print(f"humanoid-rt {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"humanoid-rt {args.command}: interrupted", file=sys.stderr)
        return 130


def _send(args) -> int:
    from ..config import ConfigError, load_config

    key = protocol.load_key(args.key_file)
    zenoh_session = handle = None
    if args.zenoh is not None:  # ---- Zenoh: find the robot by id, take its joint names ----
        from ..remote.operator import RobotHandle
        from ..remote.session import open_session, options_from_args

        try:
            zenoh_session = open_session(options_from_args(args, args.zenoh_config))
            handle = RobotHandle(zenoh_session, args.zenoh)
        except (ConnectionError, LookupError) as error:
            if zenoh_session is not None:
                zenoh_session.close()
            print(f"humanoid-rt teleop-send: --zenoh: {error}", file=sys.stderr)
            return 2
    try:
        joint_names = (handle.info()["joint_names"] if handle is not None and args.robot is None
                       else load_config(args.robot or "generic_humanoid").joint_names)
    except ConfigError as error:
        print(f"humanoid-rt teleop-send: --robot: {error}", file=sys.stderr)
        return 2
    try:
        return _stream(args, key, joint_names, zenoh_session)
    finally:
        if zenoh_session is not None:
            zenoh_session.close()


def _stream(args, key: bytes, joint_names, zenoh_session) -> int:
    from .sender import TeleopClient, load_trajectory, sine_generator

    interval = 1.0 / args.rate
    ttl = args.ttl or max(0.1, 5 * interval)
    due_in = args.due_in or max(0.01, 2 * interval)
    if args.file is not None:
        source = load_trajectory(args.file)
        unknown = [n for n in source.joint_names if n not in joint_names]
        if unknown:
            raise ValueError(f"{args.file}: unknown joints {unknown}; allowed: {', '.join(joint_names)}")
        what = f"{args.file} ({source.duration:.2f} s, {len(source.joint_names)} joints)"
    else:
        names = [n.strip() for n in args.joints.split(",") if n.strip()]
        unknown = [n for n in names if n not in joint_names]
        if unknown or not names:
            raise ValueError(f"--joints: unknown {unknown or names}; allowed: {', '.join(joint_names)}")
        source = sine_generator(names, amplitude=args.amplitude, frequency_hz=args.frequency)
        what = f"sine on {', '.join(names)}"
    if zenoh_session is not None:
        from ..remote.operator import ZenohTeleopClient

        client = ZenohTeleopClient(zenoh_session, args.zenoh, key, joint_names=joint_names, ttl_s=ttl, due_in_s=due_in)
        where = f"zenoh {client.handle.keys.prefix}/cmd/joints"
    else:
        client = TeleopClient(args.to, key, joint_names=joint_names, ttl_s=ttl, due_in_s=due_in)
        where = f"udp://{args.to[0]}:{args.to[1]}"
    with client:
        print(f"teleop-send: {what} -> {where} at {args.rate:g} Hz, session {client.session_id:016x}", flush=True)
        sent = client.stream(source, args.rate, duration=args.seconds)
    print(f"teleop-send: sent {sent} packets")
    return 0


def format_counters(robot, stats: dict | None) -> str:
    state = robot.state()
    line = f"t={state.time:8.2f}s {state.supervisor_state:<8}"
    if stats is None:
        return line
    reasons = ",".join(f"{k}={v}" for k, v in stats["rejected"].items() if v)
    lat = stats["receive_to_applied_latency"]
    tr = stats["send_to_receive_latency"]
    return (f"{line} accepted={stats['accepted']} rejected={stats['rejected_total']}"
            f"{' (' + reasons + ')' if reasons else ''} gaps={stats['gaps']} estops={stats['estops']}"
            f" engaged={'yes' if stats['engaged'] else 'no'}"
            f" send->recv p50/p99={tr['p50_us']:.0f}/{tr['p99_us']:.0f}us"
            f" recv->applied p50/p99={lat['p50_us']:.0f}/{lat['p99_us']:.0f}us"
            f" poses_applied={stats['poses_applied']}")


def _run(args) -> int:
    from ..config import ConfigError
    from ..robot import Robot

    if (args.teleop is not None or args.zenoh is not None) and args.key_file is None:
        raise ValueError("--key-file: required with --teleop and --zenoh (create one with `humanoid-rt teleop-keygen PATH`)")
    key = protocol.load_key(args.key_file) if args.key_file is not None else None
    zenoh_options = None
    if args.zenoh is not None:
        from ..remote.session import options_from_args

        zenoh_options = options_from_args(args, args.zenoh or None)
    try:
        robot = Robot(args.config, bus=args.bus, robot_id=args.robot_id)
    except ConfigError as error:
        print(f"humanoid-rt run: {error}", file=sys.stderr)
        return 2
    with robot:
        report = robot.start()
        print(f"run: {robot.config.name}, {robot.n_joints} joints at {robot.rate_hz:g} Hz; "
              f"SCHED_FIFO {'yes' if report['sched_fifo'] else 'no'} {report['notes']}".rstrip())
        from ..live.cli import LiveOptions, attach as attach_live_views

        attach_live_views(robot, LiveOptions.from_args(args), echo=lambda line: print(f"run: {line}", flush=True))
        tap = robot.telemetry_tap(capacity=int(robot.rate_hz * 10)) if args.json is not None else None
        applied = AppliedSetpoints()
        started = time.monotonic()
        try:
            if not args.no_enable:
                robot.enable()
            if args.teleop is not None:
                host, port = args.teleop
                receiver = robot.attach_teleop(key=key, host=host, port=port, start_gate_rad=args.start_gate)
                print(f"run: teleop on {receiver.url}", flush=True)
            if zenoh_options is not None:
                try:
                    node = robot.attach_zenoh(zenoh_options, key=key, state_rate_hz=args.state_rate,
                                              start_gate_rad=args.start_gate)
                except ConnectionError as error:
                    print(f"humanoid-rt run: --zenoh: {error}", file=sys.stderr)
                    return 2
                print(f"run: on zenoh as {node.keys.prefix} ({zenoh_options.mode}), state at {args.state_rate:g} Hz",
                      flush=True)
            deadline = None if args.seconds is None else started + args.seconds
            next_line = started + args.interval
            while deadline is None or time.monotonic() < deadline:
                # Wake at least every 0.25 s so the report's telemetry reader never falls behind.
                until = next_line if deadline is None else min(next_line, deadline)
                time.sleep(max(0.0, min(0.25, until - time.monotonic())))
                if tap is not None:
                    applied.feed(tap.drain())
                if time.monotonic() >= next_line or (deadline is not None and time.monotonic() >= deadline):
                    next_line += args.interval
                    stats = robot.teleop_statistics() if robot.teleop is not None else None
                    line = format_counters(robot, stats)
                    if robot.zenoh is not None:
                        z = robot.zenoh.statistics()
                        line += f" zenoh: relayed={z['relayed']} wrong_kind={z['wrong_kind']} requests={z['requests']}"
                    print(line, flush=True)
        finally:
            if tap is not None:
                state_before_stop = robot.state().supervisor_state
                robot.stop()  # the loop stands still: the last samples are in the ring
                applied.feed(tap.drain())
                write_report(args.json, build_report(robot, applied, telemetry_dropped=tap.dropped,
                                                     wall_seconds=time.monotonic() - started,
                                                     state_before_stop=state_before_stop))
                tap.close()
                print(f"run: report written to {args.json}", flush=True)
    print("run: stopped safely")
    return 0
