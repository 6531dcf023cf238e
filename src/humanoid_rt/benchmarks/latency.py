"""Loop wakeup latency against cyclictest, and the pure-Python baseline loop."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

PRIORITY = 80


# A latency distribution in bench JSON has the keys of the loop's LatencySummary (README "Statistics"),
# whether the loop's histogram, cyclictest's or samples taken in Python measured it.
SUMMARY_KEYS = ("p50_us", "p99_us", "p999_us", "max_us")


def percentiles(samples_us) -> dict:
    samples = np.asarray(samples_us, dtype=float)
    if samples.size == 0:
        return {"count": 0, "p50_us": 0.0, "p99_us": 0.0, "p999_us": 0.0, "max_us": 0.0}
    return {"count": int(samples.size),
            "p50_us": round(float(np.percentile(samples, 50, method="inverted_cdf")), 3),
            "p99_us": round(float(np.percentile(samples, 99, method="inverted_cdf")), 3),
            "p999_us": round(float(np.percentile(samples, 99.9, method="inverted_cdf")), 3),
            "max_us": round(float(samples.max()), 3)}


def histogram_percentiles(histogram: dict) -> dict:
    """The loop's own LatencySummary (robot.statistics()) rounded, in the same shape as percentiles()."""
    return {"count": histogram["count"]} | {k: round(histogram[k], 3) for k in SUMMARY_KEYS}


def parse_cyclictest_histogram(text: str) -> tuple[np.ndarray, int]:
    """cyclictest's --histfile: `latency_us count` rows, then '# Max Latencies: N'."""
    counts, max_us = [], 0
    for line in text.splitlines():
        if line.startswith("# Max Latencies:"):
            max_us = int(line.split(":")[1].split()[0])
        elif line and not line.startswith("#"):
            counts.append(int(line.split()[1]))
    return np.array(counts, dtype=np.int64), max_us


def percentiles_from_counts(counts: np.ndarray, max_us: int) -> dict:
    """Nearest-rank percentiles of a 1 us histogram (samples past its range only raise the max)."""
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1]) if cumulative.size else 0
    out = {"count": total}
    for name, q in (("p50_us", 0.50), ("p99_us", 0.99), ("p999_us", 0.999)):
        out[name] = float(np.searchsorted(cumulative, max(1, int(np.ceil(q * total))))) if total else 0.0
    out["max_us"] = float(max_us)
    return out


def cyclictest(rate_hz: float, cycles: int) -> dict | None:
    """`cyclictest -m -p 80 -i PERIOD -l CYCLES` with a 1 us histogram; None when cyclictest is absent."""
    if shutil.which("cyclictest") is None:
        return None
    period_us = round(1e6 / rate_hz)
    with tempfile.TemporaryDirectory() as tmp:
        histfile = Path(tmp) / "histogram.txt"
        command = ["cyclictest", "-m", "-p", str(PRIORITY), "-i", str(period_us), "-l", str(cycles), "-q", "-h", "20000"]
        subprocess.run(command + [f"--histfile={histfile}"], check=True, stdout=subprocess.DEVNULL,
                       timeout=cycles / rate_hz * 3 + 30)
        counts, max_us = parse_cyclictest_histogram(histfile.read_text())
    return {"command": " ".join(command), **percentiles_from_counts(counts, max_us)}


def ratios(ours: dict, reference: dict) -> dict:
    """ours / reference per quantile (unitless: keyed p50, p99, p999, max)."""
    return {k.removesuffix("_us"): (round(ours[k] / reference[k], 3) if reference.get(k) else None) for k in SUMMARY_KEYS}


def on_off_summary(off: list[dict], on: list[dict], seconds: float, rounds: int) -> dict:
    """Wakeup latency with a feature off and on (one statistics dict per round each): medians over the
    rounds, the p99.9 ratio on/off (the figure the goals are stated in) and every round's p99.9, since a
    shared VM's tail moves between rounds more than most features move it."""
    keys = ("p50_us", "p99_us", "p999_us", "max_us")
    p999_off = float(np.median([w["p999_us"] for w in off]))
    p999_on = float(np.median([w["p999_us"] for w in on]))
    return {
        "seconds_per_round": seconds, "rounds": rounds,
        "off": {k: float(np.median([w[k] for w in off])) for k in keys},
        "on": {k: float(np.median([w[k] for w in on])) for k in keys},
        "p999_ratio_on_off": round(p999_on / p999_off, 3) if p999_off else None,
        "p999_per_round_off": [w["p999_us"] for w in off], "p999_per_round_on": [w["p999_us"] for w in on],
    }


def python_baseline_loop(urdf_path: str, joint_names, seconds: float, rate_hz: float = 1000.0) -> dict:
    """The pure-Python loop on the same work (see python_baseline.py for what it includes), for the
    bundled robot whose URDF this is, or a starting config of any URDF (robots/from_urdf.py)."""
    from ..config import bundled_robots, load_config
    from ..robots.from_urdf import config_from_urdf
    from .python_baseline import python_baseline_loop as run

    config = None
    for name in bundled_robots():
        try:
            candidate = load_config(name)
        except Exception:  # noqa: BLE001 - e.g. g1 without example-robot-data installed: not this URDF
            continue
        if Path(candidate.urdf_path).resolve() == Path(urdf_path).resolve():
            config = candidate
            break
    if config is None:
        config = load_config(config_from_urdf(str(urdf_path)))
    if tuple(joint_names) != tuple(config.joint_names):
        raise ValueError(f"joint_names: expected the URDF's moving joints in config order: {', '.join(config.joint_names)}")
    return run(config, seconds, rate_hz)
