"""Reference policies for `humanoid-rt policy-serve`: real answers, no GPU, no training.

    humanoid-rt policy-serve humanoid_rt.remote.reference_policy:replay   # the bundled wave skill
    humanoid-rt policy-serve humanoid_rt.remote.reference_policy:mlp      # a tiny seeded numpy MLP

replay: replays a bundled skill (src/humanoid_rt/skills/examples/) in step with the robot. The skill
starts at the observation's `episode_start` and plays at real speed, so the chunk for an observation
at loop time t holds the skill at s = t - episode_start + i dt (clamped to its end, or looped with
loop=True). Stateless: any server instance answers any robot the same way. The observation's joints
must be among the skill's (a robot asking for others gets an error reply naming the skill's joints).

mlp: a two-layer perceptron with fixed weights drawn from a seeded generator (so every server and test
computes the same chunk for the same observation). Input: the joint positions, velocities (scaled) and
the phase of a 2 s clock since episode_start; output: H offsets per joint, squashed by tanh and scaled
so every action lies within `max_offset` rad of the observed pose and the chunk starts at it (the
offsets ramp in linearly). It stands in for a learned policy's shape and cost, not for a skill.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "skills" / "examples"


def _bundled_skill(name: str):
    from ..skills import load_skill

    path = EXAMPLES / f"{name}.skill.json"
    if not path.is_file():
        available = ", ".join(sorted(p.name.removesuffix(".skill.json") for p in EXAMPLES.glob("*.skill.json")))
        raise ValueError(f"skill: no bundled skill {name!r}; allowed: {available}")
    return load_skill(path)


class SkillReplay:
    """A policy callable replaying a skill aligned to the observation's time (see the module docstring)."""

    def __init__(self, skill: str = "wave", *, horizon: int = 20, dt: float = 0.05, loop: bool = False):
        if not (isinstance(horizon, int) and horizon >= 1 and dt > 0):
            raise ValueError(f"horizon >= 1 and dt > 0 (got horizon={horizon!r}, dt={dt!r})")
        self.skill = _bundled_skill(skill) if isinstance(skill, str) else skill
        self.horizon, self.dt, self.loop = horizon, float(dt), loop
        self.__qualname__ = f"replay({self.skill.name})"

    def skill_time(self, s: float) -> float:
        duration = self.skill.duration
        return s % duration if self.loop and duration > 0 else s

    def target(self, s: float, joints) -> np.ndarray:
        """The skill's positions at skill time s for `joints` (the chunk's actions are these at s + i dt)."""
        q, _, _, _ = self.skill.sample(self.skill_time(s))
        return q[self._columns(tuple(joints))]

    def _columns(self, joints: tuple[str, ...]) -> np.ndarray:
        missing = [j for j in joints if j not in self.skill.joints]
        if missing:
            raise ValueError(f"joints: {missing[0]!r} is not driven by the skill {self.skill.name!r}; allowed: "
                             f"{', '.join(self.skill.joints)}")
        return np.array([self.skill.joints.index(j) for j in joints])

    def __call__(self, obs: dict) -> dict:
        columns = self._columns(tuple(obs["joints"]))
        start = obs["t"] - obs["episode_start"]
        actions = np.empty((self.horizon, len(columns)))
        for i in range(self.horizon):
            q, _, _, _ = self.skill.sample(self.skill_time(start + i * self.dt))
            actions[i] = q[columns]
        return {"actions": actions, "dt": self.dt, "t0": obs["t"]}


class TinyMLP:
    """A policy callable: a seeded two-layer perceptron around the current pose (see the module docstring)."""

    def __init__(self, *, horizon: int = 16, dt: float = 0.05, hidden: int = 32, seed: int = 0,
                 max_offset: float = 0.1, clock_period: float = 2.0):
        if not (horizon >= 1 and dt > 0 and hidden >= 1 and max_offset > 0 and clock_period > 0):
            raise ValueError("horizon >= 1, dt > 0, hidden >= 1, max_offset > 0, clock_period > 0")
        self.horizon, self.dt, self.hidden, self.seed = horizon, float(dt), hidden, seed
        self.max_offset, self.clock_period = float(max_offset), float(clock_period)
        self.__qualname__ = f"mlp(seed={seed})"

    @lru_cache(maxsize=16)
    def weights(self, n_joints: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(W1, b1, W2, b2) for n_joints, drawn from default_rng([seed, n_joints]) with 1/sqrt(fan_in) scale."""
        rng = np.random.default_rng([self.seed, n_joints])
        n_in, n_out = 2 * n_joints + 2, self.horizon * n_joints
        w1 = rng.standard_normal((self.hidden, n_in)) / np.sqrt(n_in)
        b1 = 0.1 * rng.standard_normal(self.hidden)
        w2 = rng.standard_normal((n_out, self.hidden)) / np.sqrt(self.hidden)
        b2 = 0.1 * rng.standard_normal(n_out)
        return w1, b1, w2, b2

    def __call__(self, obs: dict) -> dict:
        q, dq = np.asarray(obs["q"], dtype=float), np.asarray(obs["dq"], dtype=float)
        n = q.shape[0]
        phase = 2 * np.pi * (obs["t"] - obs["episode_start"]) / self.clock_period
        features = np.concatenate([q, np.tanh(0.2 * dq), [np.sin(phase), np.cos(phase)]])
        w1, b1, w2, b2 = self.weights(n)
        offsets = self.max_offset * np.tanh(w2 @ np.tanh(w1 @ features + b1) + b2).reshape(self.horizon, n)
        ramp = (np.arange(self.horizon) / max(self.horizon - 1, 1))[:, None]
        return {"actions": q + ramp * offsets, "dt": self.dt, "t0": obs["t"]}


replay = SkillReplay("wave")
"""`humanoid-rt policy-serve humanoid_rt.remote.reference_policy:replay`: the bundled wave, 1 s chunks of 20."""

replay_squat = SkillReplay("squat")
"""The bundled squat (legs and arms), the same way."""

mlp = TinyMLP()
"""`humanoid-rt policy-serve humanoid_rt.remote.reference_policy:mlp`: 16 actions at 50 ms, within 0.1 rad."""
