"""A minimal viewer-side client of the Foxglove WebSocket protocol (`foxglove.sdk.v1`), for tests and benchmarks.

    with LiveClient("ws://127.0.0.1:8765") as client:
        client.subscribe("/joints")
        for message in client.messages(timeout=2.0): ...     # (topic, receive monotonic ns, payload)

The protocol (the one Foxglove's app speaks; foxglove.websocket.v1 renamed): JSON text
frames for control (serverInfo, advertise, subscribe, getParameters, fetchAsset) and
binary frames for data: opcode 1 = message data (u32 subscription id, u64 log time,
payload), opcode 4 = fetchAsset response (u32 request id, u8 status, u32 error length,
error, data). A thread runs the websockets client; calls block with timeouts.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import queue
import struct
import threading
import time
from typing import Any

import websockets

SUBPROTOCOL = "foxglove.sdk.v1"
OP_MESSAGE_DATA = 0x01
OP_FETCH_ASSET_RESPONSE = 0x04


class LiveClient:
    def __init__(self, url: str, *, connect_timeout: float = 10.0):
        self.url = url
        self.server_info: dict[str, Any] = {}
        self.channels: dict[str, dict] = {}  # topic -> advertised channel
        self._subscriptions: dict[int, str] = {}  # subscription id -> topic
        self._ids = itertools.count(1)
        self._messages: queue.Queue = queue.Queue()
        self._set_aside: collections.deque = collections.deque()  # skipped by next_message(), kept for messages()
        self._replies: queue.Queue = queue.Queue()  # parameterValues, fetchAsset responses
        self._advertised = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ws = None
        self._connected = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-client", daemon=True)
        self._thread.start()
        self._reader = asyncio.run_coroutine_threadsafe(self._read(), self._loop)
        if not self._connected.wait(connect_timeout):
            self.close()
            raise TimeoutError(f"{url}: no connection within {connect_timeout} s ({self._error!r})")
        if self._error is not None:
            self.close()
            raise ConnectionError(f"{url}: {self._error}") from self._error

    async def _read(self) -> None:
        try:
            async with websockets.connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None,
                                          compression=None) as ws:
                self._ws = ws
                self._connected.set()
                async for frame in ws:
                    received = time.monotonic_ns()
                    if isinstance(frame, bytes):
                        self._binary(frame, received)
                    else:
                        self._text(json.loads(frame))
        except BaseException as error:  # noqa: BLE001 - reported by the blocking calls
            self._error = error
            self._connected.set()

    def _text(self, message: dict) -> None:
        op = message.get("op")
        if op == "serverInfo":
            self.server_info = message
        elif op == "advertise":
            for channel in message["channels"]:
                self.channels[channel["topic"]] = channel
            self._advertised.set()
        elif op == "unadvertise":
            ids = set(message["channelIds"])
            self.channels = {t: c for t, c in self.channels.items() if c["id"] not in ids}
        elif op == "parameterValues":
            self._replies.put(("parameters", message))

    def _binary(self, frame: bytes, received_ns: int) -> None:
        if frame[0] == OP_MESSAGE_DATA:
            subscription, log_time = struct.unpack_from("<IQ", frame, 1)
            topic = self._subscriptions.get(subscription)
            if topic is not None:
                self._messages.put((topic, received_ns, log_time, frame[13:]))
        elif frame[0] == OP_FETCH_ASSET_RESPONSE:
            request_id, status, error_length = struct.unpack_from("<IBI", frame, 1)
            error = frame[10:10 + error_length].decode()
            self._replies.put(("asset", {"requestId": request_id, "status": status, "error": error,
                                         "data": frame[10 + error_length:]}))

    def _send(self, message: dict) -> None:
        if self._error is not None:
            raise ConnectionError(f"{self.url}: {self._error}")
        asyncio.run_coroutine_threadsafe(self._ws.send(json.dumps(message)), self._loop).result(5.0)

    # ------------------------------------------------------------------ API
    def wait_for_topics(self, *topics: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(t in self.channels for t in topics):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(set(topics) - set(self.channels))} not advertised within "
                                   f"{timeout} s (advertised: {sorted(self.channels)})")
            time.sleep(0.01)

    def subscribe(self, *topics: str, timeout: float = 10.0) -> None:
        self.wait_for_topics(*topics, timeout=timeout)
        subscriptions = []
        for topic in topics:
            sid = next(self._ids)
            self._subscriptions[sid] = topic
            subscriptions.append({"id": sid, "channelId": self.channels[topic]["id"]})
        self._send({"op": "subscribe", "subscriptions": subscriptions})

    def messages(self, timeout: float = 1.0):
        """Yield (topic, receive monotonic ns, log time ns, payload) until nothing arrives for `timeout` s."""
        while self._set_aside:
            yield self._set_aside.popleft()
        while True:
            try:
                yield self._messages.get(timeout=timeout)
            except queue.Empty:
                return

    def next_message(self, topic: str, timeout: float = 10.0):
        """The next message on `topic`; messages on other topics stay for messages() (in order)."""
        for i, message in enumerate(self._set_aside):
            if message[0] == topic:
                del self._set_aside[i]
                return message
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if message[0] == topic:
                return message
            self._set_aside.append(message)
        raise TimeoutError(f"no message on {topic} within {timeout} s")

    def _reply(self, kind: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, body = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == kind:
                return body
        raise TimeoutError(f"no {kind} reply within {timeout} s")

    def get_parameters(self, *names: str, timeout: float = 10.0) -> dict[str, Any]:
        self._send({"op": "getParameters", "parameterNames": list(names), "id": "live-client"})
        return {p["name"]: p.get("value") for p in self._reply("parameters", timeout)["parameters"]}

    def fetch_asset(self, uri: str, timeout: float = 10.0) -> dict:
        """{'status': 0 ok / 1 error, 'error': text, 'data': bytes}."""
        self._send({"op": "fetchAsset", "uri": uri, "requestId": next(self._ids)})
        return self._reply("asset", timeout)

    def close(self) -> None:
        if self._ws is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(5.0)
            except Exception:  # noqa: BLE001 - closing a connection the server already dropped
                pass
        self._reader.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)

    def __enter__(self) -> "LiveClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
