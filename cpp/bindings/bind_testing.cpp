// _core.testing: concurrency self-tests of the lock-free primitives with real threads, the allocation
// monitor's proof, and single-joint entry points to the interpolator for tests.
#include "common.hpp"

#include <atomic>
#include <thread>
#include "humanoid_rt/allocation_monitor.hpp"
#include "humanoid_rt/setpoint_interpolator.hpp"
#include "humanoid_rt/spsc_ring.hpp"
#include "humanoid_rt/triple_buffer.hpp"

namespace humanoid_rt::bindings {

namespace {

// --- concurrency self-tests, run from pytest: real threads against the real templates ---

struct Pair {
  std::uint64_t a = 0, b = 0;  // the producer always writes b == ~a
};

// A producer writes (i, ~i) for i = 1..iterations while a consumer reads; returns the
// number of torn or out-of-order reads (must be 0) and how many distinct values were seen.
py::dict stress_triple_buffer(std::uint64_t iterations) {
  TripleBuffer<Pair> buffer;
  std::atomic<bool> done{false};
  std::uint64_t torn = 0, backwards = 0, distinct = 0, last = 0;
  {
    py::gil_scoped_release release;
    std::thread consumer([&] {
      Pair p;
      while (!done.load(std::memory_order_acquire) || last < iterations) {
        if (!buffer.read(p)) continue;  // busy read: the test wants maximum interleaving
        if (p.b != ~p.a) ++torn;
        if (p.a < last) ++backwards;
        if (p.a != last) ++distinct;
        last = p.a;
      }
    });
    for (std::uint64_t i = 1; i <= iterations; ++i) buffer.write(Pair{i, ~i});
    done.store(true, std::memory_order_release);
    consumer.join();
  }
  py::dict d;
  d["torn"] = torn;
  d["backwards"] = backwards;
  d["distinct"] = distinct;
  d["last"] = last;
  return d;
}

// A producer pushes 1..iterations into a ring of `capacity`; the consumer drains
// in batches. Returns pushed/dropped/received counts and ordering violations.
py::dict stress_spsc_ring(std::uint64_t iterations, std::size_t capacity) {
  SpscRing<Pair> ring(capacity);
  std::atomic<bool> done{false};
  std::uint64_t received = 0, out_of_order = 0, torn = 0, accepted = 0, last = 0;
  {
    py::gil_scoped_release release;
    std::thread consumer([&] {
      Pair batch[64];
      for (;;) {
        const bool finished = done.load(std::memory_order_acquire);
        const std::size_t n = ring.pop_into(batch, 64);
        for (std::size_t i = 0; i < n; ++i) {
          if (batch[i].b != ~batch[i].a) ++torn;
          if (batch[i].a <= last) ++out_of_order;
          last = batch[i].a;
        }
        received += n;
        if (finished && n == 0) break;
      }
    });
    for (std::uint64_t i = 1; i <= iterations; ++i) accepted += ring.push(Pair{i, ~i}) ? 1 : 0;
    done.store(true, std::memory_order_release);
    consumer.join();
  }
  py::dict d;
  d["accepted"] = accepted;
  d["overflows"] = ring.overflows();
  d["received"] = received;
  d["out_of_order"] = out_of_order;
  d["torn"] = torn;
  return d;
}

}  // namespace

void bind_testing(py::module_& m) {

  py::module_ testing = m.def_submodule("testing", "Concurrency self-tests of the lock-free primitives.");
  testing.def("stress_triple_buffer", &stress_triple_buffer, py::arg("iterations"));
  testing.def("stress_spsc_ring", &stress_spsc_ring, py::arg("iterations"), py::arg("capacity"));
  testing.def(
      "allocate_while_realtime",
      [](int count) {
        RealtimeScope realtime;
        for (int i = 0; i < count; ++i) delete new std::vector<double>(8);  // two allocations each
      },
      py::arg("count"), "Allocates on a thread marked real-time: proves the allocation monitor counts.");
  testing.def("realtime_allocations", &realtime_allocations);
  testing.def(
      "interpolate",
      [](double q0, double v0, double q1, double v1, double t_target, double t) {
        SetpointInterpolator interpolator;
        JointVector start{}, velocity{}, q{}, dq{};
        start[0] = q0;
        velocity[0] = v0;
        interpolator.reset(1, 0.0, start);
        JointSetpoint target;
        target.q[0] = q1;
        target.dq[0] = v1;
        target.has_velocity = true;
        target.t_target = t_target;
        interpolator.set_target(0.0, start, velocity, target);
        interpolator.sample(t, q, dq);
        return py::make_tuple(q[0], dq[0]);
      },
      py::arg("q0"), py::arg("v0"), py::arg("q1"), py::arg("v1"), py::arg("t_target"), py::arg("t"),
      "One joint's interpolated (q, dq) at t for a segment from (q0, v0) at 0 to (q1, v1) at t_target.");
}

}  // namespace humanoid_rt::bindings
