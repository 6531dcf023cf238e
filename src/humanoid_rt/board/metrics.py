"""Robot health for the board, from the robots' Prometheus metrics.

Two sources give the same samples (metric name, labels, value), folded the same way:
    PrometheusServer(url)   one instant query to a Prometheus server's HTTP API (/api/v1/query)
    MetricsEndpoints(urls)  each robot's own /metrics page, parsed with prometheus_client's parser

The metric contract (the robot process exports these; robot_id is Robot.robot_id):
    humanoid_rt_robot_info{robot_id, robot, version} 1
    humanoid_rt_supervisor_state{robot_id, state}    1 for the current state, 0 for the others
    humanoid_rt_faults_total{robot_id, reason}
    humanoid_rt_joint_temperature_celsius{robot_id, joint}
    humanoid_rt_loop_overruns_total{robot_id}, humanoid_rt_loop_cycles_total{robot_id}
    humanoid_rt_recorder_dropped_samples_total{robot_id}
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterable

from ..errors import HumanoidRtError

PREFIX = "humanoid_rt_"
USED = ("robot_info", "supervisor_state", "faults_total", "joint_temperature_celsius", "loop_overruns_total",
        "loop_cycles_total", "recorder_dropped_samples_total")
TIMEOUT_S = 2.0

Sample = tuple[str, dict[str, str], float]


class MetricsError(HumanoidRtError, ValueError):
    """A metrics option or answer that cannot be used, with the reason."""


def _check_url(url: str, option: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise MetricsError(f"{option} {url!r}: not an http(s) URL (e.g. http://127.0.0.1:9090)")
    return url


def fold(samples: Iterable[Sample], health: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Samples -> {robot_id: {state, faults, faults_total, temperatures, max_temperature, hottest_joint, ...}}."""
    robots = health if health is not None else {}
    for name, labels, value in samples:
        robot_id = labels.get("robot_id")
        if not robot_id or not name.startswith(PREFIX):
            continue
        r = robots.setdefault(robot_id, {"robot_id": robot_id, "up": True, "state": None, "faults": {},
                                         "temperatures": {}, "robot": "", "version": ""})
        metric = name[len(PREFIX):]
        if metric == "robot_info":
            r.update(robot=labels.get("robot", ""), version=labels.get("version", ""))
        elif metric == "supervisor_state" and value == 1:
            r["state"] = labels.get("state")
        elif metric == "faults_total":
            r["faults"][labels.get("reason", "?")] = int(value)
        elif metric == "joint_temperature_celsius":
            r["temperatures"][labels.get("joint", "?")] = round(value, 1)
        elif metric in ("loop_overruns_total", "loop_cycles_total", "recorder_dropped_samples_total"):
            r[metric.removesuffix("_total")] = int(value)
    for r in robots.values():
        r["faults_total"] = sum(r["faults"].values())
        if r["temperatures"]:
            r["hottest_joint"], r["max_temperature"] = max(r["temperatures"].items(), key=lambda kv: kv[1])
        else:
            r["hottest_joint"], r["max_temperature"] = None, None
    return robots


class PrometheusServer:
    """One instant query for every used series (a regex on __name__) to a Prometheus server."""

    def __init__(self, url: str):
        self.url = _check_url(url, "--prometheus").rstrip("/")
        self.description = f"Prometheus {self.url}"

    def scrape(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        selector = '{__name__=~"' + PREFIX + "(" + "|".join(USED) + ')"}'
        query = urllib.parse.urlencode({"query": selector})
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=TIMEOUT_S) as answer:
                body = json.load(answer)
        except (OSError, ValueError) as error:
            return {}, [f"{self.description}: {error}"]
        if body.get("status") != "success":
            return {}, [f"{self.description}: {body.get('errorType')}: {body.get('error')}"]
        samples = []
        for series in body["data"]["result"]:
            labels = dict(series["metric"])
            samples.append((labels.pop("__name__", ""), labels, float(series["value"][1])))
        return fold(samples), []


class MetricsEndpoints:
    """Each robot process's /metrics page, fetched and parsed (text exposition format)."""

    def __init__(self, urls: list[str]):
        self.urls = [_check_url(u, "--metrics") for u in urls]
        self.description = f"{len(self.urls)} /metrics endpoint(s)"

    def scrape(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        from prometheus_client.parser import text_string_to_metric_families

        robots: dict[str, dict[str, Any]] = {}
        errors = []
        for url in self.urls:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
                    text = answer.read().decode("utf-8")
                samples = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
                           for s in family.samples]
            except (OSError, ValueError) as error:
                errors.append(f"{url}: {error}")
                continue
            fold(samples, robots)
        return robots, errors


class NoMetrics:
    description = "no metrics source (--prometheus or --metrics)"

    def scrape(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        return {}, []
