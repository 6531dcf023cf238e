"""Whole-body cycle cost (gravity + two hand tasks + null-space posture + safety) for G1 and Romeo.

    python bench/run_whole_body.py --seconds 5 --json bench-whole-body.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from humanoid_rt.benchmarks.compute import cycle_compute


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path, default=Path("bench-whole-body.json"))
    args = parser.parse_args(argv)
    result = {name: cycle_compute(name, "whole_body", args.seconds) for name in ("g1", "romeo")}
    for name, row in result.items():
        print(name, json.dumps(row))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
