"""A humanoid standing on the contact QP (issue 13): the stand-reach-squat scenario that
`humanoid-rt demo --stand`, tests/test_standing.py and bench/run_standing.py share, and its balance report.

The scenario, after the enable ramp: crouch a little (straight knees are a singular pose from which no
acceleration lowers the body), then in a repeating 12 s cycle: both hands reach 0.3 m forward (Cartesian
tasks, position only), squat 0.15 m (CoM reference and the legs' posture; the hands go down with the
body), rise, hands back. The CoM reference moves by the height the legs' posture moves the CoM (the
CoM height follower of standing_motion.py, as for a skill: the 0.15 m squat of the pelvis lowers the CoM
0.12 m), so the legs' posture and the CoM task ask for the same body. Commands are issued by
`ScenarioDriver.advance(t)` with t the loop time since the enable, from a stepped test or from a real-time
run alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .floating_base import crouch_posture
from .standing_motion import ComHeightFollower

READY_CROUCH_M = 0.02  # the standing posture's knee bend: the pelvis this much below straight legs
SQUAT_M = 0.15         # squat depth below the ready posture
REACH_M = 0.30         # hands forward
CYCLE_S = 12.0         # reach at 0, squat at 3, rise at 6.5, hands back at 9.5 (s into the cycle)
FIRST_CYCLE_S = 2.5    # the first cycle starts this long after the enable (ramp + ready crouch)
HAND_STIFFNESS = (1000.0, 0.0)  # N/m; orientation free (only where the hands are matters here)


def _arm_posture(robot, hands: tuple[str, ...]) -> np.ndarray:
    """Arm joints (shoulder pitch, elbow) from which each hand can reach REACH_M straight forward at the same
    height relative to the pelvis: the smallest such bend on a coarse grid, checked by position-only IK."""
    q0 = np.zeros(robot.n_joints)
    names = robot.joint_names
    best = None
    for pitch, elbow in sorted(itertools.product((0.0, 0.3, 0.6, -0.3), (0.0, 0.4, 0.8, 1.2, -0.4, -0.8, -1.2)),
                               key=lambda pair: abs(pair[0]) + abs(pair[1])):
        q = q0.copy()
        for index, name in enumerate(names):
            if "shoulder_pitch" in name:
                q[index] = pitch
            elif "elbow" in name:
                q[index] = elbow
        if all(_reachable(robot, q, hand, np.array([REACH_M, 0.0, 0.0])) for hand in hands):
            best = q
            break
    if best is None:
        raise ValueError(f"model.tasks: no arm posture found from which {', '.join(hands)} reach {REACH_M} m forward")
    return best


def _reachable(robot, q: np.ndarray, frame: str, displacement: np.ndarray) -> bool:
    columns = [robot.joint_index(name) for name in _chain(robot, frame)]
    limits = [robot.config.joints[c].limits for c in columns]
    low, high = np.array([l.q_min for l in limits]), np.array([l.q_max for l in limits])
    start = np.array(robot.model.frame_pose(list(q), frame)).reshape(4, 4)[:3, 3]
    if not np.all((q[columns] >= low) & (q[columns] <= high)):
        return False
    target, q = start + displacement, q.copy()
    for _ in range(150):
        position = np.array(robot.model.frame_pose(list(q), frame)).reshape(4, 4)[:3, 3]
        jacobian = np.array(robot.model.frame_jacobian(list(q), frame)).reshape(6, -1)[:3, columns]
        step = jacobian.T @ np.linalg.solve(jacobian @ jacobian.T + 1e-3 * np.eye(3), target - position)
        q[columns] = np.clip(q[columns] + 0.5 * step, low, high)
    position = np.array(robot.model.frame_pose(list(q), frame)).reshape(4, 4)[:3, 3]
    return float(np.linalg.norm(target - position)) < 2e-3


def _chain(robot, frame: str) -> list[str]:
    """The arm joints (shoulders, elbow) moving `frame`, found by which joints change its position."""
    q0 = np.zeros(robot.n_joints)
    start = np.array(robot.model.frame_pose(list(q0), frame)).reshape(4, 4)[:3, 3]
    chain = []
    for index, name in enumerate(robot.joint_names):
        if not ("shoulder" in name or "elbow" in name):
            continue
        q = q0.copy()
        q[index] = 0.1
        if np.linalg.norm(np.array(robot.model.frame_pose(list(q), frame)).reshape(4, 4)[:3, 3] - start) > 1e-6:
            chain.append(name)
    return chain


@dataclass
class ScenarioDriver:
    """Issues the scenario's commands as loop time passes; `events` lists what it did and when."""

    robot: object
    q_ready: np.ndarray
    q_squat: np.ndarray
    hands: tuple[str, ...]
    follower: ComHeightFollower  # the CoM reference height of a leg posture
    events: list = field(default_factory=list)
    _next: int = 0
    _hand_home: dict = field(default_factory=dict)

    @classmethod
    def for_robot(cls, robot) -> "ScenarioDriver":
        if robot.standing is None:
            raise ValueError(f"model.standing.controller: the scenario needs contact_qp on a floating base "
                             f"(got {robot.standing_controller!r})")
        hands = tuple(frame for frame in robot.task_frames if "hand" in frame)[:2]
        if not hands:
            raise ValueError("model.tasks: the scenario needs hand task frames (names containing 'hand')")
        arms = _arm_posture(robot, hands)
        q_ready = crouch_posture(robot, READY_CROUCH_M, arms)
        q_squat = crouch_posture(robot, READY_CROUCH_M + SQUAT_M, arms)
        return cls(robot, q_ready, q_squat, hands, ComHeightFollower(robot))

    def _schedule(self):
        yield 0.6, "ready"
        for cycle in itertools.count():
            start = FIRST_CYCLE_S + cycle * CYCLE_S
            yield start, "reach"
            yield start + 3.0, "squat"
            yield start + 6.5, "rise"
            yield start + 9.5, "hands_back"

    def advance(self, t: float) -> None:
        """Issue every command due by loop time t (seconds since the enable)."""
        for index, (due, action) in enumerate(itertools.islice(self._schedule(), self._next, None), self._next):
            if due > t:
                break
            getattr(self, "_" + action)()
            self.events.append((round(t, 3), action))
            self._next = index + 1

    def _ready(self) -> None:
        self.follower.start(self.robot.state().q_ref)  # the posture the robot was enabled in
        self.robot.set_joint_targets(self.q_ready, duration=1.5, ttl=0)
        self.follower.follow(self.q_ready, 1.5)

    def _hand_targets(self, forward: float, down: float) -> None:
        for hand in self.hands:
            if hand not in self._hand_home:  # where the hand is in the ready posture, in the stance frame
                pose = np.array(self.robot.model.frame_pose(list(self.q_ready), hand)).reshape(4, 4)
                pose[2, 3] -= READY_CROUCH_M
                self._hand_home[hand] = pose
            target = self._hand_home[hand].copy()
            target[0, 3] += forward
            target[2, 3] -= down
            self.robot.set_frame_target(hand, target, duration=2.0, stiffness=HAND_STIFFNESS)

    def _reach(self) -> None:
        self._hand_targets(REACH_M, 0.0)

    def _squat(self) -> None:
        self.robot.set_joint_targets(self.q_squat, duration=2.0, ttl=0)
        self.follower.follow(self.q_squat, 2.0)
        self._hand_targets(REACH_M, SQUAT_M)

    def _rise(self) -> None:
        self.robot.set_joint_targets(self.q_ready, duration=2.0, ttl=0)
        self.follower.follow(self.q_ready, 2.0)
        self._hand_targets(REACH_M, 0.0)

    def _hands_back(self) -> None:
        self._hand_targets(0.0, 0.0)


