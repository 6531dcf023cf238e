"""Response metrics from sampled signals (numpy only, exact on synthetic signals)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepMetrics:
    rise_time_s: float | None        # 10 % -> 90 % of the step (None: never reached 90 %)
    overshoot_pct: float              # peak beyond the target, in % of the step (0 if none)
    settling_time_s: float | None     # last entry into the +-band around the target (None: never settled)
    steady_state_error: float         # target - mean of the last 10 % of the record
    peak: float

    def as_dict(self) -> dict:
        return {k: (None if v is None else round(float(v), 6)) for k, v in self.__dict__.items()}


def _crossing_time(t: np.ndarray, y: np.ndarray, level: float) -> float | None:
    """First time y reaches `level` (linear interpolation between samples); y increasing toward it."""
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return None
    i = above[0]
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - y[i - 1]) * (t[i] - t[i - 1]) / (y[i] - y[i - 1]))


def step_metrics(t, y, *, initial: float, target: float, settle_band: float = 0.02) -> StepMetrics:
    """Metrics of a response y(t) to a step from `initial` to `target` applied at t[0].

    The response is normalised to the step, so steps down and up read alike;
    `settle_band` is a fraction of the step size (2 % by default).
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.shape != y.shape or t.ndim != 1 or t.size < 3:
        raise ValueError("t and y: 1-D arrays of the same length >= 3")
    step = target - initial
    if step == 0:
        raise ValueError("target: must differ from initial")
    x = (y - initial) / step  # 0 -> 1
    rise_start, rise_end = _crossing_time(t, x, 0.1), _crossing_time(t, x, 0.9)
    rise = None if rise_start is None or rise_end is None else rise_end - rise_start
    peak = float(np.max(x))
    overshoot = max(0.0, peak - 1.0) * 100.0
    outside = np.flatnonzero(np.abs(x - 1.0) > settle_band)
    if outside.size == 0:
        settling = 0.0
    elif outside[-1] == x.size - 1:
        settling = None
    else:
        settling = float(t[outside[-1] + 1] - t[0])
    tail = y[int(0.9 * y.size):]
    return StepMetrics(
        rise_time_s=rise,
        overshoot_pct=overshoot,
        settling_time_s=settling,
        steady_state_error=float(target - np.mean(tail)),
        peak=float(initial + peak * step),
    )


def tracking_rms(reference, measured) -> float:
    reference = np.asarray(reference, dtype=float)
    measured = np.asarray(measured, dtype=float)
    return float(np.sqrt(np.mean((reference - measured) ** 2)))


def chirp_signal(t, f0: float, f1: float, duration: float, amplitude: float) -> np.ndarray:
    """Exponential (log-frequency) chirp from f0 to f1 Hz over `duration`: equal time per decade."""
    if not (0 < f0 < f1):
        raise ValueError(f"f0, f1: need 0 < f0 < f1 (got {f0}, {f1})")
    t = np.asarray(t, dtype=float)
    k = math.log(f1 / f0) / duration
    phase = 2 * math.pi * f0 * (np.exp(k * t) - 1.0) / k
    return amplitude * np.sin(phase)


def frequency_response(u, y, rate_hz: float, *, f_min: float, f_max: float,
                       points_per_decade: int = 20) -> dict[str, np.ndarray]:
    """H(f) from input u to output y of a swept-sine (chirp) record.

    The whole record is transformed at once (a chirp is not stationary, so
    Welch-style short windows would leak the sweep's other frequencies into each
    bin); H is estimated per log-spaced band as sum(conj(U) Y) / sum(|U|^2) over
    the band's bins. Returns the bands' centre frequency [Hz], gain [dB], phase
    [deg], and a coherence (how consistent the bins of a band are; near 1 where
    the estimate is trustworthy).
    """
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    if u.shape != y.shape or u.ndim != 1 or u.size < 16:
        raise ValueError("u and y: 1-D arrays of the same length >= 16")
    if not 0 < f_min < f_max:
        raise ValueError(f"f_min, f_max: need 0 < f_min < f_max (got {f_min}, {f_max})")
    U = np.fft.rfft(u - np.mean(u))
    Y = np.fft.rfft(y - np.mean(y))
    f = np.fft.rfftfreq(u.size, 1.0 / rate_hz)
    n_bands = max(1, int(round(points_per_decade * math.log10(f_max / f_min))))
    edges = np.logspace(math.log10(f_min), math.log10(min(f_max, rate_hz / 2)), n_bands + 1)
    centres, gains, phases, coherences = [], [], [], []
    for low, high in zip(edges[:-1], edges[1:]):
        band = (f >= low) & (f < high)
        p_uu = np.sum(np.abs(U[band]) ** 2)
        if not band.any() or p_uu == 0:
            continue
        p_uy = np.sum(np.conj(U[band]) * Y[band])
        p_yy = np.sum(np.abs(Y[band]) ** 2)
        H = p_uy / p_uu
        centres.append(math.sqrt(low * high))
        gains.append(20 * math.log10(abs(H)) if H != 0 else -np.inf)
        phases.append(math.degrees(np.angle(H)))
        coherences.append(float(abs(p_uy) ** 2 / (p_uu * p_yy)) if p_yy > 0 else 0.0)
    return {"frequency_hz": np.array(centres), "gain_db": np.array(gains), "phase_deg": np.array(phases),
            "coherence": np.array(coherences)}


def bandwidth_hz(response: dict[str, np.ndarray], *, min_coherence: float = 0.8) -> float | None:
    """The first frequency where the gain falls 3 dB below its low-frequency value."""
    ok = response["coherence"] >= min_coherence
    f, gain = response["frequency_hz"][ok], response["gain_db"][ok]
    if f.size < 2:
        return None
    below = np.flatnonzero(gain <= gain[0] - 3.0)
    return float(f[below[0]]) if below.size else None
