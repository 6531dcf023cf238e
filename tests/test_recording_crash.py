"""Crash safety: a recorder killed mid-episode loses at most the last second; `recover` closes the file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from humanoid_rt.cli import main as cli_main
from humanoid_rt.recording import Recorder, Session, SessionError, recover
from humanoid_rt.recording.reader import read_episode

from conftest import small_robot_config

CHILD = textwrap.dedent("""
    import sys, time
    from humanoid_rt import Robot
    from humanoid_rt.recording import Recorder
    robot = Robot(sys.argv[1], priority=0, lock_memory=False)
    robot.start()
    recorder = Recorder(robot, sys.argv[2])
    recorder.start("killed mid-episode", skill="crash")
    print("recording", flush=True)
    while True:
        time.sleep(1)
""")


def test_kill_9_mid_episode_loses_at_most_the_last_second(tmp_path, urdf_path):
    config = tmp_path / "robot.json"
    config.write_text(json.dumps(small_robot_config(urdf_path)))
    session = tmp_path / "session"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(session)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "recording"
        time.sleep(2.5)
        killed_at = time.monotonic_ns()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    [open_episode] = Session(session, create=False).unfinished()
    done = recover(session)
    assert [d["episode"] for d in done] == [open_episode["episode"]]
    episode = read_episode(session / open_episode["file"])
    cycles = episode.streams["/joints"]["cycle"]
    assert len(cycles) > 1000 and np.all(np.diff(cycles) == 1)  # what was kept is whole, in order
    last = int(episode.streams["/joints"]["monotonic_ns"][-1])
    assert killed_at - last <= 1_000_000_000, f"lost {(killed_at - last) / 1e9:.2f} s"
    assert episode.outcome == "aborted" and episode.metadata["outcome"]["reason"] == "recovered after crash"
    assert episode.info["task"] == "killed mid-episode" and "robot.urdf" in episode.attachments
    [record] = Session(session, create=False).episodes()
    assert record["status"] == "ended" and record["outcome"] == "aborted"
    assert not list(session.glob("episodes/*.recovering"))
    assert recover(session) == []  # nothing left open


def _partial_copy(tmp_path, small_robot) -> tuple:
    """A session whose open episode file is a snapshot taken mid-episode after several flushes."""
    session = tmp_path / "live"
    recorder = Recorder(small_robot, session, flush_interval_s=0.05)
    small_robot.step(1)
    recorder.start("snapshot")
    live_file = session / recorder.episode["file"]
    for _ in range(6):
        size = live_file.stat().st_size
        small_robot.step(100)
        deadline = time.monotonic() + 10
        while live_file.stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.01)  # until the recorder thread has written and flushed a chunk with these cycles
        assert live_file.stat().st_size > size
    snapshot = tmp_path / "crashed"
    shutil.copytree(session, snapshot)  # what a kill -9 leaves: flushed chunks, an index without "end"
    recorder.end("success")
    recorder.close()
    return snapshot, snapshot / live_file.relative_to(session)


def test_recovery_of_truncated_files_never_fails_and_keeps_whole_chunks(tmp_path, small_robot):
    snapshot, path = _partial_copy(tmp_path, small_robot)
    size = path.stat().st_size
    rng = np.random.default_rng(3)
    kept = []
    for cut in sorted(set([size, size - 1, 8, 40] + rng.integers(9, size, 12).tolist())):
        trial = tmp_path / f"cut{cut}"
        shutil.copytree(snapshot, trial)
        target = trial / path.relative_to(snapshot)
        with open(target, "r+b") as f:
            f.truncate(cut)
        recover(trial)
        [record] = Session(trial, create=False).episodes()
        assert record["status"] == "ended" and record["outcome"] == "aborted"
        cycles = read_episode(target).streams.get("/joints", {"cycle": np.array([])})["cycle"]
        assert np.all(np.diff(cycles) == 1)
        kept.append((cut, len(cycles)))
    counts = [n for _, n in kept]
    assert counts == sorted(counts)  # a longer file never yields fewer samples
    assert counts[-1] >= 300  # the untruncated snapshot: at least half the flushed cycles


def test_recover_cli_and_episodes_listing(tmp_path, small_robot, capsys):
    snapshot, _ = _partial_copy(tmp_path, small_robot)
    assert cli_main(["episodes", str(snapshot)]) == 0
    assert "recording" in capsys.readouterr().out
    assert cli_main(["recover", str(snapshot)]) == 0
    assert "messages kept" in capsys.readouterr().out
    assert cli_main(["episodes", str(snapshot)]) == 0
    listing = capsys.readouterr().out
    assert "aborted" in listing and "snapshot" in listing
    assert cli_main(["recover", str(tmp_path / "nowhere")]) == 2
    assert "not a session directory" in capsys.readouterr().err


def test_a_torn_index_line_is_skipped_and_the_next_record_stays_whole(tmp_path, small_robot):
    recorder = Recorder(small_robot, tmp_path / "s")
    recorder.start("one")
    recorder.end("success")
    recorder.close()
    with open(tmp_path / "s" / "index.jsonl", "a") as f:
        f.write('{"episode": 1, "event": "sta')  # the process died while appending
    assert [e["episode"] for e in Session(tmp_path / "s", create=False).episodes()] == [0]
    recorder = Recorder(small_robot, tmp_path / "s")
    assert recorder.start("two") == 1
    recorder.end("success")
    recorder.close()
    episodes = Session(tmp_path / "s", create=False).episodes()
    assert [(e["episode"], e["task"], e["outcome"]) for e in episodes] == [(0, "one", "success"), (1, "two", "success")]


def test_a_recorder_never_overwrites_an_episode_file(tmp_path, small_robot):
    session = Session(tmp_path / "s")
    session.episode_path(0).write_bytes(b"somebody else's data")  # e.g. a crash before its start was indexed
    recorder = Recorder(small_robot, tmp_path / "s")
    assert recorder.start("next free number") == 1
    recorder.end("success")
    recorder.close()
    assert session.episode_path(0).read_bytes() == b"somebody else's data"


def test_recover_refuses_a_session_a_recorder_is_writing(tmp_path, small_robot):
    recorder = Recorder(small_robot, tmp_path / "s")
    recorder.start("still recording")
    small_robot.step(50)
    with pytest.raises(SessionError, match="in use by another recorder or recovery"):
        recover(tmp_path / "s")
    with pytest.raises(SessionError, match="in use"):
        Recorder(small_robot, tmp_path / "s")  # nor a second recorder
    recorder.end("success")
    recorder.close()
    assert recover(tmp_path / "s") == []
    [record] = Session(tmp_path / "s", create=False).episodes()
    assert record["outcome"] == "success"
    assert len(read_episode(tmp_path / "s" / record["file"]).streams["/joints"]["cycle"]) == 50


def test_a_failed_or_interrupted_recovery_leaves_the_original_untouched(tmp_path, small_robot, monkeypatch):
    from humanoid_rt.recording import session as session_module

    snapshot, path = _partial_copy(tmp_path, small_robot)
    original = path.read_bytes()
    path.with_name(path.name + ".recovering").write_bytes(b"left by an interrupted recovery")

    def disk_full(records, target):
        target.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_module, "_rewrite", disk_full)
    with pytest.raises(OSError, match="No space"):
        recover(snapshot)
    assert path.read_bytes() == original
    assert Session(snapshot, create=False).unfinished()  # still open: the next recovery redoes it
    monkeypatch.undo()
    [done] = recover(snapshot)
    assert done["messages"] > 300
    assert not path.with_name(path.name + ".recovering").exists()
    assert len(read_episode(path).streams["/joints"]["cycle"]) >= 300


def test_a_complete_file_whose_end_was_not_indexed_keeps_its_outcome(tmp_path, small_robot):
    recorder = Recorder(small_robot, tmp_path / "s")
    recorder.start("ended, then the process died")
    small_robot.step(20)
    recorder.end("failure")
    recorder.close()
    index = tmp_path / "s" / "index.jsonl"
    index.write_text(index.read_text().splitlines(keepends=True)[0])  # the "end" line never made it
    [done] = recover(tmp_path / "s")
    [record] = Session(tmp_path / "s", create=False).episodes()
    assert record["status"] == "ended" and record["outcome"] == "failure"
    assert read_episode(tmp_path / "s" / record["file"]).outcome == "failure"


def test_a_write_error_still_ends_the_episode_and_says_why(tmp_path, small_robot, monkeypatch):
    from humanoid_rt.recording.episode_file import EpisodeFile

    recorder = Recorder(small_robot, tmp_path / "s")
    recorder.start("disk fills up")
    small_robot.step(20)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(EpisodeFile, "write_packed", full)
    small_robot.step(20)
    summary = recorder.end("success")
    assert "No space left on device" in summary["note"] and not recorder.recording
    [record] = Session(tmp_path / "s", create=False).episodes()
    assert record["status"] == "ended" and "No space" in record["note"]
    recorder.close()

