"""The lock-free primitives under real threads: TripleBuffer and SpscRing, driven by the
C++ self-tests in humanoid_rt._core.testing (a producer and a consumer thread, GIL released).

Each record is a pair (i, ~i): a torn read shows as b != ~a, a reordering as a value that
goes backwards. Behaviour only; how fast it runs is not asserted.
"""

from __future__ import annotations

import pytest

from humanoid_rt import _core
from humanoid_rt._core import testing


# ---------------------------------------------------------------- triple buffer


def test_triple_buffer_never_tears_or_goes_backwards():
    iterations = 2_000_000
    result = testing.stress_triple_buffer(iterations)
    assert result["torn"] == 0, result
    assert result["backwards"] == 0, result
    assert result["last"] == iterations, result  # the consumer sees the final value
    assert 1 <= result["distinct"] <= iterations, result
    # The producer's last_published() is what it wrote last, whatever slot the consumer swapped meanwhile.
    assert result["producer_view_wrong"] == 0, result


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_triple_buffer_delivers_the_final_value_of_short_runs(iterations):
    result = testing.stress_triple_buffer(iterations)
    assert result["last"] == iterations
    assert result["torn"] == 0 and result["backwards"] == 0
    assert 1 <= result["distinct"] <= iterations


# ------------------------------------------------------------------- SPSC ring


def _check_ring(result: dict, iterations: int) -> None:
    assert result["accepted"] + result["overflows"] == iterations, result
    assert result["received"] == result["accepted"], result  # every accepted record arrives once
    assert result["out_of_order"] == 0, result
    assert result["torn"] == 0, result


def test_small_ring_under_pressure():
    # 64 slots and a million pushes: overflows are expected (a slow reader costs data,
    # never blocks the producer) and must be counted exactly.
    iterations = 1_000_000
    result = testing.stress_spsc_ring(iterations, 64)
    _check_ring(result, iterations)
    assert result["accepted"] >= 64  # at least a ring's worth got through


def test_big_ring():
    # Whether the consumer keeps up is up to the scheduler, so overflows are not asserted.
    iterations = 100_000
    _check_ring(testing.stress_spsc_ring(iterations, 2**16), iterations)


def test_ring_that_holds_everything_never_overflows():
    iterations = 100_000
    result = testing.stress_spsc_ring(iterations, 2**17)
    _check_ring(result, iterations)
    assert result["overflows"] == 0, result
    assert result["received"] == iterations


def test_ring_capacity_is_rounded_up_to_a_power_of_two():
    # 100 slots become 128: a 128-record run always fits, whatever the consumer does.
    result = testing.stress_spsc_ring(128, 100)
    _check_ring(result, 128)
    assert result["overflows"] == 0, result


@pytest.mark.parametrize("capacity", [0, 1])
def test_ring_rejects_capacity_below_two(capacity):
    with pytest.raises(ValueError, match="capacity"):
        testing.stress_spsc_ring(10, capacity)


def test_the_allocation_monitor_counts_allocations_on_realtime_threads(request):
    before = _core.testing.realtime_allocations()
    _core.testing.allocate_while_realtime(5)
    assert _core.testing.realtime_allocations() - before == 10  # a vector object and its buffer, 5 times
    # Tell the autouse guard these ten were deliberate.
    request.node.deliberate_allocations = 10


def test_the_loop_never_allocates(make_robot):
    import numpy as np

    robot = make_robot()
    before = robot.statistics()["realtime_allocations"]
    robot.enable()
    for k in range(50):  # enable, stream, HOLD, faults, reset, e-stop: every path of the cycle
        robot.set_joint_targets(np.full(3, 0.01 * k), ttl=0.05)
        robot.step(20)
    robot.step(700)
    robot.mock_bus(0).set_drive_error(0, 3)
    robot.step(5)
    robot.mock_bus(0).clear_faults()
    robot.reset()
    robot.estop()
    robot.step(5)
    robot.drain_telemetry()
    assert robot.statistics()["realtime_allocations"] == before


# --------------------------------------------------------------------- mailbox


@pytest.mark.parametrize("writers", [1, 3])
def test_mailbox_writers_never_overwrite_each_other_and_the_reader_never_sees_a_torn_or_older_value(writers):
    posts = 200_000
    result = testing.stress_mailbox(writers, posts)
    assert result["torn"] == 0 and result["backwards"] == 0 and result["regressed"] == 0, result
    assert result["last_sequence"] == writers * posts, result  # every post stamped once, in order
    assert result["last_counts"] == [posts] * writers, result  # each writer's last edit survives the others'
    assert 1 <= result["taken"] <= writers * posts, result


def test_mailbox_rejects_a_writer_count_outside_its_range():
    with pytest.raises(ValueError, match="writers: allowed: 1..4"):
        testing.stress_mailbox(5, 1)
