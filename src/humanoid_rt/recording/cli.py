"""CLI: `humanoid-rt episodes SESSION` and `humanoid-rt recover SESSION`."""

from __future__ import annotations

import sys
from pathlib import Path

COMMANDS = ("episodes", "recover")


def add_commands(commands) -> None:
    episodes = commands.add_parser(
        "episodes", help="list a recording session's episodes (task, outcome, drops)",
        description="Prints one line per episode of a session directory from its index: index, status, outcome, "
        "task, skill, duration, telemetry drops and loop overruns.")
    episodes.add_argument("session", type=Path, help="the session directory (humanoid-rt demo --record DIR, Recorder)")
    recover = commands.add_parser(
        "recover", help="close the episode files a crash left open",
        description="Rewrites every episode still marked as recording (the process was killed) into a complete MCAP "
        "file from its intact records, labels it aborted ('recovered after crash') and updates the index. The "
        "original is kept until the rewritten file reads back.")
    recover.add_argument("session", type=Path, help="the session directory")


def main(args) -> int:
    from .session import Session, SessionError, recover

    try:
        if args.command == "recover":
            done = recover(args.session)
            if not done:
                print(f"{args.session}: no open episodes; nothing to recover")
            for d in done:
                print(f"episode {d['episode']}: {d['messages']} messages kept -> {d['file'] or 'no file was written'}")
            return 0
        episodes = Session(args.session, create=False).episodes()
    except SessionError as error:
        print(f"humanoid-rt {args.command}: {error}", file=sys.stderr)
        return 2
    print(f"{'#':>4}  {'status':<10} {'outcome':<8} {'seconds':>8} {'drops':>6} {'overruns':>8}  task (skill)")
    for e in episodes:
        duration = f"{e['duration_s']:.1f}" if "duration_s" in e else "-"
        print(f"{e['episode']:>4}  {e['status']:<10} {e.get('outcome', '-'):<8} {duration:>8} "
              f"{e.get('telemetry_dropped', '-'):>6} {e.get('overruns', '-'):>8}  {e.get('task', '?')}"
              + (f" ({e['skill']})" if e.get("skill") else "")
              + (f"  [discarded: {e['discard_reason']}]" if e["status"] == "discarded" else ""))
    unfinished = [e["episode"] for e in episodes if e["status"] == "recording"]
    if unfinished:
        print(f"open episodes {unfinished}: if no recorder is running, `humanoid-rt recover {args.session}`")
    return 0
