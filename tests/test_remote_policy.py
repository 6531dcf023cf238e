"""Remote policy inference over Zenoh, in one process on loopback (peer mode, explicit TCP endpoints,
multicast scouting off). The robot is stepped; lock-stepped runs wait for each round trip so they are exact."""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import enable_active
from remote_policy_support import collect, connected_session, endpoint, free_port, humanoid, lockstep, paced, \
    run_until

from humanoid_rt.policy import ChunkExecutor, TelemetryHistory
from humanoid_rt.remote import policy_wire
from humanoid_rt.remote.policy_server import PolicyServer, run_policy
from humanoid_rt.remote.session import endpoints_only, open_session
from humanoid_rt.remote.policy_wire import Chunk, decode_observation, encode_chunk
from humanoid_rt.remote.reference_policy import SkillReplay, TinyMLP, mlp, replay
from humanoid_rt.remote.remote_chunks import RemoteChunkSource, RemotePolicy


@pytest.fixture
def network():
    """(server session listening on a free loopback port, port); the client connects with connected_session."""
    port = free_port()
    session = open_session(endpoints_only(listen=[endpoint(port)]))
    yield session, port
    session.close()


@pytest.fixture
def served(network):
    """serve(policy, name) -> client session connected to a PolicyServer running it."""
    session, port = network
    servers, clients = [], []

    def serve(policy, name="ref", **options):
        servers.append(PolicyServer(policy, name=name, session=session, log=None, **options).start())
        clients.append(connected_session(port, name))
        return clients[-1], servers[-1]

    yield serve
    for server in servers:
        server.stop()
    for client in clients:
        client.close()


def test_replayed_skill_from_the_server_is_tracked_by_the_robot(served):
    client, server = served(replay)
    robot = humanoid()
    try:
        joints = list(replay.skill.joints)
        executor = ChunkExecutor(robot, joints=joints, max_acceleration=60.0)
        samples = []
        with RemoteChunkSource(executor, "ref", session=client) as source:
            source.history.on_drain = samples.append
            lockstep(robot, executor, source, 3.0)
            source.tick()  # apply the reply that came in on the last interval
            stats = source.statistics()
        t, q_ref = collect(samples, "t"), collect(samples, "q_ref")[:, executor.index]
        late = t > source.episode_start + 0.3  # after the first chunk has faded in from rest
        wanted = np.array([replay.target(x - source.episode_start, joints) for x in t[late]])
        # 50 ms linear segments of a 1 Hz, 0.35 rad wave deviate from the skill by ~0.005 rad at most.
        assert np.max(np.abs(q_ref[late] - wanted)) < 0.02
        assert np.ptp(q_ref[late][:, 2]) > 0.5  # the elbow really waved
        assert executor.underrun_updates == 0
        assert stats["chunks_applied"] >= 5 and stats["refused"] == {} and stats["no_reply"] == 0
        assert server.statistics()["chunks"] == stats["chunks_applied"]
        assert robot.state().supervisor_state == "ACTIVE"
    finally:
        robot.close()


def test_requests_carry_the_executed_index_and_leftovers_ahead_of_need(served, small_robot):
    seen = []

    def recording_mlp(obs):
        out = mlp(obs)
        seen.append((obs["request_seq"], obs["chunk_seq"], obs["executed_index"], np.array(obs["leftover"]),
                     np.array(obs["q"]), out["actions"].copy()))
        return out

    client, _ = served(recording_mlp)
    enable_active(small_robot)
    executor = ChunkExecutor(small_robot)
    with RemoteChunkSource(executor, "ref", session=client, threshold=0.5) as source:
        lockstep(small_robot, executor, source, 2.0)
        source.tick()  # apply the reply that came in on the last interval
        assert source.statistics()["chunks_applied"] == len(seen) >= 4
    horizon = mlp.horizon
    assert seen[0][1:3] == (-1, -1) and seen[0][3].shape == (0, 3)
    for (_, _, _, _, _, previous_actions), (seq, chunk_seq, executed, leftover, q, actions) in zip(seen, seen[1:]):
        assert chunk_seq == seq - 1  # the chunk executing when it asked
        assert 0 <= executed < horizon
        np.testing.assert_array_equal(leftover, previous_actions[executed + 1:])
        assert 1 <= len(leftover) <= 0.5 * horizon  # asked before running out, once under the threshold
        assert np.max(np.abs(actions - q)) <= mlp.max_offset + 1e-12  # the MLP's chunks stay near the pose
    np.testing.assert_array_equal(executor._chunk_actions, seen[-1][5])  # the executor runs the newest answer


