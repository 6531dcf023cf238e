"""Helpers for the board tests: a robot's metrics served by prometheus_client (the metric contract the
robot process exports), and the board run as its own process through the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STATES = ("DISABLED", "ENABLING", "ACTIVE", "HOLD", "DAMPING", "FAULT", "ESTOP")
ARTIFACTS = Path(__file__).parent / "artifacts"


class RobotExporter:
    """One robot's /metrics page on a loopback port, with the contract's names, labels and types."""

    def __init__(self, robot_id: str, state: str = "ACTIVE", temperatures: dict[str, float] | None = None):
        self.robot_id = robot_id
        self.registry = CollectorRegistry()
        labels = {"robot_id": robot_id}
        Gauge("humanoid_rt_robot_info", "the robot process", ["robot_id", "robot", "version"],
              registry=self.registry).labels(robot_id=robot_id, robot="g1", version="0.1.0").set(1)
        self.state = Gauge("humanoid_rt_supervisor_state", "1 for the current state", ["robot_id", "state"],
                           registry=self.registry)
        self.faults = Counter("humanoid_rt_faults", "faults by reason", ["robot_id", "reason"], registry=self.registry)
        self.temperature = Gauge("humanoid_rt_joint_temperature_celsius", "joint temperature", ["robot_id", "joint"],
                                 registry=self.registry)
        Counter("humanoid_rt_loop_overruns", "loop overruns", ["robot_id"], registry=self.registry).labels(**labels)
        Counter("humanoid_rt_loop_cycles", "loop cycles", ["robot_id"], registry=self.registry).labels(**labels).inc(1000)
        Histogram("humanoid_rt_loop_wakeup_latency_seconds", "wakeup latency", ["robot_id"],
                  registry=self.registry).labels(**labels).observe(20e-6)
        Counter("humanoid_rt_recorder_dropped_samples", "recorder drops", ["robot_id"],
                registry=self.registry).labels(**labels)
        self.faults.labels(robot_id=robot_id, reason="position_limit")
        for joint, value in (temperatures or {"left_knee": 41.5, "right_knee": 44.0}).items():
            self.temperature.labels(robot_id=robot_id, joint=joint).set(value)
        self.set_state(state)
        self.server, self.thread = start_http_server(0, "127.0.0.1", self.registry)
        self.url = f"http://127.0.0.1:{self.server.server_port}/metrics"

    def set_state(self, state: str) -> None:
        for s in STATES:
            self.state.labels(robot_id=self.robot_id, state=s).set(1 if s == state else 0)

    def fault(self, reason: str) -> None:
        self.faults.labels(robot_id=self.robot_id, reason=reason).inc()
        self.set_state("FAULT")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BoardProcess:
    """`humanoid-rt board` in a child process, waited for until it answers."""

    def __init__(self, *args: str, timeout_s: float = 60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(ARTIFACTS / f"board-{self.port}.log", "w")  # the board's own output, kept for a failed run
        self.process = subprocess.Popen([sys.executable, "-m", "humanoid_rt.cli", "board", "--port", str(self.port),
                                         "--refresh", "0.5", *args], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the board exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the board did not answer within {timeout_s} s")
            time.sleep(0.2)

    def snapshot(self) -> dict:
        import json

        with urllib.request.urlopen(f"{self.url}/api/snapshot", timeout=5) as answer:
            return json.load(answer)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