def tilt_deg(quaternion) -> float:
    """The angle between a body's z axis and the vertical, from its orientation (w, x, y, z)."""
    w, x, y, z = quaternion
    return float(np.degrees(np.arccos(np.clip(1.0 - 2.0 * (x * x + y * y), -1.0, 1.0))))


class BalanceMonitor:
    """Samples the standing robot (call `sample()` between steps or periodically) and reports its balance."""

    def __init__(self, robot):
        self.robot = robot
        self.max_tilt_deg = 0.0
        self.min_foot_force_n = np.inf
        self.samples = 0

    def sample(self) -> None:
        base = self.robot.base_state()
        if base["valid"]:
            self.max_tilt_deg = max(self.max_tilt_deg, tilt_deg(base["orientation"]))
        if len(base.get("foot_force", ())):
            self.min_foot_force_n = min(self.min_foot_force_n, float(np.min(base["foot_force"][:, 2])))
        self.samples += 1

    def report(self) -> dict:
        statistics = self.robot.standing_statistics()
        contacts = [c.frame for c in self.robot.config.model.contacts]
        return {
            "min_com_margin_m": statistics["min_com_margin"],
            "min_cop_margin_m": dict(zip(contacts, statistics["min_cop_margin_per_foot"])),
            "qp_solves": statistics["solves"],
            "qp_failures": statistics["failures"],
            "max_friction_residual": statistics["max_friction_residual"],
            "max_torque_residual_nm": statistics["max_torque_residual"],
            "max_tilt_deg": self.max_tilt_deg,
            "min_measured_foot_force_n": self.min_foot_force_n,
        }


