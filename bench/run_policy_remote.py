"""Remote policy round trip over Zenoh: observation -> action chunk, p50/p99, 1 KB and 100 KB observations,
with the policy server (`humanoid-rt policy-serve ...reference_policy:mlp`, a separate process) on loopback
and across a veth pair in its own network namespace (root; skipped with the reason otherwise). Then the
bundled humanoid streams a remote wave in real time with the server live, then paused (SIGSTOP): the
loop's overruns and the stream thread's update intervals in both phases (a stall would show there).

    python bench/run_policy_remote.py --requests 500 --json bench-policy-remote.json

One round trip is what the robot's request thread does for each chunk: encode the observation, send the
Zenoh query, wait for the reply, decode and check the chunk. The server's side (decode, the MLP, encode)
is inside it; the MLP's own time is reported separately (`inference_p50_us`). Requests are sent one at a
time, as RemoteChunkSource does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from humanoid_rt.ethercat.netns import have_privileges
from humanoid_rt.remote.policy_server import INFER_KEY, server_info
from humanoid_rt.remote.session import endpoints_only, open_session
from humanoid_rt.remote.policy_wire import Observation, check_answers, decode_chunk, encode_observation

JOINTS = tuple(f"joint_{i}" for i in range(8))
SIZES = {"1KB": 1024, "100KB": 100 * 1024}
NAME = "bench"


def observation(seq: int, size: int) -> Observation:
    """An 8-joint observation (4 leftover actions), padded with a uint8 'image' to `size` bytes encoded."""
    def build(pad: int) -> Observation:
        rng = np.random.default_rng(seq)
        return Observation(robot_id="bench-robot", request_seq=seq, t=10.0 + seq * 0.01, episode_start=10.0,
                           joints=JOINTS, q=rng.uniform(-0.5, 0.5, 8), dq=rng.uniform(-1, 1, 8),
                           tau=rng.uniform(-5, 5, 8), chunk_seq=max(seq - 1, -1),
                           executed_index=7 if seq else -1,
                           leftover=rng.uniform(-0.5, 0.5, (4 if seq else 0, 8)),
                           extras={"image": np.zeros(pad, dtype=np.uint8)})
    pad = max(size - len(encode_observation(build(0))), 0)
    for _ in range(3):  # the header names the pad's size, so its length moves by a digit or two
        length = len(encode_observation(build(pad)))
        if length == size:
            break
        pad = max(pad + size - length, 0)
    return build(pad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(listen: str, popen, policy: str = "humanoid_rt.remote.reference_policy:mlp") -> subprocess.Popen:
    process = popen([sys.executable, "-m", "humanoid_rt.cli", "policy-serve", policy, "--name", NAME,
                     "--listen", listen], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 30.0)
    if not ready or not process.stdout.readline():
        process.kill()
        raise RuntimeError(f"policy-serve did not start: {process.stderr.read()[-2000:]}")
    return process


def measure(session, requests: int, size: int) -> dict:
    key = INFER_KEY.format(name=NAME)
    trips, inference = [], []
    failures = 0
    for seq in range(requests + 20):
        obs = observation(seq, size)
        started = time.perf_counter()
        payload = encode_observation(obs)
        reply = next(iter(session.get(key, payload=payload, timeout=5.0)), None)
        if reply is None or reply.ok is None:
            failures += 1
            continue
        chunk = decode_chunk(reply.ok.payload.to_bytes())
        check_answers(chunk, obs)
        elapsed = time.perf_counter() - started
        if seq >= 20:  # the first 20 warm up the link and the server
            trips.append(elapsed)
            inference.append(chunk.inference_s)
    trips_us = np.array(trips) * 1e6
    return {"requests": len(trips), "failures": failures, "observation_bytes": len(payload),
            "chunk_bytes": len(reply.ok.payload.to_bytes()) if reply is not None and reply.ok is not None else None,
            "p50_us": round(float(np.percentile(trips_us, 50)), 1),
            "p99_us": round(float(np.percentile(trips_us, 99)), 1),
            "max_us": round(float(trips_us.max()), 1),
            "inference_p50_us": round(float(np.percentile(np.array(inference) * 1e6, 50)), 1)}


def run_setup(requests: int, listen_address: str, popen) -> dict:
    port = free_port()
    server = start_server(f"tcp/{listen_address}:{port}", popen)
    session = open_session(endpoints_only(connect=[f"tcp/{listen_address}:{port}"]))
    try:
        if server_info(session, NAME, timeout=20.0) is None:
            raise RuntimeError("the policy server did not answer within 20 s")
        return {label: measure(session, requests, size) for label, size in SIZES.items()}
    finally:
        session.close()
        server.kill()
        server.wait(timeout=10)


def stream_with_paused_server(seconds: float) -> dict:
    """The bundled humanoid in real time waving with RemotePolicy (replay), `seconds` with the server live, then
    `seconds` with it paused (SIGSTOP): the loop's overruns and the stream thread's update intervals in each."""
    from humanoid_rt import Robot
    from humanoid_rt.remote.reference_policy import replay
    from humanoid_rt.remote.remote_chunks import RemotePolicy

    port = free_port()
    server = start_server(f"tcp/127.0.0.1:{port}", subprocess.Popen, "humanoid_rt.remote.reference_policy:replay")
    session = open_session(endpoints_only(connect=[f"tcp/127.0.0.1:{port}"]))
    phases = {}
    try:
        if server_info(session, NAME, timeout=20.0) is None:
            raise RuntimeError("the policy server did not answer within 20 s")
        with Robot("generic_humanoid", robot_id="bench-robot") as robot:
            robot.start()
            robot.enable()
            policy = RemotePolicy(robot, NAME, joints=replay.skill.joints, session=session, timeout=0.3,
                                  executor_options={"max_acceleration": 60.0})
            calls: list[float] = []
            update = policy.update
            policy.update = lambda now=None: (calls.append(time.monotonic()), update(now))[1]
            policy.start()
            try:
                time.sleep(1.0)  # the first chunks arrive
                for phase in ("server_live", "server_paused"):
                    if phase == "server_paused":
                        os.kill(server.pid, signal.SIGSTOP)
                    before, applied = robot.statistics(), policy.source.statistics()["chunks_applied"]
                    calls.clear()
                    time.sleep(seconds)
                    after, intervals = robot.statistics(), np.diff(calls) * 1e3
                    phases[phase] = {
                        "loop_cycles": after["cycles"] - before["cycles"],
                        "loop_overruns": after["overruns"] - before["overruns"],
                        "stream_updates": len(calls), "stream_interval_p50_ms": round(float(np.median(intervals)), 3),
                        "stream_interval_p99_ms": round(float(np.percentile(intervals, 99)), 3),
                        "stream_interval_max_ms": round(float(intervals.max()), 3),
                        "chunks_applied": policy.source.statistics()["chunks_applied"] - applied,
                        "underrun_at_end": policy.executor.in_underrun,
                        "supervisor_at_end": robot.state().supervisor_state}
            finally:
                os.kill(server.pid, signal.SIGCONT)
                policy.stop()
    finally:
        session.close()
        server.kill()
        server.wait(timeout=10)
    return phases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="round trips per case (default 500)")
    parser.add_argument("--json", default="bench-policy-remote.json", help="output file")
    parser.add_argument("--stall-seconds", type=float, default=3.0,
                        help="seconds of real-time streaming with the server live, then paused (0: skip; default 3)")
    args = parser.parse_args(argv)
    if args.requests < 10:
        parser.error(f"--requests: allowed >= 10 (got {args.requests})")
    result = {"benchmark": "policy_round_trip", "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
              "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
              "policy": "humanoid_rt.remote.reference_policy:mlp (8 joints, 16 actions)",
              "transport": "Zenoh peer, TCP, multicast scouting off", "setups": {}, "skipped": {}}
    result["setups"]["loopback"] = run_setup(args.requests, "127.0.0.1", subprocess.Popen)
    ok, reason = have_privileges()
    if ok:
        from humanoid_rt.veth import VethNamespace

        with VethNamespace() as ns:
            result["setups"]["veth"] = run_setup(args.requests, ns.inside_address, ns.popen)
    else:
        result["skipped"]["veth"] = reason
    if args.stall_seconds > 0:
        result["paused_server"] = stream_with_paused_server(args.stall_seconds)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    for setup, cases in result["setups"].items():
        for label, row in cases.items():
            print(f"{setup:9s} {label:6s} obs {row['observation_bytes']:7d} B: round trip p50 {row['p50_us']:8.1f} us"
                  f"  p99 {row['p99_us']:8.1f} us  max {row['max_us']:8.1f} us  (MLP {row['inference_p50_us']} us, "
                  f"{row['failures']} failed)")
    for phase, row in result.get("paused_server", {}).items():
        print(f"{phase:14s} loop: {row['loop_cycles']} cycles, {row['loop_overruns']} overruns; stream thread: "
              f"{row['stream_updates']} updates, interval p50 {row['stream_interval_p50_ms']} ms p99 "
              f"{row['stream_interval_p99_ms']} ms max {row['stream_interval_max_ms']} ms; "
              f"chunks {row['chunks_applied']}, underrun at end {row['underrun_at_end']}, {row['supervisor_at_end']}")
    for setup, why in result["skipped"].items():
        print(f"{setup}: skipped: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
