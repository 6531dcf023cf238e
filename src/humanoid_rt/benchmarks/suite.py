"""`humanoid-rt bench`: one invocation, one JSON file, one readable summary.

Sections: loop wakeup latency against cyclictest at 1, 2 and 4 kHz; compute time per cycle by robot
size and controller; Python API call overhead; the pure-Python baseline loop; teleop latency and
loopback rate; recording throughput and its effect on latency; the standing controller's control time
on the twin against the same QP from Python (standing_cost.py). `--quick` keeps the whole run under
two minutes for CI; `--seconds` sets each real-time run's length; `--soak MINUTES` runs the loop with a
teleop stream and the recorder for that long and reports drift.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..buses import plugin_for, plugin_for_setup, plugins, run_choices
from ..config import load_config
from ..errors import HumanoidRtError
from ..robot import Robot
from .compute import CONTROLLERS, ROBOTS, cycle_compute
from .latency import cyclictest, histogram_percentiles, percentiles, ratios
from .soak import soak  # noqa: F401 - `humanoid-rt bench --soak` imports it from here

RATES_HZ = (1000, 2000, 4000)
#: What `--bus` takes: simulated buses, the virtual CAN/EtherCAT lines (the real drivers against our
#: virtual devices), or `config`: the robot config's own buses, i.e. the hardware (HIL).
BENCH_BUSES = run_choices() + ("config",)


class BusUnavailable(HumanoidRtError, RuntimeError):
    """The bus a section needs is not here (no interface, no root): the section is skipped with this note."""


def missing_hardware(config) -> list[str]:
    """Why the config's hardware buses cannot run on this machine (empty: all present)."""
    notes = (plugin_for(bus.type).missing_hardware(i, bus) for i, bus in enumerate(config.buses))
    return [note for note in notes if note]


@contextlib.contextmanager
def bench_robot(bus: str, robot: str = "generic_humanoid", rate_hz: float = 1000.0) -> Iterator[Robot]:
    """The robot on `bus` (see BENCH_BUSES); BusUnavailable when that bus cannot run here."""
    if bus not in BENCH_BUSES:
        raise ValueError(f"--bus: {bus!r}; allowed: {', '.join(BENCH_BUSES)}")
    setup = plugin_for_setup(bus)
    if setup is not None:  # virtual devices first (ethercat-virtual: a virtual EtherCAT line, root)
        try:
            with setup.virtual_setup(bus, robot, rate_hz) as (config, _context), Robot(config, rate_hz=rate_hz) as r:
                yield r
        except setup.unavailable as error:
            raise BusUnavailable(f"{bus}: {error}") from None
        return
    if bus == "config":
        notes = missing_hardware(load_config(robot))
        if notes:
            raise BusUnavailable("; ".join(notes))
    with Robot(robot, bus=None if bus == "config" else bus, rate_hz=rate_hz) as r:
        yield r


def bus_statistics(robot: Robot) -> dict:
    """Per CAN or EtherCAT bus of the robot: the driver's counters and round-trip figures."""
    out = {}
    for plugin in plugins():
        out.update(plugin.bench_statistics(robot))
    return out


def loop_latency(rate_hz: int, seconds: float, bus: str, robot: str = "generic_humanoid") -> dict:
    """cyclictest first, then our loop at the same rate and priority, back to back."""
    cycles = int(seconds * rate_hz)
    try:
        with bench_robot(bus, robot, rate_hz) as r:
            reference = cyclictest(rate_hz, cycles)
            setup = r.start()
            r.enable()
            r.set_joint_targets(r.state().q, ttl=0)
            time.sleep(seconds)
            stats = r.statistics()
            buses = bus_statistics(r)
            final_state = r.state().supervisor_state
    except BusUnavailable as error:
        return {"rate_hz": rate_hz, "skipped": str(error)}
    ours = histogram_percentiles(stats["wakeup_latency"])
    result = {"rate_hz": rate_hz, "humanoid_rt": ours, "overruns": stats["overruns"], "cycles": stats["cycles"],
              "sched_fifo": setup["sched_fifo"], "memory_locked": setup["memory_locked"], "final_state": final_state}
    if buses:
        result["buses"] = buses
    if reference is None:
        result["cyclictest"] = {"skipped": "cyclictest not found: apt-get install rt-tests"}
    else:
        result["cyclictest"] = reference
        result["ratio_to_cyclictest"] = ratios(ours, reference)
    return result


