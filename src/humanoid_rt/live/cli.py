"""The live-view options of `humanoid-rt run` and `humanoid-rt demo`: --live [PORT], --metrics-port PORT."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from . import defaults


def tcp_port(text: str) -> int:
    """argparse type of every server port option (live view, metrics, board)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"allowed: a TCP port 0..65535, 0 = any free port (got {text!r})")
    return value


def _hz(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1.0 <= value <= 10000.0:
        raise argparse.ArgumentTypeError(f"allowed: a rate in Hz, 1..10000 and at most the loop rate (got {text!r})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live views")
    group.add_argument("--live", type=tcp_port, nargs="?", const=defaults.LIVE_PORT, default=None, metavar="PORT",
                       help=f"serve live telemetry to Foxglove/Lichtblick on ws://HOST:PORT (default port "
                            f"{defaults.LIVE_PORT}): joints, torques, 3D robot, supervisor events, task errors")
    group.add_argument("--live-host", default="127.0.0.1", metavar="HOST",
                       help="address the live server binds (default 127.0.0.1; 0.0.0.0 for viewers on other machines)")
    group.add_argument("--live-rate", type=_hz, default=defaults.JOINT_RATE_HZ, metavar="HZ",
                       help=f"joint telemetry rate of the live view (default {defaults.JOINT_RATE_HZ:g})")
    group.add_argument("--live-tf-rate", type=_hz, default=defaults.TRANSFORM_RATE_HZ, metavar="HZ",
                       help=f"3D transform rate of the live view (default {defaults.TRANSFORM_RATE_HZ:g})")
    group.add_argument("--metrics-port", type=tcp_port, default=None, metavar="PORT",
                       help=f"serve Prometheus metrics on http://HOST:PORT/metrics (e.g. {defaults.METRICS_PORT})")
    group.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                       help="address the metrics server binds (default 127.0.0.1)")


def cpus_beside_the_loop(robot) -> set[int] | None:
    """Every CPU this process may use except the loop's, when the loop is pinned and another is left."""
    report = robot.realtime_report
    if not report or not report.get("cpu_pinned"):
        return None
    return (os.sched_getaffinity(0) - {report["cpu"]}) or None


@dataclass(frozen=True)
class LiveOptions:
    live_port: int | None = None
    live_host: str = "127.0.0.1"
    joint_rate_hz: float = defaults.JOINT_RATE_HZ
    transform_rate_hz: float = defaults.TRANSFORM_RATE_HZ
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    @classmethod
    def from_args(cls, args) -> "LiveOptions":
        return cls(args.live, args.live_host, args.live_rate, args.live_tf_rate, args.metrics_port, args.metrics_host)


def attach(robot, options: LiveOptions | None, echo=print, devices=None) -> None:
    """Attach what the options ask for and say where to connect."""
    if options is None:
        return
    for flag, rate in (("--live-rate", options.joint_rate_hz), ("--live-tf-rate", options.transform_rate_hz)):
        if rate > robot.rate_hz:
            raise ValueError(f"{flag}: {rate:g} Hz; allowed: 1 .. the loop rate ({robot.rate_hz:g} Hz)")
    if options.metrics_port is not None:
        try:
            metrics = robot.attach_metrics(options.metrics_port, host=options.metrics_host)
        except OSError as error:
            raise ValueError(f"--metrics-port: cannot serve on {options.metrics_host}:{options.metrics_port} "
                             f"({error.strerror or error}); allowed: a free port, or 0 for any") from None
        echo(f"metrics: {metrics.url} (robot_id {robot.robot_id})")
    if options.live_port is not None:
        try:
            live = robot.attach_live(options.live_port, host=options.live_host, joint_rate_hz=options.joint_rate_hz,
                                     transform_rate_hz=options.transform_rate_hz, devices=devices,
                                     cpus=cpus_beside_the_loop(robot))
        except RuntimeError as error:  # the SDK's bind error
            raise ValueError(f"--live: cannot serve on {options.live_host}:{options.live_port} ({error}); "
                             f"allowed: a free port, or 0 for any") from None
        echo(f"live: {live.url} (Foxglove or Lichtblick: Open connection -> Foxglove WebSocket; 3D panel: "
             f"URDF layer from topic /robot_description, display frame {live.kinematics.root_link})")
