"""Recording benchmark: see humanoid_rt.benchmarks.recording (python bench/run_recording.py --seconds 5 --json bench-recording.json)."""

import sys

from humanoid_rt.benchmarks.recording import main

if __name__ == "__main__":
    sys.exit(main())
