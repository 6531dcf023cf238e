"""On-robot execution of action chunks from a learned policy (ACT, diffusion policy, pi0 style).

    executor = ChunkExecutor(robot, joints=[...])          # D = len(joints) action dimensions
    report = executor.submit_chunk(actions, t0, dt)        # actions (H, D), action i due at t0 + i dt
    executor.update()                                      # every stream interval (stepped or PolicyThread)

Timing. Action i of a chunk is stamped at loop time t0 + i dt: t0 is the time the
policy's first action refers to (usually the observation's time), so inference
delay shows up as actions already in the past when the chunk arrives. Those are
dropped (`dropped_stale`): nothing is sent for a time the executor has already
committed to (the last sent target, or now + lead, whichever is later).

Blending. A chunk arriving while another executes does not stop the robot: the
trajectory the executor is following (itself possibly a blend) is resampled, and
the new chunk is cross-faded in over `blend_s` from the commit time with a
raised-cosine weight (the idea of real-time chunking's soft guidance window,
applied at execution time rather than inside the sampler). Actions not yet
executed from the previous chunk are reported as `leftover` so a policy that
conditions on them (RTC inpainting, temporal ensembling) can use them.

Limits. Each update() samples the desired trajectory at t = now + lead and moves
the streamed setpoint toward it with |dq| <= v_max and |ddq| <= a_max (per joint,
with a braking curve so it stops at the target without overshoot), then sends it
with its velocity. Consecutive streamed velocities therefore differ by at most
a_max * interval; the C++ interpolator joins them with cubic segments, and the
resulting 1 kHz reference velocity changes by at most about 3 * a_max * dt_loop
per cycle (the bound the tests check).

Underrun (no action left for now + lead): "hold" goes to the last action and stops
there (under the same limits); "decelerate" brakes from the current velocity at
a_max wherever that ends. The stream continues either way, so the supervisor
stays ACTIVE; stopping the executor (stop()) lets the watchdog HOLD the robot.

Standing. On a robot standing on the contact QP, actions that move the legs (support
joints) take the QP's CoM reference height along (standing_motion.py).
"""

from __future__ import annotations

import threading
import time
from typing import Sequence

import numpy as np

from ..standing_motion import ComHeightFollower

UNDERRUN_POLICIES = ("hold", "decelerate")


def _ease(x):
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


class _Track:
    """Piecewise-linear desired trajectory through stamped actions."""

    def __init__(self, times: np.ndarray, values: np.ndarray):
        self.times, self.values = times, values

    @property
    def end(self) -> float:
        return float(self.times[-1])

    def at(self, t: float) -> np.ndarray:
        if t <= self.times[0]:
            return self.values[0].copy()
        if t >= self.times[-1]:
            return self.values[-1].copy()
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        u = (t - self.times[k]) / (self.times[k + 1] - self.times[k])
        return (1 - u) * self.values[k] + u * self.values[k + 1]


