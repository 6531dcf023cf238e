"""Loop wakeup latency against cyclictest at one rate (the suite does 1, 2 and 4 kHz: humanoid-rt bench).

    python bench/run_latency.py --seconds 10 --rate 1000 --json bench-latency.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from humanoid_rt.benchmarks.suite import loop_latency


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=1000, choices=(250, 500, 1000, 2000, 4000))
    parser.add_argument("--json", type=Path, default=Path("bench-latency.json"))
    args = parser.parse_args(argv)
    result = loop_latency(args.rate, args.seconds, "mock")
    print(json.dumps(result, indent=2))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
