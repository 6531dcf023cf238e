// Concurrency self-test of Mailbox<T> (cpp/include/humanoid_rt/mailbox.hpp), run from pytest
// (tests/test_lockfree.py): real writer threads and the one reader against the real template.
#include <pybind11/pybind11.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "humanoid_rt/mailbox.hpp"

namespace py = pybind11;

namespace humanoid_rt {
namespace {

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

void bind_mailbox(py::module_& testing) {
  testing.def("stress_mailbox", &stress_mailbox, py::arg("writers"), py::arg("posts_per_writer"));
}

}  // namespace humanoid_rt
