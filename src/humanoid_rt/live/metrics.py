"""Prometheus metrics of one robot process, served on /metrics (prometheus_client).

    metrics = robot.attach_metrics(port=9470)     # or `humanoid-rt run --metrics-port 9470`

Every value is read when Prometheus scrapes, on the HTTP server's thread (never the
loop's): the loop's counters and its own latency histograms, the supervisor's state and
events, the buses' driver statistics, joint temperatures. Episodes are counted by the
recorder as each ends (count_episode). Labels name the robot (`robot_id`, its fleet
identity) and small fixed sets (state, reason, bus, joint); per-episode facts go to the
episode catalogue, not into labels.

The loop's latency histograms reach Python as count, sum (mean x count), p50, p90, p99,
p99.9 and max, not as bucket counts, so they are exported as Prometheus summaries
(`{quantile="0.99"}`, `_sum`, `_count`) plus a `_max` gauge: exact figures of the loop's
own log-linear histogram rather than re-bucketed guesses.
"""

from __future__ import annotations

from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import __version__
from ..supervisor_state import SupervisorState
from . import defaults

SUPERVISOR_STATES = tuple(state.value for state in SupervisorState)  # plain label values
QUANTILES = (("0.5", "p50_us"), ("0.9", "p90_us"), ("0.99", "p99_us"), ("0.999", "p999_us"))

# Driver counters -> metric suffix (humanoid_rt_bus_<suffix>_total{robot_id, bus}); any bus reporting the key.
BUS_COUNTERS = {
    "frames_sent": "frames_sent", "frames_received": "frames_received", "replies": "replies",
    "missed_replies": "missed_replies", "send_errors": "send_errors", "lost_frames": "lost_frames",
    "wkc_errors": "working_counter_errors", "bus_faults": "faults", "emergencies": "emergencies",
}


def _summary(name: str, documentation: str, histogram: dict, labels: dict[str, str]) -> Iterable[Metric]:
    """A summary in seconds from the loop's histogram statistics (microseconds)."""
    summary = Metric(name, documentation, "summary")
    for quantile, key in QUANTILES:
        summary.add_sample(name, {**labels, "quantile": quantile}, histogram[key] / 1e6)
    summary.add_sample(name + "_count", labels, float(histogram["count"]))
    summary.add_sample(name + "_sum", labels, histogram["mean_us"] * histogram["count"] / 1e6)
    maximum = GaugeMetricFamily(name.removesuffix("_seconds") + "_max_seconds",
                                f"Largest sample of {name}", labels=list(labels))
    maximum.add_metric(list(labels.values()), histogram["max_us"] / 1e6)
    return summary, maximum


