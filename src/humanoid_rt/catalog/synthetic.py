"""Synthetic fleets of session folders, for the catalogue's tests, the board's tests and the benchmark.

The index lines are the recorder's (recording/FORMAT.md): a `start` then an `end` (or `discard`)
per episode, JSON with sorted keys. Episode files are sparse files of the stated size (their content
is never read by the catalogue, only their size), or absent with make_files=False.
Each session is one robot's day: ROOT/<robot_id>/<YYYY-MM-DD>/, worked by one or two operators on
two of the skills.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SKILLS = {  # skill -> (task, success probability)
    "open_fridge": ("open the fridge", 0.82), "pick_cup": ("pick up the cup", 0.9),
    "fold_towel": ("fold the towel", 0.6), "wipe_table": ("wipe the table", 0.85),
    "box_pick_and_place": ("pick the box and place it on the shelf", 0.75), "pour_water": ("pour water", 0.55),
    "hang_jacket": ("hang the jacket", 0.5), "load_dishwasher": ("load the dishwasher", 0.7),
}


def robot_ids(count: int) -> list[str]:
    return [f"g1-{i:03d}" for i in range(count)]


def operator_names(count: int) -> list[str]:
    return [f"op{i:03d}" for i in range(count)]


def start_record(number: int, *, operator: str, skill: str, robot_id: str | None, wall_time: float,
                 task: str | None = None, robot: str = "g1") -> dict[str, Any]:
    record = {"event": "start", "episode": number, "task": task or SKILLS[skill][0], "skill": skill,
              "scenario": "synthetic", "operator": operator, "file": f"episodes/episode_{number:06d}.mcap",
              "extra": {}, "start_monotonic_ns": int(wall_time * 1e9), "wall_time": wall_time}
    if robot_id is not None:
        record.update(robot_id=robot_id, robot=robot)
    return record


def end_record(number: int, *, outcome: str, duration_s: float, wall_time: float) -> dict[str, Any]:
    return {"event": "end", "episode": number, "file": f"episodes/episode_{number:06d}.mcap", "outcome": outcome,
            "note": "", "duration_s": duration_s, "telemetry_dropped": 0, "telemetry_overflows": 0, "overruns": 0,
            "bus_errors": 0, "device_dropped": 0, "messages": {"/joints": int(duration_s * 1000)},
            "wall_time": wall_time}


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


def make_episode_file(session: Path, number: int, size: int, folder: str = "episodes") -> None:
    path = session / folder / f"episode_{number:06d}.mcap"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)


def generate_fleet(root: str | Path, *, robots: int = 100, operators: int = 200, days: int = 2,
                   episodes_per_day: int = 15, first_day: date | None = None, seed: int = 0,
                   make_files: bool = True, gap_s: float = 5.0, keep_truth: bool = True) -> list[dict[str, Any]]:
    """Write the sessions; return the truth, one dict per episode (robot_id, operator, task, skill,
    outcome, duration_s, bytes, date, wall_time), for tests to compute expected values by hand. Episodes
    start at 08:00 UTC, each `gap_s` after the previous one ended. keep_truth=False returns [] (a
    benchmark's 1.5 M episodes would hold a gigabyte of dicts)."""
    rng = random.Random(seed)
    root = Path(root)
    first_day = first_day or (datetime.now(timezone.utc).date() - timedelta(days=days - 1))
    ops, skills = operator_names(operators), sorted(SKILLS)
    truth: list[dict[str, Any]] = []
    for r, robot_id in enumerate(robot_ids(robots)):
        for d in range(days):
            day = first_day + timedelta(days=d)
            session = root / robot_id / day.isoformat()
            (session / "episodes").mkdir(parents=True, exist_ok=True)
            shift = [ops[(r * 2 + d * 7) % operators], ops[(r * 2 + d * 7 + 1) % operators]]
            session_skills = rng.sample(skills, 2)
            t = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc).timestamp()
            lines = []
            for number in range(episodes_per_day):
                operator = shift[0] if number < episodes_per_day // 2 else shift[1]
                skill = session_skills[number % 2]
                duration = round(rng.uniform(20.0, 90.0), 3)
                size = rng.randrange(5_000_000, 60_000_000)
                roll = rng.random()
                outcome = ("discarded" if roll < 0.03 else "success" if roll < 0.03 + SKILLS[skill][1] * 0.97
                           else "aborted" if rng.random() < 0.2 else "failure")
                lines.append(line(start_record(number, operator=operator, skill=skill, robot_id=robot_id,
                                               wall_time=t)))
                if outcome == "discarded":
                    lines.append(line({"event": "discard", "episode": number, "reason": "operator error",
                                       "file": f"discarded/episode_{number:06d}.mcap", "wall_time": t + duration}))
                else:
                    lines.append(line(end_record(number, outcome=outcome, duration_s=duration, wall_time=t + duration)))
                if make_files:
                    make_episode_file(session, number, size, "discarded" if outcome == "discarded" else "episodes")
                if keep_truth:
                    truth.append({"robot_id": robot_id, "operator": operator, "task": SKILLS[skill][0],
                                  "skill": skill,
                                  "outcome": outcome, "duration_s": None if outcome == "discarded" else duration,
                                  "bytes": size, "date": day, "wall_time": t, "session": str(session),
                                  "episode": number})
                t += duration + gap_s
            (session / "index.jsonl").write_text("".join(lines))
    return truth
