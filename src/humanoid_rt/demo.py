"""`humanoid-rt demo`: the bundled humanoid runs a whole-body motion in real
time, then reports how well the loop kept time and how well it tracked."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .buses import plugin_for_setup, plugins
from .motions import HandCircle, SquatAndWave
from .robot import Robot

# Setpoints are streamed like a teleop or policy source would: at 100 Hz,
# each stamped two stream intervals ahead (interval plus jitter, as the
# interpolator asks of streams).
STREAM_RATE_HZ = 100.0
STREAM_LEAD_INTERVALS = 2


def rounded_latency(summary: dict) -> dict:
    """A latency summary (LatencySummary.to_dict()) rounded for the report, with the same keys as
    robot.statistics() (README "Statistics")."""
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in summary.items()}


def run_demo(*, seconds: float, rate_hz: float, bus: str, robot_name: str = "generic_humanoid",
             json_path: Path | None = None, priority: int | None = None, cpu: int | None = None,
             view: bool = False, record: Path | None = None, echo=print, live=None) -> dict:
    setup = plugin_for_setup(bus)
    if setup is not None:  # virtual devices first (ethercat-virtual: the legs on a virtual EtherCAT line, root)
        with setup.virtual_setup(bus, robot_name, rate_hz) as (config, context):
            return _run(seconds=seconds, rate_hz=rate_hz, bus=bus, robot=config, override=None, json_path=json_path,
                        priority=priority, cpu=cpu, view=view, record=record, echo=echo, context=context, live=live)
    return _run(seconds=seconds, rate_hz=rate_hz, bus=bus, robot=robot_name, override=bus, json_path=json_path,
                priority=priority, cpu=cpu, view=view, record=record, echo=echo, live=live)


def _run(*, seconds, rate_hz, bus, robot, override, json_path, priority, cpu, view, record, echo, context=None,
         live=None) -> dict:
    with contextlib.ExitStack() as stack:
        robot = stack.enter_context(Robot(robot, bus=override, rate_hz=rate_hz, priority=priority, cpu=cpu))
        for note in robot.notes:
            echo(f"note: {note}")
        viewer = _open_viewer(robot, echo) if view else None
        setup = robot.start()
        echo(f"humanoid_rt demo: {robot.config.name}, {robot.n_joints} joints on {bus} bus(es) "
             f"{', '.join(robot.buses)}, {robot.rate_hz:.0f} Hz, limits hash {robot.limits_hash}")
        if setup["notes"]:
            echo(f"real-time set-up: {setup['notes'].strip()}")
        recorder = _start_recording(robot, record, bus, stack) if record is not None else None
        from .live.cli import attach as attach_live_views  # --live, --metrics-port

        attach_live_views(robot, live, echo, devices=recorder.devices if recorder else None)
        robot.enable()
        # The whole run lasts `seconds`: enable ramp, motion, then the controlled stop (SS1).
        safety = robot.config.safety
        motion = SquatAndWave(robot.joint_names,
                              duration_s=max(seconds - safety.enable_ramp_s - safety.damping_time_s, 1.0))
        period = 1.0 / STREAM_RATE_HZ
        lead = STREAM_LEAD_INTERVALS * period
        # Whole body: the first task frame (a hand) draws a circle by Cartesian impedance while
        # the joint targets squat and wave; the posture acts in the hand task's null space.
        hand = robot.task_frames[0] if robot.task_frames else None
        circle = HandCircle(robot.frame_pose(hand), motion.duration_s) if hand else None
        t_start = robot.now()
        tracking_sq, tracking_max, samples = 0.0, 0.0, 0
        next_wall = time.monotonic()
        while True:
            t = robot.now() - t_start
            if t >= motion.duration_s:
                break
            robot.set_joint_targets(motion(t + lead), t=t_start + t + lead)
            if circle is not None:
                robot.set_frame_target(hand, circle(t + lead), t=t_start + t + lead)
            if viewer is not None and not viewer.sync():
                viewer = None
            telemetry = robot.drain_telemetry()
            if len(telemetry["t"]):
                active = telemetry["state"] == int(robot.STATE_CODES["ACTIVE"])
                error = (telemetry["q"] - telemetry["q_ref"])[active]
                if error.size:
                    tracking_sq += float(np.sum(error ** 2))
                    tracking_max = max(tracking_max, float(np.max(np.abs(error))))
                    samples += error.size
            next_wall += period
            time.sleep(max(0.0, next_wall - time.monotonic()))
        task_error = robot.task_errors().get(hand) if hand else None
        if hand:
            robot.clear_frame_target(hand)
        if robot.state().supervisor_state in ("ENABLING", "ACTIVE", "HOLD"):
            robot.disable()  # a supervisor that already stopped the robot (FAULT, ESTOP, ...) keeps it stopped
        state_before_stop = robot.state()
        if viewer is not None:
            viewer.close()
        stats = robot.statistics()
        recording = _end_recording(recorder, state_before_stop.supervisor_state) if recorder else None
        events = robot.events()
        bus_sections = {"buses": {}}  # the plug-ins' sections (CAN: "buses"; EtherCAT: "ethercat")
        for plugin in plugins():
            for key, section in plugin.report(robot, context).items():
                bus_sections.setdefault(key, {}).update(section)
    report = {
        "robot": robot.config.name,
        "bus": bus,
        "rate_hz": robot.rate_hz,
        "seconds": seconds,
        "cycles": stats["cycles"],
        "overruns": stats["overruns"],
        "skipped_periods": stats["skipped_periods"],
        "wakeup_latency": rounded_latency(stats["wakeup_latency"]),
        "compute_time": rounded_latency(stats["compute_time"]),
        "control_time": rounded_latency(stats["control_time"]),
        "control_budget_overruns": stats["control_budget_overruns"],
        "tracking_error_rad": {
            "rms": round(float(np.sqrt(tracking_sq / samples)), 6) if samples else None,
            "max": round(tracking_max, 6),
        },
        "final_state": state_before_stop.supervisor_state,
        "whole_body": {
            "task_frame": hand,
            "gravity_compensation": robot.gravity_compensation,
            "task_position_error_m": (round(float(np.linalg.norm(task_error["position_error"])), 6)
                                      if task_error else None),
        },
        "transitions": [f"{e['from_state']}->{e['to_state']} ({e['reason']}"
                        + (f", joint {robot.joint_names[e['joint']]}" if 0 <= e["joint"] < robot.n_joints else "")
                        + f") at t={e['t']:.3f}s" for e in events if e["accepted"]],
        "realtime": setup,
        "limits_hash": robot.limits_hash,
        "telemetry_overflows": stats["telemetry_overflows"],
        "realtime_allocations": stats["realtime_allocations"],
        "buses": bus_sections.pop("buses"),  # per CAN bus: frames, missed replies, rejected frames, load
    }
    report.update({key: section for key, section in bus_sections.items() if section})
    if recording:
        report["recording"] = recording
    echo(format_report(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        echo(f"report written to {json_path}")
    return report


def _start_recording(robot, session_dir: Path, bus: str, stack: contextlib.ExitStack):
    """A recorder, with the virtual sensor rig (hand, wrist F/T, palm tactile, IMU on ptys) as its devices."""
    from .devices.rig import virtual_sensor_rig
    from .recording import Recorder

    hub = stack.enter_context(virtual_sensor_rig(stack.enter_context(tempfile.TemporaryDirectory())))
    recorder = Recorder(robot, session_dir, devices=hub)
    stack.callback(recorder.close)  # an interrupted run still ends its episode (aborted), never lost
    recorder.start(task="squat and wave while a hand draws a circle", skill="demo_squat_and_wave",
                   scenario=f"humanoid-rt demo, {bus} bus", operator="humanoid-rt demo")
    return recorder


def _end_recording(recorder, final_state: str) -> dict:
    """The demo succeeded when the robot was disabled in order, not stopped by the supervisor."""
    summary = recorder.end("success" if final_state == "DISABLED" else "failure",
                           note=f"final supervisor state {final_state}")
    recorder.close()
    path = recorder.session.directory / summary["file"]
    return {"file": str(path), "outcome": summary["outcome"], "messages": summary["messages"],
            "telemetry_dropped": summary["telemetry_dropped"], "device_dropped": summary["device_dropped"],
            "devices": {name: {k: s[k] for k in ("frames", "crc_errors", "timeouts", "reconnects")}
                        for name, s in recorder.devices.statistics().items()},
            "bytes": path.stat().st_size}


def _open_viewer(robot, echo):
    from .sim.viewer import RobotViewer, display_available

    if not display_available():
        echo("--view: no display (DISPLAY/WAYLAND_DISPLAY unset): running headless")
        return None
    if not hasattr(robot, "mjcf"):
        echo("--view: the viewer shows the MuJoCo twin; run with --bus mujoco")
        return None
    return RobotViewer(robot)


def format_report(r: dict) -> str:
    w, c = r["wakeup_latency"], r["compute_time"]
    rt = r["realtime"]
    lines = [
        f"cycles           {r['cycles']} at {r['rate_hz']:.0f} Hz ({r['seconds']} s requested)",
        f"overruns         {r['overruns']} (skipped periods {r['skipped_periods']})",
        f"wakeup latency   p50 {w['p50_us']:.1f} us  p99 {w['p99_us']:.1f} us  p99.9 {w['p999_us']:.1f} us  "
        f"max {w['max_us']:.1f} us",
        f"compute time     p50 {c['p50_us']:.1f} us  p99 {c['p99_us']:.1f} us  p99.9 {c['p999_us']:.1f} us  "
        f"max {c['max_us']:.1f} us",
        f"tracking error   rms {r['tracking_error_rad']['rms']} rad  max {r['tracking_error_rad']['max']} rad (ACTIVE)",
        f"scheduling       {'SCHED_FIFO ' + str(rt['priority']) if rt['sched_fifo'] else 'SCHED_OTHER'}, "
        f"memory {'locked' if rt['memory_locked'] else 'NOT locked'}, "
        f"cpu_dma_latency {'held at 0' if rt['cpu_dma_latency_zero'] else 'NOT held'}, "
        f"{'CPU ' + str(rt['cpu']) if rt['cpu_pinned'] else 'not pinned'}",
        f"whole body       task {r['whole_body']['task_frame']}: final error {r['whole_body']['task_position_error_m']} m; "
        f"gravity compensation {'on' if r['whole_body']['gravity_compensation'] else 'off (no gravity in the mock bus)'}",
        f"RT discipline    {r['realtime_allocations']} heap allocations on the loop thread",
        f"supervisor       {r['final_state']} after disable; " + "; ".join(r["transitions"]),
    ]
    if "recording" in r:
        rec = r["recording"]
        devices = ", ".join(f"{name} {rec['messages'].get('/devices/' + name, 0)}" for name in rec["devices"])
        lines.append(f"recording        {rec['outcome']} episode, {sum(rec['messages'].values())} messages "
                     f"({rec['messages'].get('/joints', 0)} joint samples; {devices}), "
                     f"{rec['telemetry_dropped'] + rec['device_dropped']} dropped, {rec['bytes'] / 1e6:.1f} MB: "
                     f"{rec['file']}")
    for plugin in plugins():  # each bus family's lines (EtherCAT lines, CAN buses)
        lines.extend(plugin.report_lines(r))
    return "\n".join(lines)
