"""EtherCAT benchmark (root): frame round trip over one veth pair, the full cycle and the raw link.

    python bench/run_ethercat.py [--seconds 5] [--rate 1000] [--robot generic_humanoid] [--json out.json]

On one veth pair (master end here, slave end in a network namespace), one after the other:
1. cycle: the demo's robot (`humanoid-rt demo --bus ethercat-virtual`) in the real-time loop
          (SCHED_FIFO 80, memory locked) at --rate, its leg joints (12) on the C++ EtherCAT bus
          (SOEM) and as many virtual CiA 402 drives (drivers/ethercat/virtual_slave, SCHED_FIFO
          70), in one frame: LRW of every drive's process data + the DC reference time
          (FRMW), send -> every slave processed -> frame back, once per cycle. The bus's own
          histogram (send to receive, measured in the loop thread).
2. raw:   the same veth with the far end replaced by a reflector (the same C++ frame thread in
          echo mode, no EtherCAT processing) and a sender in this process (SCHED_FIFO 80) sending
          a frame of the same size at --rate: the link and the two socket hops, the physical
          reference. The sender is Python, so its few microseconds of interpreter time per
          send/receive are in this figure too.
Prints p50/p99/max in microseconds. Timing lives here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
from pathlib import Path

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.ethercat import VirtualEthercat, have_privileges
from humanoid_rt.ethercat.demo import leg_count, legs_on_line

ETH_P_ECAT = 0x88A4
TX_BYTES = 16  # inputs per drive (TxPDO 0x1A00, firmware_interfaces/ethercat): the larger direction


def cycle_round_trip(line: VirtualEthercat, seconds: float, rate: int, robot_name: str) -> dict:
    # The demo's robot: legs on the line, the other joints on mock buses, the loop as configured
    # (SCHED_FIFO 80, memory locked). The drives stay disabled: the frames are the same either way.
    with Robot(legs_on_line(robot_name, line), rate_hz=rate) as robot:
        bus = robot.buses["legs"]
        bus.reset_statistics()
        robot.start()
        time.sleep(seconds)
        robot.stop()
        s = bus.statistics()
        loop = robot.statistics()
        emulator = line.request({"cmd": "statistics"})
    rt = s["round_trip_time"]
    return {"rate_hz": rate, "slaves": line.slaves, "frames": s["frames_sent"], "lost": s["lost_frames"],
            "wkc_errors": s["wkc_errors"], "dc_slaves": s["dc_slaves"], "p50_us": rt["p50_us"], "p99_us": rt["p99_us"],
            "max_us": rt["max_us"], "loop_overruns": loop["overruns"],
            "emulator_max_process_us": emulator["max_process_us"], "emulator_priority": emulator["priority"]}


def raw_round_trip(line: VirtualEthercat, seconds: float, rate: int) -> dict:
    line.restart(echo=True)
    # An LRW as big as the cycle's (every drive's inputs, which are larger than its outputs).
    payload = struct.pack("<BBIHH", 12, 0, 0, TX_BYTES * line.slaves, 0) + bytes(TX_BYTES * line.slaves) + b"\0\0"
    frame = b"\xff" * 6 + b"\x01" * 6 + struct.pack(">H", ETH_P_ECAT) + struct.pack("<H", len(payload) | 0x1000) + payload
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ECAT))
    sock.bind((line.master_interface, ETH_P_ECAT))
    sock.settimeout(0.05)
    previous = os.sched_getscheduler(0), os.sched_getparam(0)
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(80))  # as the loop thread of the cycle measurement
    samples, lost = [], 0
    try:
        period = 1.0 / rate
        next_t = time.perf_counter()
        end = next_t + seconds
        while next_t < end:
            t0 = time.perf_counter_ns()
            sock.send(frame)
            try:
                sock.recv(2048)
                samples.append((time.perf_counter_ns() - t0) / 1e3)
            except socket.timeout:
                lost += 1
            next_t += period
            time.sleep(max(0.0, next_t - time.perf_counter()))
    finally:
        os.sched_setscheduler(0, *previous)
        sock.close()
    a = np.array(samples)
    return {"rate_hz": rate, "frames": len(samples), "lost": lost, "frame_bytes": len(frame),
            "p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99)), "max_us": float(a.max())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--robot", default="generic_humanoid", help="bundled robot: its leg joints go on the line")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    ok, why = have_privileges()
    if not ok:
        print(f"run_ethercat: {why}", file=sys.stderr)
        return 3
    with VirtualEthercat(slaves=leg_count(args.robot), period_s=1.0 / args.rate) as line:
        result = {"ethercat_cycle": cycle_round_trip(line, args.seconds, args.rate, args.robot),
                  "raw_af_packet": raw_round_trip(line, args.seconds, args.rate)}
    for name, r in result.items():
        print(f"{name:<15} frames {r['frames']:>6}  lost {r['lost']:>4}  p50 {r['p50_us']:8.1f} us  "
              f"p99 {r['p99_us']:8.1f} us  max {r['max_us']:8.1f} us")
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
