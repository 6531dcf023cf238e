"""Feature statistics of the LeRobot export on known data: LeRobot 0.6.1's axis rule (every axis but the
last), its quantile keys and histogram estimator, and its aggregation over episodes."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt.recording.lerobot_stats import (HISTOGRAM_BINS, QUANTILES, STAT_KEYS, aggregate_stats,
                                                 feature_stats, frame_stats)


def test_a_window_feature_is_reduced_over_frames_and_window_rows_per_last_axis():
    values = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)  # 4 frames of a (3, 2) window
    stats = feature_stats(values)
    assert set(stats) == set(STAT_KEYS)
    assert all(stats[k].shape == (2,) for k in STAT_KEYS if k != "count")
    assert stats["count"].tolist() == [4]  # frames, not frames x rows
    np.testing.assert_array_equal(stats["min"], [0, 1])
    np.testing.assert_array_equal(stats["max"], [22, 23])
    np.testing.assert_allclose(stats["mean"], [11, 12])
    np.testing.assert_allclose(stats["std"], np.arange(0, 24, 2).std() * np.ones(2))


def test_a_scalar_feature_has_stats_of_shape_one():
    stats = feature_stats(np.array([1.0, 2.0, 3.0, 6.0]))
    assert all(stats[k].shape == (1,) for k in STAT_KEYS)
    assert stats["mean"].tolist() == [3.0] and stats["count"].tolist() == [4]
    bools = feature_stats(np.array([False, False, True]))  # next.done: stats of 0/1
    assert bools["max"].tolist() == [1.0] and bools["mean"].tolist() == pytest.approx([1 / 3])


def test_quantiles_follow_the_histogram_estimator_on_known_data():
    values = np.arange(100, dtype=np.float64)  # 0..99, one value per bin of width ~ 0.0198
    stats = feature_stats(values)
    assert sorted(QUANTILES) == ["q01", "q10", "q50", "q90", "q99"]
    width = (99 + 2e-10) / HISTOGRAM_BINS
    # q x 100 values lie at or below the quantile: the estimate is the right edge of the bin of value
    # q x 100 - 1 (the cumulative count reaches the target there, with the whole bin needed).
    assert stats["q01"][0] == pytest.approx(0.0, abs=1e-9)  # reached in the first bin: its left edge
    for key, below in (("q10", 9), ("q50", 49), ("q90", 89), ("q99", 98)):
        assert below < stats[key][0] <= below + width, key
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(20000, 3)) * [1.0, 10.0, 0.1]
    stats = feature_stats(noise)
    ordered = np.sort(noise, axis=0)
    width = (ordered[-1] - ordered[0]) / HISTOGRAM_BINS
    for key, q in QUANTILES.items():  # within one bin of the sample that brings the count to q x N
        k = int(np.ceil(q * len(noise))) - 1
        assert np.all(np.abs(stats[key] - ordered[k]) <= width * 1.000001), key


def test_one_frame_has_every_quantile_equal_to_its_mean():
    stats = feature_stats(np.array([[0.5, -1.0, 2.0]]))
    for key in QUANTILES:
        np.testing.assert_array_equal(stats[key], [0.5, -1.0, 2.0])
    assert stats["std"].tolist() == [0.0, 0.0, 0.0]


def test_frame_stats_skip_strings_and_reshape_frames_to_their_feature_shape():
    feats = {"observation.wrench.ft": {"dtype": "float32", "shape": [2, 6]},
             "episode.outcome": {"dtype": "string", "shape": [1]},
             "frame_index": {"dtype": "int64", "shape": [1]}}
    frames = {"observation.wrench.ft": np.ones((5, 2, 6), np.float32),
              "episode.outcome": np.array(["success"] * 5, dtype=object),
              "frame_index": np.arange(5)}
    stats = frame_stats(frames, feats)
    assert set(stats) == {"observation.wrench.ft", "frame_index"}
    assert stats["observation.wrench.ft"]["mean"].shape == (6,)
    assert stats["frame_index"]["q50"].shape == (1,)


def test_aggregation_pools_mean_and_variance_and_weights_quantiles_by_frames():
    rng = np.random.default_rng(9)
    first, second = rng.normal(1.0, 2.0, size=(30, 4, 2)), rng.normal(-3.0, 0.5, size=(10, 4, 2))
    parts = [feature_stats(first), feature_stats(second)]
    total = aggregate_stats([{"x": p} for p in parts])["x"]
    both = np.concatenate([first, second]).reshape(-1, 2)
    assert total["count"].tolist() == [40]
    np.testing.assert_allclose(total["mean"], both.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(total["std"], both.std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(total["min"], both.min(axis=0))
    np.testing.assert_array_equal(total["max"], both.max(axis=0))
    for key in QUANTILES:  # LeRobot's rule: the frame-weighted mean of the episodes' quantiles
        np.testing.assert_allclose(total[key], (30 * parts[0][key] + 10 * parts[1][key]) / 40, rtol=1e-12)
