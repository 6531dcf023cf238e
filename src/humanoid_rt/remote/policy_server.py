"""A policy server: answers observation -> action chunk queries over Eclipse Zenoh.

    humanoid-rt policy-serve humanoid_rt.remote.reference_policy:replay --name ref --listen tcp/0.0.0.0:7447

    session = open_session(endpoints_only(listen=["tcp/127.0.0.1:7447"]))   # humanoid_rt.remote.session
    server = PolicyServer(my_policy, name="ref", session=session)
    server.start() ... server.stop()

Key space (firmware_interfaces/zenoh/POLICY.md):
    humanoid_rt/policy/<name>/infer   queryable: observation message -> chunk message, or an error reply
    humanoid_rt/policy/<name>/info    queryable: JSON {name, policy, format version, statistics}

The policy is any callable taking the observation dict (Observation.as_policy_input: robot_id, t,
episode_start, joints, q, dq, tau, chunk_seq, executed_index, leftover and the robot's extra arrays)
and returning the action chunk: an array (H, J) for the observation's joints, due at t, t + dt, ...
(dt: --dt); or (actions, dt); or a dict {"actions", "dt", "t0"} (t0: the loop time of actions[0]).
The extra arrays (images, ...) are read-only views of the received message: copy one to change it.
A policy that raises, or returns something else, gets the robot an error reply (counted here and
reported on stderr); the server keeps serving. Queries are served one at a time, in arrival order,
on one thread (as one GPU would); Zenoh's own threads only queue them.
"""

from __future__ import annotations

import importlib
import json
import math
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

from ..errors import HumanoidRtError
from . import session as zenoh_session
from .keys import POLICY_INFER, POLICY_INFO
from .policy_wire import (ROBOT_ID, VERSION, Chunk, ErrorReply, Observation, WireError, decode_observation,
                          encode_chunk, encode_error)

INFER_KEY, INFO_KEY = POLICY_INFER, POLICY_INFO  # the key space is keys.py's
DEFAULT_DT = 0.05


def check_server_name(name: str) -> str:
    if not isinstance(name, str) or not ROBOT_ID.fullmatch(name):
        raise ValueError(f"name: {name!r} is not a policy server name; allowed: 1-64 characters of "
                         "A-Z a-z 0-9 _ . - starting with a letter or digit (it is a Zenoh key chunk)")
    return name


def load_callable(spec: str) -> Callable[[dict], Any]:
    """'package.module:attribute' -> the callable (a clear ValueError otherwise)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"policy: expected MODULE:CALLABLE, e.g. humanoid_rt.remote.reference_policy:replay "
                         f"(got {spec!r})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"policy: cannot import module {module_name!r}: {error}") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            public = ", ".join(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
                               and getattr(getattr(module, n), "__module__", module_name) == module_name) or "none"
            raise ValueError(f"policy: {module_name} has no attribute {attribute!r}; callables there: {public}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"policy: {spec} is a {type(target).__name__}, not a callable")
    return target


class BadPolicyOutput(HumanoidRtError, ValueError):
    """The policy returned something that is not an action chunk for the observation's joints."""


def run_policy(policy: Callable[[dict], Any], obs: Observation, default_dt: float) -> tuple[np.ndarray, float, float]:
    """Call the policy and normalise its answer to (actions (H, J), t0, dt); BadPolicyOutput names what is
    wrong with an answer (the policy's own exceptions pass through)."""
    result = policy(obs.as_policy_input())
    t0, dt = obs.t, default_dt
    if isinstance(result, dict):
        unknown = set(result) - {"actions", "dt", "t0"}
        if "actions" not in result or unknown:
            raise BadPolicyOutput(f"policy output: a dict needs 'actions' and may have 'dt', 't0' "
                             f"(got keys {sorted(result)})")
        actions, dt, t0 = result["actions"], result.get("dt", dt), result.get("t0", t0)
    elif isinstance(result, tuple):
        if len(result) != 2:
            raise BadPolicyOutput(f"policy output: a tuple must be (actions, dt) (got {len(result)} items)")
        actions, dt = result
    else:
        actions = result
    try:
        actions = np.asarray(actions, dtype=np.float64)
        dt, t0 = float(dt), float(t0)
    except (TypeError, ValueError) as error:
        raise BadPolicyOutput(f"policy output: actions must be numbers, dt and t0 seconds ({error})") from None
    n = len(obs.joints)
    if actions.ndim != 2 or actions.shape[1] != n or actions.shape[0] < 1:
        raise BadPolicyOutput(f"policy output: actions must have shape (H, {n}) with H >= 1, one column per joint "
                         f"({', '.join(obs.joints)}) (got {actions.shape})")
    bad = np.argwhere(~np.isfinite(actions))
    if bad.size:
        i, j = bad[0]
        raise BadPolicyOutput(f"policy output: actions[{i}][{j}] ({obs.joints[j]}) must be finite "
                              f"(got {actions[i, j]})")
    if not (math.isfinite(dt) and 0 < dt <= 10):
        raise BadPolicyOutput(f"policy output: dt must be 0 < dt <= 10 s (got {dt!r})")
    if not math.isfinite(t0):
        raise BadPolicyOutput(f"policy output: t0 must be a finite loop time (got {t0!r})")
    return actions, t0, dt


