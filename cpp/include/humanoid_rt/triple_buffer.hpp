// Wait-free triple buffer: one producer and one consumer exchange the latest
// value of T without ever blocking each other.
//
// Three slots: the producer owns one ("back"), the consumer owns one ("front")
// and the third ("middle") is handed over through a single atomic index. A
// write fills the back slot and swaps it with the middle; a read swaps the
// middle with the front if the middle holds something new. Neither side waits
// or retries, so the RT thread's cost is one copy plus one atomic exchange.
//
// Use it for "latest value wins" data: setpoints, gains, state snapshots.
// Exactly one thread may write and exactly one thread may read at a time;
// callers with several producers serialise them outside (never on the RT side).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <type_traits>

namespace humanoid_rt {

template <typename T>
class TripleBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "TripleBuffer slots are copied with plain assignment");

 public:
  TripleBuffer() = default;
  explicit TripleBuffer(const T& initial) { slots_.fill(initial); }

  // Producer thread only.
  void write(const T& value) {
    slots_[back_] = value;
    publish();
  }

  // Producer thread only, for large T: fill the slot in place (only the fields that change),
  // then publish(). The slot holds an older value: write every field a reader uses.
  T& back() { return slots_[back_]; }
  void publish() {
    const std::uint8_t published = static_cast<std::uint8_t>(back_ | kFreshBit);
    published_ = back_;
    ++publish_count_;
    back_ = middle_.exchange(published, std::memory_order_acq_rel) & kIndexMask;
  }

  // Producer thread only: the value of the last write()/publish() (a default T before the first)
  // and how many there were. No copy and no race: the producer writes only its back slot, which is
  // never the slot it last handed over, and a consumer only reads that slot.
  const T& last_published() const { return slots_[published_]; }
  std::uint64_t publish_count() const { return publish_count_; }

  // Consumer thread only: copies into `out` only when a newer value arrived (returns true then);
  // otherwise `out` keeps the value of the previous read. Saves the copy on the many cycles without news.
  bool read_if_new(T& out) {
    if (!update()) return false;
    out = slots_[front_];
    return true;
  }

  // Consumer thread only. Returns true when `out` received a value newer than the last read.
  bool read(T& out) {
    const bool fresh = update();
    out = slots_[front_];
    return fresh;
  }

  // Consumer thread only: a reference to the newest value, valid until the next read/latest call.
  const T& latest() {
    update();
    return slots_[front_];
  }

 private:
  static constexpr std::uint8_t kFreshBit = 0x4;
  static constexpr std::uint8_t kIndexMask = 0x3;

  bool update() {
    if ((middle_.load(std::memory_order_relaxed) & kFreshBit) == 0) return false;
    front_ = middle_.exchange(front_, std::memory_order_acq_rel) & kIndexMask;
    return true;
  }

  std::array<T, 3> slots_{};
  alignas(64) std::uint8_t back_ = 0;  // producer thread only
  std::uint8_t published_ = 1;          // producer thread only: the slot last handed over (1: the initial middle)
  std::uint64_t publish_count_ = 0;     // producer thread only
  alignas(64) std::atomic<std::uint8_t> middle_{1};  // shared: index of the hand-over slot + fresh bit
  alignas(64) std::uint8_t front_ = 2;  // consumer thread only
};

}  // namespace humanoid_rt
