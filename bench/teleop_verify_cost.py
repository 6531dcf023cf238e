"""Teleop parse + tag check cost per packet of one _core build, to compare builds (e.g. before and after a
change of the HMAC implementation) in alternating runs on the same machine. Medians of 40 batches of 2000.

  python bench/teleop_verify_cost.py OLD/_core.cpython-311-x86_64-linux-gnu.so src/humanoid_rt/teleop/protocol.py
  python bench/teleop_verify_cost.py NEW/_core.cpython-311-x86_64-linux-gnu.so src/humanoid_rt/teleop/protocol.py

The extension is loaded from its file (not the installed package, so two builds can be compared) and the
packets come from the pure-Python encoder given as the second argument."""
import importlib.machinery, importlib.util, json, statistics, sys, time

import numpy as np

so = sys.argv[1]
loader = importlib.machinery.ExtensionFileLoader("_core", so)
spec = importlib.util.spec_from_file_location("_core", so, loader=loader)
core = importlib.util.module_from_spec(spec)
loader.exec_module(core)
_p = importlib.util.spec_from_file_location("protocol", sys.argv[2])  # the pure-Python encoder, without the package
protocol = importlib.util.module_from_spec(_p)
_p.loader.exec_module(protocol)

KEY = bytes(range(32))
out = {}
for joints in (1, 31, 64):
    packet = protocol.joint_packet(KEY, list(range(joints)), list(np.zeros(joints)), session_id=1, sequence=1,
                                   sender_time_ns=0)
    batch = [packet] * 2000
    assert core.teleop.parse_batch(batch, KEY, False).max() == 0
    times = []
    for _ in range(40):
        t0 = time.perf_counter_ns()
        core.teleop.parse_batch(batch, KEY, False)
        times.append((time.perf_counter_ns() - t0) / len(batch))
    out[f"{joints}_joints_{len(packet)}_bytes_ns"] = {"median": round(statistics.median(times), 1),
                                                      "p10": round(float(np.percentile(times, 10)), 1)}
print(json.dumps(out))