def python_api(calls: int) -> dict:
    """Per-call cost of the API a user's tight loop calls: read_state(out=view) (the reusable view),
    state() (a new RobotState), set_joint_targets(q) (the send_setpoint row)."""
    with Robot("generic_humanoid") as robot:
        q = np.zeros(robot.n_joints)
        view = robot.read_state()
        out = {}
        for name, call in (("read_state", lambda: robot.read_state(out=view)), ("state_object", robot.state),
                           ("send_setpoint", lambda: robot.set_joint_targets(q, ttl=0))):
            samples = []
            for _ in range(calls):
                start = time.perf_counter_ns()
                call()
                samples.append((time.perf_counter_ns() - start) / 1e3)
            out[name + "_time"] = percentiles(samples)
        return out


def baseline(seconds: float) -> dict:
    """The pure-Python loop against ours on the same work: generic humanoid, gravity compensation +
    joint impedance toward a target, every check (see python_baseline.py), the plant carrying gravity."""
    from .compute import load_gravity_on_mock_buses
    from .python_baseline import python_baseline_loop

    with Robot("generic_humanoid") as robot:
        config = robot.config
        robot.set_gravity_compensation(True)
        load_gravity_on_mock_buses(robot)
        robot.start()
        robot.enable()
        robot.set_joint_targets(np.zeros(robot.n_joints), ttl=0, duration=0.5)
        time.sleep(seconds)
        stats = robot.statistics()
        final_state = robot.state().supervisor_state
    ours = {"wakeup_latency": histogram_percentiles(stats["wakeup_latency"]),
            "compute_time": histogram_percentiles(stats["compute_time"]), "final_state": final_state}
    python = python_baseline_loop(config, seconds)
    return {"python_loop": python, "humanoid_rt": ours,
            "ratio_python_to_ours": {key: ratios(python[key], ours[key]) for key in ("wakeup_latency", "compute_time")}}


#: The suite's sections, in run order (`--sections` picks some).
SECTIONS = ("latency", "compute", "api", "baseline", "teleop", "recording", "standing")


