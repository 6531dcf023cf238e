"""Feature statistics for the LeRobot export, computed the way LeRobot 0.6.1 computes them.

What LeRobot does (src/lerobot/datasets/compute_stats.py, read for the facts; the code here is ours):

* Per episode, every non-string feature's frames are stacked to (frames, *shape) and reduced over
  every axis but the last: a (w, 6) window of F/T samples gives stats of shape (6,), pooled over the
  frames and the window rows; a scalar feature gives shape (1,). `count` is the number of frames.
* Keys: min, max, mean, std, count and the quantiles q01, q10, q50, q90, q99 (policies that
  normalise with quantiles - pi0 / pi0.5 style - refuse a dataset whose stats lack them).
* Quantiles are read from a 5000-bin histogram spanning [min, max] of the episode, interpolated
  linearly inside the bin where the cumulative count reaches q x rows. An episode of one frame has
  every quantile equal to its mean.
* The dataset's stats.json aggregates the episodes: min of the minima, max of the maxima, the pooled
  mean and variance (parallel formula, weighted by frame counts), and each quantile as the
  count-weighted mean of the episodes' quantiles (an approximation LeRobot makes; we make the same
  one so a dataset edited by LeRobot's tools keeps consistent statistics).

We compute mean and std in float64 with numpy's two-pass formulas (LeRobot uses E[x^2] - E[x]^2 in
the feature's dtype); the values agree to float32 precision and ours do not lose digits when a
feature's spread is small next to its offset.
"""

from __future__ import annotations

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
HISTOGRAM_BINS = 5000
EDGE_PADDING = 1e-10  # LeRobot widens the histogram's range by this on each side
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILES)


def histogram_quantile(column: np.ndarray, q: float, bins: int = HISTOGRAM_BINS) -> float:
    """The value below which a fraction q of `column` lies, read from a `bins`-bin histogram over
    [min - 1e-10, max + 1e-10] with linear interpolation inside the bin (LeRobot's estimator)."""
    edges = np.linspace(column.min() - EDGE_PADDING, column.max() + EDGE_PADDING, bins + 1)
    cumulative = np.cumsum(np.histogram(column, bins=edges)[0])
    target = q * len(column)
    i = int(np.searchsorted(cumulative, target))
    if i == 0:
        return float(edges[0])
    if i >= len(cumulative):
        return float(edges[-1])
    before = cumulative[i - 1]
    inside = cumulative[i] - before
    if inside == 0:
        return float(edges[i])
    return float(edges[i] + (target - before) / inside * (edges[i + 1] - edges[i]))


def feature_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """One episode's statistics of one feature; `values` is (frames, *shape) or (frames,) for scalars."""
    frames = len(values)
    vectors = np.asarray(values, dtype=np.float64)
    vectors = vectors.reshape(-1, 1) if vectors.ndim == 1 else vectors.reshape(-1, vectors.shape[-1])
    mean = vectors.mean(axis=0)
    stats = {"min": vectors.min(axis=0), "max": vectors.max(axis=0), "mean": mean, "std": vectors.std(axis=0),
             "count": np.array([frames])}
    for key, q in QUANTILES.items():  # (LeRobot's "fewer than 2 rows" is fewer than 2 frames for any shape)
        stats[key] = mean.copy() if frames < 2 else np.array(
            [histogram_quantile(vectors[:, j], q) for j in range(vectors.shape[1])])
    return stats


def frame_stats(frames: dict[str, np.ndarray], feats: dict[str, dict]) -> dict[str, dict[str, np.ndarray]]:
    """Every non-string feature of one episode (strings have no statistics, as in LeRobot)."""
    return {key: feature_stats(np.asarray(frames[key]).reshape(len(frames[key]), *spec["shape"]))
            for key, spec in feats.items() if spec["dtype"] != "string"}


def aggregate_stats(per_episode: list[dict[str, dict[str, np.ndarray]]]) -> dict[str, dict[str, np.ndarray]]:
    """The dataset's statistics from its episodes' (see the module docstring for each key's rule)."""
    out = {}
    for key in per_episode[0]:
        parts = [s[key] for s in per_episode]
        counts = np.array([p["count"][0] for p in parts], dtype=np.float64)[:, None]
        total = counts.sum()
        means = np.stack([p["mean"] for p in parts])
        mean = (means * counts).sum(axis=0) / total
        variance = ((np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2) * counts).sum(axis=0) / total
        out[key] = {"min": np.min([p["min"] for p in parts], axis=0), "max": np.max([p["max"] for p in parts], axis=0),
                    "mean": mean, "std": np.sqrt(variance), "count": np.array([int(total)])}
        for name in QUANTILES:
            out[key][name] = (np.stack([p[name] for p in parts]) * counts).sum(axis=0) / total
    return out


def jsonable(stats: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, list]]:
    return {k: {s: v.tolist() for s, v in d.items()} for k, d in stats.items()}
