// _core.testing: concurrency self-tests of the lock-free primitives with real threads, the allocation
// monitor's proof, and single-joint entry points to the interpolator for tests.
#include "common.hpp"

#include <atomic>
#include <thread>
#include "humanoid_rt/allocation_monitor.hpp"
#include "humanoid_rt/mailbox.hpp"
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
// number of torn or out-of-order reads (must be 0) and how many distinct values were seen, and
// how often the producer's own view of what it last published was not (i, ~i), count i (must be 0).
py::dict stress_triple_buffer(std::uint64_t iterations) {
  TripleBuffer<Pair> buffer;
  std::atomic<bool> done{false};
  std::uint64_t torn = 0, backwards = 0, distinct = 0, last = 0, producer_view_wrong = 0;
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
    for (std::uint64_t i = 1; i <= iterations; ++i) {
      buffer.write(Pair{i, ~i});
      const Pair& published = buffer.last_published();
      if (published.a != i || published.b != ~i || buffer.publish_count() != i) ++producer_view_wrong;
    }
    done.store(true, std::memory_order_release);
    consumer.join();
  }
  py::dict d;
  d["producer_view_wrong"] = producer_view_wrong;
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


constexpr int kMaxWriters = 4;

// Writer w only edits its own field, count[w] (and check[w] == ~count[w], to see tearing): the
// loop's producers do the same with task slots and the gravity flag.
struct Tally {
  std::uint64_t sequence = 0;
  std::array<std::uint64_t, kMaxWriters> count{};
  std::array<std::uint64_t, kMaxWriters> check{};
};

// `writers` threads each post_edit() their own field posts_per_writer times while one reader takes.
// Returns the reader's view: torn values, sequences that did not increase, fields that went back,
// and the last value taken (its sequence and every writer's count).
py::dict stress_mailbox(int writers, std::uint64_t posts_per_writer) {
  if (writers < 1 || writers > kMaxWriters) throw std::invalid_argument("writers: allowed: 1..4");
  Mailbox<Tally> mailbox;
  std::atomic<int> writing{writers};
  std::uint64_t torn = 0, backwards = 0, regressed = 0, taken = 0;
  Tally last{};
  {
    py::gil_scoped_release release;
    std::thread reader([&] {
      Tally value;
      for (;;) {
        const bool finished = writing.load(std::memory_order_acquire) == 0;  // every post happened before
        if (!mailbox.take_if_new(value)) {
          if (finished) break;
          continue;  // busy read: the test wants maximum interleaving
        }
        ++taken;
        if (value.sequence <= last.sequence) ++backwards;
        for (int w = 0; w < kMaxWriters; ++w) {
          if (value.check[w] != ~value.count[w] && value.count[w] != 0) ++torn;
          if (value.count[w] < last.count[w]) ++regressed;
        }
        last = value;
      }
    });
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&mailbox, &writing, w, posts_per_writer] {
        for (std::uint64_t i = 1; i <= posts_per_writer; ++i)
          mailbox.post_edit([w, i](Tally& tally) {
            tally.count[w] = i;
            tally.check[w] = ~i;
          });
        writing.fetch_sub(1, std::memory_order_release);
      });
    for (auto& thread : threads) thread.join();
    reader.join();
  }
  py::dict d;
  d["torn"] = torn;
  d["backwards"] = backwards;
  d["regressed"] = regressed;
  d["taken"] = taken;
  d["last_sequence"] = last.sequence;
  py::list counts;
  for (int w = 0; w < writers; ++w) counts.append(last.count[w]);
  d["last_counts"] = counts;
  return d;
}

}  // namespace

void bind_testing(py::module_& m) {

  py::module_ testing = m.def_submodule("testing", "Concurrency self-tests of the lock-free primitives.");
  testing.def("stress_mailbox", &stress_mailbox, py::arg("writers"), py::arg("posts_per_writer"));
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
