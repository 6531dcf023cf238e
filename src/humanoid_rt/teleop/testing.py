"""Helpers for deterministic teleop tests: send packets on loopback and wait until the
receiver thread has handled each one, so a stepped-mode test can step afterwards."""

from __future__ import annotations

import socket
import time

from . import protocol


class LoopbackSender:
    """Sends hand-built packets to a TeleopReceiver and waits for them to be handled.

    sender_time defaults to the robot's loop time (in ns), so stepped-mode tests have a
    simulated sender clock that advances exactly with step().
    """

    def __init__(self, robot, key: bytes, *, session_id: int = 1):
        self.robot = robot
        self.receiver = robot.teleop
        self.key = key
        self.session_id = session_id
        self.sequence = 0
        self.sent = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._base = self._processed()

    def close(self) -> None:
        self._socket.close()

    def _processed(self) -> int:
        s = self.receiver.statistics()
        return s["accepted"] + s["rejected_total"]

    def fields(self, sequence: int | None = None, sender_time: float | None = None, session_id: int | None = None) -> dict:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        t = self.robot.now() if sender_time is None else sender_time
        return {"session_id": self.session_id if session_id is None else session_id, "sequence": sequence,
                "sender_time_ns": int(round(t * 1e9))}

    def send(self, packet: bytes, wait: bool = True) -> dict:
        self._socket.sendto(packet, ("127.0.0.1", self.receiver.port))
        self.sent += 1
        return self.wait() if wait else {}

    def wait(self, timeout: float = 5.0) -> dict:
        """Until every packet sent so far is accepted or rejected; returns the statistics."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.receiver.statistics()
            if stats["accepted"] + stats["rejected_total"] - self._base >= self.sent:
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"teleop receiver handled {stats['accepted'] + stats['rejected_total'] - self._base}"
                                   f" of {self.sent} packets")
            time.sleep(0.0005)

    def joints(self, targets: dict[int, float], *, sequence=None, sender_time=None, session_id=None,
               key: bytes | None = None, **kwargs) -> dict:
        packet = protocol.joint_packet(key or self.key, list(targets), list(targets.values()), **kwargs,
                                       **self.fields(sequence, sender_time, session_id))
        return self.send(packet)
