"""`humanoid-rt bench --soak MINUTES`: the runtime as a robot runs it for hours, watched for drift.

Running together for MINUTES, all in one process like a deployment:
- the real-time loop (generic humanoid, 5 mock buses, 1 kHz), enabled and ACTIVE;
- teleop: a 100 Hz authenticated UDP stream (right elbow sine) through the C++ receiver;
- the recorder: one episode a minute, each read back whole (every cycle present?) in a child
  process (`python -m humanoid_rt.benchmarks.soak CHECK FILE`) while the next one records (the
  check's memory is the harness's, not the runtime's), then deleted so the disk stays flat. A plain
  subprocess rather than a multiprocessing pool: a spawned pool worker re-runs the parent's main
  script, which breaks under entry-point scripts without a `__main__` guard;
- live readers, each on its own thread at its own rate: a monitor polling `robot.state()` at
  100 Hz and the reusable `robot.read_state(out=view)` at 500 Hz (checking the cycle never goes
  back), a dashboard draining its own telemetry tap at 30 Hz (checking cycle continuity: every
  sample between its first and last), and a policy's `TelemetryHistory` polled at 50 Hz with a
  10-sample observation window taken each time.
Figures: samples lost (recorder missing/dropped, live tap dropped or gapped, ring overflows), RSS
growth (first to last sample, every 5 s; and after a 2-minute warm-up), overruns, realtime
allocations, teleop packets rejected, supervisor events.

An operator watches too (`Operator`): when the robot stops without being asked (a teleop stall on
a loaded machine trips the watchdog: HOLD, DAMPING, DISABLED; or a latched FAULT), it reads the
cause from the supervisor's events, resets a FAULT and enables again, as a person at the robot
would. Each re-enable is counted and reported with its cause, so an hour is an hour of control
rather than an hour of a disabled robot. An ESTOP is never cleared (nobody here pressed it: it is
a finding, reported, and the soak goes on disabled).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..robot import Robot


class _Reader(threading.Thread):
    """Calls `work()` every `period_s` until stopped; counts calls and keeps the first error."""

    def __init__(self, name: str, period_s: float, work):
        super().__init__(name=f"soak-{name}", daemon=True)
        self.label, self.period_s, self.work = name, period_s, work
        self.calls, self.error = 0, None
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_time = time.monotonic()
        while not self._stop_event.is_set():
            try:
                self.work()
            except Exception as error:  # noqa: BLE001 - reported in the result, the soak goes on
                self.error = self.error or repr(error)
            self.calls += 1
            next_time += self.period_s
            self._stop_event.wait(max(0.0, next_time - time.monotonic()))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class Operator(threading.Thread):
    """Re-enables the robot after a stop nobody asked for (see the module docstring); counts each."""

    STOPS = ("HOLD", "DAMPING", "FAULT", "ESTOP")

    def __init__(self, robot: Robot, period_s: float = 0.1):
        super().__init__(name="soak-operator", daemon=True)
        self.robot, self.period_s = robot, period_s
        self.stops: list[str] = []  # every unrequested transition into a stopping state, with its cause
        self.reenables: list[dict] = []  # {t_s, from_state, cause}
        self.failures: list[str] = []  # re-enables refused (and why); the operator tries again later
        self._cause, self._event_index = None, robot.events_since(0)[1]
        self._stop_event = threading.Event()

    def _read_events(self) -> None:
        events, self._event_index = self.robot.events_since(self._event_index)
        for event in events:
            if event["accepted"] and event["from_state"] != event["to_state"] and event["to_state"] in self.STOPS:
                self._cause = self._cause or event["reason"]  # the first of a stop's transitions says why
                self.stops.append(f"{event['from_state']}->{event['to_state']} ({event['reason']}) at {event['t']:.3f}s")

    def run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            self._read_events()
            state = self.robot.state().supervisor_state
            if state not in ("DISABLED", "FAULT"):
                continue
            try:
                if state == "FAULT":
                    self.robot.reset()
                self.robot.enable(timeout=5.0)
                self.reenables.append({"t_s": round(self.robot.now(), 3), "from_state": state, "cause": self._cause})
                self._cause = None
            except Exception as error:  # noqa: BLE001 - a refused re-enable is a finding; try again in a second
                self.failures.append(f"{state} ({self._cause}): {error!r}")
                self._stop_event.wait(1.0)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self._read_events()

    def report(self) -> dict:
        causes: dict[str, int] = {}
        for reenable in self.reenables:
            causes[str(reenable["cause"])] = causes.get(str(reenable["cause"]), 0) + 1
        return {"reenables": len(self.reenables), "reenables_by_cause": causes, "reenable_log": self.reenables,
                "unrequested_stops": self.stops, "refused_reenables": self.failures}


class LiveReaders:
    """The soak's live readers (see the module docstring) and their loss counters."""

    def __init__(self, robot: Robot):
        from ..policy import TelemetryHistory

        self.robot = robot
        self.view = robot.read_state()
        self.backwards = 0  # a state read older than the one before it
        self.tap = robot.telemetry_tap(capacity=int(robot.rate_hz * 2))
        self.tap_samples, self.tap_gaps, self._tap_last = 0, 0, None
        self.history = TelemetryHistory(robot, seconds=1.0)
        self.windows = 0
        self._last_cycle = -1
        self.readers = [_Reader("state", 0.01, self._state), _Reader("read_state", 0.002, self._fast_state),
                        _Reader("dashboard_tap", 1 / 30, self._dashboard), _Reader("policy_history", 0.02, self._policy)]

    def _state(self) -> None:
        self.robot.state()

    def _fast_state(self) -> None:
        cycle = self.robot.read_state(out=self.view).cycle
        if cycle < self._last_cycle:
            self.backwards += 1
        self._last_cycle = cycle

    def _dashboard(self) -> None:
        cycles = self.tap.drain()["cycle"]
        if len(cycles):
            first = int(cycles[0]) if self._tap_last is None else self._tap_last + 1
            self.tap_gaps += int(cycles[-1]) - first + 1 - len(cycles)
            self._tap_last = int(cycles[-1])
            self.tap_samples += len(cycles)

    def _policy(self) -> None:
        if self.history.poll():
            oldest, newest = self.history.span
            dt = 1.0 / self.robot.rate_hz
            self.history.window(newest, min(10, int((newest - oldest) / dt + 1e-6) + 1), dt)
            self.windows += 1

    def __enter__(self) -> "LiveReaders":
        for reader in self.readers:
            reader.start()
        return self

    def __exit__(self, *exc) -> None:
        for reader in self.readers:
            reader.stop()
        self._dashboard()
        self.tap.close()

    def report(self) -> dict:
        return {
            "calls": {r.label: r.calls for r in self.readers},
            "errors": {r.label: r.error for r in self.readers if r.error},
            "state_went_backwards": self.backwards,
            "dashboard_tap": {"samples": self.tap_samples, "dropped": self.tap.dropped, "gaps": self.tap_gaps},
            "policy_windows": self.windows,
        }


