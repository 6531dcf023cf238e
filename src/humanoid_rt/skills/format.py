"""Skill files: a recorded or authored motion, as timestamped joint (and frame) targets.

A skill is one JSON document (``*.skill.json``), column-oriented so that it stays
small and diff-able. Format version 1:

    {
      "format": "humanoid_rt.skill", "version": 1,
      "name": "wave",                          # free text, non-empty
      "scenario": "gesture",                   # one of SCENARIOS
      "robot": "generic_humanoid",             # robot config name the skill was made for
      "source": "synthetic",                   # one of SOURCES
      "rate_hz": 100,                          # nominal sample rate (informative; t is authoritative)
      "description": "...",                    # optional
      "joints": ["right_shoulder_pitch", ...], # the joints the skill drives (others hold their pose)
      "t":  [0.0, 0.01, ...],                  # seconds from the skill start, strictly increasing, t[0] == 0
      "q":  [[...], ...],                      # (N, len(joints)) joint targets [rad]
      "dq": [[...], ...],                      # optional (N, J) target velocities [rad/s]
      "tau_ff": [[...], ...],                  # optional (N, J) feed-forward torques [Nm]
      "kp": [...], "kd": [...],                # optional per-joint gains for the skill (J,)
      "frames": {                              # optional Cartesian targets, sampled at the same t
        "left_hand": {"position": [[x, y, z], ...], "quaternion": [[w, x, y, z], ...],
                      "stiffness": [kt, kr]}   # stiffness optional
      }
    }

`load_skill` checks the document on its own (structure, types, finite values,
strictly increasing time); `Skill.check_robot(config)` checks it against a robot
(robot name, joint names, targets inside the soft limits, frame names, gains).
Every problem is reported as ``field: problem; allowed: ... (got ...)``, all at once,
in a SkillError.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import HumanoidRtError
from ..poses import slerp_wxyz

FORMAT = "humanoid_rt.skill"
VERSION = 1
SCENARIOS = ("gesture", "locomotion", "manipulation", "posture", "pick_and_place", "other")
SOURCES = ("teleop", "mocap", "synthetic", "policy", "episode")
MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class SkillIssue:
    field: str
    problem: str
    allowed: str
    got: Any

    def __str__(self) -> str:
        got = repr(self.got)
        if len(got) > 80:
            got = got[:77] + "..."
        return f"{self.field}: {self.problem}; allowed: {self.allowed} (got {got})"


class SkillError(HumanoidRtError, ValueError):
    """A skill file is malformed or does not fit the robot; `errors` lists every problem."""

    def __init__(self, source: str, errors: list[SkillIssue]):
        self.source = source
        self.errors = list(errors)
        lines = "\n  ".join(str(e) for e in self.errors)
        super().__init__(f"{source}: {len(self.errors)} problem(s):\n  {lines}")


@dataclass
class Skill:
    name: str
    scenario: str
    robot: str
    source: str
    rate_hz: float
    joints: tuple[str, ...]
    t: np.ndarray  # (N,)
    q: np.ndarray  # (N, J)
    dq: np.ndarray | None = None
    tau_ff: np.ndarray | None = None
    kp: np.ndarray | None = None  # (J,)
    kd: np.ndarray | None = None
    frames: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    description: str = ""

    @property
    def duration(self) -> float:
        return float(self.t[-1])

    @property
    def n_samples(self) -> int:
        return int(self.t.shape[0])

    # ------------------------------------------------------------ sampling
    def velocities(self) -> np.ndarray:
        """dq if given, else finite differences of q (central inside, one-sided at the ends)."""
        if self.dq is not None:
            return self.dq
        if not hasattr(self, "_dq_cache"):
            v = np.zeros_like(self.q)
            if self.n_samples > 1:
                v = np.gradient(self.q, self.t, axis=0, edge_order=1)  # central inside, one-sided at the ends
            self._dq_cache = v
        return self._dq_cache

    def sample(self, s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict]:
        """(q, dq, tau_ff, frames) at skill time s (clamped to [0, duration]): cubic Hermite through
        the samples with their velocities, so position and velocity are continuous."""
        s = min(max(float(s), 0.0), self.duration)
        v = self.velocities()
        if self.n_samples == 1:
            return self.q[0].copy(), np.zeros(len(self.joints)), self._tau(0, 0, 0.0), self._frames(0, 0, 0.0)
        k = int(np.searchsorted(self.t, s, side="right")) - 1
        k = min(max(k, 0), self.n_samples - 2)
        h = self.t[k + 1] - self.t[k]
        u = (s - self.t[k]) / h
        u2, u3 = u * u, u * u * u
        h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2
        d00, d10, d01, d11 = 6 * u2 - 6 * u, 3 * u2 - 4 * u + 1, -6 * u2 + 6 * u, 3 * u2 - 2 * u
        p0, p1, v0, v1 = self.q[k], self.q[k + 1], v[k], v[k + 1]
        q = h00 * p0 + h10 * h * v0 + h01 * p1 + h11 * h * v1
        dq = (d00 * p0 + d01 * p1) / h + d10 * v0 + d11 * v1
        return q, dq, self._tau(k, k + 1, u), self._frames(k, k + 1, u)

    def _tau(self, a: int, b: int, u: float):
        if self.tau_ff is None:
            return None
        return (1 - u) * self.tau_ff[a] + u * self.tau_ff[b]

    def _frames(self, a: int, b: int, u: float) -> dict:
        out = {}
        for frame, data in self.frames.items():
            position = (1 - u) * data["position"][a] + u * data["position"][b]
            out[frame] = (position, slerp_wxyz(data["quaternion"][a], data["quaternion"][b], u))
        return out

    # ------------------------------------------------------------- checks
    def check_robot(self, config) -> None:
        """Raise SkillError naming every mismatch with a robot config (RobotConfig) or Robot."""
        config = getattr(config, "config", config)
        errors: list[SkillIssue] = []
        if self.robot != config.name:
            errors.append(SkillIssue("robot", "the skill was made for another robot", repr(config.name), self.robot))
        names = config.joint_names
        index = {n: i for i, n in enumerate(names)}
        for j, name in enumerate(self.joints):
            if name not in index:
                errors.append(SkillIssue(f"joints[{j}]", "unknown joint for this robot", ", ".join(names), name))
                continue
            limits = config.joints[index[name]].limits
            column = self.q[:, j]
            for bad, bound, word in ((np.flatnonzero(column < limits.q_soft_min), limits.q_soft_min, "below"),
                                     (np.flatnonzero(column > limits.q_soft_max), limits.q_soft_max, "above")):
                if bad.size:
                    errors.append(SkillIssue(
                        f"q[{bad[0]}][{j}] ({name})", f"target {word} the soft limit at t={self.t[bad[0]]:.3f} s",
                        f"[{limits.q_soft_min:.4g}, {limits.q_soft_max:.4g}] rad", float(column[bad[0]])))
            if self.dq is not None:
                fast = np.flatnonzero(np.abs(self.dq[:, j]) > limits.velocity)
                if fast.size:
                    errors.append(SkillIssue(f"dq[{fast[0]}][{j}] ({name})", "velocity above the joint's limit",
                                             f"|dq| <= {limits.velocity:.4g} rad/s", float(self.dq[fast[0], j])))
            if self.tau_ff is not None:
                strong = np.flatnonzero(np.abs(self.tau_ff[:, j]) > limits.torque)
                if strong.size:
                    errors.append(SkillIssue(f"tau_ff[{strong[0]}][{j}] ({name})", "torque above the joint's limit",
                                             f"|tau_ff| <= {limits.torque:.4g} Nm", float(self.tau_ff[strong[0], j])))
        frames = config.model.task_frames
        for frame in self.frames:
            if frame not in frames:
                errors.append(SkillIssue(f"frames.{frame}", "not a task frame of this robot",
                                         ", ".join(frames) or "none (model.tasks)", frame))
        if errors:
            raise SkillError(f"skill {self.name!r} on robot {config.name!r}", errors)

    # ------------------------------------------------------------- output
    def to_dict(self) -> dict:
        doc: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "name": self.name, "scenario": self.scenario,
            "robot": self.robot, "source": self.source, "rate_hz": float(self.rate_hz),
        }
        if self.description:
            doc["description"] = self.description
        doc["joints"] = list(self.joints)
        doc["t"] = [round(float(x), 9) for x in self.t]
        doc["q"] = np.round(self.q, 9).tolist()
        for key in ("dq", "tau_ff"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = np.round(value, 9).tolist()
        for key in ("kp", "kd"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = [float(x) for x in value]
        if self.frames:
            doc["frames"] = {name: {k: np.asarray(v).tolist() for k, v in data.items()}
                             for name, data in self.frames.items()}
        return doc

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n")
        return path

    def summary(self) -> str:
        extras = [k for k in ("dq", "tau_ff", "kp", "kd") if getattr(self, k) is not None]
        frames = ", ".join(self.frames) or "none"
        return (f"{self.name}: {self.scenario} skill for {self.robot} ({self.source}), {self.duration:.3f} s, "
                f"{self.n_samples} samples at {self.rate_hz:g} Hz, {len(self.joints)} joints "
                f"({', '.join(self.joints)}); frames: {frames}; extras: {', '.join(extras) or 'none'}")


# ------------------------------------------------------------------ parsing
def _matrix(doc: Mapping, key: str, rows: int, cols: int, errors: list[SkillIssue], width_name: str):
    value = doc[key]
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        errors.append(SkillIssue(key, "must be a list of rows of numbers", f"{rows} rows of {cols} numbers",
                                 value))
        return None
    if array.shape != (rows, cols):
        errors.append(SkillIssue(key, "wrong shape", f"{rows} rows (one per t) of {cols} values ({width_name})",
                                 f"shape {array.shape}"))
        return None
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        r, c = bad[0]
        errors.append(SkillIssue(f"{key}[{r}][{c}]", "must be finite", "a finite number", float(array[r, c])))
        return None
    return array


def parse_skill(doc: Any, source: str = "skill") -> Skill:
    """Validate a decoded skill document and build the Skill; raises SkillError listing every problem."""
    errors: list[SkillIssue] = []
    if not isinstance(doc, Mapping):
        raise SkillError(source, [SkillIssue("(document)", "must be a JSON object", "an object with format, "
                                             "version, name, ...", type(doc).__name__)])
    known = {"format", "version", "name", "scenario", "robot", "source", "rate_hz", "description", "joints", "t",
             "q", "dq", "tau_ff", "kp", "kd", "frames"}
    for key in doc:
        if key not in known:
            errors.append(SkillIssue(str(key), "unknown field", ", ".join(sorted(known)), key))
    required = ("format", "version", "name", "scenario", "robot", "source", "rate_hz", "joints", "t", "q")
    missing = [k for k in required if k not in doc]
    for key in missing:
        errors.append(SkillIssue(key, "missing", "required", None))
    if missing:
        raise SkillError(source, errors)
    if doc["format"] != FORMAT:
        errors.append(SkillIssue("format", "not a skill file", repr(FORMAT), doc["format"]))
    if isinstance(doc["version"], bool) or doc["version"] != VERSION:
        errors.append(SkillIssue("version", "unsupported version", str(VERSION), doc["version"]))
    for key in ("name", "robot"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            errors.append(SkillIssue(key, "must be a non-empty string", "text", doc[key]))
    if doc["scenario"] not in SCENARIOS:
        errors.append(SkillIssue("scenario", "unknown scenario", ", ".join(SCENARIOS), doc["scenario"]))
    if doc["source"] not in SOURCES:
        errors.append(SkillIssue("source", "unknown source", ", ".join(SOURCES), doc["source"]))
    rate = doc["rate_hz"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):
        errors.append(SkillIssue("rate_hz", "must be a positive number", "> 0 Hz", rate))
    description = doc.get("description", "")
    if not isinstance(description, str):
        errors.append(SkillIssue("description", "must be a string", "text", description))
    joints = doc["joints"]
    if not isinstance(joints, list) or not joints or not all(isinstance(j, str) and j for j in joints):
        errors.append(SkillIssue("joints", "must be a non-empty list of joint names", "joint names of the robot",
                                 joints))
        raise SkillError(source, errors)
    seen = set()
    for j, name in enumerate(joints):
        if name in seen:
            errors.append(SkillIssue(f"joints[{j}]", "duplicate joint", "each joint once", name))
        seen.add(name)
    t_raw = doc["t"]
    try:
        t = np.asarray(t_raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        t = None
    if t is None or t.ndim != 1 or t.size == 0:
        errors.append(SkillIssue("t", "must be a non-empty list of times", "seconds, strictly increasing from 0",
                                 t_raw))
        raise SkillError(source, errors)
    if t.size > MAX_SAMPLES:
        errors.append(SkillIssue("t", "too many samples", f"<= {MAX_SAMPLES}", t.size))
        raise SkillError(source, errors)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        errors.append(SkillIssue(f"t[{bad[0]}]", "must be finite", "a finite number of seconds", float(t[bad[0]])))
    else:
        if t[0] != 0.0:
            errors.append(SkillIssue("t[0]", "the first sample must be at 0", "0.0", float(t[0])))
        back = np.flatnonzero(np.diff(t) <= 0)
        if back.size:
            k = back[0] + 1
            errors.append(SkillIssue(f"t[{k}]", "time must strictly increase", f"> {t[k - 1]!r}", float(t[k])))
    n, width = t.size, len(joints)
    q = _matrix(doc, "q", n, width, errors, "joints")
    dq = _matrix(doc, "dq", n, width, errors, "joints") if "dq" in doc else None
    tau_ff = _matrix(doc, "tau_ff", n, width, errors, "joints") if "tau_ff" in doc else None
    gains = {}
    for key in ("kp", "kd"):
        if key in doc:
            try:
                gain = np.asarray(doc[key], dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                gain = None
            if gain is None or gain.shape != (width,) or not np.all(np.isfinite(gain)) or np.any(gain < 0):
                errors.append(SkillIssue(key, "must be one finite gain >= 0 per joint", f"{width} numbers >= 0",
                                         doc[key]))
            else:
                gains[key] = gain
    frames: dict[str, dict[str, np.ndarray]] = {}
    raw_frames = doc.get("frames", {})
    if not isinstance(raw_frames, Mapping):
        errors.append(SkillIssue("frames", "must be an object of frame name -> targets", "{frame: {position, "
                                 "quaternion}}", raw_frames))
    else:
        for frame, data in raw_frames.items():
            where = f"frames.{frame}"
            if not isinstance(data, Mapping) or "position" not in data or "quaternion" not in data:
                errors.append(SkillIssue(where, "must have position and quaternion", "{position: [[x,y,z]...], "
                                         "quaternion: [[w,x,y,z]...]}", data))
                continue
            extra = set(data) - {"position", "quaternion", "stiffness"}
            if extra:
                errors.append(SkillIssue(f"{where}.{sorted(extra)[0]}", "unknown field", "position, quaternion, "
                                         "stiffness", sorted(extra)[0]))
            position = _matrix(data, "position", n, 3, errors, "x, y, z")
            quaternion = _matrix(data, "quaternion", n, 4, errors, "w, x, y, z")
            if quaternion is not None:
                norms = np.linalg.norm(quaternion, axis=1)
                off = np.flatnonzero(np.abs(norms - 1.0) > 0.01)
                if off.size:
                    errors.append(SkillIssue(f"{where}.quaternion[{off[0]}]", "must be a unit quaternion",
                                             "norm within 0.01 of 1", float(norms[off[0]])))
                    quaternion = None
            entry = {"position": position, "quaternion": quaternion}
            if "stiffness" in data:
                try:
                    stiffness = np.asarray(data["stiffness"], dtype=np.float64)
                except (TypeError, ValueError, OverflowError):
                    stiffness = None
                if stiffness is None or stiffness.shape not in ((2,), (6,)) or not np.all(np.isfinite(stiffness)) \
                        or np.any(stiffness < 0):
                    errors.append(SkillIssue(f"{where}.stiffness", "must be 2 or 6 numbers >= 0",
                                             "[translational, rotational] or 6 values", data["stiffness"]))
                else:
                    entry["stiffness"] = stiffness
            frames[str(frame)] = entry
    if errors:
        raise SkillError(source, errors)
    return Skill(name=doc["name"], scenario=doc["scenario"], robot=doc["robot"], source=doc["source"],
                 rate_hz=float(rate), joints=tuple(joints), t=t, q=q, dq=dq, tau_ff=tau_ff, kp=gains.get("kp"),
                 kd=gains.get("kd"), frames=frames, description=description)


def load_skill(path: str | Path, robot=None) -> Skill:
    """Read and validate a skill file; with `robot` (a Robot or RobotConfig) also check it fits that robot."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SkillError(str(path), [SkillIssue("(file)", f"cannot read: {error.strerror}", "a readable file",
                                                str(path))]) from None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=lambda name: float(name))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise SkillError(str(path), [SkillIssue("(document)", f"not valid UTF-8 JSON: {error}",
                                                "a JSON skill document", raw[:40])]) from None
    skill = parse_skill(doc, str(path))
    if robot is not None:
        skill.check_robot(robot)
    return skill