class ChunkExecutor:
    def __init__(self, robot, *, joints: Sequence[str] | None = None, stream_rate_hz: float = 100.0,
                 lead_intervals: float = 2.0, velocity_fraction: float = 0.8, max_acceleration=10.0,
                 blend_s: float = 0.1, underrun: str = "hold", ttl: float | None = None):
        if underrun not in UNDERRUN_POLICIES:
            raise ValueError(f"underrun: allowed: {', '.join(UNDERRUN_POLICIES)} (got {underrun!r})")
        if not (stream_rate_hz > 0 and lead_intervals >= 1.0 and blend_s >= 0):
            raise ValueError("stream_rate_hz must be > 0, lead_intervals >= 1, blend_s >= 0")
        self.robot = robot
        self.joints = tuple(robot.joint_names if joints is None else joints)
        self.index = np.array([robot.joint_index(name) for name in self.joints])
        config = robot.config
        self.v_max = (velocity_fraction * config.joint_array("limits.velocity"))[self.index]
        self.a_max = np.broadcast_to(np.asarray(max_acceleration, dtype=float), (len(self.index),)).copy()
        self.q_low = config.joint_array("limits.q_soft_min")[self.index]
        self.q_high = config.joint_array("limits.q_soft_max")[self.index]
        self.interval = 1.0 / stream_rate_hz
        self.lead = lead_intervals * self.interval
        self.blend_s = blend_s
        self.underrun_policy = underrun
        self.ttl = self.lead + self.interval if ttl is None else ttl
        self._lock = threading.RLock()
        self._track: _Track | None = None  # the newest chunk
        self._previous: _Track | None = None  # what was executing when it arrived (resampled)
        self._blend = (np.inf, np.inf)
        self._chunk_times: np.ndarray | None = None
        self._chunk_actions: np.ndarray | None = None
        self._q: np.ndarray | None = None  # last streamed setpoint (policy joints)
        self._v: np.ndarray | None = None
        self._hold: np.ndarray | None = None  # full-vector pose for the joints the policy does not drive
        self._last_sent_t = -np.inf
        self._com = ComHeightFollower.for_stream(robot, self.joints)  # standing robot, policy moves the legs
        self.chunks_received = 0
        self.actions_dropped = 0
        self.underrun_updates = 0
        self.in_underrun = False
        self.sent = 0

    # ---------------------------------------------------------------- chunks
    def _commit_time(self, now: float) -> float:
        return max(now + self.lead, self._last_sent_t)

    def _desired(self, t: float) -> np.ndarray | None:
        if self._track is None:
            return None
        value = self._track.at(t)
        tb0, tb1 = self._blend
        if self._previous is not None and t < tb1:
            w = float(_ease((t - tb0) / (tb1 - tb0))) if tb1 > tb0 else 1.0
            value = (1 - w) * self._previous.at(t) + w * value
        return value

    def submit_chunk(self, actions, t0: float, dt: float, *, now: float | None = None) -> dict:
        """Stamp actions[i] at t0 + i dt, drop the past ones, blend the rest in. Returns a report:
        accepted, dropped_stale, clipped (values moved to the soft limits), first_time, last_time."""
        actions = np.asarray(actions, dtype=np.float64)
        if actions.ndim != 2 or actions.shape[1] != len(self.joints) or actions.shape[0] == 0:
            raise ValueError(f"actions: expected shape (H, {len(self.joints)}) with H >= 1 (joints: "
                             f"{', '.join(self.joints)}), got {actions.shape}")
        bad = np.argwhere(~np.isfinite(actions))
        if bad.size:
            i, j = bad[0]
            raise ValueError(f"actions[{i}][{j}] ({self.joints[j]}): must be finite (got {actions[i, j]})")
        if not (np.isfinite(t0) and np.isfinite(dt) and dt > 0):
            raise ValueError(f"t0, dt: finite, dt > 0 (got t0={t0!r}, dt={dt!r})")
        clipped_actions = np.clip(actions, self.q_low, self.q_high)
        clipped = int(np.count_nonzero(clipped_actions != actions))
        times = t0 + dt * np.arange(actions.shape[0])
        with self._lock:
            now = self.robot.now() if now is None else now
            commit = self._commit_time(now)
            stale = times < commit
            n_stale = int(np.count_nonzero(stale))
            report = {"accepted": int(times.size - n_stale), "dropped_stale": n_stale, "clipped": clipped,
                      "commit_time": commit, "first_time": None, "last_time": float(times[-1])}
            self.chunks_received += 1
            self.actions_dropped += n_stale
            if n_stale == times.size:
                return report  # entirely in the past: nothing changes
            keep_from = max(n_stale - 1, 0)  # one past action kept to interpolate up to the first live one
            new = _Track(times[keep_from:], clipped_actions[keep_from:])
            if self._track is not None and not self.in_underrun:
                # Resample what is executing (blend included) from the commit time on, to fade out of it.
                end = max(self._track.end, commit)
                grid = np.append(np.arange(commit, end, self.interval), end)
                self._previous = _Track(grid, np.array([self._desired(t) for t in grid]))
                self._blend = (commit, commit + self.blend_s)
            else:
                self._previous = None
                self._blend = (np.inf, np.inf)
            self._track = new
            self._chunk_times, self._chunk_actions = times, clipped_actions
            self.in_underrun = False
            report["first_time"] = float(times[n_stale])
            return report

    # ---------------------------------------------------------------- stream
    def _limit(self, desired: np.ndarray | None, desired_velocity: np.ndarray | None,
               h: float) -> tuple[np.ndarray, np.ndarray]:
        q, v, a = self._q, self._v, self.a_max
        if desired is None:  # decelerate: brake to rest where it ends
            v_new = np.sign(v) * np.maximum(np.abs(v) - a * h, 0.0)
        else:
            # Move with the desired trajectory, plus a correction that closes the remaining error this
            # step if allowed, but never faster than a stop at a_max allows (no overshoot).
            error = desired - q - desired_velocity * h
            v_des = desired_velocity + np.sign(error) * np.minimum(np.abs(error) / h,
                                                                   np.sqrt(2.0 * a * np.abs(error)))
            v_des = np.clip(v_des, -self.v_max, self.v_max)
            v_new = np.clip(v_des, v - a * h, v + a * h)
        q_new = np.clip(q + 0.5 * (v + v_new) * h, self.q_low, self.q_high)
        return q_new, v_new

    def update(self, now: float | None = None) -> dict:
        """Send the setpoint for now + lead (nothing before the first chunk). Returns status()."""
        with self._lock:
            robot = self.robot
            now = robot.now() if now is None else now
            if self._track is None:
                return self.status()
            t_target = max(now + self.lead, self._last_sent_t + 1e-6)
            if self._q is None:
                state = robot.state()
                self._hold = state.q_ref.copy()
                self._q = state.q_ref[self.index].copy()
                self._v = state.dq_ref[self.index].copy()
                self._last_sent_t = now  # the reference's state now
                if self._com is not None:
                    self._com.start(self._hold)
            h = t_target - self._last_sent_t
            underrun = t_target > self._track.end + 1e-9
            if underrun:
                if not self.in_underrun:
                    self.in_underrun = True
                self.underrun_updates += 1
                desired = self._track.values[-1] if self.underrun_policy == "hold" else None
                desired_velocity = np.zeros(len(self.index))
            else:
                desired = self._desired(t_target)
                desired_velocity = (desired - self._desired(t_target - h)) / h
            self._q, self._v = self._limit(desired, desired_velocity, h)
            q, dq = self._hold.copy(), np.zeros(robot.n_joints)
            q[self.index], dq[self.index] = self._q, self._v
            robot.set_joint_targets(q, dq, t=t_target, ttl=self.ttl, source="policy")
            if self._com is not None:
                self._com.follow(q, t_target - now)
            self._last_sent_t = t_target
            self.sent += 1
            return self.status()

    def status(self) -> dict:
        """executed_index: the newest chunk's last action at or before the last sent target time (-1: none yet);
        leftover: its actions after that time (to hand back to the policy)."""
        with self._lock:
            info = {"chunks_received": self.chunks_received, "actions_dropped": self.actions_dropped,
                    "underrun": self.in_underrun, "underrun_updates": self.underrun_updates, "setpoints_sent": self.sent,
                    "last_target_time": self._last_sent_t, "executed_index": -1,
                    "leftover": np.zeros((0, len(self.joints)))}
            if self._chunk_times is not None:
                executed = int(np.searchsorted(self._chunk_times, self._last_sent_t, side="right")) - 1
                info["executed_index"] = executed
                info["leftover"] = self._chunk_actions[executed + 1:].copy()
            if self._v is not None:
                info["velocity"] = self._v.copy()
            return info

    def stop(self) -> None:
        """Stop streaming: the watchdog takes the robot to HOLD within ttl."""
        with self._lock:
            self._track = None
            self._previous = None


class PolicyThread(threading.Thread):
    """Real time: calls executor.update() every stream interval until stop()."""

    def __init__(self, executor: ChunkExecutor):
        super().__init__(name="humanoid_rt-policy-stream", daemon=True)
        self.executor = executor
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        next_time = time.monotonic()
        try:
            while not self._stop_event.is_set():
                self.executor.update()
                next_time += self.executor.interval
                self._stop_event.wait(max(0.0, next_time - time.monotonic()))
        except BaseException as error:
            self.error = error

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.executor.stop()
