"""The real-time path calls no C allocator, not only no operator new.

The loop's allocation guard (cpp/src/allocation_monitor.cpp, realtime_allocations) sees operator new in
the core only; Eigen, eiquadprog, Pinocchio and MuJoCo can call malloc and friends directly. Here a
small C library (tests/support/malloc_counter.c, built with the system's C compiler) is preloaded into
a subprocess and counts every malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc
and pvalloc per thread; tests/support/count_cycle_mallocs.py steps the loop (stepped mode: the calling
thread runs the cycles) through each scenario in chunks of hundreds of cycles and compares each chunk's
count with a one-cycle call's. The twin's physics (MuJoCo) runs in the same thread, inside the bus
read, so a zero here covers it too: none of them allocates per cycle, nor at a transition (a fall's
FAULT, the protective behaviour, a crouch's start, a task switching on).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
SCENARIOS = ("fixed_base", "contact_qp", "estimator", "fall", "crouch", "base_target")


def c_compiler() -> str | None:
    return next((path for name in (os.environ.get("CC", ""), "cc", "gcc", "clang") if name
                 for path in [shutil.which(name)] if path), None)


@pytest.fixture(scope="module")
def malloc_counts(tmp_path_factory):
    compiler = c_compiler()
    if compiler is None:
        pytest.skip("no C compiler (CC, cc, gcc or clang) to build tests/support/malloc_counter.c")
    library = tmp_path_factory.mktemp("malloc_counter") / "libmalloc_counter.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(SUPPORT / "malloc_counter.c"),
                    "-ldl"], check=True, capture_output=True, text=True)
    preload = " ".join(filter(None, [str(library), os.environ.get("LD_PRELOAD", "")]))
    result = subprocess.run([sys.executable, str(SUPPORT / "count_cycle_mallocs.py")], capture_output=True, text=True,
                            env=dict(os.environ, LD_PRELOAD=preload), timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def test_the_counter_sees_the_cores_allocations(malloc_counts):
    # Positive control: 100 x (a vector and its buffer) allocated by _core's code on the stepping thread.
    assert malloc_counts["control_mallocs"] == 200


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_allocation_per_cycle(malloc_counts, scenario):
    run = malloc_counts[scenario]
    assert run["cycles"] >= 1500
    per_chunk = [chunk["mallocs"] for chunk in run["chunks"]]
    assert per_chunk == [run["one_cycle"]] * len(per_chunk), per_chunk  # the call's constant overhead only
    assert run["realtime_allocations"] == 0


def test_the_scenarios_did_what_they_say(malloc_counts):
    qp = malloc_counts["contact_qp"]
    assert qp["state"] == "ACTIVE" and qp["qp_failures"] == 0 and qp["qp_solves"] >= qp["cycles"]
    assert {"ready", "reach", "squat"} <= set(qp["actions"])  # hand targets moved, then the posture
    assert malloc_counts["fixed_base"]["state"] == "ACTIVE" and malloc_counts["fixed_base"]["task_on"]
    assert malloc_counts["estimator"]["state"] == "ACTIVE" and malloc_counts["estimator"]["base_valid"]
    fall = malloc_counts["fall"]
    assert fall["state"] == "FAULT" and any(reason.startswith("fall_") for reason in fall["reasons"])
    crouch = malloc_counts["crouch"]
    assert "disable_requested" in crouch["reasons"] and "crouch_complete" in crouch["reasons"]
    target = malloc_counts["base_target"]
    assert target["state"] == "ACTIVE" and target["qp_failures"] == 0 and target["base_goal"][0] == -0.05
