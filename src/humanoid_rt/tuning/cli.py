"""`humanoid-rt tune`: step and chirp experiments on one joint, a gain sweep, a report."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"allowed: comma-separated numbers >= 0, e.g. 50,100,200 (got {text!r})") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"allowed: comma-separated numbers >= 0 (got {text!r})")
    return values


def _band(text: str) -> tuple[float, float]:
    try:
        f0, f1 = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"allowed: F0:F1 in Hz with 0 < F0 < F1, e.g. 0.5:20 (got {text!r})") from None
    if not 0 < f0 < f1:
        raise argparse.ArgumentTypeError(f"allowed: F0:F1 in Hz with 0 < F0 < F1 (got {text!r})")
    return f0, f1


def add_parser(commands) -> None:
    tune = commands.add_parser(
        "tune", help="step and chirp experiments on a joint, a kp/kd sweep, metrics and a report with plots",
        description="Runs step and/or chirp experiments on one joint with the safety limits in force (stepped on the "
        "mock bus or the MuJoCo twin; in real time with --realtime), over a kp/kd grid, and writes report.md, "
        "PNG plots and results.json.")
    tune.add_argument("--robot", default="generic_humanoid", help="bundled robot name or config path")
    tune.add_argument("--bus", default="mock", choices=("mock", "mujoco"), help="bus (default mock)")
    tune.add_argument("--joint", required=True, help="joint name")
    tune.add_argument("--step", type=float, default=0.1, metavar="RAD", help="step amplitude (default 0.1; 0 = none)")
    tune.add_argument("--chirp", type=_band, default=None, metavar="F0:F1", help="also a chirp over F0..F1 Hz")
    tune.add_argument("--amplitude", type=float, default=0.05, help="chirp amplitude in rad (default 0.05)")
    tune.add_argument("--seconds", type=float, default=1.0, help="step duration (default 1; chirps run 8 s)")
    tune.add_argument("--kp", type=_floats, default=None, help="kp values to sweep (default: the config's)")
    tune.add_argument("--kd", type=_floats, default=None, help="kd values to sweep (default: the config's)")
    tune.add_argument("--realtime", action="store_true", help="run the loop in real time instead of stepped")
    tune.add_argument("--out", type=Path, default=Path("tune-report"), help="output folder (default tune-report)")


def run(args) -> int:
    from ..robot import Robot
    from .experiments import ChirpExperiment, StepExperiment, sweep_gains
    from .report import write_report

    with Robot(args.robot, bus=args.bus) as robot:
        j = robot.joint_index(args.joint)
        kps = args.kp or [float(robot.gains[0][j])]
        kds = args.kd or [float(robot.gains[1][j])]
        if args.realtime:
            robot.start()
        experiments = []
        if args.step:
            experiments.append(StepExperiment(args.joint, args.step, args.seconds))
        if args.chirp:
            experiments.append(ChirpExperiment(args.joint, args.chirp[0], args.chirp[1], args.amplitude))
        if not experiments:
            raise SystemExit("humanoid-rt tune: nothing to run: give --step RAD and/or --chirp F0:F1")
        results = []
        for experiment in experiments:
            results += sweep_gains(robot, experiment, kps, kds)
            if results[-1].aborted:
                break
    report = write_report(results, args.out, title=f"Tuning {args.joint} on {robot.config.name} ({args.bus})")
    (args.out / "results.json").write_text(json.dumps([r.summary() for r in results], indent=2, default=str) + "\n")
    for r in results:
        print(json.dumps(r.summary(), default=str))
    print(f"report: {report}")
    return 1 if any(r.aborted for r in results) else 0
