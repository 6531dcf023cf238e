"""EtherCAT benchmark (root): frame round trip over the veth pair.

    sudo python bench/run_ethercat.py [--seconds 5] [--rate 1000] [--slaves 12] [--json out.json]

1. raw:   Python AF_PACKET sender in this namespace, the emulator in --echo mode on the far end
          (no EtherCAT processing): the link + two Python socket hops, the physical reference.
2. cycle: the C++ EtherCAT bus (SOEM) in the real-time loop at --rate with --slaves virtual
          CiA 402 drives in one frame: send -> all slaves processed -> frame back, per cycle.
Prints p50/p99/max in microseconds. Timing lives here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.ethercat import VirtualEthercat, have_privileges
from humanoid_rt.ethercat.drive import DriveParams

ETH_P_ECAT = 0x88A4


def raw_round_trip(seconds: float, rate: float) -> dict:
    with VirtualEthercat(slaves=0, echo=True) as link:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ECAT))
        sock.bind((link.master_interface, ETH_P_ECAT))
        sock.settimeout(0.05)
        # One LRW-sized frame, as for 12 drives (12 x 16 input bytes).
        payload = struct.pack("<BBIHH", 12, 0, 0, 192, 0) + bytes(192) + b"\0\0"
        frame = b"\xff" * 6 + b"\x01\x01\x01\x01\x01\x01" + struct.pack(">H", ETH_P_ECAT) + \
            struct.pack("<H", len(payload) | 0x1000) + payload
        samples, lost = [], 0
        period = 1.0 / rate
        next_t = time.perf_counter()
        end = next_t + seconds
        while next_t < end:
            t0 = time.perf_counter()
            sock.send(frame)
            try:
                sock.recv(2048)
                samples.append((time.perf_counter() - t0) * 1e6)
            except socket.timeout:
                lost += 1
            next_t += period
            time.sleep(max(0.0, next_t - time.perf_counter()))
        sock.close()
    a = np.array(samples)
    return {"frames": len(samples), "lost": lost, "p50_us": float(np.percentile(a, 50)),
            "p99_us": float(np.percentile(a, 99)), "max_us": float(a.max())}


def cycle_round_trip(seconds: float, rate: int, slaves: int) -> dict:
    with VirtualEthercat(slaves=slaves, period_s=1.0 / rate) as line, tempfile.TemporaryDirectory() as tmp:
        urdf = Path(tmp) / "legs.urdf"
        urdf.write_text('<robot name="legs"><link name="base"/></robot>\n')
        config = {
            "name": "bench_legs", "model": {"urdf": str(urdf)},
            "loop": {"rate_hz": rate, "priority": 80, "lock_memory": True},
            "safety": {"max_missed_replies": 1000},
            "buses": [{"name": "legs", "type": "ethercat", "interface": line.master_interface,
                       "vendor_id": DriveParams.vendor_id, "product_code": DriveParams.product_code,
                       "receive_timeout_us": int(0.8e6 / rate), "frame_timeout_us": 20000, "wkc_tolerance": 100000}],
            "joints": [{"name": f"j{i}", "bus": "legs", "device_id": i + 1,
                        "limits": {"position_rad": [-2, 2], "velocity_rad_s": 8, "torque_nm": 60},
                        "gains": {"kp": 100, "kd": 4}} for i in range(slaves)],
        }
        with Robot(config) as robot:
            bus = robot.ethercat_bus(0)
            bus.reset_statistics()
            robot.start()
            time.sleep(seconds)
            robot.stop()
            s = bus.statistics()
            loop = robot.statistics()
            emulator = line.request({"cmd": "stats"})
    rt = s["round_trip"]
    return {"rate_hz": rate, "slaves": slaves, "frames": s["frames_sent"], "lost": s["lost_frames"],
            "wkc_errors": s["wkc_errors"], "p50_us": rt["p50_us"], "p99_us": rt["p99_us"], "max_us": rt["max_us"],
            "loop_overruns": loop["overruns"], "emulator_max_process_us": emulator["max_process_us"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--slaves", type=int, default=12)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    ok, why = have_privileges()
    if not ok:
        print(f"run_ethercat: {why}", file=sys.stderr)
        return 3
    result = {"raw_af_packet": raw_round_trip(args.seconds, args.rate),
              "ethercat_cycle": cycle_round_trip(args.seconds, args.rate, args.slaves)}
    for name, r in result.items():
        print(f"{name:<15} frames {r['frames']:>6}  lost {r['lost']:>4}  p50 {r['p50_us']:8.1f} us  "
              f"p99 {r['p99_us']:8.1f} us  max {r['max_us']:8.1f} us")
    print(json.dumps(result["ethercat_cycle"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
