"""Instruction count of one control cycle, for before/after comparisons on a loaded machine.

    valgrind --tool=callgrind --toggle-collect='humanoid_rt::ControlLoop::cycle*' \
        --callgrind-out-file=cycle.out python bench/profile_cycle.py --controller whole_body --cycles 2000
    callgrind_annotate cycle.out | head -40          # instructions per function; total / cycles = per cycle

Runs the bundled 31-joint humanoid on its 5 mock buses in stepped mode (the same cycle() the
real-time thread runs): ACTIVE after the enable ramp, a joint target set, and for `whole_body`
gravity compensation plus two hand tasks moving. Wall time under valgrind means nothing; the
instruction count (Ir) is repeatable, which is why it is the before/after evidence here.
Without valgrind it prints the stepped cycle's mean wall time (warm caches).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from humanoid_rt import Robot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controller", choices=("joint_impedance", "whole_body"), default="joint_impedance")
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    with Robot("generic_humanoid", telemetry_capacity=1 << 14) as robot:
        robot.set_gravity_compensation(args.controller == "whole_body")
        robot.enable()
        robot.step(600)
        robot.set_joint_targets(np.zeros(robot.n_joints), ttl=0)
        if args.controller == "whole_body":
            for hand in ("left_hand", "right_hand"):
                pose = robot.frame_pose(hand)
                pose[2, 3] += 0.05
                robot.set_frame_target(hand, pose, duration=5.0)
        robot.step(10)
        robot.drain_telemetry()
        start = time.perf_counter()
        done = 0
        while done < args.cycles:
            batch = min(1000, args.cycles - done)
            robot.step(batch)  # the ring holds 16 k samples: drain between batches so none overflow
            robot.drain_telemetry()
            done += batch
        elapsed = time.perf_counter() - start
        state = robot.state()
        print(f"{args.controller}: {args.cycles} stepped cycles, mean {elapsed / args.cycles * 1e6:.2f} us per "
              f"cycle incl. drain (warm caches); state {state.supervisor_state}, "
              f"allocations {robot.statistics()['realtime_allocations']}")


if __name__ == "__main__":
    main()
