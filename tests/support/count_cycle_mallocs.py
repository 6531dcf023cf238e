"""Counts the C allocator's calls made while the loop runs cycles, scenario by scenario; prints one JSON
object. Run by tests/test_realtime_malloc.py in a subprocess with LD_PRELOAD=libmalloc_counter.so
(tests/support/malloc_counter.c), which counts malloc, calloc, realloc, posix_memalign, aligned_alloc,
memalign, valloc and pvalloc per thread.

Each scenario steps the loop (ControlLoop.step, the stepping thread runs the cycles and the twin's
physics) in chunks and records how many allocations each chunk's call made; `one_cycle` is the count
of a one-cycle call in the same state (the call's own constant overhead). A chunk of many cycles with
the same count made no allocation per cycle, nor any at a transition inside it (a fall, a crouch's
start, a task switching on).

    LD_PRELOAD=/tmp/libmalloc_counter.so python tests/support/count_cycle_mallocs.py [--bus mujoco|mock]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys

import numpy as np

from humanoid_rt import Robot, _core
from humanoid_rt.benchmarks.standing import push_standing, standing_robot, trigger
from humanoid_rt.standing_scenario import ScenarioDriver

_count = ctypes.CDLL(None).malloc_counter_thread_count  # this thread's allocations (the preloaded counter)
_count.restype = ctypes.c_ulonglong


def mallocs_in(robot: Robot, cycles: int) -> int:
    before = _count()
    robot._loop.step(cycles)
    return _count() - before


class Scenario:
    def __init__(self, name: str, robot: Robot):
        self.name, self.robot = name, robot
        mallocs_in(robot, 1)  # warm the call path once
        self.one_cycle = min(mallocs_in(robot, 1) for _ in range(3))
        self.chunks: list[dict] = []

    def run(self, cycles: int, label: str = "") -> None:
        self.chunks.append({"cycles": cycles, "label": label, "mallocs": mallocs_in(self.robot, cycles)})

    def result(self, **facts) -> dict:
        return {"one_cycle": self.one_cycle, "chunks": self.chunks, "cycles": sum(c["cycles"] for c in self.chunks),
                "realtime_allocations": self.robot.statistics()["realtime_allocations"], **facts}


def counter_sees_the_core() -> int:
    """Positive control: allocations the core makes on this thread (operator new -> malloc from
    _core's code, as Eigen's or the solver's would be) reach the counter: 100 x 2 expected."""
    _core.testing.allocate_while_realtime(0)
    before = _count()
    _core.testing.allocate_while_realtime(100)
    return _count() - before


def reasons(robot: Robot) -> list[str]:
    return [event["reason"] for event in robot.events()]


def contact_qp_reach_and_squat(name: str, bus: str, seconds: float) -> dict:
    """Standing on the contact QP (estimator, fall detection, QP every cycle): ready crouch, both hands
    reaching (task targets moving), the squat starting."""
    robot = Robot(name, bus=bus, floating=True)
    driver = ScenarioDriver.for_robot(robot)
    robot.enable()
    t_enable = robot.now()
    scenario = Scenario("contact_qp", robot)
    for _ in range(int(seconds * 4)):
        driver.advance(robot.now() - t_enable)
        scenario.run(250)
    stats = robot.standing_statistics()
    result = scenario.result(state=robot.state().supervisor_state, qp_solves=stats["solves"],
                             qp_failures=stats["failures"], actions=[action for _, action in driver.events])
    robot.close()
    return result


def fixed_base_whole_body(name: str, bus: str) -> dict:
    """A fixed base: gravity compensation, joint impedance and a hand task moving over 1 s."""
    robot = Robot(name, bus=bus, floating=False)
    robot.set_gravity_compensation(True)
    robot.enable()
    robot.step(600)
    scenario = Scenario("fixed_base", robot)
    hand = next(frame for frame in robot.task_frames if "hand" in frame)
    pose = np.array(robot.model.frame_pose(list(robot.state().q), hand)).reshape(4, 4)
    pose[0, 3] += 0.1
    robot.set_frame_target(hand, pose, duration=1.0)
    for _ in range(6):
        scenario.run(250)
    result = scenario.result(state=robot.state().supervisor_state, task_on=bool(robot.task_errors()))
    robot.close()
    return result


def estimator_on_stiff_legs(name: str) -> dict:
    """Floating on the twin on stiff legs: the base state estimator and fall detection without the QP."""
    robot = standing_robot(name, "stiff_legs")
    scenario = Scenario("estimator", robot)
    for _ in range(4):
        scenario.run(500)
    result = scenario.result(state=robot.state().supervisor_state, base_valid=bool(robot.base_state()["valid"]))
    robot.close()
    return result


def fall_and_protect(name: str, impulse_ns: float) -> dict:
    """Pushed over while standing on the QP: the fall's FAULT, the protective behaviour (damped, arms
    tucked), then STO; all inside measured chunks."""
    robot = standing_robot(name, "contact_qp")
    scenario = Scenario("fall", robot)
    robot.twin().push(impulse_ns=(impulse_ns, 0.0, 0.0), duration_s=0.1)
    for _ in range(10):
        scenario.run(500)
    result = scenario.result(state=robot.state().supervisor_state, reasons=reasons(robot))
    robot.close()
    return result


def base_target(name: str) -> dict:
    """A pelvis height and pitch target on the QP: the legs' posture re-solved in the loop every cycle
    (Jacobians, CoM, 6 x 6 solves) while the pelvis goes 5 cm down and pitches 0.1 rad."""
    robot = standing_robot(name, "contact_qp")
    scenario = Scenario("base_target", robot)
    robot.set_base_target(height_offset_m=-0.05, rpy=(0.0, 0.1, 0.0), duration=1.0)
    for _ in range(4):
        scenario.run(500)
    stats = robot.standing_statistics()
    result = scenario.result(state=robot.state().supervisor_state, qp_failures=stats["failures"],
                             base_goal=list(robot.standing_status()["base_goal"]))
    robot.close()
    return result


def crouch_stop(name: str) -> dict:
    """disable() while standing on the QP: the crouch (a cubic on stiffened legs, fixed-base controller),
    its completion, the support reached, damping, STO."""
    robot = standing_robot(name, "contact_qp")
    scenario = Scenario("crouch", robot)
    trigger(robot, "disable")
    for _ in range(8):
        scenario.run(500)
    result = scenario.result(state=robot.state().supervisor_state, reasons=reasons(robot))
    robot.close()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bus", choices=("mujoco", "mock"), default="mujoco")
    parser.add_argument("--robot", default="generic_humanoid")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="contact QP scenario (loop time): ready, reach at 2.5 s, squat at 5.5 s")
    args = parser.parse_args(argv)
    out = {"control_mallocs": counter_sees_the_core(), "fixed_base": fixed_base_whole_body(args.robot, args.bus)}
    if args.bus == "mujoco":  # standing needs gravity and foot forces: the twin
        out["contact_qp"] = contact_qp_reach_and_squat(args.robot, args.bus, args.seconds)
        out["estimator"] = estimator_on_stiff_legs(args.robot)
        out["fall"] = fall_and_protect(args.robot, 40.0)  # twice what it survives on the QP (README)
        out["crouch"] = crouch_stop(args.robot)
        out["base_target"] = base_target(args.robot)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