def format_report(report: dict) -> str:
    cop = ", ".join(f"{frame} {margin * 1000:.1f} mm" for frame, margin in report["min_cop_margin_m"].items())
    return (f"balance: min CoM margin to the support polygon edge {report['min_com_margin_m'] * 1000:.1f} mm; "
            f"min CoP margin per sole: {cop}; QP failures {report['qp_failures']} of "
            f"{report['qp_solves'] + report['qp_failures']}; max tilt {report['max_tilt_deg']:.2f} deg; "
            f"min measured foot force {report['min_measured_foot_force_n']:.0f} N")


def run_stand_demo(robot_name: str, seconds: float = 20.0, echo=print) -> int:
    """`humanoid-rt demo --bus mujoco --stand`: the free-floating twin in real time stands up from the enable
    ramp, reaches and squats for `seconds`, then stops; prints the balance report. Returns the exit code:
    0 when it stayed ACTIVE throughout with no failed QP and its CoM inside the support polygon."""
    import time

    from .robot import Robot

    with Robot(robot_name, bus="mujoco", floating=True) as robot:
        driver = ScenarioDriver.for_robot(robot)
        monitor = BalanceMonitor(robot)
        robot.start()
        echo(f"humanoid_rt demo --stand: {robot.config.name} on the free-floating MuJoCo twin, contact QP "
             f"({robot.standing.n_variables} variables), {seconds:.0f} s of standing, reaching and squatting")
        robot.enable(timeout=10.0)
        t_enable = robot.now()
        states = set()
        while robot.now() - t_enable < seconds:
            driver.advance(robot.now() - t_enable)
            monitor.sample()
            states.add(robot.state().supervisor_state)
            time.sleep(0.01)
        report = monitor.report()
        compute = robot.statistics()
        robot.stop()
    echo(format_report(report))
    echo(f"scenario: {', '.join(f'{action} at {t:.1f} s' for t, action in driver.events)}; supervisor states "
         f"seen: {', '.join(sorted(states))}; loop overruns {compute.get('overruns', 0)}; control time p50 "
         f"{compute['control_time']['p50_us']:.0f} us, p99 {compute['control_time']['p99_us']:.0f} us, "
         f"{compute['control_budget_overruns']} cycles over its {compute['control_budget_us']:.0f} us budget")
    ok = states <= {"ENABLING", "ACTIVE"} and report["qp_failures"] == 0 and report["min_com_margin_m"] > 0
    return 0 if ok else 1