def test_policy_exceptions_become_error_replies_and_the_server_keeps_serving(served, small_robot):
    failing = {"mode": "raise"}

    def flaky(obs):
        if failing["mode"] == "raise":
            raise RuntimeError("CUDA out of memory (simulated)")
        if failing["mode"] == "nan":
            return np.full((4, len(obs["joints"])), np.nan)
        return mlp(obs)

    client, server = served(flaky)
    enable_active(small_robot)
    executor = ChunkExecutor(small_robot)
    with RemoteChunkSource(executor, "ref", session=client, retry_s=0.05) as source:
        lockstep(small_robot, executor, source, 0.3)
        stats = source.statistics()
        assert stats["server_errors"]["policy_exception"] >= 2 and stats["chunks_applied"] == 0
        assert "CUDA out of memory (simulated)" in stats["last_error"]
        failing["mode"] = "nan"
        lockstep(small_robot, executor, source, 0.2)
        assert source.statistics()["server_errors"]["bad_output"] >= 1
        assert "actions[0][0] (j0) must be finite" in source.statistics()["last_error"]
        failing["mode"] = "ok"
        lockstep(small_robot, executor, source, 0.3)
        assert source.statistics()["chunks_applied"] >= 1
    server_stats = server.statistics()
    assert server_stats["policy_errors"] >= 2 and server_stats["bad_outputs"] >= 1 and server_stats["chunks"] >= 1


def test_policy_output_forms_and_their_errors():
    obs = decode_observation(policy_wire.encode_observation(policy_wire.Observation(
        robot_id="r", request_seq=0, t=1.0, episode_start=0.0, joints=("a", "b"), q=np.zeros(2), dq=np.zeros(2),
        tau=np.zeros(2))))
    actions, t0, dt = run_policy(lambda o: np.ones((3, 2)), obs, 0.02)
    assert actions.shape == (3, 2) and (t0, dt) == (1.0, 0.02)
    assert run_policy(lambda o: (np.ones((3, 2)), 0.1), obs, 0.02)[1:] == (1.0, 0.1)
    assert run_policy(lambda o: {"actions": np.ones((1, 2)), "t0": 0.5}, obs, 0.02)[1:] == (0.5, 0.02)
    for output, pattern in ((np.ones((3, 3)), r"shape \(H, 2\).*\(a, b\)"), (np.ones(2), r"shape \(H, 2\)"),
                            ((np.ones((1, 2)), 0.0), r"dt must be 0 < dt <= 10"), ({"act": 1}, r"needs 'actions'"),
                            ((1, 2, 3), r"a tuple must be \(actions, dt\)"), ("words", r"must be numbers")):
        with pytest.raises(ValueError, match="policy output: .*" + pattern):
            run_policy(lambda o: output, obs, 0.02)


HELD = []  # queries a test server keeps unanswered (a query is final, and the robot's get returns, once dropped)


def _raw_server(session, name, answer):
    """A queryable answering each query with answer(observation) -> ("ok"|"err", bytes), or None: hold it."""
    def handle(query):
        result = answer(decode_observation(query.payload.to_bytes()))
        if result is None:
            HELD.append(query)
            return
        with query:
            kind, data = result
            (query.reply(f"humanoid_rt/policy/{name}/infer", data) if kind == "ok" else query.reply_err(data))

    return session.declare_queryable(f"humanoid_rt/policy/{name}/infer", handle)


def _good(obs, **changes):
    fields = dict(robot_id=obs.robot_id, request_seq=obs.request_seq, joints=obs.joints, t0=obs.t, dt=0.05,
                  actions=np.tile(obs.q, (10, 1)) + 0.05, policy="test")
    fields.update(changes)
    return encode_chunk(Chunk(**fields))


