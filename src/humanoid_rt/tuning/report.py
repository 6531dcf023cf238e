"""A tuning report an engineer can paste into a review: markdown tables plus PNG plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .experiments import ExperimentResult


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise RuntimeError("plots need matplotlib: pip install 'humanoid_rt[tune]'") from error
    return plt


def write_report(results: list[ExperimentResult], out_dir: str | Path, *, title: str = "Tuning report") -> Path:
    """Writes report.md and one PNG per experiment into out_dir; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    lines = [f"# {title}", "", "| # | kind | joint | kp | kd | rise [s] | overshoot [%] | settling [s] | "
             "steady-state err [rad] | tracking RMS [rad] | bandwidth [Hz] | aborted |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results):
        m = r.metrics

        def cell(key, fmt="{:.4g}"):
            value = m.get(key)
            return "-" if value is None else fmt.format(value)

        lines.append(f"| {i} | {r.experiment.kind} | {r.experiment.joint} | {r.kp:g} | {r.kd:g} | {cell('rise_time_s')} | "
                     f"{cell('overshoot_pct', '{:.1f}')} | {cell('settling_time_s')} | {cell('steady_state_error')} | "
                     f"{cell('tracking_rms_rad')} | {cell('bandwidth_hz')} | "
                     f"{'yes: ' + str(r.abort_reason) if r.aborted else 'no'} |")
        figure = _plot(plt, r)
        name = f"{i:02d}_{r.experiment.kind}_{r.experiment.joint}_kp{r.kp:g}_kd{r.kd:g}.png"
        figure.savefig(out / name, dpi=110)
        plt.close(figure)
        lines += ["", f"![{name}]({name})"]
    lines += ["", "Experiments ran with every safety limit in force (velocity, torque, torque-rate, soft walls); "
              "an aborted row names the supervisor's reason."]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _plot(plt, r: ExperimentResult):
    if r.response is not None:
        figure, (ax_time, ax_gain, ax_phase) = plt.subplots(3, 1, figsize=(8, 8))
        f = r.response["frequency_hz"]
        ax_gain.semilogx(f, r.response["gain_db"])
        ax_gain.set_ylabel("gain [dB]")
        ax_gain.grid(True, which="both")
        ax_phase.semilogx(f, r.response["phase_deg"])
        ax_phase.set_ylabel("phase [deg]")
        ax_phase.set_xlabel("frequency [Hz]")
        ax_phase.grid(True, which="both")
    else:
        figure, ax_time = plt.subplots(1, 1, figsize=(8, 4))
    ax_time.plot(r.t, r.reference, label="reference q_ref")
    ax_time.plot(r.t, r.measured, label="measured q")
    ax_time.set_xlabel("t [s]")
    ax_time.set_ylabel(f"{r.experiment.joint} [rad]")
    ax_time.set_title(f"{r.experiment.kind}: kp {r.kp:g}, kd {r.kd:g}" + (f" (aborted: {r.abort_reason})" if r.aborted else ""))
    ax_time.legend()
    ax_time.grid(True)
    figure.tight_layout()
    return figure
