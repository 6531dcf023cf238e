"""Recording benchmark (also `bench/run_recording.py` and a section of `humanoid-rt bench`).

    python bench/run_recording.py --seconds 5 --json bench-recording.json

1. Throughput: the bundled 31-joint humanoid (G1-sized) runs its loop in real time at
   --rate Hz (default 10 kHz) on the mock bus, while a synthetic device hub delivers two
   six-axis F/T streams and two 16x16 tactile arrays at the same rate; the recorder writes
   all of it (5 messages per sample) into one episode. Reported: samples/s recorded, drops
   (tap drops, ring overflows, cycles and device samples missing from the file: all must be 0), and the
   recording's CPU cost in % of one core: the recorder thread's CPU time over wall time (it
   drains, packs, and the MCAP writer compresses and writes in it). Ring overflows and loop
   overruns are the episode's (its summary: from start() to end()); reading the file back
   afterwards takes seconds in which nobody drains the ring, and is not part of recording.
   Goal: >= 10 kHz with zero drops at <= 20 %.
2. Latency: the loop at 1 kHz, alternately without and with a recorder writing the robot's
   telemetry and devices at realistic rates (F/T 500 Hz x2, tactile 100 Hz x2), --rounds
   times each; the wakeup latency p99.9 with recording on over off, median of the rounds.
   Goal: within 10 %. The recorder thread is kept off the loop's CPU.
Timing is reported, never asserted (the CI machine is a shared VM).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..recording import Recorder, Session
from ..recording.reader import read_episode
from ..robot import Robot
from .latency import on_off_summary


class SyntheticHub:
    """Two F/T sensors and two tactile arrays producing at fixed rates, stamped on CLOCK_MONOTONIC.

    Samples are pre-generated once so that drain_all() costs what a real hub's buffer hand-over
    costs (slicing), and the benchmark measures the recorder, not a signal generator."""

    class _Device:
        def __init__(self, kind):
            self.kind = kind

    def __init__(self, ft_hz: float, tactile_hz: float, block: int = 65536):
        rng = np.random.default_rng(0)
        self.rates = {"ft_left": ft_hz, "ft_right": ft_hz, "tactile_left": tactile_hz, "tactile_right": tactile_hz}
        self.kinds = {"ft_left": "robotiq_ft", "ft_right": "robotiq_ft", "tactile_left": "tactile",
                      "tactile_right": "tactile"}
        self._wrench = rng.standard_normal((block, 6))
        self._pressure = rng.integers(0, 4096, size=(block, 16, 16), dtype=np.uint16)
        self._block = block
        self._start_ns = time.monotonic_ns()
        self._taken = dict.fromkeys(self.rates, 0)

    def __getitem__(self, name):
        return self._Device(self.kinds[name])

    def statistics(self):
        return {name: {"dropped": 0} for name in self.rates}

    @property
    def delivered(self) -> int:
        """Samples handed to the recorder so far, all devices."""
        return sum(self._taken.values())

    def drain_all(self):
        now = time.monotonic_ns()
        out = {}
        for name, rate in self.rates.items():
            due = int((now - self._start_ns) * rate / 1e9)
            first, count = self._taken[name], min(due - self._taken[name], self._block)
            if count <= 0:
                continue
            self._taken[name] = first + count
            index = np.arange(first, first + count)
            rows = index % self._block
            columns = {"t_ns": self._start_ns + (index * (1e9 / rate)).astype(np.int64),
                       "seq": index.astype(np.uint32)}
            if self.kinds[name] == "robotiq_ft":
                columns["wrench"] = self._wrench[rows]
            else:
                columns["pressure"] = self._pressure[rows]
            out[name] = columns
        return out


def _other_cpus(loop_cpu: int) -> set[int] | None:
    others = os.sched_getaffinity(0) - {loop_cpu}
    return others or None


def throughput(seconds: float, rate_hz: float = 10000.0) -> dict:
    """Record state + 2 F/T + 2 tactile at rate_hz; the recorder thread's CPU time over wall time."""
    loop_cpu = max(os.sched_getaffinity(0))
    result: dict = {"rate_hz": rate_hz, "seconds": seconds, "messages_per_sample": 5}
    with tempfile.TemporaryDirectory() as tmp, Robot("generic_humanoid", rate_hz=rate_hz, cpu=loop_cpu,
                                                       telemetry_capacity=1 << 16) as robot:
        robot.start()
        hub = SyntheticHub(rate_hz, rate_hz)
        recorder = Recorder(robot, Path(tmp) / "session", devices=hub, cpus=_other_cpus(loop_cpu),
                            telemetry_capacity=int(rate_hz))
        recorder.start("throughput benchmark")
        delivered0 = hub.delivered  # start() drained the hub: from here on, every sample belongs to the episode
        cpu0, wall0 = recorder.thread_cpu_s(), time.monotonic()
        time.sleep(seconds)
        cpu_fraction = (recorder.thread_cpu_s() - cpu0) / (time.monotonic() - wall0)
        summary = recorder.end("success")
        delivered = hub.delivered - delivered0
        recorder.close()
        episode = read_episode(Path(tmp) / "session" / summary["file"])
        cycles = episode.streams["/joints"]["cycle"]
        missing = int(cycles[-1] - cycles[0] + 1 - len(cycles)) if len(cycles) else 0
        device_samples = sum(len(episode.streams[f"/devices/{n}"]["monotonic_ns"]) for n in hub.rates)
        result.update({
            "duration_s": summary["duration_s"],
            "state_samples": int(len(cycles)),
            "device_samples": int(device_samples),
            "samples_per_s": round(len(cycles) / summary["duration_s"], 1),
            "messages_per_s": round(sum(summary["messages"].values()) / summary["duration_s"], 1),
            "telemetry_dropped": summary["telemetry_dropped"],
            "telemetry_overflows": summary["telemetry_overflows"],
            "cycles_missing_in_file": missing,
            "device_samples_missing_in_file": int(delivered - device_samples),
            "bytes_per_s": round(episode.path.stat().st_size / summary["duration_s"]),
            "cpu_core_fraction_recording": round(cpu_fraction, 4),
            "loop_overruns": summary["overruns"],
        })
    result["zero_drops"] = (result["telemetry_dropped"] == 0 and result["telemetry_overflows"] == 0
                            and result["cycles_missing_in_file"] == 0
                            and result["device_samples_missing_in_file"] == 0)
    return result