def _with_header(data: bytes, **changes) -> bytes:
    import json
    import struct

    length = struct.unpack_from("<I", data, 8)[0]
    header = json.loads(data[12:12 + length])
    header.update(changes)
    text = json.dumps(header).encode()
    return data[:8] + struct.pack("<I", len(text)) + text + data[12 + length:]


BAD_REPLIES = {
    "wrong shape": (lambda o: ("ok", _with_header(_good(o, actions=np.zeros((4, 3))), joints=["j0", "j1"])), "shape"),
    "NaN": (lambda o: ("ok", _good(o)[:-8] + np.float64(np.nan).tobytes()), "nonfinite"),
    "wrong version": (lambda o: ("ok", _good(o)[:4] + bytes([7]) + _good(o)[5:]), "version"),
    "garbage": (lambda o: ("ok", b"\x00garbage\xff" * 3), "garbage"),
    "empty": (lambda o: ("ok", b""), "garbage"),
    "another request": (lambda o: ("ok", _good(o, request_seq=o.request_seq + 100)), "mismatch"),
    "an observation back": (lambda o: ("ok", policy_wire.encode_observation(o)), "kind"),
    "garbage error": (lambda o: ("err", b"it broke"), "garbage"),
}


def test_bad_replies_are_refused_counted_and_change_nothing(network, small_robot):
    session, port = network
    case = {"name": "garbage"}
    queryable = _raw_server(session, "raw", lambda obs: BAD_REPLIES[case["name"]][0](obs) if case["name"] in
                            BAD_REPLIES else ("ok", _good(obs)))
    client = open_session(endpoints_only(connect=[endpoint(port)]))
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot)
        with RemoteChunkSource(executor, "raw", session=client, retry_s=0.0) as source:
            assert run_until(small_robot, executor, source, lambda: source.statistics()["refused"], timeout=20)
            for name, (_, code) in BAD_REPLIES.items():
                case["name"] = name
                before = source.statistics()["refused"].get(code, 0)
                lockstep(small_robot, executor, source, 0.05)
                assert source.statistics()["refused"].get(code, 0) > before, name
                assert executor.chunks_received == 0 and executor.sent == 0, name
            assert "refused" in source.statistics()["last_error"]
            case["name"] = "good"
            lockstep(small_robot, executor, source, 0.3)
            assert executor.chunks_received >= 1 and source.statistics()["chunks_applied"] >= 1
        assert small_robot.state().supervisor_state == "ACTIVE"
    finally:
        queryable.undeclare()
        client.close()


def test_a_silent_server_never_blocks_the_caller_and_the_executor_holds(network, small_robot):
    session, port = network
    answered = []

    def first_only(obs):
        if answered:
            return None  # keep quiet: the query times out on the robot
        answered.append(obs.request_seq)
        return "ok", _good(obs, actions=np.linspace(obs.q, obs.q + 0.1, 8))

    queryable = _raw_server(session, "quiet", first_only)
    client = open_session(endpoints_only(connect=[endpoint(port)]))
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot, underrun="hold")
        with RemoteChunkSource(executor, "quiet", session=client, timeout=3.0) as source:
            assert run_until(small_robot, executor, source, lambda: executor.chunks_received == 1, timeout=20)
            assert run_until(small_robot, executor, source, lambda: source.statistics()["in_flight"], timeout=20)
            # The request is in flight (held by the silent server) and the loop goes on: tick() did not wait.
            cycles = small_robot.statistics()["cycles"]
            paced(small_robot, executor, source, 0.6)
            assert small_robot.statistics()["cycles"] == cycles + 600
            assert run_until(small_robot, executor, source, lambda: executor.in_underrun, timeout=20)
            paced(small_robot, executor, source, 0.5)
            state = small_robot.state()
            last = executor._chunk_actions[-1]
            np.testing.assert_allclose(state.q_ref, last, atol=1e-6)  # held at the last action
            assert np.max(np.abs(state.dq_ref)) < 1e-9 and state.supervisor_state == "ACTIVE"
            assert run_until(small_robot, executor, source, lambda: source.statistics()["no_reply"] >= 1, timeout=20)
            assert "no reply from humanoid_rt/policy/quiet/infer" in source.statistics()["last_error"]
    finally:
        for query in HELD:
            query.drop()
        HELD.clear()
        queryable.undeclare()
        client.close()


