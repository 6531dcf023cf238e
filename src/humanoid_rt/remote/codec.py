"""Payload formats on the Zenoh keys (firmware_interfaces/zenoh/KEYS.md has the byte tables).

`state` is binary (it is the high-rate key: 100-500 Hz times many subscribers): a 48-byte header
and five float32 arrays in joint order. `events`, `health`, `info` and request replies are JSON
(UTF-8, one object each): they are rare and read by people and scripts.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass

import numpy as np

from ..supervisor_state import SupervisorState

STATE_MAGIC = b"HRTS"
STATE_VERSION = 1
#: magic, version, supervisor state code, n_joints, cycle, loop time [s], publisher wall clock [ns],
#: publisher monotonic clock [ns], sequence (per publisher, +1 per message)
STATE_HEADER = struct.Struct("<4sBBHQdqqQ")
STATE_ARRAYS = ("q", "dq", "tau", "q_ref", "tau_command")
SUPERVISOR_STATES = tuple(SupervisorState)  # indexed by the code on the wire
MAX_JOINTS = 1024

assert STATE_HEADER.size == 48


@dataclass(frozen=True)
class StateMessage:
    supervisor_state: SupervisorState
    cycle: int
    t: float
    wall_time_ns: int
    monotonic_ns: int
    sequence: int
    q: np.ndarray
    dq: np.ndarray
    tau: np.ndarray
    q_ref: np.ndarray
    tau_command: np.ndarray

    def summary(self) -> dict:
        return {"supervisor_state": self.supervisor_state, "cycle": self.cycle, "t": self.t,
                "sequence": self.sequence, "q": self.q.tolist(), "dq": self.dq.tolist(), "tau": self.tau.tolist()}


def encode_state(state, sequence: int) -> bytes:
    """A RobotState -> state payload."""
    n = state.q.shape[0]
    header = STATE_HEADER.pack(STATE_MAGIC, STATE_VERSION, SupervisorState.parse(state.supervisor_state).code, n,
                               state.cycle, state.time, time.time_ns(), time.monotonic_ns(), sequence)
    arrays = np.empty((len(STATE_ARRAYS), n), dtype="<f4")
    arrays[0], arrays[1], arrays[2], arrays[3], arrays[4] = state.q, state.dq, state.tau, state.q_ref, state.tau_command
    return header + arrays.tobytes()


def decode_state(payload: bytes) -> StateMessage:
    """state payload -> StateMessage; ValueError names what is wrong."""
    if len(payload) < STATE_HEADER.size:
        raise ValueError(f"state: {len(payload)} bytes; allowed: at least {STATE_HEADER.size}")
    magic, version, code, n, cycle, t, wall, mono, sequence = STATE_HEADER.unpack_from(payload)
    if magic != STATE_MAGIC:
        raise ValueError(f"state: magic {magic!r}; allowed: {STATE_MAGIC!r}")
    if version != STATE_VERSION:
        raise ValueError(f"state: version {version}; allowed: {STATE_VERSION}")
    if code >= len(SUPERVISOR_STATES):
        raise ValueError(f"state: supervisor state {code}; allowed: 0..{len(SUPERVISOR_STATES) - 1}")
    expected = STATE_HEADER.size + len(STATE_ARRAYS) * 4 * n
    if n > MAX_JOINTS or len(payload) != expected:
        raise ValueError(f"state: {len(payload)} bytes for {n} joints; allowed: exactly {expected}")
    arrays = np.frombuffer(payload, dtype="<f4", offset=STATE_HEADER.size).reshape(len(STATE_ARRAYS), n)
    return StateMessage(SUPERVISOR_STATES[code], cycle, t, wall, mono, sequence,
                        *(arrays[i].astype(np.float64) for i in range(len(STATE_ARRAYS))))


def encode_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_plain).encode()


def decode_json(payload: bytes, what: str) -> dict:
    try:
        value = json.loads(bytes(payload).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{what}: not a JSON object ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what}: {type(value).__name__}; allowed: a JSON object")
    return value


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "name"):
        return value.name
    raise TypeError(f"not JSON: {type(value).__name__}")
