// Bounded single-producer single-consumer ring of fixed-size records.
//
// The producer (usually the RT loop) never blocks: when the ring is full the
// record is dropped and counted in `overflows()`, so a slow reader costs data,
// never timing. Storage is allocated once in the constructor (non-RT).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace humanoid_rt {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring records are copied with plain assignment");

 public:
  // capacity is rounded up to a power of two so indices wrap with a mask.
  explicit SpscRing(std::size_t capacity) {
    if (capacity < 2) throw std::invalid_argument("SpscRing capacity must be >= 2");
    std::size_t rounded = 1;
    while (rounded < capacity) rounded <<= 1;
    slots_.resize(rounded);
    mask_ = rounded - 1;
  }

  // Producer thread only. Returns false (and counts an overflow) when full.
  bool push(const T& record) {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      overflows_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    slots_[head & mask_] = record;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Producer thread only, for large T: the next free slot to fill in place, then commit().
  // nullptr (and an overflow counted) when full. The slot holds an older record: write every
  // field a reader uses.
  T* claim() {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      overflows_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return &slots_[head & mask_];
  }
  void commit() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Producer thread only: the slot the next claim() would return (room or not), to prefetch it.
  const T* next_slot() const { return &slots_[head_.load(std::memory_order_relaxed) & mask_]; }

  // Consumer thread only: calls visit(record, i) on up to max_count records in place (no copy of the
  // whole record), then frees them; returns how many.
  template <typename Visit>
  std::size_t consume(std::size_t max_count, Visit&& visit) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t available = head_.load(std::memory_order_acquire) - tail;
    const std::size_t count = available < max_count ? static_cast<std::size_t>(available) : max_count;
    for (std::size_t i = 0; i < count; ++i) visit(static_cast<const T&>(slots_[(tail + i) & mask_]), i);
    tail_.store(tail + count, std::memory_order_release);
    return count;
  }

  // Consumer thread only. Copies up to max_count records into out; returns how many.
  std::size_t pop_into(T* out, std::size_t max_count) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t available = head_.load(std::memory_order_acquire) - tail;
    const std::size_t count = available < max_count ? static_cast<std::size_t>(available) : max_count;
    for (std::size_t i = 0; i < count; ++i) out[i] = slots_[(tail + i) & mask_];
    tail_.store(tail + count, std::memory_order_release);
    return count;
  }

  // Any thread: approximate while the other side runs. Tail is read first so a
  // concurrent pop cannot make the difference negative.
  std::size_t size() const {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(head_.load(std::memory_order_acquire) - tail);
  }
  std::size_t capacity() const { return mask_ + 1; }
  std::uint64_t overflows() const { return overflows_.load(std::memory_order_relaxed); }
  std::uint64_t pushed() const { return head_.load(std::memory_order_relaxed); }

 private:
  std::vector<T> slots_;  // sized in the constructor, never resized
  std::size_t mask_ = 0;
  alignas(64) std::atomic<std::uint64_t> head_{0};       // written by the producer
  alignas(64) std::atomic<std::uint64_t> tail_{0};       // written by the consumer
  alignas(64) std::atomic<std::uint64_t> overflows_{0};  // written by the producer
};

}  // namespace humanoid_rt