def test_no_server_at_all_counts_no_reply_and_sends_nothing(small_robot):
    client = open_session(endpoints_only())  # connected to nothing
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot)
        with RemoteChunkSource(executor, "nobody", session=client, retry_s=0.1) as source:
            lockstep(small_robot, executor, source, 0.5)
            stats = source.statistics()
        assert 3 <= stats["no_reply"] == stats["requests"] <= 6  # one per retry_s of loop time
        assert executor.sent == 0 and stats["chunks_applied"] == 0
    finally:
        client.close()


def test_a_reply_entirely_in_the_past_is_dropped_by_the_stale_rule(network, small_robot):
    session, port = network
    queryable = _raw_server(session, "late", lambda obs: ("ok", _good(obs, t0=obs.t - 5.0)))
    client = open_session(endpoints_only(connect=[endpoint(port)]))
    try:
        enable_active(small_robot)
        executor = ChunkExecutor(small_robot)
        with RemoteChunkSource(executor, "late", session=client, retry_s=0.05) as source:
            assert run_until(small_robot, executor, source, lambda: executor.chunks_received >= 2, timeout=20)
            assert source.statistics()["actions_dropped_stale"] >= 20  # every action of both
            assert executor.status()["executed_index"] == -1 and executor.sent == 0  # nothing was executed
    finally:
        queryable.undeclare()
        client.close()


@pytest.mark.realtime
def test_remote_policy_streams_in_real_time(served, make_robot):
    client, _ = served(TinyMLP(max_offset=0.05))
    robot = make_robot()
    robot.start()
    try:
        robot.enable(timeout=20.0)
        robot.wait_for_state("ACTIVE", timeout=20.0)
        with RemotePolicy(robot, "ref", session=client) as policy:
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline and policy.statistics()["source"]["chunks_applied"] < 3:
                time.sleep(0.02)
            stats = policy.statistics()
            assert policy.error is None and stats["source"]["chunks_applied"] >= 3
            assert robot.state().supervisor_state == "ACTIVE"
        robot.wait_for_state("HOLD", "DAMPING", "DISABLED", timeout=20.0)  # the stream stopped: the watchdog acts
    finally:
        robot.stop()


def test_reference_policies_are_deterministic_and_validated():
    obs = {"robot_id": "r", "t": 3.0, "episode_start": 1.0, "joints": ("right_elbow",), "q": np.zeros(1),
           "dq": np.zeros(1)}
    out = replay(obs)
    assert out["actions"].shape == (20, 1) and out["dt"] == 0.05 and out["t0"] == 3.0
    assert out["actions"][0, 0] == pytest.approx(replay.target(2.0, ["right_elbow"])[0])
    with pytest.raises(ValueError, match=r"joints: 'j0' is not driven by the skill 'wave'; allowed: right_shoulder"):
        replay(dict(obs, joints=("j0",)))
    with pytest.raises(ValueError, match=r"skill: no bundled skill 'moonwalk'; allowed: box_pick_and_place, squat"):
        SkillReplay("moonwalk")
    looped = SkillReplay("wave", loop=True)
    assert looped.target(1.0 + replay.skill.duration, ["right_elbow"]) == pytest.approx(
        looped.target(1.0, ["right_elbow"]))
    mlp_obs = dict(obs, joints=("a", "b", "c"), q=np.array([0.1, 0.2, 0.3]), dq=np.zeros(3))
    first, second = mlp(mlp_obs)["actions"], TinyMLP()(mlp_obs)["actions"]
    np.testing.assert_array_equal(first, second)  # fixed, seeded weights
    np.testing.assert_array_equal(first[0], mlp_obs["q"])  # starts at the pose
    assert 0 < np.max(np.abs(first - mlp_obs["q"])) <= mlp.max_offset
    assert not np.array_equal(TinyMLP(seed=1)(mlp_obs)["actions"], first)


def test_bad_source_options_name_the_field(small_robot):
    executor = ChunkExecutor(small_robot)
    with pytest.raises(ValueError, match=r"threshold: .* allowed: 0 < threshold <= 1"):
        RemoteChunkSource(executor, "x", threshold=0.0)
    with pytest.raises(ValueError, match=r"timeout > 0"):
        RemoteChunkSource(executor, "x", timeout=0.0)
    with pytest.raises(ValueError, match=r"name: 'a/b' is not a policy server name"):
        RemoteChunkSource(executor, "a/b")