def run_suite(*, quick: bool, bus: str, json_path: Path, robot: str = "generic_humanoid", echo=print,
              sections: tuple[str, ...] = SECTIONS, seconds: float | None = None) -> dict:
    if bus not in BENCH_BUSES:
        raise ValueError(f"--bus: {bus!r}; allowed: {', '.join(BENCH_BUSES)}")
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown or not sections:
        raise ValueError(f"--sections: {', '.join(unknown) or 'none given'}; allowed: {', '.join(SECTIONS)}")
    if bus == "config":
        load_config(robot)  # a bad config is an error, not a skipped section
    if seconds is not None and not (0 < seconds <= 3600):
        raise ValueError(f"--seconds: {seconds!r}; allowed: a number of seconds in (0, 3600]")
    chosen_seconds = seconds
    seconds = seconds or (1.0 if quick else 10.0)
    result = {
        "command": f"humanoid-rt bench{' --quick' if quick else ''} --bus {bus} --robot {robot} --json {json_path}"
                   + ("" if tuple(sections) == SECTIONS else f" --sections {','.join(sections)}")
                   + ("" if chosen_seconds is None else f" --seconds {chosen_seconds:g}"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "root": os.geteuid() == 0},
        "bus": bus,
        "notes": [],
    }
    if bus == "mock":
        result["notes"].append("mock bus: actuator models, no hardware; run with --bus config --robot ROBOT.yaml "
                               "on a robot for HIL")
    if bus != "mock":
        result["notes"].append(f"loop latency runs on {bus}; compute, API, baseline, teleop and recording run on "
                               "the mock bus (they measure the runtime, not the bus)")
    if "latency" in sections:
        result["loop_latency"] = [loop_latency(rate, seconds, bus, robot) for rate in RATES_HZ]
        for row in result["loop_latency"]:
            if "skipped" in row:
                result["notes"].append(f"loop latency at {row['rate_hz']} Hz skipped: {row['skipped']}")
                echo(f"latency {row['rate_hz']:>4} Hz: SKIPPED ({row['skipped']})")
                continue
            ratio = row.get("ratio_to_cyclictest")
            ours = row["humanoid_rt"]
            echo(f"latency {row['rate_hz']:>4} Hz: ours p50 {ours['p50_us']:.1f} p99 {ours['p99_us']:.1f} "
                 f"p99.9 {ours['p999_us']:.1f} us, overruns {row['overruns']}"
                 + (f"; x cyclictest p50 {ratio['p50']} p99 {ratio['p99']} p99.9 {ratio['p999']}" if ratio else
                    f"; {row['cyclictest']['skipped']}"))
    if "compute" in sections:
        result["compute"] = {}
        for name in ROBOTS:
            for controller in CONTROLLERS:
                row = cycle_compute(name, controller, 0.5 if quick else 3.0, bus="mock")
                result["compute"][f"{name}/{controller}"] = row
                echo(f"compute {name:16s} {controller:15s}: " + (row["skipped"] if "skipped" in row else
                     f"{row['joints']} joints, p50 {row['compute_time']['p50_us']} us, p99 {row['compute_time']['p99_us']} us, "
                     f"final state {row['final_state']}"))
    if "api" in sections:
        result["python_api"] = python_api(2000 if quick else 20000)
        api = result["python_api"]
        echo(f"python api: read_state(out=view) p50 {api['read_state_time']['p50_us']} us; state() p50 "
             f"{api['state_object_time']['p50_us']} us; send_setpoint p50 {api['send_setpoint_time']['p50_us']} us")
    if "baseline" in sections:
        result["baseline"] = baseline(seconds)
        r = result["baseline"]["ratio_python_to_ours"]
        echo(f"pure-Python loop / ours: compute p50 {result['baseline']['python_loop']['compute_time']['p50_us']} / "
             f"{result['baseline']['humanoid_rt']['compute_time']['p50_us']} us = x{r['compute_time']['p50']}, wakeup p99 "
             f"x{r['wakeup_latency']['p99']}")
    if "teleop" in sections:
        from .teleop import latency as teleop_latency, zero_loss_rate

        result["teleop"] = {"latency_1khz": teleop_latency(seconds),
                            "loopback_rate": zero_loss_rate(rates=(1000, 5000, 20000) if quick else
                                                            (1000, 2000, 5000, 10000, 20000, 50000), seconds=0.3)}
        lat = result["teleop"]["latency_1khz"]["receive_to_applied_latency"]
        echo(f"teleop: receive->applied p50 {lat['p50_us']:.0f} us p99 {lat['p99_us']:.0f} us; zero-loss up to "
             f"{result['teleop']['loopback_rate']['highest_zero_loss_hz']} packets/s")
    if "recording" in sections:
        from .recording import latency_on_off, summary_lines, throughput

        result["recording"] = {"throughput": throughput(2.0 if quick else 10.0),
                               "latency": latency_on_off(1.0 if quick else 5.0, rounds=1 if quick else 3)}
        for line in summary_lines(result["recording"]):
            echo(line)
    if "standing" in sections:
        from .standing_cost import ROBOTS as STANDING_ROBOTS, standing_cost, summary_line

        result["standing"] = {name: standing_cost(name, seconds, python_iterations=300 if quick else 2000)
                              for name in STANDING_ROBOTS}
        for row in result["standing"].values():
            echo(summary_line(row))
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    echo(f"written to {json_path}")
    return result
