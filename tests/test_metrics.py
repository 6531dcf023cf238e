"""Prometheus metrics of a robot process: the exposition parsed with prometheus_client's parser (names,
types, values after a stepped FAULT, episodes counted by the recorder), and scraped by a real Prometheus
server (Debian `prometheus`) queried over its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from humanoid_rt import Robot
from humanoid_rt.recording import Recorder

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WAIT_S = 30.0  # generous: Prometheus scrapes every second; never a speed assertion


def scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict, name: str, sample_name: str | None = None, **labels) -> float | None:
    family = families[name]
    for sample in family.samples:
        if sample.name == (sample_name or name) and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


@pytest.fixture
def robot():
    with Robot("generic_humanoid", robot_id="metrics-test") as robot:
        yield robot


# name (as the parser reports it: counters without _total) -> type, from the metric contract
CONTRACT = {
    "humanoid_rt_robot_info": "gauge",
    "humanoid_rt_supervisor_state": "gauge",
    "humanoid_rt_faults": "counter",
    "humanoid_rt_estops": "counter",
    "humanoid_rt_joint_temperature_celsius": "gauge",
    "humanoid_rt_loop_overruns": "counter",
    "humanoid_rt_loop_cycles": "counter",
    "humanoid_rt_loop_skipped_periods": "counter",
    "humanoid_rt_loop_wakeup_latency_seconds": "summary",
    "humanoid_rt_loop_wakeup_latency_max_seconds": "gauge",
    "humanoid_rt_loop_compute_seconds": "summary",
    "humanoid_rt_loop_compute_max_seconds": "gauge",
    "humanoid_rt_loop_control_seconds": "summary",
    "humanoid_rt_loop_control_max_seconds": "gauge",
    "humanoid_rt_loop_control_budget_seconds": "gauge",
    "humanoid_rt_loop_control_budget_overruns": "counter",
    "humanoid_rt_telemetry_overflows": "counter",
    "humanoid_rt_bus_errors": "counter",
    "humanoid_rt_realtime_allocations": "counter",
    "humanoid_rt_bus_max_wait_seconds": "gauge",
    "humanoid_rt_episodes": "counter",
    "humanoid_rt_recorder_dropped_samples": "counter",
}


def test_names_types_and_a_stepped_fault(robot):
    metrics = robot.attach_metrics(port=0)
    robot.enable()
    robot.step(600)
    before = scrape(metrics.url)
    assert {name: before[name].type for name in CONTRACT} == CONTRACT
    assert value(before, "humanoid_rt_robot_info", robot_id="metrics-test", robot="generic_humanoid") == 1
    states = {s.labels["state"]: s.value for s in before["humanoid_rt_supervisor_state"].samples}
    assert states == {"DISABLED": 0, "ENABLING": 0, "ACTIVE": 1, "HOLD": 0, "DAMPING": 0, "FAULT": 0, "ESTOP": 0,
                      "RECOVERY": 0}  # every state has its gauge, RECOVERY included
    assert before["humanoid_rt_faults"].samples == []
    assert value(before, "humanoid_rt_loop_cycles", "humanoid_rt_loop_cycles_total", robot_id="metrics-test") == 600
    assert len(before["humanoid_rt_joint_temperature_celsius"].samples) == robot.n_joints
    quantiles = {s.labels.get("quantile") for s in before["humanoid_rt_loop_wakeup_latency_seconds"].samples}
    assert quantiles == {"0.5", "0.9", "0.99", "0.999", None}  # None: _count and _sum

    robot.mock_bus("left_knee").set_temperature(robot.joint_index("left_knee"), 61.5)
    robot.mock_bus("left_knee").set_drive_error(robot.joint_index("left_knee"), 0x2310)
    robot.step(2)
    after = scrape(metrics.url)
    assert value(after, "humanoid_rt_supervisor_state", state="FAULT", robot_id="metrics-test") == 1
    assert value(after, "humanoid_rt_supervisor_state", state="ACTIVE") == 0
    assert value(after, "humanoid_rt_faults", "humanoid_rt_faults_total", reason="drive_fault",
                 robot_id="metrics-test") == 1
    assert value(after, "humanoid_rt_joint_temperature_celsius", joint="left_knee") == pytest.approx(
        robot.state().temperature_c[robot.joint_index("left_knee")])
    robot.mock_bus("left_knee").clear_faults()
    robot.reset()
    robot.step(2)
    robot.estop()
    robot.step(2)
    again = scrape(metrics.url)
    assert value(again, "humanoid_rt_faults", "humanoid_rt_faults_total", reason="drive_fault") == 1  # counted once
    assert value(again, "humanoid_rt_estops", "humanoid_rt_estops_total", reason="estop_requested") == 1
    assert value(again, "humanoid_rt_supervisor_state", state="ESTOP") == 1


def test_control_section_and_the_contact_qp_of_a_standing_robot():
    """The control section's figures are the loop's own (stepped: every cycle counted); a robot standing on
    the contact QP adds its solves, failures and tightest margins; a fixed-base robot has none of them."""
    with Robot("generic_humanoid", bus="mujoco", floating=True, robot_id="standing-test") as robot:
        metrics = robot.attach_metrics(port=0)
        robot.enable()
        robot.step(300)
        families = scrape(metrics.url)
        statistics, standing = robot.statistics(), robot.standing_statistics()
        assert value(families, "humanoid_rt_loop_control_seconds", "humanoid_rt_loop_control_seconds_count",
                     robot_id="standing-test") == statistics["control_time"]["count"] == 300
        assert value(families, "humanoid_rt_loop_control_budget_seconds") == pytest.approx(
            statistics["control_budget_us"] / 1e6)
        assert value(families, "humanoid_rt_loop_control_budget_overruns",
                     "humanoid_rt_loop_control_budget_overruns_total") == statistics["control_budget_overruns"]
        solves = value(families, "humanoid_rt_standing_qp_solves", "humanoid_rt_standing_qp_solves_total")
        assert solves == standing["solves"] > 0
        assert value(families, "humanoid_rt_standing_qp_failures", "humanoid_rt_standing_qp_failures_total") == 0
        assert 0.02 < value(families, "humanoid_rt_standing_min_com_margin_meters") == pytest.approx(
            standing["min_com_margin"])
        feet = {s.labels["foot"]: s.value for s in families["humanoid_rt_standing_min_cop_margin_meters"].samples}
        assert feet == pytest.approx(dict(zip([c.frame for c in robot.config.model.contacts],
                                              standing["min_cop_margin_per_foot"])))
        assert all(margin >= 0.01 - 1e-6 for margin in feet.values())
    with Robot("generic_humanoid", robot_id="fixed-test") as robot:
        families = scrape(robot.attach_metrics(port=0).url)
        assert not [name for name in families if name.startswith("humanoid_rt_standing_")]


def test_the_recorder_counts_episodes_by_operator_task_skill_outcome(robot, tmp_path):
    metrics = robot.attach_metrics(port=0)
    with Recorder(robot, tmp_path / "session") as recorder:
        for outcome in ("success", "success", "failure"):
            recorder.start(task="open the fridge", skill="open_fridge", operator="li")
            robot.step(50)
            recorder.end(outcome)
        recorder.start(task="pour", skill="pour_cup", operator="wang")
        robot.step(20)
        recorder.discard("operator slipped")
        recorder.start(task="pour", skill="pour_cup", operator="wang")
    # close() ended the open one as aborted
    families = scrape(metrics.url)
    episodes = {(s.labels["operator"], s.labels["skill"], s.labels["outcome"]): s.value
                for s in families["humanoid_rt_episodes"].samples if s.name == "humanoid_rt_episodes_total"}
    assert episodes == {("li", "open_fridge", "success"): 2, ("li", "open_fridge", "failure"): 1,
                        ("wang", "pour_cup", "discarded"): 1, ("wang", "pour_cup", "aborted"): 1}
    assert {s.labels["robot_id"] for s in families["humanoid_rt_episodes"].samples} == {"metrics-test"}
    assert value(families, "humanoid_rt_recorder_dropped_samples", "humanoid_rt_recorder_dropped_samples_total") == 0


def test_bus_driver_counters_of_can_buses():
    with Robot("generic_humanoid", bus="can-virtual", robot_id="can-test") as robot:
        metrics = robot.attach_metrics(port=0)
        robot.step(50)
        families = scrape(metrics.url)
        buses = {s.labels["bus"]: s.value for s in families["humanoid_rt_bus_frames_sent"].samples
                 if s.name.endswith("_total")}
        assert set(buses) == set(robot.buses) and all(v >= 50 for v in buses.values())
        for name in ("humanoid_rt_bus_missed_replies", "humanoid_rt_bus_rejected_frames", "humanoid_rt_bus_replies"):
            assert families[name].type == "counter"
            assert {s.labels["bus"] for s in families[name].samples if s.name.endswith("_total")} == set(robot.buses)


def test_bad_ports_are_refused_with_the_field_named(robot):
    with pytest.raises(ValueError, match="port.*allowed"):
        robot.attach_metrics(port=-1)
    metrics = robot.attach_metrics(port=0)
    with pytest.raises(RuntimeError, match="already served"):
        robot.attach_metrics(port=0)
    with Robot("generic_humanoid") as other, pytest.raises(OSError):
        other.attach_metrics(port=metrics.port)  # taken
    robot.detach_metrics()
    with pytest.raises(OSError):
        urllib.request.urlopen(metrics.url, timeout=5)


def test_cli_refuses_a_taken_metrics_port_and_a_live_rate_above_the_loop(tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    with taken:
        run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "run", "--seconds", "1", "--no-enable",
                              "--metrics-port", str(taken.getsockname()[1])], capture_output=True, text=True,
                             timeout=120)
    assert run.returncode == 2 and "--metrics-port: cannot serve on" in run.stderr
    demo = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "demo", "--seconds", "1", "--live", "0",
                           "--live-rate", "5000"], capture_output=True, text=True, timeout=120)
    assert demo.returncode == 2 and "--live-rate: 5000 Hz; allowed: 1 .. the loop rate (1000 Hz)" in demo.stderr
    bad = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "run", "--live", "99999"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "--live: allowed: a TCP port 0..65535" in bad.stderr


def prometheus_query(base: str, query: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    body = json.loads(urllib.request.urlopen(url, timeout=10).read())
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason="Debian package prometheus not installed")
def test_a_real_prometheus_scrapes_the_robot(robot, tmp_path):
    metrics = robot.attach_metrics(port=0)
    robot.enable()
    robot.step(600)
    with socket_port() as web_port:
        pass
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                      f"  - job_name: humanoid_rt\n    static_configs:\n      - targets: ['127.0.0.1:{metrics.port}']\n")
    server = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                               f"--web.listen-address=127.0.0.1:{web_port}"],
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"))
    base = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + WAIT_S
        active = []
        while time.monotonic() < deadline:
            try:
                active = prometheus_query(base, 'humanoid_rt_supervisor_state{state="ACTIVE"} == 1')
            except OSError:
                active = []  # not up yet
            if active:
                break
            time.sleep(0.2)
        assert active and active[0]["metric"]["robot_id"] == "metrics-test", (tmp_path / "prometheus.log").read_text()
        robot.mock_bus("left_knee").set_drive_error(robot.joint_index("left_knee"), 0x2310)
        robot.step(2)
        faults = []
        while time.monotonic() < deadline + WAIT_S and not faults:
            faults = prometheus_query(base, 'humanoid_rt_faults_total{reason="drive_fault"}')
            time.sleep(0.2)
        assert faults and faults[0]["value"][1] == "1"
        state = prometheus_query(base, 'humanoid_rt_supervisor_state{robot_id="metrics-test"} == 1')
        assert [r["metric"]["state"] for r in state] == ["FAULT"]
        targets = json.loads(urllib.request.urlopen(f"{base}/api/v1/targets", timeout=10).read())
        assert [t["health"] for t in targets["data"]["activeTargets"]] == ["up"]
        kinds = json.loads(urllib.request.urlopen(f"{base}/api/v1/metadata", timeout=10).read())["data"]
        assert kinds["humanoid_rt_loop_cycles"][0]["type"] == "counter"
        assert kinds["humanoid_rt_loop_wakeup_latency_seconds"][0]["type"] == "summary"
    finally:
        server.terminate()
        server.wait(timeout=30)


class socket_port:
    """A free loopback TCP port (closed again before the server binds it)."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        return self._socket.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self._socket.close()
