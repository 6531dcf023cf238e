"""Authenticated requests (enable / disable / reset / estop) on humanoid_rt/<robot_id>/request/<name>.

The query payload is 56 bytes, little-endian:
  magic "HRTQ" (4) | version 1 (u8) | reserved 0 (3) | nonce (u64, random, never reused) |
  sender_time_ns (i64, informative) | HMAC-SHA256(teleop key, "<robot_id>/<name>" + the 24 bytes before) (32)
The robot refuses a bad tag (`bad_auth`), a malformed payload (`bad_field`) and a nonce it has
already seen among the last 4096 (`replayed`), and counts each. The name and the robot id are
inside the tag, so a request cannot be redirected to another robot or turned into another request.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import struct
import time

REQUEST_MAGIC = b"HRTQ"
REQUEST_BODY = struct.Struct("<4sB3sQq")
REQUEST_BYTES = REQUEST_BODY.size + 32
NONCE_WINDOW = 4096


def _tag(key: bytes, robot_id: str, name: str, body: bytes) -> bytes:
    return hmac.new(key, f"{robot_id}/{name}".encode() + body, hashlib.sha256).digest()


def sign_request(key: bytes, robot_id: str, name: str, *, nonce: int | None = None) -> bytes:
    nonce = secrets.randbits(64) if nonce is None else nonce
    body = REQUEST_BODY.pack(REQUEST_MAGIC, 1, b"\0\0\0", nonce, time.monotonic_ns())
    return body + _tag(key, robot_id, name, body)


class RequestVerifier:
    """Robot side: checks tags and remembers recent nonces."""

    def __init__(self, key: bytes, robot_id: str):
        self._key, self._robot_id = bytes(key), robot_id
        self._seen: set[int] = set()
        self._order: collections.deque[int] = collections.deque()

    def check(self, name: str, payload: bytes) -> tuple[str, str]:
        """('none', '') when authentic and fresh, else (reason, message)."""
        if len(payload) != REQUEST_BYTES:
            return "bad_field", f"request payload: {len(payload)} bytes; allowed: {REQUEST_BYTES} (see KEYS.md)"
        body, tag = payload[:REQUEST_BODY.size], payload[REQUEST_BODY.size:]
        magic, version, reserved, nonce, _ = REQUEST_BODY.unpack(body)
        if magic != REQUEST_MAGIC or version != 1 or reserved != b"\0\0\0":
            return "bad_field", "request payload: magic 'HRTQ', version 1, reserved 0 expected"
        if not hmac.compare_digest(tag, _tag(self._key, self._robot_id, name, body)):
            return "bad_auth", "request tag does not match (wrong key, robot or request)"
        if nonce in self._seen:
            return "replayed", f"request nonce {nonce:#x} already used"
        self._seen.add(nonce)
        self._order.append(nonce)
        if len(self._order) > NONCE_WINDOW:
            self._seen.discard(self._order.popleft())
        return "none", ""
