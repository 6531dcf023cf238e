"""Jerk-limited transitions between two joint states, computed off the RT thread.

`plan_transition` returns a `Transition` (duration, sample(t) -> (q, dq, ddq)) from
(q0, dq0) to (q1, dq1), every joint arriving at the same time, with
|dq| <= v_max, |ddq| <= a_max, |jerk| <= j_max per joint:

- with the `ruckig` PyPI package installed (the default dependency), Ruckig's
  time-optimal, time-synchronised profile (seven-phase jerk-limited);
- without it, a quintic (minimum-jerk shape) per joint with zero boundary
  acceleration and a common duration T, which is increased until the sampled
  peak velocity, acceleration and jerk of every joint respect the limits. For a
  rest-to-rest move of distance D the peaks are 1.875 D/T, 5.774 D/T^2 and
  60 D/T^3, so the start value of T is the largest of the three inversions.

The player streams samples of the transition as timestamped setpoints; the
C++ interpolator turns them into the 1 kHz reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

try:  # pragma: no cover - exercised whichever way the environment is
    import ruckig as _ruckig
except ImportError:  # pragma: no cover
    _ruckig = None


@dataclass
class Transition:
    duration: float
    _sample: Callable[[float], tuple[np.ndarray, np.ndarray, np.ndarray]]
    method: str

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._sample(min(max(float(t), 0.0), self.duration))


def _quintic(q0, v0, q1, v1, T):
    # Coefficients of p(s) = sum c_k s^k on s in [0, T], zero boundary acceleration.
    T2, T3, T4, T5 = T * T, T ** 3, T ** 4, T ** 5
    c0, c1, c2 = q0, v0, np.zeros_like(q0)
    d = q1 - q0 - v0 * T
    dv = v1 - v0
    c3 = (10 * d - 4 * dv * T) / T3
    c4 = (-15 * d + 7 * dv * T) / T4
    c5 = (6 * d - 3 * dv * T) / T5
    return np.array([c0, c1, c2, c3, c4, c5])


def _quintic_eval(c, t):
    q = c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * c[5]))))
    dq = c[1] + t * (2 * c[2] + t * (3 * c[3] + t * (4 * c[4] + t * 5 * c[5])))
    ddq = 2 * c[2] + t * (6 * c[3] + t * (12 * c[4] + t * 20 * c[5]))
    return q, dq, ddq


def _plan_polynomial(q0, v0, q1, v1, v_max, a_max, j_max) -> Transition:
    distance = np.abs(q1 - q0)
    T = float(np.max(np.concatenate([1.875 * distance / v_max, np.sqrt(5.7735 * distance / a_max),
                                     np.cbrt(60.0 * distance / j_max)])))
    T = max(T, 0.01)
    grid = np.linspace(0.0, 1.0, 201)
    for _ in range(200):
        c = _quintic(q0, v0, q1, v1, T)
        ts = grid * T
        _, dq, ddq = _quintic_eval(c, ts[:, None])
        jerk = 6 * c[3] + ts[:, None] * (24 * c[4] + ts[:, None] * 60 * c[5])
        if np.all(np.abs(dq) <= v_max * (1 + 1e-9)) and np.all(np.abs(ddq) <= a_max * (1 + 1e-9)) \
                and np.all(np.abs(jerk) <= j_max * (1 + 1e-9)):
            break
        T *= 1.1
    coefficients = _quintic(q0, v0, q1, v1, T)
    return Transition(T, lambda t: _quintic_eval(coefficients, t), "quintic")


def _plan_ruckig(q0, v0, q1, v1, v_max, a_max, j_max) -> Transition:
    n = q0.size
    otg = _ruckig.Ruckig(n)
    inp = _ruckig.InputParameter(n)
    inp.current_position, inp.current_velocity, inp.current_acceleration = list(q0), list(v0), [0.0] * n
    inp.target_position, inp.target_velocity, inp.target_acceleration = list(q1), list(v1), [0.0] * n
    inp.max_velocity, inp.max_acceleration, inp.max_jerk = list(v_max), list(a_max), list(j_max)
    trajectory = _ruckig.Trajectory(n)
    result = otg.calculate(inp, trajectory)
    if result not in (_ruckig.Result.Working, _ruckig.Result.Finished):
        raise ValueError(f"ruckig could not plan the transition: {result}")

    def sample(t):
        q, dq, ddq = trajectory.at_time(t)
        return np.asarray(q), np.asarray(dq), np.asarray(ddq)

    return Transition(float(trajectory.duration), sample, "ruckig")


def plan_transition(q0, dq0, q1, dq1, v_max, a_max, j_max, *, method: str = "auto") -> Transition:
    """Jerk-limited, time-synchronised transition (see the module docstring). method: auto, ruckig, quintic."""
    q0, dq0, q1, dq1 = (np.asarray(x, dtype=np.float64).copy() for x in (q0, dq0, q1, dq1))
    n = q0.size
    v_max, a_max, j_max = (np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy() for x in (v_max, a_max, j_max))
    # Boundary velocities the limits cannot reach are clipped (the player only asks for reachable ones).
    dq0, dq1 = np.clip(dq0, -v_max, v_max), np.clip(dq1, -v_max, v_max)
    if method not in ("auto", "ruckig", "quintic"):
        raise ValueError(f"method: allowed: auto, ruckig, quintic (got {method!r})")
    if method == "ruckig" and _ruckig is None:
        raise ValueError("method: 'ruckig' needs the ruckig package (pip install ruckig)")
    if np.allclose(q0, q1, atol=1e-9) and np.allclose(dq0, 0) and np.allclose(dq1, 0):
        return Transition(0.0, lambda t: (q1.copy(), np.zeros(n), np.zeros(n)), "none")
    if method == "quintic" or (method == "auto" and _ruckig is None):
        return _plan_polynomial(q0, dq0, q1, dq1, v_max, a_max, j_max)
    return _plan_ruckig(q0, dq0, q1, dq1, v_max, a_max, j_max)


def ruckig_available() -> bool:
    return _ruckig is not None
