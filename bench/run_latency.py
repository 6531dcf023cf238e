"""Loop-timing benchmark: cyclictest first, then humanoid_rt's loop, on the same
machine in the same run, reported side by side and as ratios.

    python bench/run_latency.py --seconds 10 --rate 1000 --json bench-latency.json

This machine may be a shared VM: absolute numbers move from run to run, the
ratios against cyclictest (the kernel's own wakeup latency with the same
priority and period) are what compare. Needs root for SCHED_FIFO and mlockall;
cyclictest comes from Debian's rt-tests (`apt-get install rt-tests`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from humanoid_rt.demo import run_demo

PRIORITY = 80


def cyclictest_percentiles(rate_hz: int, cycles: int) -> dict:
    """Runs `cyclictest -m -p 80 -i PERIOD -l CYCLES` with a 1 us histogram and returns its percentiles."""
    period_us = round(1e6 / rate_hz)
    with tempfile.TemporaryDirectory() as tmp:
        histfile = Path(tmp) / "histogram.txt"
        command = ["cyclictest", "-m", "-p", str(PRIORITY), "-i", str(period_us), "-l", str(cycles), "-q",
                   "-h", "20000", f"--histfile={histfile}"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=cycles / rate_hz * 3 + 30)
        counts, overflow_max = parse_histogram(histfile.read_text())
    return {"command": " ".join(command[:-3] + ["-h", "20000"]), **percentiles_from_counts(counts, overflow_max)}


def parse_histogram(text: str) -> tuple[np.ndarray, int]:
    """cyclictest's histogram file: one `latency_us count` row per microsecond, then '# Max Latencies: N'."""
    counts, max_us = [], 0
    for line in text.splitlines():
        if line.startswith("# Max Latencies:"):
            max_us = int(line.split(":")[1].split()[0])
        elif line and not line.startswith("#"):
            counts.append(int(line.split()[1]))
    return np.array(counts, dtype=np.int64), max_us


def percentiles_from_counts(counts: np.ndarray, max_us: int) -> dict:
    """Nearest-rank percentiles of a 1 us histogram (overflowing samples count as the maximum)."""
    total_in_range = int(counts.sum())
    cumulative = np.cumsum(counts)
    samples = total_in_range  # overflows are not in `counts`; they only raise the max
    out = {"samples": samples}
    for name, q in (("p50", 0.50), ("p99", 0.99), ("p999", 0.999)):
        rank = max(1, int(np.ceil(q * samples)))
        out[name] = float(np.searchsorted(cumulative, rank)) if samples else 0.0
    out["max"] = float(max_us)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=1000, choices=(250, 500, 1000, 2000, 4000))
    parser.add_argument("--json", type=Path, default=Path("bench-latency.json"))
    parser.add_argument("--skip-cyclictest", action="store_true", help="measure only humanoid_rt")
    args = parser.parse_args(argv)

    result = {
        "command": "python bench/run_latency.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"kernel": platform.release(), "version": platform.version(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "rate_hz": args.rate,
    }
    cycles = int(args.seconds * args.rate)
    if not args.skip_cyclictest:
        if shutil.which("cyclictest") is None:
            print("cyclictest not found: apt-get install rt-tests (or pass --skip-cyclictest)", file=sys.stderr)
            return 2
        result["cyclictest"] = cyclictest_percentiles(args.rate, cycles)
        print(f"cyclictest  p50 {result['cyclictest']['p50']:.0f} us  p99 {result['cyclictest']['p99']:.0f} us  "
              f"p99.9 {result['cyclictest']['p999']:.0f} us  max {result['cyclictest']['max']:.0f} us")

    report = run_demo(seconds=args.seconds, rate_hz=args.rate, bus="mock", priority=PRIORITY, echo=lambda *_: None)
    ours = report["wakeup_latency_us"]
    result["humanoid_rt"] = {"wakeup_latency_us": ours, "compute_us": report["compute_us"], "cycles": report["cycles"],
                             "overruns": report["overruns"], "realtime": report["realtime"]}
    print(f"humanoid_rt p50 {ours['p50']:.1f} us  p99 {ours['p99']:.1f} us  p99.9 {ours['p999']:.1f} us  "
          f"max {ours['max']:.1f} us  (compute p50 {report['compute_us']['p50']:.1f} us, p99 "
          f"{report['compute_us']['p99']:.1f} us; {report['cycles']} cycles, {report['overruns']} overruns)")
    if "cyclictest" in result:
        result["ratio_to_cyclictest"] = {
            key: round(ours[key] / result["cyclictest"][key], 3) if result["cyclictest"][key] else None
            for key in ("p50", "p99", "p999", "max")
        }
        print("ratio       " + "  ".join(f"{k} {v}" for k, v in result["ratio_to_cyclictest"].items()))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