def test_a_failing_camera_and_an_oversized_chunk_are_counted_never_raised(served, small_robot):
    client, server = served(lambda obs: np.zeros((10_001, 3)))
    enable_active(small_robot)
    executor = ChunkExecutor(small_robot)
    camera = {"broken": True}

    def extras(t):
        if camera["broken"]:
            raise OSError("camera unplugged")
        return {"image": np.zeros((4, 4), dtype=np.uint8)}

    with RemoteChunkSource(executor, "ref", session=client, extras=extras, retry_s=0.05) as source:
        lockstep(small_robot, executor, source, 0.2)
        stats = source.statistics()
        assert stats["refused"]["observation"] >= 2 and stats["requests"] == 0
        assert "observation not taken: OSError: camera unplugged" in stats["last_error"]
        camera["broken"] = False
        lockstep(small_robot, executor, source, 0.2)
        stats = source.statistics()
        assert stats["server_errors"]["bad_output"] >= 1 and "(1..10000, 3)" in stats["last_error"]
    assert server.statistics()["bad_outputs"] >= 1 and executor.sent == 0


def test_a_history_window_goes_with_the_observation(served, small_robot):
    seen = []

    def recording(obs):
        seen.append({k: np.array(obs[k]) for k in ("q", "history.q", "history.dq")} | {"t": obs["t"]})
        return mlp(obs)

    client, _ = served(recording)
    enable_active(small_robot)
    small_robot.set_joint_targets([0.3, -0.2, 0.1], ttl=0, duration=0.5)  # something moving to look back on
    small_robot.step(300)  # moving from 0.101 s (the end of the ramp) on; now t = 0.401 s
    executor = ChunkExecutor(small_robot, joints=["j2", "j0"])
    with pytest.raises(ValueError, match=r"window: \(n states >= 1, spacing > 0 s\)"):
        RemoteChunkSource(executor, "ref", session=client, window=(0, 0.1))
    with RemoteChunkSource(executor, "ref", session=client, window=(4, 0.1),
                           history=TelemetryHistory(small_robot, seconds=0.2)) as source:
        lockstep(small_robot, executor, source, 0.05)
    short = seen[0]
    with RemoteChunkSource(executor, "ref", session=client, window=(4, 0.1)) as source:
        assert source.history.capacity >= 0.9 * small_robot.rate_hz  # sized to hold the window
        lockstep(small_robot, executor, source, 1.0)
    full = seen[-1]  # its history has filled by now
    for obs in (full, short):
        assert obs["history.q"].shape == (4, 2) and obs["history.dq"].shape == (4, 2)
        np.testing.assert_array_equal(obs["history.q"][-1], obs["q"])  # ends at the observation itself
    assert len(np.unique(full["history.q"][:, 1])) == 4  # four states 0.1 s apart (the MLP keeps j0 moving)
    # 0.2 s of telemetry holds 3 of the 4 states (t - 0.2, t - 0.1, t): the oldest is repeated in front.
    np.testing.assert_array_equal(short["history.q"][0], short["history.q"][1])
    assert short["history.q"][0, 1] != 0 and len(np.unique(short["history.q"][1:, 1])) == 3


def test_a_request_that_is_not_an_observation_gets_a_bad_request_reply(served):
    from humanoid_rt.remote.policy_wire import decode_error

    client, server = served(mlp)
    for payload, pattern in ((b"hello", "shorter than the 12-byte prefix"),
                             (encode_chunk(Chunk(robot_id="r", request_seq=0, joints=("a",), t0=0.0, dt=0.1,
                                                 actions=np.zeros((1, 1)))), "expected an observation message")):
        reply = next(iter(client.get("humanoid_rt/policy/ref/infer", payload=payload, timeout=10.0)))
        error = decode_error(reply.err.payload.to_bytes())
        assert error.reason == "bad_request" and pattern in error.error and error.request_seq == -1
    stats = server.statistics()
    assert stats["bad_requests"] == 2 and stats["chunks"] == 0 and "refused a request" in stats["last_error"]
