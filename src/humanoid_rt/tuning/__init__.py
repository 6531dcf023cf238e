"""Controller tuning: step and chirp experiments on joints, response metrics,
gain sweeps, and a report with plots (`humanoid-rt tune`)."""

from .experiments import ChirpExperiment, ExperimentResult, StepExperiment, run_experiment, sweep_gains
from .metrics import StepMetrics, chirp_signal, frequency_response, step_metrics, tracking_rms

__all__ = [
    "ChirpExperiment",
    "ExperimentResult",
    "StepExperiment",
    "StepMetrics",
    "chirp_signal",
    "frequency_response",
    "run_experiment",
    "step_metrics",
    "sweep_gains",
    "tracking_rms",
]
