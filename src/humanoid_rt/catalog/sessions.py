"""Reading session indexes incrementally: only the lines appended since the last build.

Each session's cursor remembers the index file's inode, the byte offset just past its last
complete line, and the episodes whose `start` was read but whose end has not come yet. A build
stats every `index.jsonl`; a file whose size equals its cursor's offset is not opened, and one that
grew is read from the offset only. A last line without its newline (a recorder mid-append) is
left for the next build. What cannot be used is reported, never fatal:

    torn_line         a line that is not JSON (a crash mid-append, then more lines): skipped
    end_without_start an end/discard/recover whose start line was lost: the start fields are
                      taken from the episode file's `episode` metadata when the file is readable
    missing_file      the episode ended but its file is absent: catalogued with file_present false
    recording         an episode started and not ended: kept in the cursor, catalogued once it ends
                      (detail says whether a recorder still holds the session or `recover` is due)
    index_rewritten   the index shrank or was replaced: the session is skipped (rebuild with --full)
    unreadable        the index cannot be opened
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..recording.session import INDEX, LOCK

CURSOR_FIELDS = ("task", "skill", "scenario", "operator", "robot_id", "robot", "file", "extra", "wall_time")


@dataclass
class Problem:
    session: str
    kind: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"session": self.session, "kind": self.kind, "detail": self.detail}


@dataclass
class ReadResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines_read: int = 0
    bytes_read: int = 0


def find_sessions(roots: list[Path], skip: set[Path] = frozenset()) -> Iterator[Path]:
    """Every directory under the roots holding an index.jsonl; a session's own folders are not walked
    (its episodes/ may hold thousands of files)."""
    for root in roots:
        if (root / INDEX).is_file():
            yield root
            continue
        for directory, subdirs, files in os.walk(root):
            here = Path(directory)
            if INDEX in files:
                subdirs[:] = []
                yield here
                continue
            subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and (here / d) not in skip)


def read_new_lines(session: Path, cursor: dict[str, Any], result: ReadResult) -> bool:
    """Fold the lines appended since `cursor` into rows (into `result`). Returns False when the session
    was skipped. `cursor` is updated in place."""
    name = str(session)
    index = session / INDEX
    try:
        stat = index.stat()
    except OSError as error:
        result.problems.append(Problem(name, "unreadable", f"{index}: {error.strerror}"))
        return False
    offset = cursor.get("offset", 0)
    if cursor and (stat.st_ino != cursor.get("inode") or stat.st_size < offset):
        result.problems.append(Problem(name, "index_rewritten", f"{index} shrank or was replaced since the last "
                                       f"build (offset {offset}, size {stat.st_size}): skipped; rebuild with --full"))
        return False
    cursor["inode"] = stat.st_ino
    if stat.st_size > offset:
        with open(index, "rb") as f:
            f.seek(offset)
            data = f.read(stat.st_size - offset)
        complete = data[: data.rfind(b"\n") + 1]  # a last line without its newline is still being written
        result.bytes_read += len(complete)
        line_no = cursor.get("lines", 0)
        for raw in complete.splitlines():
            line_no += 1
            if not raw.strip():
                continue
            result.lines_read += 1
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                result.problems.append(Problem(name, "torn_line", f"{index} line {line_no}: not a JSON object "
                                               f"({raw[:60]!r}...): skipped"))
                continue
            _fold(session, record, cursor, result)
        cursor["offset"] = offset + len(complete)
        cursor["lines"] = line_no
    for number, start in sorted(cursor.get("open", {}).items(), key=lambda kv: int(kv[0])):
        result.problems.append(Problem(name, "recording", f"episode {number} started "
                                       f"{_iso(start.get('wall_time'))} and has not ended: {_recorder_status(session)}"))
    return True


def _fold(session: Path, record: dict[str, Any], cursor: dict[str, Any], result: ReadResult) -> None:
    episode, event = record.get("episode"), record.get("event")
    if not isinstance(episode, int) or event not in ("start", "end", "recover", "discard"):
        result.problems.append(Problem(str(session), "torn_line", f"a line with event {event!r} and episode "
                                       f"{episode!r} names no episode event: skipped"))
        return
    open_episodes = cursor.setdefault("open", {})
    if event == "start":
        open_episodes[str(episode)] = {k: record.get(k) for k in CURSOR_FIELDS}
        return
    start = open_episodes.pop(str(episode), None)
    if start is None:
        start = _start_from_file(session, record)
        result.problems.append(Problem(str(session), "end_without_start", f"episode {episode}: its start line is "
                                       f"missing; " + ("start fields taken from the episode file" if start else
                                                       "the file has none either: fields unknown")))
        start = start or {}
    result.rows.append(_row(session, episode, event, start, record, cursor, result))


def _row(session: Path, episode: int, event: str, start: dict, end: dict, cursor: dict, result: ReadResult) -> dict:
    file = end.get("file") or start.get("file") or ""
    path = f"{session}/{file}"  # a string, not a Path: this runs per episode (1.5 M times in the benchmark)
    try:
        size = os.stat(path).st_size if file else None
    except OSError:
        size = None
    if size is None:
        result.problems.append(Problem(str(session), "missing_file", f"episode {episode}: {path} is absent; "
                                       f"catalogued without its size (file_present false)"))
    robot_id = start.get("robot_id") or _fallback_robot(session, cursor)
    wall = start.get("wall_time")
    if not isinstance(wall, (int, float)):  # start fields unknown: the end line's time stands in (dates the row)
        wall = end.get("wall_time") if isinstance(end.get("wall_time"), (int, float)) else time.time()
    messages = end.get("messages")
    extra = start.get("extra")
    if event == "discard":
        outcome = "discarded"
    else:
        outcome = end.get("outcome") if end.get("outcome") in ("success", "failure", "aborted") else "aborted"
    return {
        "session": str(session), "episode": episode, "robot_id": robot_id,
        "robot_config": start.get("robot") or cursor.get("robot_config") or "",
        "operator": str(start.get("operator") or ""), "task": str(start.get("task") or "unknown"),
        "skill": str(start.get("skill") or ""), "scenario": str(start.get("scenario") or ""),
        "outcome": outcome, "note": str(end.get("note") or end.get("reason") or ""),
        "start_time": datetime.fromtimestamp(float(wall), timezone.utc),
        "duration_s": _duration(start, end),
        "bytes": size, "file": file, "file_present": size is not None,
        "messages": int(sum(messages.values())) if isinstance(messages, dict) else (
            int(messages) if isinstance(messages, int) else None),
        **{k: int(end[k]) if isinstance(end.get(k), int) else None
           for k in ("telemetry_dropped", "overruns", "bus_errors", "device_dropped")},
        "extra": json.dumps(extra) if extra not in (None, {}, "") else None,
    }


def _duration(start: dict, end: dict) -> float | None:
    if isinstance(end.get("duration_s"), (int, float)):
        return float(end["duration_s"])
    if isinstance(end.get("last_log_time_ns"), int) and isinstance(start.get("wall_time"), (int, float)):
        return max(0.0, end["last_log_time_ns"] / 1e9 - start["wall_time"])  # a recovered episode: its last record
    return None


def _fallback_robot(session: Path, cursor: dict) -> str:
    """Sessions recorded before robot_id was indexed: the config name from an episode file's metadata
    (read once per session and remembered), else "unknown"."""
    if "robot_config" not in cursor:
        cursor["robot_config"] = ""
        for folder in ("episodes", "discarded"):
            for path in sorted((session / folder).glob("episode_*.mcap"))[:3]:
                meta = episode_metadata(path)
                if meta.get("robot"):
                    cursor["robot_config"] = meta["robot"]
                    break
            if cursor["robot_config"]:
                break
    return cursor["robot_config"] or "unknown"


def _start_from_file(session: Path, end: dict) -> dict | None:
    file = end.get("file")
    if not file:
        return None
    meta = episode_metadata(session / file)
    if not meta:
        return None
    start = {k: meta.get(k) for k in CURSOR_FIELDS if k in meta}
    if meta.get("start_wall_time_ns", "").isdigit():
        start["wall_time"] = int(meta["start_wall_time_ns"]) / 1e9
    return start


def episode_metadata(path: Path) -> dict[str, str]:
    """The `episode` metadata record of an MCAP episode file ({} when it cannot be read)."""
    from mcap.reader import make_reader

    try:
        with open(path, "rb") as f:
            for record in make_reader(f).iter_metadata():
                if record.name == "episode":
                    return dict(record.metadata)
    except Exception:  # noqa: BLE001 - absent, torn or foreign files all mean "no metadata here"
        return {}
    return {}


def _recorder_status(session: Path) -> str:
    try:
        pid = int((session / LOCK).read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return "no live recorder holds the session (if it crashed: humanoid-rt recover SESSION)"
    return f"still recording (recorder pid {pid})"


def _iso(wall: Any) -> str:
    if isinstance(wall, (int, float)):
        return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "at an unknown time"
