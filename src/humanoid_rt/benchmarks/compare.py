"""`humanoid-rt bench-compare A.json B.json`: every figure of B against A, as a ratio."""

from __future__ import annotations

import json
from pathlib import Path

# Figures where more is better; everything else measured (latencies, times, counts of bad things) is
# better when smaller. Keys that describe the run rather than measure it are not compared.
_HIGHER_IS_BETTER = ("highest_zero_loss_hz", "achieved_hz", "accepted", "applied")
_NOT_MEASURED = ("rate_hz", "joints", "count", "cpus", "period_us", "packets_sent", "sent", "seconds", "minutes",
                 "priority", "cycles", "t_s")


def _leaves(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, float(value)


def compare(a: dict, b: dict, *, threshold: float = 0.10) -> list[dict]:
    """Rows for every numeric figure in both: ratio B/A and whether it regressed by more than threshold."""
    before = dict(_leaves(a))
    rows = []
    for path, new in _leaves(b):
        name = path.rsplit(".", 1)[-1].split("[")[0]
        if path not in before or name in _NOT_MEASURED:
            continue
        old = before[path]
        ratio = new / old if old else (1.0 if new == old else float("inf"))
        higher_better = any(name.startswith(key) or name == key for key in _HIGHER_IS_BETTER)
        regressed = ratio < 1 - threshold if higher_better else ratio > 1 + threshold
        rows.append({"figure": path, "a": old, "b": new, "ratio": ratio, "regressed": regressed and old != new})
    return rows


def main(path_a: Path, path_b: Path, threshold: float) -> int:
    try:
        a, b = json.loads(Path(path_a).read_text()), json.loads(Path(path_b).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"bench-compare: cannot read a benchmark JSON: {error}") from error
    rows = compare(a, b, threshold=threshold)
    if not rows:
        print("no figures in common")
        return 1
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        flag = "REGRESSED" if r["regressed"] else ""
        print(f"{r['figure']:<{width}}  {r['a']:>12.4g} -> {r['b']:>12.4g}  x{r['ratio']:.3f}  {flag}")
    regressions = sum(r["regressed"] for r in rows)
    print(f"{len(rows)} figures compared, {regressions} regressed by more than {threshold:.0%}")
    return 1 if regressions else 0
