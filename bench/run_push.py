"""The largest impulse on the pelvis a standing robot survives, per robot and direction, bisected on the
stepped MuJoCo twin (issue 13). Writes JSON.

    python bench/run_push.py --json bench-push.json [--robots generic_humanoid g1] [--duration 0.1]
        [--controller stiff_legs|contact_qp] [--cross-check]

A push is a constant force on the pelvis (root body) for `duration` seconds (MujocoBus.push: exact to the
physics step), from standing (the stiff-leg stopgap, floating_base.standing_gains, until the contact QP).
Survived: no fall detected within 3 s and the base upright (tilt < 5 deg) at the end. Fell: the fall
detector's FAULT (its reason and the cycles from the push to it are recorded, and the protective
behaviour runs). Stepped, so the figures are exact for the model; the bisection stops at --tolerance N s.

--cross-check: then both bisection ends again with fall detection off (floating_base.fall.enabled: false),
followed for --check-seconds: the largest base tilt shows whether the body really stays upright at the
survived impulse and really falls (tilt > 80 deg) at the "falls at" one, i.e. the detector missed no fall
and raised no false one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from humanoid_rt.benchmarks.standing import push_standing, standing_robot

DIRECTIONS = {"forward": (1.0, 0.0, 0.0), "backward": (-1.0, 0.0, 0.0), "sideways": (0.0, 1.0, 0.0)}
UPRIGHT_DEG = 5.0
FALLEN_DEG = 80.0


def unprotected(robot_name: str, direction: str, magnitude: float, duration: float, controller: str,
                seconds: float) -> dict:
    """The push with fall detection off: the twin's largest and final tilt over `seconds`."""
    robot = standing_robot(robot_name, controller=controller, fall_detection=False)
    try:
        impulse = [magnitude * axis for axis in DIRECTIONS[direction]]
        result = push_standing(robot, impulse, duration_s=duration, seconds=seconds)
        return {"impulse_ns": magnitude, "max_tilt_deg": round(result["max_tilt_deg"], 2),
                "final_tilt_deg": round(result["final_tilt_deg"], 2), "fallen": result["max_tilt_deg"] > FALLEN_DEG,
                "state": result["state"]}
    finally:
        robot.close()


def trial(robot_name: str, direction: str, magnitude: float, duration: float, controller: str) -> dict:
    robot = standing_robot(robot_name, controller=controller)
    try:
        impulse = [magnitude * axis for axis in DIRECTIONS[direction]]
        result = push_standing(robot, impulse, duration_s=duration)
        result["survived"] = not result["fell"] and result["final_tilt_deg"] < UPRIGHT_DEG
        result.pop("events")
        return result
    finally:
        robot.close()


def bisect(robot_name: str, direction: str, duration: float, high: float, tolerance: float,
           controller: str) -> dict:
    low, trials = 0.0, []
    first_fall = None
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        result = trial(robot_name, direction, middle, duration, controller)
        trials.append({k: result[k] for k in ("impulse_ns", "survived", "fall_reason", "fall_cycles", "max_tilt_deg")})
        if result["survived"]:
            low = middle
        else:
            high, first_fall = middle, result
    return {"largest_survived_ns": low, "smallest_fall_ns": high, "tolerance_ns": tolerance,
            "fall_at_smallest": None if first_fall is None else
            {"reason": first_fall["fall_reason"], "cycles_after_push": first_fall["fall_cycles"]},
            "trials": trials}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--robots", nargs="+", default=["generic_humanoid", "g1"])
    parser.add_argument("--duration", type=float, default=0.1, help="push duration [s] (default 0.1)")
    parser.add_argument("--max-impulse", type=float, default=120.0, help="bisection upper bound [N s]")
    parser.add_argument("--tolerance", type=float, default=1.0, help="bisection resolution [N s]")
    parser.add_argument("--controller", choices=("stiff_legs", "contact_qp"), default="stiff_legs",
                        help="what the robot stands on (model.standing.controller; default stiff_legs)")
    parser.add_argument("--cross-check", action="store_true",
                        help="then push at both bisection ends with fall detection off (does the body really fall?)")
    parser.add_argument("--check-seconds", type=float, default=4.0, help="followed after a cross-check push [s]")
    args = parser.parse_args(argv)
    if not 0.001 <= args.duration <= 5.0:
        parser.error("--duration: allowed: 0.001..5 s")
    if not (args.max_impulse > 0 and 0 < args.tolerance < args.max_impulse):
        parser.error("--max-impulse: > 0; --tolerance: in (0, max-impulse)")
    results: dict = {"duration_s": args.duration, "standing": args.controller, "robots": {}}
    started = time.monotonic()
    for robot_name in args.robots:
        results["robots"][robot_name] = {}
        for direction in DIRECTIONS:
            found = bisect(robot_name, direction, args.duration, args.max_impulse, args.tolerance, args.controller)
            results["robots"][robot_name][direction] = found
            fall = found["fall_at_smallest"] or {}
            print(f"{robot_name:17s} {direction:9s} survives {found['largest_survived_ns']:6.1f} N s, falls at "
                  f"{found['smallest_fall_ns']:6.1f} N s ({fall.get('reason')} after {fall.get('cycles_after_push')} cycles)")
            if args.cross_check:
                checks = {end: unprotected(robot_name, direction, found[key], args.duration, args.controller,
                                           args.check_seconds)
                          for end, key in (("survived", "largest_survived_ns"), ("falls_at", "smallest_fall_ns"))}
                checks["consistent"] = not checks["survived"]["fallen"] and checks["falls_at"]["fallen"]
                found["fall_detection_off"] = checks
                print(f"{'':17s} {'':9s} fall detection off: max tilt {checks['survived']['max_tilt_deg']:.1f} deg at "
                      f"{found['largest_survived_ns']:.1f} N s, {checks['falls_at']['max_tilt_deg']:.1f} deg at "
                      f"{found['smallest_fall_ns']:.1f} N s ({'consistent' if checks['consistent'] else 'INCONSISTENT'})")
    results["wall_s"] = round(time.monotonic() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