def latency_on_off(seconds: float, rounds: int = 3) -> dict:
    """Wakeup latency p99.9 of a 1 kHz loop with the recorder off and on, alternating."""
    loop_cpu = max(os.sched_getaffinity(0))
    off, on = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for recording in (False, True):
                with Robot("generic_humanoid", cpu=loop_cpu) as robot:
                    robot.start()
                    recorder = None
                    if recording:
                        recorder = Recorder(robot, Path(tmp) / "session", devices=SyntheticHub(500.0, 100.0),
                                            cpus=_other_cpus(loop_cpu))
                        recorder.start("latency benchmark")
                    time.sleep(seconds)
                    wakeup = robot.statistics()["wakeup_latency"]
                    if recorder is not None:
                        recorder.end("success")
                        recorder.close()
                    (on if recording else off).append(wakeup)
        sessions = Session(Path(tmp) / "session", create=False).episodes()
    return {**on_off_summary(off, on, seconds, rounds), "episodes_recorded": len(sessions)}


def summary_lines(result: dict) -> list[str]:
    t, l = result["throughput"], result["latency"]
    return [
        f"recording throughput: {t['samples_per_s']:.0f} samples/s of state + 2 F/T + 2 tactile "
        f"({t['messages_per_s']:.0f} messages/s, {t['bytes_per_s'] / 1e6:.1f} MB/s), drops "
        f"{t['telemetry_dropped']}+{t['telemetry_overflows']}+{t['cycles_missing_in_file']}"
        f"+{t['device_samples_missing_in_file']}, "
        f"{100 * t['cpu_core_fraction_recording']:.1f} % of a core, {t['loop_overruns']} loop overruns "
        f"(goal >= 10 kHz, 0 drops, <= 20 %)",
        f"recording latency: loop wakeup p99.9 {l['off']['p999_us']:.0f} us off, {l['on']['p999_us']:.0f} us on "
        f"(ratio {l['p999_ratio_on_off']}, goal <= 1.10; median of {l['rounds']} rounds)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--rate", type=float, default=10000.0, help="throughput loop rate in Hz (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="off/on rounds of the latency comparison (default 3)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = {"throughput": throughput(args.seconds, args.rate), "latency": latency_on_off(args.seconds, args.rounds)}
    print("\n".join(summary_lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
