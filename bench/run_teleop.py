"""Teleop benchmark: see humanoid_rt.benchmarks.teleop (python bench/run_teleop.py --seconds 5 --json bench-teleop.json)."""

import sys

from humanoid_rt.benchmarks.teleop import main

if __name__ == "__main__":
    sys.exit(main())
