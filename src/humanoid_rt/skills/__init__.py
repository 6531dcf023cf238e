"""Skills: recorded or authored motions, their file format, playback and recording.

- format.py: the skill file (versioned JSON), loader and validation (FORMAT.md-style doc in its docstring)
- approach.py: jerk-limited transitions (ruckig, or a documented quintic fallback)
- player.py: SkillPlayer (update(now) driven; PlayerThread for real time)
- record.py: skills from telemetry and teleop sessions
- examples/: wave, squat and box pick-and-place for the bundled humanoid (make_examples.py)
"""

from .approach import plan_transition, ruckig_available
from .format import FORMAT, SCENARIOS, SOURCES, VERSION, Skill, SkillError, SkillIssue, load_skill, parse_skill
from .player import ABORTED, APPROACH, DONE, IDLE, PAUSED, PLAYING, PlayerThread, SkillPlayer, run_stepped
from .record import SkillRecorder, skill_from_telemetry

__all__ = [
    "ABORTED", "APPROACH", "DONE", "FORMAT", "IDLE", "PAUSED", "PLAYING", "SCENARIOS", "SOURCES", "VERSION",
    "PlayerThread", "Skill", "SkillError", "SkillIssue", "SkillPlayer", "SkillRecorder", "load_skill",
    "parse_skill", "plan_transition", "ruckig_available", "run_stepped", "skill_from_telemetry",
]
