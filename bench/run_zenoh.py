"""Zenoh benchmark: setpoint latency operator -> applied (UDP, Zenoh peer, Zenoh via a router) and the
robot's CPU for state fan-out to 1, 10 and 50 subscribers.

    python bench/run_zenoh.py [--seconds 5] [--rate 200] [--rounds 3] [--json bench-zenoh.json]

Latency: one robot in real time (generic_humanoid, 1 kHz, SCHED_FIFO when permitted) with one teleop
receiver; one operator process (its own process, as on its own machine) streams joint packets at --rate
over, one after the other, in interleaved rounds,
  udp          TeleopClient -> loopback UDP -> the C++ receiver (the reference path);
  zenoh_peer   ZenohTeleopClient, a peer session connected to the robot's session over loopback TCP;
  zenoh_router the same through a Zenoh router process in its own network namespace, reached over a veth
               pair (root only; both sessions connect to it as clients of that path).
Per packet, operator -> applied = the loop time at which the loop first ran that setpoint (telemetry
`setpoint_applied_t`, mapped to CLOCK_MONOTONIC) minus the sender's CLOCK_MONOTONIC just before sending.
This includes the due_in wait of zero (due_in 0: applied at the first cycle after arrival) and the
loop's cycle phase (0-1 ms): all paths share it, so compare paths as ratios within one run.

Fan-out: the robot node publishes state at 100 and 500 Hz; N subscriber sessions (one child process,
each session its own TCP connection to the robot: peer mode, the worst case for the robot) receive it.
CPU = the robot process's user+system time over the window, as % of one core, next to the same process
with the node attached and no subscriber, and with no node at all.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import struct
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


from humanoid_rt import Robot  # noqa: E402
from humanoid_rt.remote.operator import ZenohTeleopClient  # noqa: E402
from humanoid_rt.remote.session import SessionOptions, open_session  # noqa: E402
from humanoid_rt.teleop import TeleopClient  # noqa: E402

KEY = bytes(range(32))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(values_us) -> dict:
    a = np.asarray(values_us, dtype=float)
    if a.size == 0:
        return {"count": 0}
    return {"count": int(a.size), "p50_us": float(np.percentile(a, 50)), "p90_us": float(np.percentile(a, 90)),
            "p99_us": float(np.percentile(a, 99)), "max_us": float(a.max())}


def operator_child(udp_url: str, peer_endpoint: str, router_endpoint: str) -> None:
    """The operator station: a process of its own (as on its own machine), so the robot's process holds
    no sender thread competing with its Zenoh callbacks for the GIL. Commands on stdin:
    `stream NAME SECONDS RATE JOINT BASE_Q` -> one JSON line {"stamps": [...], "sent_ns": [...]}."""
    sessions, clients = [], {"udp": TeleopClient(udp_url, KEY, ttl_s=0.2, due_in_s=0.0)}
    peer = open_session(SessionOptions(connect=(peer_endpoint,), listen=("tcp/127.0.0.1:0",), multicast_scouting=False))
    sessions.append(peer)
    clients["zenoh_peer"] = ZenohTeleopClient(peer, "bench-robot", KEY, ttl_s=0.2, due_in_s=0.0)
    if router_endpoint != "-":
        via = open_session(SessionOptions(mode="client", connect=(router_endpoint,), multicast_scouting=False))
        sessions.append(via)
        clients["zenoh_router"] = ZenohTeleopClient(via, "bench-robot", KEY, ttl_s=0.2, due_in_s=0.0)
    print(json.dumps({"ready": True, "paths": list(clients)}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "stream":
            break
        name, seconds, rate, joint, base = words[1], float(words[2]), float(words[3]), int(words[4]), float(words[5])
        client = clients[name]
        client.session_id, client.sequence = secrets.randbits(63) + 1, 0  # a taken-over session is retired
        stamps, sent_ns = [], []
        period = 1.0 / rate
        start = time.monotonic()
        for i in range(int(seconds * rate)):
            packet = client.joint_packet({joint: base + 0.05 * np.sin(2 * np.pi * 0.5 * i * period)})
            stamps.append(struct.unpack_from("<q", packet, 24)[0])  # sender_time_ns (PROTOCOL.md offset 24)
            sent_ns.append(time.monotonic_ns())
            client.send_raw(packet)
            delay = start + (i + 1) * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        print(json.dumps({"stamps": stamps, "sent_ns": sent_ns}), flush=True)
    for client in clients.values():
        client.close()
    for session in sessions:
        session.close()


def stream_and_measure(robot, operator, name: str, seconds: float, rate: float) -> dict:
    """Have the operator process stream over `name`, then find the cycle that first applied each packet."""
    # Between streams the watchdog HOLDs (a fresh stream resumes); a long stall may have gone on to DISABLED.
    if robot.state().supervisor_state == "DAMPING":
        robot.wait_for_state("DISABLED", "FAULT", "ESTOP")
    if robot.state().supervisor_state in ("FAULT", "ESTOP"):
        robot.reset()
    if robot.state().supervisor_state == "DISABLED":
        robot.enable()
    elbow = robot.joint_index("right_elbow")
    base = float(robot.state().q_ref[elbow])
    robot.drain_telemetry()
    before = robot.teleop_statistics()
    operator.stdin.write(f"stream {name} {seconds} {rate} {elbow} {base!r}\n")
    operator.stdin.flush()
    sent = json.loads(operator.stdout.readline())
    stamps, sent_ns = sent["stamps"], sent["sent_ns"]
    period = 1.0 / rate
    time.sleep(0.1)
    tm = robot.drain_telemetry()
    after = robot.teleop_statistics()
    # Each written setpoint's target time is its packet's sender time + the session's clock offset
    # (>= 0, the smallest transit seen) + due_in (0 here): the packet is the last one sent at or before it.
    epoch = robot.monotonic_epoch_ns
    sequences = tm["setpoint_sequence"].astype(np.int64)
    stamps_a = np.asarray(stamps)
    latencies = []
    teleop = int(__import__("humanoid_rt")._core.SetpointSource.TELEOP)
    for index in np.flatnonzero(np.diff(sequences, prepend=sequences[0])):
        if int(tm["setpoint_source"][index]) != teleop:
            continue
        target_ns = epoch + float(tm["setpoint_t_target"][index]) * 1e9
        k = int(np.searchsorted(stamps_a, target_ns, side="right")) - 1
        if k >= 0 and target_ns - stamps_a[k] < 0.5 * period * 1e9:
            latencies.append((epoch + float(tm["setpoint_applied_t"][index]) * 1e9 - sent_ns[k]) / 1e3)
    rejected = {r: after["rejected"][r] - before["rejected"][r] for r in after["rejected"]
                if after["rejected"][r] != before["rejected"][r]}
    return {"sent": len(sent_ns), "accepted": after["accepted"] - before["accepted"], "rejected": rejected,
            "received": after["received"] - before["received"], "matched": len(latencies),
            "operator_to_applied": percentiles(latencies),
            "superseded": after["setpoints_superseded"] - before["setpoints_superseded"]}


def latency_section(seconds: float, rate: float, lab, rounds: int = 3) -> dict:
    results = {}
    peer_port = free_port()
    connect = [f"tcp/127.0.0.1:{peer_port}"]
    router = None
    if lab is not None:
        router_endpoint = f"tcp/{lab.hub_address('bench')}:7447"
        router = lab.popen("router", [sys.executable, "-m", "humanoid_rt.cli", "zenoh-router", "--listen",
                                      "tcp/0.0.0.0:7447", "--no-multicast"], stdout=subprocess.PIPE, text=True)
        assert json.loads(router.stdout.readline()).get("ready")
        connect.append(router_endpoint)
    try:
        with Robot("generic_humanoid", robot_id="bench-robot") as robot:
            report = robot.start()
            robot.enable()
            robot.attach_teleop(key=KEY)
            # The robot: a peer listening on loopback and connected to the router (if any).
            node = robot.attach_zenoh(SessionOptions(listen=(connect[0],), connect=tuple(connect[1:]),
                                                     multicast_scouting=False), key=KEY)
            loop_before = robot.statistics()
            operator = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--operator-child", robot.teleop.url,
                                         connect[0], connect[1] if len(connect) > 1 else "-"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env())
            paths = json.loads(operator.stdout.readline())["paths"]
            if "zenoh_router" not in paths:
                results["zenoh_router"] = {"skipped": "needs root for the router's network namespace"}
            # Interleaved rounds: a loaded machine's slow moments spread over every path alike.
            for round_index in range(rounds):
                for name in paths:
                    time.sleep(0.3)  # the previous stream's session lapses (ttl), this one engages
                    run = stream_and_measure(robot, operator, name, seconds / rounds, rate)
                    results.setdefault(name, {"rounds": []})["rounds"].append(run)
                    print(f"  round {round_index + 1} {name:<13} sent {run['sent']} received {run['received']} accepted "
                          f"{run['accepted']} rejected {run['rejected']} matched {run['matched']} p50 "
                          f"{run['operator_to_applied'].get('p50_us', float('nan')):.0f} us"
                          f" p99 {run['operator_to_applied'].get('p99_us', float('nan')):.0f} us", flush=True)
            operator.stdin.write("quit\n")
            operator.stdin.flush()
            operator.wait(timeout=10)
            loop_after = robot.statistics()
            results["loop"] = {"sched_fifo": report["sched_fifo"], "overruns_during": loop_after["overruns"] - loop_before["overruns"],
                               "wakeup_latency": loop_after["wakeup_latency"], "node": node.statistics()["relayed"]}
    finally:
        if router is not None:
            router.kill()
            router.wait()
    for name in ("udp", "zenoh_peer", "zenoh_router"):
        rounds_ = results[name].get("rounds")
        if rounds_:
            for q in ("p50_us", "p99_us"):
                results[name][f"median_{q}"] = float(np.median([r["operator_to_applied"].get(q, np.nan) for r in rounds_]))
            results[name]["sent"] = sum(r["sent"] for r in rounds_)
            results[name]["matched"] = sum(r["matched"] for r in rounds_)
            results[name]["rejected"] = sum(sum(r["rejected"].values()) for r in rounds_)
    for name in ("zenoh_peer", "zenoh_router"):
        if "rounds" in results[name]:
            ratios = [o["operator_to_applied"].get("p99_us", np.nan) / u["operator_to_applied"].get("p99_us", np.nan)
                      for o, u in zip(results[name]["rounds"], results["udp"]["rounds"])]
            results[name]["p99_ratio_to_udp_per_round"] = ratios
            results[name]["p99_ratio_to_udp_median"] = float(np.median(ratios))
    return results


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fanout_section(seconds: float, lab, counts=(1, 10, 50), rates=(100, 500)) -> dict:
    """Robot CPU with N state subscribers: peer (each subscriber its own connection to the robot) and, with
    root, via a router in a namespace (the robot sends one copy; the router fans out)."""
    results = {"subscribers": list(counts), "rates_hz": list(rates), "runs": []}
    router = None
    if lab is not None:
        router = lab.popen("router", [sys.executable, "-m", "humanoid_rt.cli", "zenoh-router", "--listen",
                                      "tcp/0.0.0.0:7447", "--no-multicast"], stdout=subprocess.PIPE, text=True)
        assert json.loads(router.stdout.readline()).get("ready")
    try:
        with Robot("generic_humanoid", robot_id="fanout-robot") as robot:
            robot.start()
            robot.enable()
            t0, c0 = time.monotonic(), cpu_seconds()
            time.sleep(seconds)
            results["no_node_cpu_percent"] = 100 * (cpu_seconds() - c0) / (time.monotonic() - t0)
            modes = ["peer"] + (["router"] if lab is not None else [])
            for mode, rate in [(m, r) for m in modes for r in rates]:
                if mode == "peer":
                    port = free_port()
                    options = SessionOptions(listen=(f"tcp/127.0.0.1:{port}",), multicast_scouting=False)
                    child_endpoint, child_spoke = f"tcp/127.0.0.1:{port}", None
                else:
                    options = SessionOptions(mode="client", connect=(f"tcp/{lab.hub_address('bench')}:7447",),
                                             multicast_scouting=False)
                    child_endpoint, child_spoke = f"tcp/{lab.hub_address('desk')}:7447", "desk"
                node = robot.attach_zenoh(options, key=KEY, state_rate_hz=rate)
                time.sleep(0.5)
                t0, c0 = time.monotonic(), cpu_seconds()
                time.sleep(seconds)
                idle = 100 * (cpu_seconds() - c0) / (time.monotonic() - t0)
                for n in counts:
                    argv = [sys.executable, str(Path(__file__).resolve()), "--subscribers-child", str(n), child_endpoint,
                            str(seconds), "client" if mode == "router" else "peer"]
                    child = (lab.popen(child_spoke, argv, stdout=subprocess.PIPE, text=True) if child_spoke
                             else subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=_env()))
                    assert json.loads(child.stdout.readline()).get("ready")
                    published0 = node.statistics()["state_published"]
                    overruns0 = robot.statistics()["overruns"]
                    t0, c0 = time.monotonic(), cpu_seconds()
                    done = json.loads(child.stdout.readline())  # after `seconds` of receiving
                    elapsed = time.monotonic() - t0
                    cpu = 100 * (cpu_seconds() - c0) / elapsed
                    published = node.statistics()["state_published"] - published0
                    child.wait()
                    run = {"mode": mode, "state_rate_hz": rate, "subscribers": n, "robot_cpu_percent": cpu,
                           "robot_cpu_percent_node_idle": idle, "window_s": elapsed, "published": published,
                           "loop_overruns_during": robot.statistics()["overruns"] - overruns0,
                           "received_per_subscriber_min": min(done["received"]),
                           "received_per_subscriber_max": max(done["received"])}
                    results["runs"].append(run)
                    print(f"fan-out {mode:<6} {rate} Hz x {n:>2}: robot CPU {cpu:5.1f} % of a core (node idle {idle:.1f} %, "
                          f"no node {results['no_node_cpu_percent']:.1f} %), each subscriber received "
                          f"{min(done['received'])}..{max(done['received'])} in {done['seconds']:.1f} s", flush=True)
                robot.detach_zenoh()
    finally:
        if router is not None:
            router.kill()
            router.wait()
    return results


def subscribers_child(n: int, endpoint: str, seconds: float, mode: str) -> None:
    sessions, counts = [], [0] * n
    for i in range(n):
        s = open_session(SessionOptions(mode=mode, connect=(endpoint,), multicast_scouting=False,
                                        listen=("tcp/127.0.0.1:0",) if mode == "peer" else ()))
        sessions.append(s)

        def count(sample, i=i):
            counts[i] += 1

        s.declare_subscriber("humanoid_rt/*/state", count)
    time.sleep(0.5)  # routes settle
    print(json.dumps({"ready": True}), flush=True)
    start, t0 = list(counts), time.monotonic()
    time.sleep(seconds)
    print(json.dumps({"received": [c - s for c, s in zip(counts, start)], "seconds": time.monotonic() - t0}), flush=True)
    for s in sessions:
        s.close()


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def _env() -> dict:
    from humanoid_rt.veth import child_env

    return child_env()  # the humanoid_rt this script imported, installed or a checkout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0, help="setpoint packets per second (default 200)")
    parser.add_argument("--sections", default="latency,fanout", help="comma-separated: latency, fanout (default both)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds (default 3)")
    parser.add_argument("--json", type=Path, default=Path("bench-zenoh.json"))
    parser.add_argument("--operator-child", nargs=3, metavar=("UDP_URL", "PEER", "ROUTER"), help=argparse.SUPPRESS)
    parser.add_argument("--subscribers-child", nargs=4, metavar=("N", "ENDPOINT", "SECONDS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.operator_child:
        operator_child(*args.operator_child)
        return 0
    if args.subscribers_child:
        n, endpoint, seconds, mode = args.subscribers_child
        subscribers_child(int(n), endpoint, float(seconds), mode)
        return 0
    from humanoid_rt.ethercat.netns import have_privileges
    from humanoid_rt.remote.netns import Lab

    result = {"seconds": args.seconds, "rate_hz": args.rate, "notes": []}
    ok, reason = have_privileges()
    if not ok:
        result["notes"].append(f"no router sections: {reason}")
    with (Lab(["desk"], host_spoke="bench") if ok else _nothing()) as lab:
        sections = set(args.sections.split(","))
        if "latency" in sections:
            result["latency"] = latency_section(args.seconds, args.rate, lab, args.rounds)
        for name in ("udp", "zenoh_peer", "zenoh_router") if "latency" in result else ():
            r = result["latency"][name]
            if "rounds" in r:
                print(f"{name:<13} operator->applied median over rounds: p50 {r['median_p50_us']:7.0f} us  "
                      f"p99 {r['median_p99_us']:7.0f} us  ({r['matched']}/{r['sent']} packets)"
                      f"{'  p99/udp per round ' + ', '.join('%.2f' % x for x in r['p99_ratio_to_udp_per_round']) if 'p99_ratio_to_udp_per_round' in r else ''}",
                      flush=True)
        if "fanout" in sections:
            result["fanout"] = fanout_section(args.seconds, lab)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
