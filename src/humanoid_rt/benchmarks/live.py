"""Live view benchmark (python bench/run_live.py --seconds 5 --json bench-live.json).

1. Viewer latency: a 1 kHz loop in real time, the live view publishing every cycle's joint
   state (joint_rate_hz 1000, pump every 1 ms) and, as shipped, at its defaults (200 Hz,
   pump every 10 ms); a viewer in another process (the foxglove.sdk.v1 client) takes, per
   message, its receive time minus the loop time stamped in the message (CLOCK_MONOTONIC of
   the cycle). With the TCP_NODELAY fix and without it (the SDK as shipped: Nagle on). Median of
   --rounds runs each.
2. Loop cost: wakeup latency p99.9 of the 1 kHz loop with no live view and with a live view
   watched by a viewer (joints, transforms, task errors), alternating, --rounds times;
   ratio on/off of the medians (goal <= 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..robot import Robot
from .latency import on_off_summary

VIEWER_TOPICS = ("/joints", "/tf", "/supervisor/events")


def _viewer(url: str, seconds: float, out: Path, topics: tuple[str, ...]) -> None:
    """Runs in its own process: subscribe, then record (topic, latency ns) per message for `seconds`."""
    from ..live.client import LiveClient

    latencies: dict[str, list[int]] = {}
    with LiveClient(url) as client:
        client.subscribe(*topics)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for topic, received_ns, _, payload in client.messages(timeout=0.1):
                if topic == "/joints":  # JointTelemetry: monotonic_ns right after the 4-byte CDR header
                    sent_ns = int(np.frombuffer(payload, dtype="<i8", count=1, offset=4)[0])
                    latencies.setdefault(topic, []).append(received_ns - sent_ns)
                else:
                    latencies.setdefault(topic, []).append(0)
                if time.monotonic() >= deadline:
                    break
    out.write_text(json.dumps(latencies))


def _other_cpus(loop_cpu: int) -> set[int] | None:
    return (os.sched_getaffinity(0) - {loop_cpu}) or None


def _start_viewer(url: str, seconds: float, out: Path, topics=VIEWER_TOPICS, cpus=None) -> subprocess.Popen:
    """The viewer in a process of its own, off the loop's CPU (on a robot it runs on the engineer's machine)."""
    viewer = subprocess.Popen([sys.executable, "-m", "humanoid_rt.benchmarks.live", "--viewer", url,
                               "--seconds", str(seconds), "--out", str(out), "--topics", ",".join(topics)],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if cpus:
        os.sched_setaffinity(viewer.pid, cpus)
    return viewer


def _percentiles_ms(values_ns: list[int]) -> dict:
    values = np.asarray(values_ns, dtype=np.float64) / 1e6
    if not len(values):
        return {"count": 0}
    return {"count": int(len(values)), "p50_ms": round(float(np.percentile(values, 50)), 3),
            "p99_ms": round(float(np.percentile(values, 99)), 3), "max_ms": round(float(values.max()), 3)}


def viewer_latency(seconds: float, *, tcp_nodelay: bool, joint_rate_hz: float, pump_period_s: float) -> dict:
    loop_cpu = max(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp, Robot("generic_humanoid", cpu=loop_cpu) as robot:
        robot.start()
        robot.enable()
        live = robot.attach_live(port=0, joint_rate_hz=joint_rate_hz, tcp_nodelay=tcp_nodelay,
                                 pump_period_s=pump_period_s, cpus=_other_cpus(loop_cpu))
        out = Path(tmp) / "viewer.json"
        viewer = _start_viewer(live.url, seconds + 1.0, out, ("/joints",), cpus=_other_cpus(loop_cpu))
        viewer.wait(timeout=seconds + 60)
        latencies = json.loads(out.read_text()).get("/joints", [])[int(joint_rate_hz):]  # first second: warm-up
        return {"tcp_nodelay": tcp_nodelay, "joint_rate_hz": joint_rate_hz, "pump_period_ms": pump_period_s * 1e3,
                **_percentiles_ms(latencies), "live_statistics": live.statistics()["published"]}


def latency_on_off(seconds: float, rounds: int) -> dict:
    loop_cpu = max(os.sched_getaffinity(0))
    off, on = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for watched in (False, True):
                with Robot("generic_humanoid", cpu=loop_cpu) as robot:
                    viewer = None
                    if watched:  # the view and its viewer are up before the loop starts: the window is all "on"
                        live = robot.attach_live(port=0, cpus=_other_cpus(loop_cpu))
                        viewer = _start_viewer(live.url, seconds + 3.0, Path(tmp) / "viewer.json",
                                               VIEWER_TOPICS + tuple(f"/tasks/{f}" for f in robot.task_frames),
                                               cpus=_other_cpus(loop_cpu))
                        time.sleep(1.5)  # the viewer process starts and subscribes
                    robot.start()
                    robot.enable()
                    time.sleep(seconds)
                    wakeup = robot.statistics()["wakeup_latency"]
                    (on if watched else off).append(wakeup)
                    if viewer is not None:
                        viewer.wait(timeout=60)
    return on_off_summary(off, on, seconds, rounds)


def summary_lines(result: dict) -> list[str]:
    lines = []
    for row in result["viewer_latency"]:
        lines.append(f"viewer latency {'NODELAY' if row['tcp_nodelay'] else 'Nagle  '} {row['joint_rate_hz']:.0f} Hz "
                     f"(pump {row['pump_period_ms']:.0f} ms): p50 {row.get('p50_ms')} ms  p99 {row.get('p99_ms')} ms  "
                     f"max {row.get('max_ms')} ms  ({row['count']} messages)")
    l = result["loop_latency"]
    lines.append(f"live view and the loop: wakeup p99.9 {l['off']['p999_us']:.0f} us off, {l['on']['p999_us']:.0f} us "
                 f"on (ratio {l['p999_ratio_on_off']}, goal <= 1.10; median of {l['rounds']} rounds)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of each latency row and of the loop's off/on comparison (medians; default 3)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--viewer", default=None, help=argparse.SUPPRESS)  # the viewer process
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--topics", default="/joints", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.viewer:
        _viewer(args.viewer, args.seconds, args.out, tuple(args.topics.split(",")))
        return 0
    rows = []
    for joint_rate_hz, pump in ((1000.0, 0.001), (200.0, 0.01)):
        for nodelay in (True, False):
            rounds = [viewer_latency(args.seconds, tcp_nodelay=nodelay, joint_rate_hz=joint_rate_hz,
                                     pump_period_s=pump) for _ in range(args.rounds)]
            rows.append({**rounds[0], **{k: round(float(np.median([r[k] for r in rounds])), 3)
                                         for k in ("p50_ms", "p99_ms", "max_ms")},
                         "count": sum(r["count"] for r in rounds), "rounds": args.rounds,
                         "p50_per_round_ms": [r["p50_ms"] for r in rounds],
                         "p99_per_round_ms": [r["p99_ms"] for r in rounds]})
    result = {"viewer_latency": rows, "loop_latency": latency_on_off(args.seconds, args.rounds)}
    print("\n".join(summary_lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
