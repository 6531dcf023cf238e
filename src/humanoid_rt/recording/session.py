"""A session directory: its episodes and the append-only index that lists them.

    SESSION/
      index.jsonl                 one JSON line per event: start, end, discard, recover
      episodes/episode_000001.mcap
      discarded/episode_000004.mcap   (kept, labelled with the reason; never exported)

The index is append-only so a crash can at worst leave an episode "started" without
an "end" line; `recover()` closes such files and appends what it did. `episodes()`
folds the lines into one record per episode. A recorder holds `SESSION/.lock` (flock)
while it lives, so `recover` never touches an episode that is still being written.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from mcap.reader import make_reader
from mcap.records import Attachment, Channel, Message, Metadata, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

from ..errors import HumanoidRtError
from .episode_file import PROFILE

OUTCOMES = ("success", "failure", "aborted")
INDEX = "index.jsonl"
LOCK = ".lock"


class SessionError(HumanoidRtError, ValueError):
    """A session directory or episode call that cannot be taken, with the reason."""


class Session:
    def __init__(self, directory: str | Path, *, create: bool = True):
        self.directory = Path(directory)
        if create:
            (self.directory / "episodes").mkdir(parents=True, exist_ok=True)
        elif not (self.directory / INDEX).is_file():
            raise SessionError(f"{self.directory}: not a session directory (no {INDEX})")
        self.index_path = self.directory / INDEX
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Hold the session's lock (a recorder for its lifetime, `recover` while it works): released by
        unlock() or when the process dies, so a crashed recorder never blocks its recovery."""
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SessionError(f"{self.directory}: in use by another recorder or recovery (pid {holder}); "
                               f"one at a time") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def append(self, record: dict[str, Any]) -> None:
        """One index line, written and fsynced before returning (the index is what recovery trusts)."""
        line = json.dumps({**record, "wall_time": time.time()}, sort_keys=True) + "\n"
        with open(self.index_path, "a+b") as f:
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a line torn by a crash: end it, so this record stays whole
                    line = "\n" + line
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())

    def lines(self) -> Iterator[dict[str, Any]]:
        if not self.index_path.exists():
            return
        with open(self.index_path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    # A torn last line (crash while appending) is skipped, never fatal.
                    continue

    def episodes(self) -> list[dict[str, Any]]:
        """One record per episode: its start fields, then status (recording, ended, discarded) and outcome."""
        folded: dict[int, dict[str, Any]] = {}
        for line in self.lines():
            episode = line.get("episode")
            if not isinstance(episode, int):
                continue
            event = line.get("event")
            record = folded.setdefault(episode, {"episode": episode})
            if event == "start":
                record.update({k: v for k, v in line.items() if k not in ("event",)}, status="recording")
            elif event in ("end", "recover"):
                record.update({k: v for k, v in line.items() if k not in ("event", "wall_time")}, status="ended")
            elif event == "discard":
                record.update(status="discarded", discard_reason=line.get("reason"), file=line.get("file"))
        return [folded[k] for k in sorted(folded)]

    def next_episode_index(self) -> int:
        """After every episode in the index and every episode file on disk (a crash between creating a
        file and indexing it must not block the number)."""
        taken = [e["episode"] for e in self.episodes()]
        for folder in ("episodes", "discarded"):
            for path in (self.directory / folder).glob("episode_*.mcap*"):
                number = path.name[len("episode_"):].split(".", 1)[0]
                if number.isdigit():
                    taken.append(int(number))
        return max(taken) + 1 if taken else 0

    def episode_path(self, episode: int) -> Path:
        return self.directory / "episodes" / f"episode_{episode:06d}.mcap"

    def unfinished(self) -> list[dict[str, Any]]:
        return [e for e in self.episodes() if e.get("status") == "recording"]


def _read_records(path: Path) -> tuple[list[Any], bool]:
    """Every record that can be read, in order, and whether the file ended cleanly."""
    records: list[Any] = []
    with open(path, "rb") as f:
        try:
            for record in StreamReader(f, validate_crcs=True).records:
                records.append(record)
        except Exception:  # noqa: BLE001 - a torn tail fails in many ways (short struct, bad lz4 block, CRC):
            return records, False  # all mean the same here: the intact records end where it starts
    return records, True


def recover(directory: str | Path) -> list[dict[str, Any]]:
    """Close every episode a crash left open: rewrite its intact records into a complete MCAP file.

    Refused while a recorder holds the session. The rewrite goes to a temporary file that replaces
    the original only once it reads back whole (the original's intact records are all in it; a
    failed or interrupted recovery leaves the original as it was). The episode is labelled
    `aborted` (reason `recovered after crash`), unless the file was complete with its outcome
    written (the crash came between closing it and indexing its end): then that outcome stands.
    Returns what was done per episode.
    """
    session = Session(directory, create=False)
    session.lock()
    try:
        return [_recover_episode(session, episode) for episode in session.unfinished()]
    finally:
        session.unlock()


def _recover_episode(session: Session, episode: dict[str, Any]) -> dict[str, Any]:
    path = session.directory / episode.get("file", "")
    if not path.is_file():
        session.append({"event": "recover", "episode": episode["episode"], "outcome": "aborted",
                        "reason": "recovered after crash: no file was written", "messages": 0})
        return {"episode": episode["episode"], "file": None, "messages": 0}
    records, clean = _read_records(path)
    written = [r for r in records if isinstance(r, Metadata) and r.name == "outcome"]
    if clean and written:
        outcome = dict(written[-1].metadata)
        result = {"event": "recover", "episode": episode["episode"], "outcome": outcome.get("outcome", "aborted"),
                  "reason": "file was complete; its end was not indexed", "file_was_complete": True,
                  "messages": sum(isinstance(r, Message) for r in records)}
        session.append(result)
        return {"episode": episode["episode"], "file": str(path), "messages": result["messages"]}
    rewritten = path.with_name(path.name + ".recovering")
    rewritten.unlink(missing_ok=True)  # left by an interrupted recovery: redo it from the original
    messages, last_ns = _rewrite(records, rewritten)
    with open(rewritten, "rb") as f:
        summary = make_reader(f).get_summary()
    if summary is None or summary.statistics is None or summary.statistics.message_count != messages:
        rewritten.unlink()
        raise SessionError(f"{path}: the rewritten file did not read back; the original is untouched")
    os.replace(rewritten, path)
    result = {"event": "recover", "episode": episode["episode"], "outcome": "aborted",
              "reason": "recovered after crash", "messages": messages, "file_was_complete": clean,
              "last_log_time_ns": last_ns}
    session.append(result)
    return {"episode": episode["episode"], "file": str(path), "messages": messages}


def _rewrite(records: list[Any], path: Path) -> tuple[int, int]:
    # Record-level copy (ids, sequence and publish times kept): the `mcap` package's writer, which
    # exposes records, unlike the SDK the recorder writes with.
    with open(path, "xb") as f:
        writer = Writer(f, compression=CompressionType.LZ4)
        writer.start(PROFILE, "humanoid_rt recover")
        schema_ids: dict[int, int] = {}
        channel_ids: dict[int, int] = {}
        messages = 0
        last_ns = 0
        for r in records:
            if isinstance(r, Schema):
                schema_ids[r.id] = writer.register_schema(r.name, r.encoding, r.data)
            elif isinstance(r, Channel) and r.schema_id in schema_ids:
                channel_ids[r.id] = writer.register_channel(r.topic, r.message_encoding, schema_ids[r.schema_id],
                                                            r.metadata)
            elif isinstance(r, Message) and r.channel_id in channel_ids:
                writer.add_message(channel_ids[r.channel_id], r.log_time, r.data, r.publish_time, r.sequence)
                messages += 1
                last_ns = max(last_ns, r.log_time)
            elif isinstance(r, Attachment):
                writer.add_attachment(r.create_time, r.log_time, r.name, r.media_type, r.data)
            elif isinstance(r, Metadata):
                writer.add_metadata(r.name, r.metadata)
        writer.add_metadata("outcome", {"outcome": "aborted", "reason": "recovered after crash",
                                        "messages": str(messages)})
        writer.finish()
        f.flush()
        os.fsync(f.fileno())
    return messages, last_ns
