"""The catalogue on disk: Parquet part files in Hive-style partitions, and the build state.

    OUT/
      episodes/date=2026-12-04/robot=g1-07/task=open%20the%20fridge/part-000012-0.parquet
      state.json        the sessions' cursors, the committed generation, files due for removal
      last_build.json   what the latest build read, wrote and reported
      .lock             one build at a time (flock)

Each build is a generation: its rows go into new part files named after it, written under a
temporary name and renamed. state.json is replaced atomically after the files are in place, so a
build that dies before committing leaves parts of an uncommitted generation, which the next build
deletes before starting (their lines are re-read: the cursors were not advanced). A partition
holding more than COMPACT_AFTER parts is merged into one file by the build that adds to it; the
merged parts are listed in state.json before they are deleted, so a crash mid-way finishes the job
next time. Files carry every column (task in full); the directory names are percent-encoded.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import HumanoidRtError

COMPACT_AFTER = 16
STATE = "state.json"
PARTS = "episodes"

SCHEMA = pa.schema([
    ("session", pa.string()), ("episode", pa.int64()), ("robot_id", pa.string()), ("robot_config", pa.string()),
    ("operator", pa.string()), ("task", pa.string()), ("skill", pa.string()), ("scenario", pa.string()),
    ("outcome", pa.string()), ("note", pa.string()), ("start_time", pa.timestamp("us", tz="UTC")),
    ("duration_s", pa.float64()), ("bytes", pa.int64()), ("file", pa.string()), ("file_present", pa.bool_()),
    ("messages", pa.int64()), ("telemetry_dropped", pa.int64()), ("overruns", pa.int64()),
    ("bus_errors", pa.int64()), ("device_dropped", pa.int64()), ("extra", pa.string()),
])


class CatalogError(HumanoidRtError, ValueError):
    """A catalogue directory that cannot be used, with the reason."""


@contextmanager
def build_lock(out: Path, wait: bool = True) -> Iterator[bool]:
    """Hold OUT/.lock; yields False (without waiting) when another build holds it and wait is False."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def load_state(out: Path) -> dict[str, Any]:
    path = out / STATE
    if not path.exists():
        return {"version": 1, "generation": 0, "sessions": {}, "remove": []}
    try:
        state = json.loads(path.read_text())
    except ValueError as error:
        raise CatalogError(f"{path}: not readable JSON ({error}); rebuild with --full") from None
    if state.get("version") != 1:
        raise CatalogError(f"{path}: version {state.get('version')!r}; allowed: 1 (rebuild with --full)")
    return state


def save_state(out: Path, state: dict[str, Any]) -> None:
    tmp = out / (STATE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out / STATE)


def recover_interrupted(out: Path, state: dict[str, Any]) -> None:
    """Delete parts of an uncommitted generation and finish removals a crash interrupted."""
    committed = state["generation"]
    root = out / PARTS
    if state.get("pending", 0) > committed and root.exists():  # a build died between its files and its commit
        for path in root.rglob("part-*"):
            generation = _generation(path)
            if path.name.endswith(".tmp") or (generation is not None and generation > committed):
                path.unlink(missing_ok=True)
    for name in state.get("remove", []):
        (out / name).unlink(missing_ok=True)
    if state.get("remove") or state.get("pending", 0) > committed:
        state["remove"], state["pending"] = [], committed
        save_state(out, state)


def partition_dir(row: dict[str, Any]) -> str:
    # start_time is always set (sessions.py falls back to the end line's time); UTC, as DuckDB reads it.
    return (f"{PARTS}/date={row['start_time'].strftime('%Y-%m-%d')}/robot={quote(row['robot_id'], safe='')}"
            f"/task={quote(row['task'], safe='')}")


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_rows(out: Path, rows: list[dict[str, Any]], generation: int) -> tuple[list[str], list[str]]:
    """Write rows of `generation` into their partitions; compact partitions grown past COMPACT_AFTER parts.
    Returns (files written, files now superseded and due for removal), paths relative to `out`."""
    # One Arrow table for all rows, sorted by partition then start; each partition is a zero-copy slice.
    directories = [partition_dir(row) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: (directories[i], rows[i]["start_time"]))
    table = rows_table(rows).take(pa.array(order, type=pa.int64()))
    slices = []
    start = 0
    while start < len(order):
        directory = directories[order[start]]
        end = start
        while end < len(order) and directories[order[end]] == directory:
            end += 1
        slices.append((directory, table.slice(start, end - start)))
        start = end
    # Parquet encoding and compression release the GIL: a few threads overlap them with the file system calls.
    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) + 1)) as pool:
        results = list(pool.map(lambda job: _write_partition(out, job[0], job[1], generation), slices))
    return [name for name, _ in results], [old for _, olds in results for old in olds]


def _write_partition(out: Path, directory: str, table: pa.Table, generation: int) -> tuple[str, list[str]]:
    superseded: list[str] = []
    folder = out / directory
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("part-*.parquet"))
    if len(existing) + 1 > COMPACT_AFTER:
        table = pa.concat_tables([pq.read_table(p, schema=SCHEMA) for p in existing] + [table])
        table = table.sort_by([("start_time", "ascending")])
        superseded = [str(p.relative_to(out)) for p in existing]
    name = f"part-{generation:08d}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = folder / (name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, folder / name)
    return f"{directory}/{name}", superseded


def _generation(path: Path) -> int | None:
    parts = path.name.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def parquet_glob(out: Path) -> str:
    return str(out / PARTS / "**" / "*.parquet")
