"""Live view benchmark: see humanoid_rt.benchmarks.live (python bench/run_live.py --seconds 5 --json bench-live.json)."""

import sys

from humanoid_rt.benchmarks.live import main

if __name__ == "__main__":
    sys.exit(main())
