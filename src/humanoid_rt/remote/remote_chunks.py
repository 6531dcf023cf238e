"""Action chunks from a remote policy server, requested ahead of need, never blocking the caller.

    executor = ChunkExecutor(robot, joints=[...], underrun="hold")
    source = RemoteChunkSource(executor, server="ref", connect=["tcp/10.0.0.2:7447"])
    source = RemoteChunkSource(executor, server="ref", options=SessionOptions(mode="client", connect=(...),
                               tls_ca=..., tls_cert=..., tls_key=...))   # through an mTLS router
    every stream interval:  source.tick(); executor.update()        # stepped, or RemotePolicy's thread
    ...
    source.close()

    with RemotePolicy(robot, server="ref", connect=[...], joints=[...]) as policy:   # real time
        ...                                                          # policy.statistics()

How it asks (the shape of LeRobot's asynchronous inference with real-time chunking): tick() looks at
the executor. When no chunk has arrived yet, or the actions left of the executing chunk fall to
`threshold` x its length or below, it takes the newest observation (TelemetryHistory: the state at
the newest loop time) and hands it, with the executing chunk's sequence, executed index and leftover
actions (and, with `window=(n, spacing)`, the last n states as `history.q` / `history.dq`: the
n_obs_steps of diffusion-style policies), to a request thread, and returns. That thread sends the
Zenoh query and waits (at most `timeout`) for the reply, decodes and checks it, and leaves it for the
next tick(), which gives it to executor.submit_chunk(): actions already in the past are dropped by
the executor's stale rule, the rest cross-fades in. One request is in flight at a time; a refused
reply, an error reply or no reply is counted, and the next request waits `retry_s` of loop time.

What the caller sees when the server is slow, paused or gone: nothing but the executor running out
of actions: its underrun policy (hold or decelerate) while tick() keeps returning at once. Zenoh and
the decoding run on the request thread; tick() itself only drains telemetry and swaps references.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from typing import Callable, Sequence

import numpy as np

from ..policy.chunks import ChunkExecutor
from ..policy.observations import TelemetryHistory
from .policy_server import INFER_KEY, check_server_name
from .session import SessionOptions, endpoints_only, open_session
from .policy_wire import (Chunk, Observation, WireError, check_answers, decode_chunk, decode_error,
                          encode_observation)


ZENOH_TIMEOUT = b"Timeout"


class RemoteChunkSource:
    def __init__(self, executor: ChunkExecutor, server: str = "default", *, session=None,
                 options: SessionOptions | None = None, connect: Sequence[str] = (), listen: Sequence[str] = (), history: TelemetryHistory | None = None,
                 threshold: float = 0.5, timeout: float = 1.0, retry_s: float = 0.2,
                 extras: Callable[[float], dict] | None = None, window: tuple[int, float] | None = None,
                 robot_id: str | None = None):
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold: the fraction of a chunk left when the next is requested; allowed: "
                             f"0 < threshold <= 1 (got {threshold!r})")
        if not (math.isfinite(timeout) and timeout > 0) or not (math.isfinite(retry_s) and retry_s >= 0):
            raise ValueError(f"timeout > 0 and retry_s >= 0 seconds (got timeout={timeout!r}, retry_s={retry_s!r})")
        self.executor = executor
        self.robot = executor.robot
        self.server = check_server_name(server)
        self.key = INFER_KEY.format(name=server)
        self.robot_id = robot_id or self.robot.robot_id
        self.threshold, self.timeout, self.retry_s = threshold, timeout, retry_s
        self.extras = extras  # loop time -> {name: array}: images, task tokens, ... sent with the observation
        if window is not None:
            n, spacing = window
            if not (isinstance(n, int) and n >= 1 and math.isfinite(spacing) and spacing > 0):
                raise ValueError(f"window: (n states >= 1, spacing > 0 s) (got {window!r})")
        self.window = window  # (n, spacing): also send the last n states as history.q / history.dq (n, J)
        # tick() drains the robot's telemetry through this history: pass the one TelemetryHistory the
        # application already has if something else (a recorder) needs the samples (its on_drain).
        span = 1.0 if window is None else max(1.0, window[0] * window[1] + 0.5)
        self.history = history or TelemetryHistory(self.robot, seconds=span)
        if session is not None and (options is not None or connect or listen):
            raise ValueError("session: give an open session, or options / connect / listen to open one, not both")
        if options is not None and (connect or listen):
            raise ValueError("options: the endpoints go in options.connect / options.listen, not also connect / listen")
        self._own_session = session is None
        # session: the caller's; options: any session (TLS/mTLS, router, ...); connect/listen: a peer that reaches
        # only the endpoints it names (no multicast scouting).
        if session is None:
            session = open_session(options if options is not None else endpoints_only(connect, listen))
        self.session = session
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: Observation | None = None  # handed to the request thread
        self._in_flight = False
        self._ready: Chunk | None = None  # a checked reply waiting for tick()
        self._failed = False  # the last request got no usable chunk: wait retry_s before the next
        self._closed = False
        self._next_seq = 0
        self._retry_after = -math.inf
        self.episode_start: float | None = None
        self._applied_seq = -1
        self._applied_length = 0
        self.requests = 0
        self.chunks_applied = 0
        self.actions_dropped_stale = 0
        self.server_errors = Counter()  # error replies by reason (policy_exception, bad_request, bad_output)
        self.refused = Counter()  # replies refused by WireError code
        self.no_reply = 0  # timeouts, and no server answering at all
        self.last_error = ""
        self.round_trips = deque(maxlen=1000)  # seconds, request sent -> reply checked
        self._thread = threading.Thread(target=self._run, name=f"policy-remote-{server}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ caller side (never blocks on the network)
    def tick(self, now: float | None = None) -> None:
        """Apply a reply that has arrived; request the next chunk if it is time. Returns at once."""
        now = self.robot.now() if now is None else now
        self.history.poll()
        with self._lock:
            chunk, self._ready = self._ready, None
            if self._failed:
                self._failed = False
                self._retry_after = now + self.retry_s
        if chunk is not None:
            self._apply(chunk, now)
        with self._lock:
            if self._in_flight or self._closed or now < self._retry_after or not self._needs_chunk():
                return
        try:
            obs = self._observe(now)
        except Exception as error:  # the extras callable (a camera, say) failed: counted, never raised
            with self._lock:
                self.refused["observation"] += 1
                self.last_error = f"observation not taken: {type(error).__name__}: {error}"
                self._retry_after = now + self.retry_s
            return
        if obs is None:
            return
        with self._lock:
            self._pending, self._in_flight = obs, True
            self.requests += 1
            self._wake.notify()

    def _needs_chunk(self) -> bool:
        if self._applied_seq < 0:
            return True
        status = self.executor.status()
        left = len(status["leftover"])
        return status["underrun"] or left <= self.threshold * self._applied_length

    def _apply(self, chunk: Chunk, now: float) -> None:
        if chunk.request_seq <= self._applied_seq:  # older than what executes (cannot happen with one in flight)
            with self._lock:
                self.refused["out_of_order"] += 1
            return
        try:
            report = self.executor.submit_chunk(chunk.actions, chunk.t0, chunk.dt, now=now)
        except ValueError as error:  # checked already; whatever else the executor refuses is counted, not raised
            with self._lock:
                self.refused["executor"] += 1
                self.last_error = f"the executor refused a chunk: {error}"
            return
        self.actions_dropped_stale += report["dropped_stale"]
        self.chunks_applied += 1
        if report["accepted"]:
            self._applied_seq, self._applied_length = chunk.request_seq, chunk.actions.shape[0]
        elif self._applied_seq < 0:
            self._failed = True  # a first chunk entirely in the past: ask again, after retry_s
            self._retry_after = now + self.retry_s

    def _observe(self, now: float) -> Observation | None:
        try:
            t = self.history.span[1]
        except ValueError:
            return None  # no telemetry yet: the loop has not run
        state = self.history.state_at(t, signals=("q", "dq", "tau_measured"))
        index = self.executor.index
        status = self.executor.status()
        if self.episode_start is None:
            self.episode_start = t
        executing = self._applied_seq >= 0
        extras = {} if self.extras is None else dict(self.extras(t))
        if self.window is not None:
            extras.update(self._window(t, index))
        seq = self._next_seq
        self._next_seq += 1
        return Observation(
            robot_id=self.robot_id, request_seq=seq, t=t, episode_start=self.episode_start,
            joints=self.executor.joints, q=state["q"][index], dq=state["dq"][index],
            tau=state["tau_measured"][index], chunk_seq=self._applied_seq,
            executed_index=status["executed_index"] if executing else -1,
            leftover=status["leftover"] if executing else np.zeros((0, len(index))), extras=extras)

    def _window(self, t: float, index: np.ndarray) -> dict[str, np.ndarray]:
        """The last n states at the window's spacing, ending at t; before the history holds them all (the
        episode's first moments), the oldest state held is repeated."""
        n, spacing = self.window
        oldest = self.history.span[0]
        available = min(n, int(np.floor((t - oldest) / spacing + 1e-9)) + 1)
        states = self.history.window(t, available, spacing, signals=("q", "dq"))
        out = {}
        for signal in ("q", "dq"):
            values = states[signal][:, index]
            out[f"history.{signal}"] = np.vstack([np.repeat(values[:1], n - available, axis=0), values])
        return out

    def wait_idle(self, timeout: float) -> bool:
        """Stepped simulations only: wait (real time) until no request is in flight, so simulated time does
        not run ahead of the network. True if idle within timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def statistics(self) -> dict:
        with self._lock:
            trips = np.array(self.round_trips) if self.round_trips else None
            return {"requests": self.requests, "chunks_applied": self.chunks_applied,
                    "actions_dropped_stale": self.actions_dropped_stale, "no_reply": self.no_reply,
                    "server_errors": dict(self.server_errors), "refused": dict(self.refused),
                    "in_flight": self._in_flight, "last_error": self.last_error,
                    "round_trip_p50_s": None if trips is None else float(np.percentile(trips, 50)),
                    "round_trip_p99_s": None if trips is None else float(np.percentile(trips, 99))}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout=self.timeout + 5.0)
        if self._own_session:
            self.session.close()

    def __enter__(self) -> "RemoteChunkSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ request thread
    def _run(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                obs, self._pending = self._pending, None
            chunk, error = self._request(obs)
            with self._lock:
                if chunk is not None:
                    self._ready = chunk
                else:
                    self._failed = True
                    self.last_error = error
                self._in_flight = False
                self._wake.notify_all()

    def _request(self, obs: Observation) -> tuple[Chunk | None, str]:
        started = time.perf_counter()
        try:
            payload = encode_observation(obs)
        except WireError as error:  # our own observation (an extra with a bad name or dtype, a NaN measurement)
            with self._lock:
                self.refused["observation"] += 1
            return None, f"observation not sent: {error}"
        try:
            replies = self.session.get(self.key, payload=payload, timeout=self.timeout)
            reply = next(iter(replies), None)
        except Exception as error:  # zenoh.ZError: the session is closing
            with self._lock:
                self.no_reply += 1
            return None, f"query failed: {error}"
        if reply is None:
            with self._lock:
                self.no_reply += 1
            return None, f"no reply from {self.key} within {self.timeout} s"
        if reply.ok is None:
            data = reply.err.payload.to_bytes()
            if data == ZENOH_TIMEOUT:  # Zenoh's own error reply when the query times out unanswered
                with self._lock:
                    self.no_reply += 1
                return None, f"no reply from {self.key} within {self.timeout} s (timeout)"
            return None, self._server_error(data)
        try:
            chunk = decode_chunk(reply.ok.payload.to_bytes())
            check_answers(chunk, obs)
        except WireError as error:
            with self._lock:
                self.refused[error.code] += 1
            return None, f"refused a reply: {error}"
        with self._lock:
            self.round_trips.append(time.perf_counter() - started)
        return chunk, ""

    def _server_error(self, data: bytes) -> str:
        try:
            error = decode_error(data)
        except WireError as problem:
            with self._lock:
                self.refused[problem.code] += 1
            return f"refused an error reply: {problem}"
        with self._lock:
            self.server_errors[error.reason] += 1
        return f"server {self.server}: {error.reason}: {error.error}"


class RemotePolicy:
    """A ChunkExecutor fed by a RemoteChunkSource, streamed by its own thread (or update() when stepped)."""

    def __init__(self, robot, server: str = "default", *, joints: Sequence[str] | None = None,
                 executor_options: dict | None = None, **source_options):
        self.executor = ChunkExecutor(robot, joints=joints, **(executor_options or {}))
        self.source = RemoteChunkSource(self.executor, server, **source_options)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def update(self, now: float | None = None) -> dict:
        """One stream interval: apply/request chunks, then send the setpoint. Returns the executor's status."""
        self.source.tick(now)
        return self.executor.update(now)

    def start(self) -> "RemotePolicy":
        self._thread = threading.Thread(target=self._run, name="humanoid_rt-remote-policy", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        next_time = time.monotonic()
        try:
            while not self._stop.is_set():
                self.update()
                next_time += self.executor.interval
                self._stop.wait(max(0.0, next_time - time.monotonic()))
        except BaseException as error:
            self.error = error

    def statistics(self) -> dict:
        status = self.executor.status()
        return {"executor": {k: status[k] for k in ("chunks_received", "actions_dropped", "underrun",
                                                     "underrun_updates", "setpoints_sent", "executed_index")},
                "source": self.source.statistics()}

    def stop(self) -> None:
        """Stop streaming (the watchdog takes the robot to HOLD within the executor's ttl) and close."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.executor.stop()
        self.source.close()

    def __enter__(self) -> "RemotePolicy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