class PolicyServer:
    def __init__(self, policy: Callable[[dict], Any], *, name: str, session, label: str | None = None,
                 default_dt: float = DEFAULT_DT, log=sys.stderr):
        if not (math.isfinite(default_dt) and 0 < default_dt <= 10):
            raise ValueError(f"dt: allowed 0 < dt <= 10 s (got {default_dt!r})")
        self.policy = policy
        self.name = check_server_name(name)
        self.label = label or getattr(policy, "__qualname__", type(policy).__name__)
        self.session = session
        self.default_dt = default_dt
        self.log = log
        self.key = INFER_KEY.format(name=name)
        self._lock = threading.Lock()
        self.stats = {"queries": 0, "chunks": 0, "policy_errors": 0, "bad_requests": 0, "bad_outputs": 0,
                      "inference_s_last": 0.0, "last_error": ""}
        self._queryable = None
        self._info = None
        self._thread: threading.Thread | None = None

    def start(self) -> "PolicyServer":
        import zenoh

        # A bounded queue between Zenoh's threads and the serving thread: Zenoh never runs the policy itself.
        self._queryable = self.session.declare_queryable(self.key, zenoh.handlers.FifoChannel(64))
        self._info = self.session.declare_queryable(INFO_KEY.format(name=self.name), self._answer_info)
        self._thread = threading.Thread(target=self._serve, name=f"policy-serve-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for entity in (self._queryable, self._info):
            if entity is not None:
                entity.undeclare()  # closes the queue: the serving thread's recv() ends
        self._queryable = self._info = None
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None

    def __enter__(self) -> "PolicyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def statistics(self) -> dict:
        with self._lock:
            return dict(self.stats)

    def _count(self, key: str, error: str | None = None) -> None:
        with self._lock:
            self.stats[key] += 1
            if error is not None:
                self.stats["last_error"] = error
                total = self.stats["policy_errors"] + self.stats["bad_requests"] + self.stats["bad_outputs"]
        if error is not None and self.log is not None:
            print(f"policy-serve {self.name}: {error} (errors so far: {total})", file=self.log, flush=True)

    def _answer_info(self, query) -> None:
        info = {"name": self.name, "policy": self.label, "format_version": VERSION, "key": self.key,
                "statistics": self.statistics()}
        with query:
            query.reply(INFO_KEY.format(name=self.name), json.dumps(info).encode(), encoding="application/json")

    def _serve(self) -> None:
        import zenoh

        queryable = self._queryable
        while True:
            try:
                query = queryable.handler.recv()
            except zenoh.ZError:  # undeclared: the queue is closed and empty
                return
            with query:
                try:
                    self._handle(query)
                except Exception as error:  # a reply that could not be sent: report it, keep serving
                    self._count("policy_errors", f"could not answer a query: {type(error).__name__}: {error}")

    def _handle(self, query) -> None:
        self._count("queries")
        payload = query.payload
        try:
            obs = decode_observation(payload.to_bytes() if payload is not None else b"")
        except WireError as error:
            self._count("bad_requests", f"refused a request: {error}")
            query.reply_err(encode_error(ErrorReply("bad_request", str(error))))
            return
        started = time.perf_counter()
        try:
            actions, t0, dt = run_policy(self.policy, obs, self.default_dt)
        except Exception as error:  # the policy's own failure: an error reply, and keep serving
            if isinstance(error, BadPolicyOutput):
                reason, counter, text = "bad_output", "bad_outputs", str(error)
            else:
                where = traceback.extract_tb(error.__traceback__)[-1]
                reason, counter = "policy_exception", "policy_errors"
                text = f"{type(error).__name__}: {error} ({where.filename}:{where.lineno})"
            self._count(counter, f"request {obs.request_seq} from {obs.robot_id}: {text}")
            query.reply_err(encode_error(ErrorReply(reason, text, obs.request_seq)))
            return
        elapsed = time.perf_counter() - started
        chunk = Chunk(robot_id=obs.robot_id, request_seq=obs.request_seq, joints=obs.joints, t0=t0, dt=dt,
                      actions=actions, policy=self.label[:200], inference_s=elapsed)
        try:
            data = encode_chunk(chunk)
        except WireError as error:  # e.g. more actions than a chunk may carry
            self._count("bad_outputs", f"request {obs.request_seq} from {obs.robot_id}: policy output: {error}")
            query.reply_err(encode_error(ErrorReply("bad_output", f"policy output: {error}", obs.request_seq)))
            return
        query.reply(self.key, data)
        with self._lock:
            self.stats["chunks"] += 1
            self.stats["inference_s_last"] = elapsed


def server_info(session, name: str, timeout: float = 5.0) -> dict | None:
    """Ask humanoid_rt/policy/<name>/info until it answers or `timeout` passes: its JSON, or None. Useful to
    wait for a server (and for the Zenoh link to it) before starting a robot's policy stream."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        for reply in session.get(INFO_KEY.format(name=check_server_name(name)), timeout=max(0.1, min(left, 1.0))):
            if reply.ok is not None:
                return json.loads(reply.ok.payload.to_bytes())
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


# ------------------------------------------------------------------ command line
def add_command(commands) -> None:
    serve = commands.add_parser(
        "policy-serve", help="serve a policy (observation -> action chunk) to robots over Zenoh",
        description="Imports MODULE:CALLABLE (observation dict -> action chunk (H, n_joints), or (actions, dt)) and "
        "answers queries on humanoid_rt/policy/NAME/infer until interrupted. A policy exception becomes an error "
        "reply to the robot (counted, printed on stderr); the server keeps serving. Reference policies that need "
        "no GPU: humanoid_rt.remote.reference_policy:replay (the bundled wave skill) and :mlp (a tiny seeded MLP).")
    serve.add_argument("policy", metavar="MODULE:CALLABLE", help="the policy callable to serve")
    serve.add_argument("--name", default="default", help="server name, the key chunk robots ask for (default: default)")
    # The session options of every Zenoh command (mode, endpoints, TLS/mTLS); multicast scouting off unless
    # asked: robots reach a policy server by its endpoint or through a router.
    zenoh_session.add_arguments(serve, default_mode="peer", multicast=False)
    serve.add_argument("--dt", type=float, default=DEFAULT_DT,
                       help=f"action spacing [s] when the policy returns a bare array (default {DEFAULT_DT})")


def main(args) -> int:
    try:
        policy = load_callable(args.policy)
        check_server_name(args.name)
        if not (math.isfinite(args.dt) and 0 < args.dt <= 10):
            raise ValueError(f"--dt: allowed 0 < dt <= 10 s (got {args.dt!r})")
    except ValueError as error:
        print(f"humanoid-rt policy-serve: {error}", file=sys.stderr)
        return 2
    try:
        session = zenoh_session.open_session(zenoh_session.options_from_args(args, args.zenoh_config))
    except (ValueError, ConnectionError) as error:  # a bad option or file, a bad or busy endpoint
        print(f"humanoid-rt policy-serve: cannot open the Zenoh session ({error}); check --connect/--listen "
              "(e.g. tcp/127.0.0.1:7447) and the --tls-* files", file=sys.stderr)
        return 2
    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` ends it as cleanly as Ctrl-C
    server = PolicyServer(policy, name=args.name, session=session, label=args.policy, default_dt=args.dt)
    server.start()
    print(json.dumps({"ready": True, "key": server.key, "policy": args.policy}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        session.close()
        print(f"policy-serve {args.name}: stopped; {json.dumps(server.statistics())}", file=sys.stderr)
    return 0
