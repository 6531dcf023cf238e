"""`humanoid-rt policy-serve` as a separate process: paused (SIGSTOP), resumed, killed; and across a veth
pair into its own network namespace. The robot is stepped; waits have generous timeouts; nothing times speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import enable_active
from remote_policy_support import (collect, connected_session, endpoint, free_port, humanoid, lockstep, paced,
                                   run_until, server_argv, start_server_process, stop_process)

from humanoid_rt.ethercat.netns import have_privileges
from humanoid_rt.policy import ChunkExecutor
from humanoid_rt.remote.reference_policy import replay
from humanoid_rt.remote.remote_chunks import RemoteChunkSource


def pause_resume_and_kill(robot, executor, source, process, underrun: str) -> None:
    """The fault sequence: SIGSTOP -> underrun per policy, loop cycling; SIGCONT -> chunks again; SIGKILL ->
    underrun, no exception into the loop."""
    assert run_until(robot, executor, source, lambda: source.statistics()["chunks_applied"] >= 2)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        # The loop keeps cycling while a request waits on the paused server: tick() returns with it in flight.
        seen_in_flight = []
        assert run_until(robot, executor, source, lambda: seen_in_flight.append(source.statistics()["in_flight"])
                         or (executor.in_underrun and any(seen_in_flight)))
        cycles = robot.statistics()["cycles"]
        paced(robot, executor, source, 0.5)
        assert robot.statistics()["cycles"] == cycles + 500
        assert robot.state().supervisor_state == "ACTIVE"  # the executor keeps streaming: no watchdog HOLD
        assert run_until(robot, executor, source, lambda: np.max(np.abs(robot.state().dq_ref)) < 1e-9)
        if underrun == "hold":  # at rest on the last action
            np.testing.assert_allclose(robot.state().q_ref[executor.index], executor._chunk_actions[-1], atol=1e-6)
        assert run_until(robot, executor, source, lambda: source.statistics()["no_reply"] >= 1)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    applied = source.statistics()["chunks_applied"]
    assert run_until(robot, executor, source, lambda: source.statistics()["chunks_applied"] > applied
                     and not executor.in_underrun)
    process.kill()
    process.wait(timeout=10)
    no_reply = source.statistics()["no_reply"]
    assert run_until(robot, executor, source, lambda: executor.in_underrun
                     and source.statistics()["no_reply"] > no_reply)
    assert run_until(robot, executor, source, lambda: np.max(np.abs(robot.state().dq_ref)) < 1e-9)
    assert robot.state().supervisor_state == "ACTIVE"


@pytest.mark.parametrize("underrun", ["hold", "decelerate"])
def test_paused_then_killed_server_underruns_per_policy_and_recovers(small_robot, underrun):
    port = free_port()
    process = start_server_process(server_argv("humanoid_rt.remote.reference_policy:mlp", "proc", endpoint(port)))
    client = connected_session(port, "proc")
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot, underrun=underrun)
        with RemoteChunkSource(executor, "proc", session=client, timeout=0.5, retry_s=0.1) as source:
            pause_resume_and_kill(small_robot, executor, source, process, underrun)
    finally:
        client.close()
        stop_process(process)


def test_policy_serve_reports_policy_errors_keeps_serving_and_stops_on_sigterm(small_robot, tmp_path):
    (tmp_path / "flaky_policy.py").write_text(textwrap.dedent("""
        import numpy as np

        def act(obs):
            if obs["request_seq"] % 2 == 0:
                raise KeyError("camera")
            return np.tile(obs["q"], (8, 1))
    """))
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    process = start_server_process(server_argv("flaky_policy:act", "flaky", endpoint(port), "--dt", "0.02"),
                                   popen=lambda argv, **kw: subprocess.Popen(argv, env=env, **kw))
    client = connected_session(port, "flaky")
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot)
        with RemoteChunkSource(executor, "flaky", session=client, retry_s=0.0) as source:
            lockstep(small_robot, executor, source, 0.4)
            stats = source.statistics()
        assert stats["server_errors"]["policy_exception"] >= 2 and stats["chunks_applied"] >= 2
        assert "KeyError: 'camera'" in stats["last_error"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        err = stop_process(process)
        assert "policy-serve flaky: request 0 from test_arm-" in err and "KeyError: 'camera'" in err
        assert "(errors so far: 2)" in err and '"policy_errors": ' in err and "stopped" in err
    finally:
        client.close()
        stop_process(process)


def test_policy_serve_refuses_bad_arguments(capsys):
    from humanoid_rt.cli import main

    for argv, pattern in ((["nomodule:act"], "cannot import module 'nomodule'"),
                          (["humanoid_rt.remote.reference_policy"], "expected MODULE:CALLABLE"),
                          (["humanoid_rt.remote.reference_policy:EXAMPLES"], "is a PosixPath, not a callable"),
                          (["humanoid_rt.remote.reference_policy:mlp", "--dt", "0"], "--dt: allowed 0 < dt <= 10"),
                          (["humanoid_rt.remote.reference_policy:mlp", "--name", "a/b"], "name: 'a/b' is not a policy"),
                          (["humanoid_rt.remote.reference_policy:mlp", "--listen", "bogus"],
                           "cannot open the Zenoh session")):
        assert main(["policy-serve", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("humanoid-rt policy-serve: ") and pattern in err, (argv, err)


def test_server_in_its_own_network_namespace_across_a_veth_pair():
    ok, reason = have_privileges()
    if not ok:
        pytest.skip(reason)
    from humanoid_rt.veth import VethNamespace

    port = free_port()
    with VethNamespace() as ns:
        process = start_server_process(
            server_argv("humanoid_rt.remote.reference_policy:replay", "far", endpoint(port, ns.inside_address)),
            popen=ns.popen)
        client = connected_session(port, "far", address=ns.inside_address)
        robot = humanoid()
        try:
            joints = list(replay.skill.joints)
            executor = ChunkExecutor(robot, joints=joints, max_acceleration=60.0)
            samples = []
            with RemoteChunkSource(executor, "far", session=client, timeout=0.5, retry_s=0.1) as source:
                source.history.on_drain = samples.append
                lockstep(robot, executor, source, 2.0)
                t, q_ref = collect(samples, "t"), collect(samples, "q_ref")[:, executor.index]
                late = t > source.episode_start + 0.3
                wanted = np.array([replay.target(x - source.episode_start, joints) for x in t[late]])
                assert np.max(np.abs(q_ref[late] - wanted)) < 0.02  # the chunks that crossed the link are tracked
                assert executor.underrun_updates == 0
                source.history.on_drain = None
                pause_resume_and_kill(robot, executor, source, process, "hold")
        finally:
            robot.close()
            client.close()
            stop_process(process)


@pytest.mark.realtime
def test_remote_policy_example_waves_with_a_server_process():
    port = free_port()
    process = start_server_process(server_argv("humanoid_rt.remote.reference_policy:replay", "ref", endpoint(port)))
    try:
        example = os.path.join(os.path.dirname(__file__), "..", "examples", "04_remote_policy.py")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        result = subprocess.run([sys.executable, example, "--connect", endpoint(port), "--server", "ref",
                                 "--seconds", "2"], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        assert "server: humanoid_rt.remote.reference_policy:replay humanoid_rt/policy/ref/infer" in result.stdout
        last = [line for line in result.stdout.splitlines() if "chunks" in line][-1]
        assert "ACTIVE" in last and int(last.split("chunks ")[1].split()[0]) >= 2
        assert "loop statistics" in result.stdout
    finally:
        stop_process(process)
