"""Every C++ object that counts reports statistics() as a typed, read-only object with one key scheme
(README "Statistics"): fields as attributes, the same values by key, to_dict() as plain JSON data."""

from __future__ import annotations

import json

import pytest

from humanoid_rt import Robot, _core

STATISTICS_CLASSES = [
    _core.LatencySummary, _core.LoopStatistics, _core.can.CanBusStatistics, _core.can.Cia402BusStatistics,
    _core.can.VirtualResponderStatistics, _core.ethercat.EthercatStatistics, _core.ethercat.VirtualLineStatistics,
    _core.teleop.ReceiverStatistics,
]
SUMMARY_KEYS = ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"]


@pytest.fixture
def stepped_robot():
    with Robot("generic_humanoid", bus="mock", lock_memory=False) as robot:
        robot.enable()
        robot.step(200)
        yield robot


def test_loop_statistics_are_typed_and_read_only(stepped_robot):
    s = stepped_robot._loop.statistics()
    assert isinstance(s, _core.LoopStatistics) and isinstance(s.wakeup_latency, _core.LatencySummary)
    assert s.cycles == 200 and s["cycles"] == 200 and "overruns" in s and "no_such_key" not in s
    with pytest.raises(AttributeError):
        s.cycles = 0
    with pytest.raises(KeyError, match="no_such_key"):
        s["no_such_key"]
    assert list(s.keys()) == list(_core.LoopStatistics.FIELDS)
    assert repr(s).startswith("LoopStatistics(cycles=200, ")


def test_robot_statistics_is_the_to_dict_of_the_loop_object(stepped_robot):
    plain = stepped_robot.statistics()
    assert list(plain) == list(_core.LoopStatistics.FIELDS)
    assert plain["cycles"] == 200 and plain["realtime_allocations"] == 0
    for name in ("wakeup_latency", "compute_time", "control_time"):
        assert list(plain[name]) == SUMMARY_KEYS
    assert json.loads(json.dumps(plain)) == plain  # plain JSON types all the way down


def test_every_statistics_class_follows_the_key_scheme():
    for cls in STATISTICS_CLASSES:
        fields = cls.FIELDS
        assert len(set(fields)) == len(fields) and all(f == f.lower() and " " not in f for f in fields), cls
        for method in ("to_dict", "keys", "__getitem__", "__contains__"):
            assert hasattr(cls, method), (cls.__name__, method)
    assert list(_core.LatencySummary.FIELDS) == SUMMARY_KEYS
    # Distributions are named after the interval they measure.
    distributions = {"LoopStatistics": ["wakeup_latency", "compute_time", "control_time"],
                     "EthercatStatistics": ["round_trip_time"],
                     "ReceiverStatistics": ["send_to_receive_latency", "receive_to_applied_latency"]}
    for cls in STATISTICS_CLASSES:
        named = [f for f in cls.FIELDS if f.endswith(("_latency", "_time"))]
        assert named == distributions.get(cls.__name__, []), cls.__name__
    # Durations carry their unit; nothing is reported in a unit its name hides.
    assert "max_wait_us" in _core.can.CanBusStatistics.FIELDS and "max_wait_ns" not in _core.can.CanBusStatistics.FIELDS


def test_responder_statistics_count_served_frames():
    import socket

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    responder = _core.can.VirtualMotorResponder("arm", b.detach(), False, 0.001, 1)
    a.close()
    s = responder.statistics()
    assert isinstance(s, _core.can.VirtualResponderStatistics)
    assert s.to_dict() == {"frames_in": 0, "frames_out": 0, "ignored": 0}