class RobotCollector(Collector):
    """Reads the robot at each scrape."""

    def __init__(self, robot):
        self.robot = robot
        self._event_index = 0  # the robot keeps its newest 10,000 events; counted from the first
        self._faults: dict[str, int] = {}
        self._estops: dict[str, int] = {}

    def _count_events(self) -> None:
        events, self._event_index = self.robot.events_since(self._event_index)
        for event in events:
            if not event["accepted"]:
                continue
            if event["to_state"] == "FAULT":
                self._faults[event["reason"]] = self._faults.get(event["reason"], 0) + 1
            elif event["to_state"] == "ESTOP":
                self._estops[event["reason"]] = self._estops.get(event["reason"], 0) + 1

    def collect(self) -> Iterable[Metric]:
        robot = self.robot
        rid = robot.robot_id
        info = GaugeMetricFamily("humanoid_rt_robot_info", "The robot this process runs (always 1)",
                                 labels=["robot_id", "robot", "version"])
        info.add_metric([rid, robot.config.name, __version__], 1)
        yield info

        state = robot.state()
        states = GaugeMetricFamily("humanoid_rt_supervisor_state",
                                   "1 for the safety supervisor's current state, 0 for the others",
                                   labels=["robot_id", "state"])
        for name in SUPERVISOR_STATES:
            states.add_metric([rid, name], 1.0 if state.supervisor_state == name else 0.0)
        yield states

        self._count_events()
        faults = CounterMetricFamily("humanoid_rt_faults", "Supervisor transitions into FAULT, by reason",
                                     labels=["robot_id", "reason"])
        for reason, count in sorted(self._faults.items()):
            faults.add_metric([rid, reason], count)
        yield faults
        estops = CounterMetricFamily("humanoid_rt_estops", "Supervisor transitions into ESTOP, by reason",
                                     labels=["robot_id", "reason"])
        for reason, count in sorted(self._estops.items()):
            estops.add_metric([rid, reason], count)
        yield estops

        temperatures = GaugeMetricFamily("humanoid_rt_joint_temperature_celsius", "Drive temperature per joint",
                                         labels=["robot_id", "joint"])
        for joint, value in zip(robot.joint_names, state.temperature_c):
            temperatures.add_metric([rid, joint], float(value))
        yield temperatures

        s = robot.statistics()
        for key, doc in (("cycles", "Control-loop cycles run"),
                         ("overruns", "Cycles whose work ran past the period"),
                         ("skipped_periods", "Periods skipped to catch up after an overrun"),
                         ("control_budget_overruns", "Cycles whose control section ran past loop.control_budget_us")):
            counter = CounterMetricFamily(f"humanoid_rt_loop_{key}", doc, labels=["robot_id"])
            counter.add_metric([rid], s[key])
            yield counter
        yield from _summary("humanoid_rt_loop_wakeup_latency_seconds",
                            "Loop wakeup latency (actual minus scheduled start of a cycle)",
                            s["wakeup_latency"], {"robot_id": rid})
        yield from _summary("humanoid_rt_loop_compute_seconds", "Loop compute time per cycle",
                            s["compute_time"], {"robot_id": rid})
        yield from _summary("humanoid_rt_loop_control_seconds",
                            "Loop control section per cycle (between the buses' reads and writes)",
                            s["control_time"], {"robot_id": rid})
        budget = GaugeMetricFamily("humanoid_rt_loop_control_budget_seconds",
                                   "The control section's budget (loop.control_budget_us)", labels=["robot_id"])
        budget.add_metric([rid], s["control_budget_us"] / 1e6)
        yield budget
        for key, doc in (("telemetry_overflows", "Telemetry samples lost because the ring was full"),
                         ("bus_errors", "Bus read/write errors seen by the loop"),
                         ("realtime_allocations", "Heap allocations on the loop thread (must stay 0)")):
            counter = CounterMetricFamily(f"humanoid_rt_{key}", doc, labels=["robot_id"])
            counter.add_metric([rid], s[key])
            yield counter
        yield from self._bus_metrics(rid)
        if robot.standing is not None:
            yield from self._standing_metrics(rid)

    def _standing_metrics(self, rid: str) -> Iterable[Metric]:
        """A robot standing on the contact QP: its solves, failures (fallback cycles) and tightest margins."""
        statistics = self.robot.standing_statistics()
        for key, doc in (("solves", "Contact QP solutions accepted"),
                         ("failures", "Contact QP failures (cycles on the fallback torque)")):
            counter = CounterMetricFamily(f"humanoid_rt_standing_qp_{key}", doc, labels=["robot_id"])
            counter.add_metric([rid], statistics[key])
            yield counter
        if statistics["solves"] == 0:  # no margin yet (the statistics hold a large sentinel)
            return
        com = GaugeMetricFamily("humanoid_rt_standing_min_com_margin_meters",
                                "Smallest CoM distance inside the support polygon of any solution", labels=["robot_id"])
        com.add_metric([rid], statistics["min_com_margin"])
        yield com
        cop = GaugeMetricFamily("humanoid_rt_standing_min_cop_margin_meters",
                                "Smallest CoP distance inside its sole of any solution", labels=["robot_id", "foot"])
        for contact, margin in zip(self.robot.config.model.contacts, statistics["min_cop_margin_per_foot"]):
            cop.add_metric([rid, contact.frame], margin)
        yield cop

    def _bus_metrics(self, rid: str) -> Iterable[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        max_wait = GaugeMetricFamily("humanoid_rt_bus_max_wait_seconds", "Longest wait for a bus's replies",
                                     labels=["robot_id", "bus"])
        for name, bus in self.robot.buses.items():
            statistics = getattr(bus, "statistics", None)
            if statistics is None:  # mock and twin buses keep no driver counters
                continue
            stats = statistics().to_dict()
            for key, suffix in BUS_COUNTERS.items():
                if key in stats:
                    family = families.setdefault(suffix, CounterMetricFamily(
                        f"humanoid_rt_bus_{suffix}", f"Bus driver counter '{key}'", labels=["robot_id", "bus"]))
                    family.add_metric([rid, name], stats[key])
            rejected = stats.get("rejected_wrong_id", 0) + stats.get("rejected_malformed", 0)
            if "rejected_wrong_id" in stats:
                family = families.setdefault("rejected_frames", CounterMetricFamily(
                    "humanoid_rt_bus_rejected_frames", "Frames rejected (wrong id or malformed)",
                    labels=["robot_id", "bus"]))
                family.add_metric([rid, name], rejected)
            if "max_wait_us" in stats:
                max_wait.add_metric([rid, name], stats["max_wait_us"] / 1e6)
        yield from families.values()
        yield max_wait


class MetricsExporter:
    """/metrics for one robot on http://host:port (port 0: any free port; see .port)."""

    def __init__(self, robot, *, port: int = defaults.METRICS_PORT, host: str = "127.0.0.1"):
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise ValueError(f"port: {port!r}; allowed: 0 (any free port) .. 65535")
        self.robot = robot
        self.registry = CollectorRegistry()
        self.collector = RobotCollector(robot)
        self.registry.register(self.collector)
        self.episodes = Counter("humanoid_rt_episodes", "Recorded episodes by who, what and how they ended",
                                ["robot_id", "operator", "task", "skill", "outcome"], registry=self.registry)
        self.recorder_dropped = Counter("humanoid_rt_recorder_dropped_samples",
                                        "Telemetry samples the recorder lost in episodes (counted at episode end)",
                                        ["robot_id"], registry=self.registry)
        self.recorder_dropped.labels(robot.robot_id)  # present (0) before the first episode
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self.host = host
        self.port = self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def count_episode(self, episode: dict, summary: dict) -> None:
        """One finished episode (the recorder's fields and its end summary)."""
        rid = self.robot.robot_id
        self.episodes.labels(rid, episode.get("operator", ""), episode.get("task", ""), episode.get("skill", ""),
                             summary["outcome"]).inc()
        self.recorder_dropped.labels(rid).inc(summary.get("telemetry_dropped", 0))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> "MetricsExporter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
