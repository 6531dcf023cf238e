"""The loop's latency histogram (cpp/include/humanoid_rt/latency_histogram.hpp), through
`humanoid_rt._core.histogram_quantile_us`, against numpy on known distributions.

Documented semantics: values below 64 ns are their own bucket (exact); above, 32 buckets
per power of two, so a bucket is at most 1/32 (~3.1 %) wide. A quantile is the upper edge
of the bucket holding the q-quantile sample, capped at the exact maximum. So for the true
quantile sample x (nearest rank, numpy's "inverted_cdf"): x <= result <= min(1.032 x, max).

Samples are whole nanoseconds (the histogram records llround(us * 1000)), so the reference
sees exactly the values the histogram records.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt._core import histogram_quantile_us

QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999)
BUCKET_RATIO = 1.032  # 33/32 = 1.03125, the widest bucket's upper/lower ratio
# n * q is a whole number for every q above, so the sample holding the quantile is the same
# under every nearest-rank rounding convention: these tests pin the bucket semantics.
N = 100_000


def _whole_ns(samples_us: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(samples_us, dtype=np.float64) * 1e3) / 1e3


def uniform_10_100(rng) -> np.ndarray:
    return rng.integers(10_000, 100_001, N) / 1e3


def exponential(rng) -> np.ndarray:
    # Mean 20 us; many samples are a few ns, so the exact linear range is exercised too.
    return _whole_ns(rng.exponential(20.0, N))


def bimodal_with_outliers(rng) -> np.ndarray:
    # A main mode around 50 us, a second one around 150 us, and 0.1 % outliers at 1000 us.
    outliers = N // 1000
    main = N - outliers
    body = np.concatenate([rng.normal(50.0, 5.0, main * 7 // 10), rng.normal(150.0, 10.0, main - main * 7 // 10)])
    samples = np.concatenate([np.clip(body, 1.0, 500.0), np.full(outliers, 1000.0)])
    rng.shuffle(samples)
    return _whole_ns(samples)


DISTRIBUTIONS = {"uniform_10_100us": uniform_10_100, "exponential_20us": exponential, "bimodal_outliers": bimodal_with_outliers}


@pytest.fixture(params=list(DISTRIBUTIONS), scope="module")
def samples(request) -> np.ndarray:
    rng = np.random.default_rng(sorted(DISTRIBUTIONS).index(request.param) + 11)
    return DISTRIBUTIONS[request.param](rng)


@pytest.mark.parametrize("q", QUANTILES)
def test_quantile_within_one_bucket_above_numpy(samples, q):
    true = float(np.quantile(samples, q, method="inverted_cdf"))
    result = histogram_quantile_us(samples.tolist(), q)
    assert result >= true, (q, result, true)
    assert result <= max(true * BUCKET_RATIO, true + 1e-12), (q, result, true)
    assert result <= samples.max()


def test_p100_is_the_exact_maximum(samples):
    assert histogram_quantile_us(samples.tolist(), 1.0) == float(samples.max())


def test_quantiles_are_monotone(samples):
    values = [histogram_quantile_us(samples.tolist(), q) for q in QUANTILES + (1.0,)]
    assert values == sorted(values)


def test_outliers_show_at_p9995_but_not_p99():
    rng = np.random.default_rng(3)
    samples = bimodal_with_outliers(rng)
    data = samples.tolist()
    # 0.1 % of samples at 1000 us: p99 is in the body, p99.95 is an outlier, reported as the
    # capped maximum (1000 us exactly; its bucket's upper edge would be 1015.807 us).
    assert histogram_quantile_us(data, 0.99) < 500.0
    assert histogram_quantile_us(data, 0.9995) == 1000.0
    assert histogram_quantile_us(data, 1.0) == 1000.0


def test_empty_histogram_returns_zero():
    for q in (0.5, 0.99, 1.0):
        assert histogram_quantile_us([], q) == 0.0


@pytest.mark.parametrize("ns", [0, 1, 2, 17, 31, 32, 50, 63])
def test_values_below_64ns_are_exact(ns):
    assert histogram_quantile_us([ns / 1e3], 0.5) == ns / 1e3
    # Also as one value among others: every order statistic below 64 ns is exact.
    samples = [v / 1e3 for v in range(64)]
    assert histogram_quantile_us(samples, (ns + 1) / 64) == ns / 1e3


def test_first_bucket_above_linear_range_is_capped_at_max():
    # 64 ns shares a bucket with 65 ns; with only 64 recorded the cap keeps it exact.
    assert histogram_quantile_us([0.064], 0.5) == 0.064
    assert histogram_quantile_us([0.064, 0.065], 0.5) == 0.065  # upper edge semantics
    assert histogram_quantile_us([0.064, 0.066], 0.5) == 0.065


def test_negative_samples_count_as_zero():
    assert histogram_quantile_us([-5.0, 0.010], 0.5) == 0.0
    assert histogram_quantile_us([-5.0, 0.010], 1.0) == 0.010


@pytest.mark.parametrize(
    "values_ns, q, expected_ns",
    [([1, 2, 3], 0.5, 2), (list(range(1, 11)), 0.25, 3), (list(range(1, 101)), 0.995, 100)],
    ids=["median_of_3", "p25_of_10", "p99.5_of_100"],
)
def test_nearest_rank_when_q_n_is_fractional(values_ns, q, expected_ns):
    # All below 64 ns, so exact: compares only which sample is chosen (numpy agrees).
    assert np.quantile(values_ns, q, method="inverted_cdf") == expected_ns
    assert histogram_quantile_us([v / 1e3 for v in values_ns], q) == expected_ns / 1e3


def test_a_sample_beyond_the_last_bucket_is_reported_exactly():
    huge_us = 2.0**44 / 1e3  # past 2^43 ns, the last bucket's lower edge
    assert histogram_quantile_us([1.0, huge_us], 1.0) == huge_us
    assert histogram_quantile_us([huge_us, huge_us], 0.5) == huge_us
