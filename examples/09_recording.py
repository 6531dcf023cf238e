"""09: record an episode and export it for training: the wave skill played while the recorder writes
every loop cycle to an MCAP episode file, then the session exported as a LeRobot v3 dataset.

The episode (src/humanoid_rt/recording/FORMAT.md) holds the joint telemetry of
every cycle, the setpoints, supervisor events and loop statistics, with the robot's URDF and config
attached; Foxglove opens it. The export resamples it to frames at `fps` (LeRobot's layout: parquet
data, meta/info.json, episode and task tables, statistics). Stepped mode.

    python examples/09_recording.py [OUT_DIR]     (default: a new temporary directory)
"""

import json
import sys
import tempfile
from pathlib import Path

from humanoid_rt import Robot
from humanoid_rt.recording import Recorder
from humanoid_rt.recording.lerobot_export import export_session
from humanoid_rt.recording.reader import read_episode
from humanoid_rt.skills import SkillPlayer, load_skill
from humanoid_rt.skills.cli import resolve_skill

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="humanoid_rt_recording_"))

with Robot("generic_humanoid") as robot:
    robot.enable()
    robot.step(600)
    skill = load_skill(resolve_skill("wave"), robot)
    recorder = Recorder(robot, out / "session")
    try:
        recorder.start("wave to the camera", skill=skill.name, scenario="gesture", operator="example")
        player = SkillPlayer(robot)
        player.play(skill)
        while player.active:
            player.update()
            robot.step(round(player.interval * robot.rate_hz))
        summary = recorder.end("success")
    finally:
        recorder.close()

episode_path = out / "session" / summary["file"]
episode = read_episode(episode_path)
joints = episode.streams["/joints"]
print(f"episode {episode_path} ({episode_path.stat().st_size} bytes): {len(joints['cycle'])} joint samples, "
      f"{len(episode.messages['/setpoints'])} setpoints, outcome {episode.outcome}")

report = export_session(out / "session", out / "lerobot", fps=30)
info = json.loads((out / "lerobot" / "meta" / "info.json").read_text())
print(f"LeRobot dataset {out / 'lerobot'}: {report['episodes']} episode, {report['frames']} frames at "
      f"{info['fps']} fps, features {', '.join(sorted(info['features']))}")