def soak(minutes: float, json_path: Path, echo=print) -> dict:
    """The loop, a 100 Hz teleop stream, the recorder and live readers for `minutes`; drift figures."""
    from ..recording import Recorder
    from ..teleop import TeleopClient

    key = os.urandom(32)
    samples, episodes = [], []
    with Robot("generic_humanoid") as robot, tempfile.TemporaryDirectory() as session:
        robot.start()
        robot.enable()
        receiver = robot.attach_teleop(key=key)
        recorder = Recorder(robot, session)
        base = robot.state().q.copy()
        elbow = robot.joint_index("right_elbow")

        def target(t):
            q = base.copy()
            q[elbow] += 0.2 * np.sin(2 * np.pi * 0.25 * t)
            return q

        end = time.monotonic() + minutes * 60
        operator = Operator(robot)
        operator.start()
        # Episodes are checked beside the stream: the teleop stream never pauses (its silence would HOLD).
        with LiveReaders(robot) as readers, ThreadPoolExecutor(1, "soak-check") as checker, \
                TeleopClient(receiver.url, key, ttl_s=0.2, due_in_s=0.02) as client:
            checks = []
            while time.monotonic() < end:
                recorder.start("soak", skill="teleop_elbow_sine", operator="humanoid-rt bench --soak")
                episode_end = min(end, time.monotonic() + 60)
                while time.monotonic() < episode_end:
                    client.stream(target, 100.0, duration=min(5.0, episode_end - time.monotonic()))
                    samples.append({"t_s": round(robot.now(), 1), "rss_kib": _rss_kib(),
                                    "overruns": robot.statistics()["overruns"]})
                summary = recorder.end("success")
                checks.append((summary, checker.submit(check_in_child, Path(session) / summary["file"])))
            operator.stop()  # the stream ends here: the watchdog's stop that follows is the soak's end, not an event
            for summary, check in checks:
                episodes.append({"episode": summary["episode"], "telemetry_dropped": summary["telemetry_dropped"],
                                 **check.result()})
        recorder.close()
        stats, teleop = robot.statistics(), robot.teleop_statistics()
        events = [e for e in robot.events() if e["accepted"] and e["from_state"] != e["to_state"]]
    live = readers.report()
    warm = [sample for sample in samples if sample["t_s"] >= samples[0]["t_s"] + 120] if samples else []
    recording_lost = sum(e["missing"] + e["telemetry_dropped"] for e in episodes)
    result = {
        "command": f"humanoid-rt bench --soak {minutes} --json {json_path}",
        "minutes": minutes, "samples": samples,
        "rss_growth_kib": samples[-1]["rss_kib"] - samples[0]["rss_kib"] if samples else 0,
        "rss_growth_after_warmup_kib": warm[-1]["rss_kib"] - warm[0]["rss_kib"] if warm else None,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "cycles": stats["cycles"], "overruns": stats["overruns"], "telemetry_overflows": stats["telemetry_overflows"],
        "realtime_allocations": stats["realtime_allocations"],
        "teleop": {k: teleop[k] for k in ("accepted", "rejected_total", "gaps")},
        "recording": {"episodes": episodes,
                      "samples": sum(e["samples"] for e in episodes),
                      "missing_or_dropped": recording_lost},
        "live_readers": live,
        "samples_lost": recording_lost + live["dashboard_tap"]["dropped"] + live["dashboard_tap"]["gaps"]
        + stats["telemetry_overflows"],
        "supervisor_events": [f"{e['from_state']}->{e['to_state']} ({e['reason']}) at {e['t']:.3f}s" for e in events],
        "operator": operator.report(),
    }
    echo(f"soak {minutes} min: {result['cycles']} cycles, {result['overruns']} overruns, RSS growth "
         f"{result['rss_growth_kib']} KiB (after warm-up {result['rss_growth_after_warmup_kib']}), samples lost {result['samples_lost']} (telemetry overflows "
         f"{result['telemetry_overflows']}), teleop rejected {result['teleop']['rejected_total']}, recorded "
         f"{result['recording']['samples']} samples in {len(episodes)} episodes ({recording_lost} missing or "
         f"dropped), live readers {live['calls']}, re-enables {result['operator']['reenables']} "
         f"{result['operator']['reenables_by_cause']}, events: {'; '.join(result['supervisor_events'])}")
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def check_in_child(path: Path) -> dict:
    """check_and_delete(path) in a child process (see the module docstring); its result as a dict."""
    from ..veth import child_env

    run = subprocess.run([sys.executable, "-m", "humanoid_rt.benchmarks.soak", "check", str(path)],
                         capture_output=True, text=True, env=child_env(), timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"episode check of {path.name} failed: {run.stderr.strip()[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def check_and_delete(path: str) -> dict:
    """In the helper process: read the episode back, count cycles missing between its first and last, delete it."""
    from ..recording.reader import read_episode

    cycles = read_episode(Path(path), topics=["/joints"]).streams["/joints"]["cycle"]
    missing = int(cycles[-1] - cycles[0] + 1 - len(cycles)) if len(cycles) else 0
    size = Path(path).stat().st_size
    Path(path).unlink()
    return {"samples": int(len(cycles)), "missing": missing, "bytes": size}


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    # The episode check's child process: `python -m humanoid_rt.benchmarks.soak check FILE`.
    if len(sys.argv) != 3 or sys.argv[1] != "check":
        sys.exit("usage: python -m humanoid_rt.benchmarks.soak check EPISODE_FILE")
    print(json.dumps(check_and_delete(sys.argv[2])))
