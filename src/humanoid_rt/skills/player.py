"""Skill playback: stream a skill to the robot as timestamped joint setpoints.

    player = SkillPlayer(robot)
    player.play(load_skill("wave.skill.json", robot), speed=1.0, loop=False)
    while player.active:                 # stepped mode: the caller drives it, deterministically
        player.update()
        robot.step(10)                   # 10 ms = one stream interval at 100 Hz
    # real time: PlayerThread(player).start() calls update() at the stream rate on a Python thread

Nothing here runs on the RT thread. Each update() sends one target, stamped
`lead` ahead of the loop time (two stream intervals by default, as the
interpolator asks of streams), with its velocity, so the C++ interpolator's C1
Hermite segments reproduce the planned path at 1 kHz.

The program is a chain of segments on one "phase" axis (seconds at nominal speed):

    approach (jerk-limited, from the current reference to the skill's first sample)
    -> skill (skill time = speed * phase)
    -> [loop: transition back to the first sample -> skill again ...]
    -> [queued skill: transition from this skill's last state, without stopping -> next skill]

A clock maps loop time to phase with a rate r(t) in [0, 1]; pause() ramps r to 0
over `pause_ramp_s` and resume() back to 1, so positions and velocities stay
continuous (velocities are scaled by r). Joints a skill does not name hold the
reference they had when play() was called.

On a robot standing on the contact QP, a skill that moves the legs (support joints)
takes the QP's CoM reference height along with its posture (standing_motion.py);
the QP keeps the balance, the skill's arms and legs follow as on a fixed base.

Aborts (abort(), a tracking error beyond `tracking_limit_rad` on any joint, or the
supervisor leaving ACTIVE/HOLD) stop streaming. The last target's ttl then lapses
and the supervisor enters HOLD through its watchdog: the reference decelerates to
rest and is held, and HOLD's own window and timeout apply (DAMPING if the robot
does not settle). We use the watchdog rather than adding a hold request to the
core because it is the same, already verified path a crashed or hung player
takes, it needs no change on the RT side, and it reaches HOLD within `ttl` of
the abort (the player's ttl defaults to lead + one interval, not the config's).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..standing_motion import ComHeightFollower
from .approach import Transition, plan_transition
from .format import Skill

IDLE, APPROACH, PLAYING, PAUSED, DONE, ABORTED = "IDLE", "APPROACH", "PLAYING", "PAUSED", "DONE", "ABORTED"


class _Clock:
    """phase(t): integral of a rate that ramps linearly (slope 1/ramp_s) toward a target."""

    def __init__(self, t0: float, ramp_s: float):
        self.t_a, self.phi_a, self.r_a, self.r_target = t0, 0.0, 1.0, 1.0
        self.slope = 1.0 / max(ramp_s, 1e-6)

    def _ramp_time(self) -> float:
        return abs(self.r_target - self.r_a) / self.slope

    def at(self, t: float) -> tuple[float, float]:
        dt = t - self.t_a
        if dt <= 0:
            return self.phi_a + self.r_a * dt, self.r_a
        tr = self._ramp_time()
        sign = np.sign(self.r_target - self.r_a)
        if dt <= tr:
            return self.phi_a + self.r_a * dt + 0.5 * sign * self.slope * dt * dt, self.r_a + sign * self.slope * dt
        phi_tr = self.phi_a + self.r_a * tr + 0.5 * sign * self.slope * tr * tr
        return phi_tr + self.r_target * (dt - tr), self.r_target

    def retarget(self, t: float, rate: float) -> None:
        self.phi_a, self.r_a = self.at(t)
        self.t_a, self.r_target = t, rate


@dataclass
class _Segment:
    kind: str  # "approach", "transition", "skill"
    start: float  # phase
    duration: float
    sample: Callable[[float], tuple]  # local phase -> (q, dq per phase, tau_ff or None, frames)
    skill: Skill | None = None
    speed: float = 1.0

    @property
    def end(self) -> float:
        return self.start + self.duration


class SkillPlayer:
    """Plays skills on a Robot; drive it with update() (stepped or from PlayerThread)."""

    def __init__(self, robot, *, stream_rate_hz: float = 100.0, lead_intervals: float = 2.0,
                 velocity_fraction: float = 0.5, max_acceleration=4.0, max_jerk=40.0,
                 tracking_limit_rad=None, pause_ramp_s: float = 0.3, ttl: float | None = None,
                 final_ttl: float = 0.0, transition_method: str = "auto"):
        if not (stream_rate_hz > 0 and lead_intervals >= 1.0):
            raise ValueError("stream_rate_hz must be > 0 and lead_intervals >= 1 (1.5 or more recommended)")
        self.robot = robot
        self.interval = 1.0 / stream_rate_hz
        self.lead = lead_intervals * self.interval
        config = robot.config
        n = robot.n_joints
        self.v_max = velocity_fraction * config.joint_array("limits.velocity")
        self.a_max = np.broadcast_to(np.asarray(max_acceleration, dtype=float), (n,)).copy()
        self.j_max = np.broadcast_to(np.asarray(max_jerk, dtype=float), (n,)).copy()
        if tracking_limit_rad is None:
            tracking_limit_rad = config.safety.hold_window_rad
        self.tracking_limit = np.broadcast_to(np.asarray(tracking_limit_rad, dtype=float), (n,)).copy()
        self.pause_ramp_s = pause_ramp_s
        self.ttl = self.lead + self.interval if ttl is None else ttl
        self.final_ttl = final_ttl
        self.transition_method = transition_method
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.state = IDLE
        self.abort_reason = ""
        self._segments: list[_Segment] = []
        self._queue: list[tuple[Skill, float]] = []
        self._loop = False
        self._clock: _Clock | None = None
        self._last_sent_t = -np.inf
        self._last_sent: tuple | None = None
        self._current: _Segment | None = None
        self._last_skill: Skill | None = None
        self._saved_gains = None
        self._com: ComHeightFollower | None = None  # standing robot, skills that move the legs
        self._q_start: np.ndarray | None = None     # the reference when play() was called
        self.skills_started = 0  # skill segments entered (loops and queued skills included)
        self.sent = 0

    # --------------------------------------------------------------- building
    def check(self, skill: Skill, speed: float = 1.0) -> np.ndarray:
        """Raise (SkillError, ValueError) if `skill` at `speed` does not fit the robot; nothing is sent."""
        if not (np.isfinite(speed) and 0.05 <= speed <= 4.0):
            raise ValueError(f"speed: allowed: 0.05 .. 4.0 (got {speed!r})")
        skill.check_robot(self.robot.config)
        index = np.array([self.robot.joint_index(name) for name in skill.joints])
        limits = self.robot.config.joint_array("limits.velocity")[index]
        peak = np.max(np.abs(skill.velocities()), axis=0) * speed
        fast = np.flatnonzero(peak > limits)
        if fast.size:
            j = fast[0]
            raise ValueError(f"speed: {speed:g} makes {skill.joints[j]} move at {peak[j]:.3g} rad/s; allowed: "
                             f"<= {limits[j]:.3g} rad/s (the joint's velocity limit)")
        return index

    def _skill_segment(self, skill: Skill, speed: float, start: float, hold: np.ndarray) -> _Segment:
        index = np.array([self.robot.joint_index(name) for name in skill.joints])
        n = self.robot.n_joints

        def sample(p: float):
            q_s, dq_s, tau_s, frames = skill.sample(speed * p)
            q, dq = hold.copy(), np.zeros(n)
            q[index], dq[index] = q_s, dq_s * speed
            tau = None
            if tau_s is not None:
                tau = np.zeros(n)
                tau[index] = tau_s
            return q, dq, tau, frames

        return _Segment("skill", start, skill.duration / speed, sample, skill, speed)

    def _transition_segment(self, kind: str, start: float, q0, dq0, q1, dq1) -> _Segment | None:
        transition: Transition = plan_transition(q0, dq0, q1, dq1, self.v_max, self.a_max, self.j_max,
                                                 method=self.transition_method)
        if transition.duration <= 0:
            return None

        def sample(p: float):
            q, dq, _ = transition.sample(p)
            return q, dq, None, {}

        return _Segment(kind, start, transition.duration, sample)

    def _append_skill(self, kind: str, skill: Skill, speed: float) -> None:
        """Transition from the program's end state (or from the robot's reference) into `skill`, then the skill."""
        if self._segments:
            last = self._segments[-1]
            q0, dq0, _, _ = last.sample(last.duration)
            start = last.end
            hold = q0.copy()
        else:
            state = self.robot.state()
            q0, dq0, start, hold = state.q_ref.copy(), state.dq_ref.copy(), 0.0, state.q_ref.copy()
        skill_segment = self._skill_segment(skill, speed, 0.0, hold)
        q1, dq1, _, _ = skill_segment.sample(0.0)
        transition = self._transition_segment(kind, start, q0, dq0, q1, dq1)
        if transition is not None:
            self._segments.append(transition)
            start = transition.end
        skill_segment.start = start
        self._segments.append(skill_segment)

    # ------------------------------------------------------------------ control
    def play(self, skill: Skill, *, speed: float = 1.0, loop: bool = False, now: float | None = None) -> None:
        """Check `skill` against the robot, plan the approach from the current reference, start streaming.

        Raises (SkillError, ValueError) before anything is sent if the skill does not fit the robot,
        or if `speed` would exceed a joint's velocity limit.
        """
        with self._lock:
            self.check(skill, speed)
            if self.robot.state().supervisor_state not in ("ACTIVE", "HOLD"):
                raise RuntimeError(f"play: supervisor is {self.robot.state().supervisor_state}; allowed: ACTIVE or "
                                   f"HOLD (enable the robot first)")
            self._restore_gains()
            self._reset()
            self._loop = bool(loop)
            self._q_start = self.robot.state().q_ref.copy()
            self._follow_com_of(skill)
            self._append_skill("approach", skill, speed)
            now = self.robot.now() if now is None else now
            self._clock = _Clock(now, self.pause_ramp_s)
            self._last_sent_t = now
            self.state = APPROACH if self._segments[0].kind == "approach" else PLAYING

    def queue(self, skill: Skill, *, speed: float = 1.0) -> None:
        """Play `skill` after the current one, blending into it without stopping (ends looping)."""
        with self._lock:
            self.check(skill, speed)
            if self.state in (IDLE, DONE, ABORTED):
                raise RuntimeError(f"queue: nothing is playing (state {self.state}); use play()")
            self._follow_com_of(skill)
            self._queue.append((skill, speed))
            self._loop = False

    def _follow_com_of(self, skill: Skill) -> None:
        """A standing robot's CoM reference height follows the program once a skill moves the legs."""
        if self._com is None:
            self._com = ComHeightFollower.for_stream(self.robot, skill.joints)
            if self._com is not None:
                self._com.start(self._q_start)

    def pause(self) -> None:
        """Decelerate along the path to a stop (over pause_ramp_s) and hold there, still streaming."""
        with self._lock:
            if self.state in (APPROACH, PLAYING):
                self._clock.retarget(max(self._last_sent_t, self.robot.now()), 0.0)
                self._paused_from = self.state
                self.state = PAUSED

    def resume(self) -> None:
        with self._lock:
            if self.state == PAUSED:
                self._clock.retarget(max(self._last_sent_t, self.robot.now()), 1.0)
                self.state = self._paused_from

    def abort(self, reason: str = "abort requested") -> None:
        """Stop streaming now: the supervisor's watchdog takes the robot to HOLD within ttl."""
        with self._lock:
            if self.state in (APPROACH, PLAYING, PAUSED):
                self.state = ABORTED
                self.abort_reason = reason
                self._restore_gains()

    @property
    def active(self) -> bool:
        return self.state in (APPROACH, PLAYING, PAUSED)

    def _restore_gains(self) -> None:
        if self._saved_gains is not None:
            self.robot.set_gains(*self._saved_gains)
            self._saved_gains = None

    def _apply_skill_gains(self, segment: _Segment) -> None:
        skill = segment.skill
        if skill.kp is None and skill.kd is None:
            return
        if self._saved_gains is None:
            self._saved_gains = self.robot.gains
        kp, kd = self.robot.gains
        index = [self.robot.joint_index(name) for name in skill.joints]
        if skill.kp is not None:
            kp[index] = skill.kp
        if skill.kd is not None:
            kd[index] = skill.kd
        self.robot.set_gains(kp, kd)

    # ------------------------------------------------------------------- update
    def _segment_at(self, phi: float) -> _Segment | None:
        while phi >= self._segments[-1].end:
            last = self._segments[-1]
            if last.kind == "stop":
                return None
            if last.kind != "skill":
                return last  # (a transition is always followed by its skill)
            if self._queue:
                skill, speed = self._queue.pop(0)
                self._append_skill("transition", skill, speed)
            elif self._loop:
                self._append_skill("transition", last.skill, last.speed)
            else:
                # A skill that ends moving is brought to rest at its last pose by a jerk-limited stop
                # (it passes the pose and comes back); one that ends at rest (|dq| below what a_max
                # removes in one stream interval, e.g. finite-difference noise) is done.
                q_end, dq_end, _, _ = last.sample(last.duration)
                stop = None
                if np.any(np.abs(dq_end) > self.a_max * self.interval):
                    stop = self._transition_segment("stop", last.end, q_end, dq_end, q_end, np.zeros_like(q_end))
                if stop is None:
                    return None
                self._segments.append(stop)
        for segment in reversed(self._segments):
            if phi >= segment.start:
                return segment
        return self._segments[0]

    def status(self) -> dict:
        with self._lock:
            segment = self._current
            info = {"state": self.state, "abort_reason": self.abort_reason, "skills_started": self.skills_started,
                    "setpoints_sent": self.sent, "segment": segment.kind if segment else None,
                    "skill": self._last_skill.name if self._last_skill is not None else None}
            if segment is not None and segment.skill is not None and self._clock is not None:
                phi, _ = self._clock.at(self._last_sent_t)
                skill_time = min(max(segment.speed * (phi - segment.start), 0.0), segment.skill.duration)
                info["skill_time"] = skill_time
                info["sample_index"] = int(np.searchsorted(segment.skill.t, skill_time, side="right") - 1)
            return info

    def update(self, now: float | None = None) -> str:
        """Check tracking and the supervisor, then send the target for loop time now + lead. Returns the state."""
        with self._lock:
            if not self.active:
                return self.state
            robot = self.robot
            now = robot.now() if now is None else now
            state = robot.state()
            if state.supervisor_state not in ("ACTIVE", "HOLD"):
                self.abort(f"supervisor {state.supervisor_state} ({state.reason})")
                return self.state
            error = np.abs(state.q - state.q_ref)
            over = np.flatnonzero(error > self.tracking_limit)
            if over.size:
                j = over[np.argmax(error[over] / self.tracking_limit[over])]
                self.abort(f"tracking error on {robot.joint_names[j]}: {error[j]:.4g} rad > "
                           f"{self.tracking_limit[j]:.4g} rad")
                return self.state
            t_target = max(now + self.lead, self._last_sent_t)
            phi, rate = self._clock.at(t_target)
            segment = self._segment_at(phi)
            if segment is None:  # past the end: the final pose, at rest, held (final_ttl, 0 = no watchdog)
                last = self._segments[-1]
                q, _, tau, frames = last.sample(last.duration)
                robot.set_joint_targets(q, np.zeros_like(q), tau, t=t_target, ttl=self.final_ttl, source="skill")
                self._send_frames(frames, t_target)
                if self._com is not None:
                    self._com.follow(q, t_target - now)
                self.sent += 1
                self._last_sent_t = t_target
                self._restore_gains()
                self.state = DONE
                return self.state
            if segment is not self._current:
                if segment.kind == "skill":
                    self.skills_started += 1
                    self._last_skill = segment.skill
                    self._apply_skill_gains(segment)
                    if self.state == APPROACH:
                        self.state = PLAYING
                self._current = segment
            q, dq_phase, tau, frames = segment.sample(phi - segment.start)
            robot.set_joint_targets(q, dq_phase * rate, tau, t=t_target, ttl=self.ttl, source="skill")
            self._send_frames(frames, t_target)
            if self._com is not None:
                self._com.follow(q, t_target - now)
            self.sent += 1
            self._last_sent_t = t_target
            return self.state

    def _send_frames(self, frames: dict, t_target: float) -> None:
        skill = self._current.skill if self._current is not None else None
        for frame, (position, quaternion) in frames.items():
            stiffness = None
            if skill is not None and "stiffness" in skill.frames.get(frame, {}):
                stiffness = skill.frames[frame]["stiffness"]
            self.robot.set_frame_target(frame, (position, quaternion), t=t_target, stiffness=stiffness)


def run_stepped(robot, player: SkillPlayer, seconds: float, on_update: Callable | None = None) -> None:
    """Stepped mode: alternate player.update() and one stream interval of loop cycles for `seconds`."""
    cycles = max(1, int(round(player.interval * robot.rate_hz)))
    for _ in range(int(round(seconds / player.interval))):
        player.update()
        if on_update is not None:
            on_update(player)
        robot.step(cycles)


class PlayerThread(threading.Thread):
    """Real time: calls player.update() every stream interval (wall clock) until the player is done."""

    def __init__(self, player: SkillPlayer):
        super().__init__(name="humanoid_rt-skill-player", daemon=True)
        self.player = player
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        next_time = time.monotonic()
        try:
            while not self._stop_event.is_set() and self.player.active:
                self.player.update()
                next_time += self.player.interval
                self._stop_event.wait(max(0.0, next_time - time.monotonic()))
        except BaseException as error:  # report, and let the watchdog hold the robot
            self.error = error
            self.player.abort(f"player thread failed: {error}")

    def stop(self, abort: bool = True) -> None:
        if abort:
            self.player.abort("player thread stopped")
        self._stop_event.set()
        self.join()
