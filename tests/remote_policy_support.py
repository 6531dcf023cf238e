"""Shared pieces of the remote-policy tests: ports, server processes, a lock-stepped robot loop."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.remote.policy_server import server_info
from humanoid_rt.remote.session import endpoints_only, open_session
from humanoid_rt.veth import child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoint(port: int, address: str = "127.0.0.1") -> str:
    return f"tcp/{address}:{port}"


def server_argv(policy: str, name: str, listen: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "humanoid_rt.cli", "policy-serve", policy, "--name", name, "--listen", listen,
            *extra]


def start_server_process(argv: list[str], popen=None) -> subprocess.Popen:
    """Start `humanoid-rt policy-serve ...` and wait (20 s at most) for its ready line."""
    env = child_env()  # this very copy of humanoid_rt, installed or a checkout
    start = popen or (lambda a, **kw: subprocess.Popen(a, env=env, **kw))
    process = start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 20.0)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        raise RuntimeError(f"policy-serve did not start: {process.stderr.read()[-2000:]}")
    assert json.loads(line)["ready"]
    return process


def stop_process(process: subprocess.Popen) -> str:
    """Kill it if still running; return its stderr."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    return process.stderr.read() if process.stderr else ""


def connected_session(port: int, name: str, address: str = "127.0.0.1"):
    """A client session connected to the server's listen endpoint, once the server answers (20 s at most)."""
    session = open_session(endpoints_only(connect=[endpoint(port, address)]))
    info = server_info(session, name, timeout=20.0)
    assert info is not None, f"policy server {name!r} on {endpoint(port, address)} did not answer within 20 s"
    return session


def humanoid() -> Robot:
    """The bundled humanoid on its mock buses, enabled and ACTIVE in stepped mode."""
    robot = Robot("generic_humanoid", robot_id="test-humanoid")
    robot.enable()
    robot.step(int(round(robot.config.safety.enable_ramp_s * robot.rate_hz)) + 1)
    assert robot.state().supervisor_state == "ACTIVE"
    return robot


def lockstep(robot, executor, source, seconds: float, *, wait: float = 10.0) -> None:
    """Stepped streaming where each request's round trip takes no simulated time: exact and repeatable."""
    for _ in range(int(round(seconds / executor.interval))):
        source.tick()
        assert source.wait_idle(wait), "no reply and no timeout within the wait"
        executor.update()
        robot.step(int(round(executor.interval * robot.rate_hz)))


def paced(robot, executor, source, seconds: float) -> None:
    """Stepped streaming paced to at most real time, without waiting for the network (as a robot would)."""
    for _ in range(int(round(seconds / executor.interval))):
        started = time.monotonic()
        source.tick()
        executor.update()
        robot.step(int(round(executor.interval * robot.rate_hz)))
        time.sleep(max(0.0, executor.interval - (time.monotonic() - started)))


def run_until(robot, executor, source, condition, timeout: float = 20.0) -> bool:
    """paced() until condition() holds (True) or `timeout` of real time passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paced(robot, executor, source, executor.interval)
        if condition():
            return True
    return False


def collect(samples: list[dict], key: str) -> np.ndarray:
    return np.concatenate([s[key] for s in samples])
