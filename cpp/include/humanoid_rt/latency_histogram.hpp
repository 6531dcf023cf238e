// Log-linear histogram of durations in nanoseconds, written by one thread
// (the RT loop) and read by any other at any time without locks.
//
// Buckets are exact below 64 ns, then 32 per power of two (at most 3 %
// relative width) up to 2^43 ns (about 2.4 h): 1,248 counters, enough to quote
// p50/p99/p99.9 of wakeup latency and compute time honestly. The writer uses
// relaxed atomics only; a reader may see a sample in the count before it sees
// it in max, which does not matter for statistics.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace humanoid_rt {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int kLinearLimit = 2 << kSubBucketBits;  // 64: values below are their own bucket
  static constexpr int kOctaves = 37;
  static constexpr int kBuckets = kLinearLimit + kOctaves * (1 << kSubBucketBits);

  // Writer thread only. One writer: a relaxed load and store per counter, not a read-modify-write
  // (fetch_add is a locked instruction on x86, four of them per sample on the RT thread's path, twice
  // a cycle); readers still see each counter whole.
  void record(std::int64_t ns) {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    increment(counts_[bucket_of(v)], 1);
    increment(total_, 1);
    increment(sum_ns_, v);
    if (v > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(v, std::memory_order_relaxed);
  }

  // Writer thread only, or while the writer is stopped.
  void reset() {
    for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
    total_.store(0, std::memory_order_relaxed);
    sum_ns_.store(0, std::memory_order_relaxed);
    max_ns_.store(0, std::memory_order_relaxed);
  }

  // Any thread.
  std::uint64_t count() const { return total_.load(std::memory_order_relaxed); }
  std::uint64_t max_ns() const { return max_ns_.load(std::memory_order_relaxed); }
  double mean_ns() const {
    const auto n = count();
    return n == 0 ? 0.0 : static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / static_cast<double>(n);
  }

  // Any thread: the upper edge of the bucket holding the q-quantile (0 < q <= 1) by
  // the nearest-rank definition (the ceil(q n)-th smallest sample), capped at the
  // exact maximum so p100 == max and never below a sample in the overflow bucket.
  double quantile_ns(double q) const {
    std::array<std::uint64_t, kBuckets> snapshot;
    std::uint64_t n = 0;
    for (int i = 0; i < kBuckets; ++i) {
      snapshot[i] = counts_[i].load(std::memory_order_relaxed);
      n += snapshot[i];
    }
    if (n == 0) return 0.0;
    const auto rank = static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(n) - 1e-9)));
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += snapshot[i];
      if (seen >= rank) {
        if (i == kBuckets - 1) return static_cast<double>(max_ns());  // the last bucket is open-ended
        return std::min(static_cast<double>(upper_edge(i)), static_cast<double>(max_ns()));
      }
    }
    return static_cast<double>(max_ns());
  }

  static int bucket_of(std::uint64_t v) {
    if (v < static_cast<std::uint64_t>(kLinearLimit)) return static_cast<int>(v);
    const int exponent = 63 - __builtin_clzll(v);  // >= 6
    const int shift = exponent - kSubBucketBits;
    const int mantissa = static_cast<int>(v >> shift) - (1 << kSubBucketBits);  // 0..31
    const int index = kLinearLimit + (exponent - kSubBucketBits - 1) * (1 << kSubBucketBits) + mantissa;
    return std::min(index, kBuckets - 1);
  }

  // Largest value that falls into bucket i.
  static std::uint64_t upper_edge(int i) {
    if (i < kLinearLimit) return static_cast<std::uint64_t>(i);
    const int octave = (i - kLinearLimit) >> kSubBucketBits;
    const int mantissa = ((i - kLinearLimit) & ((1 << kSubBucketBits) - 1)) + (1 << kSubBucketBits);
    const int shift = octave + 1;
    return ((static_cast<std::uint64_t>(mantissa) + 1) << shift) - 1;
  }

 private:
  static void increment(std::atomic<std::uint64_t>& counter, std::uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> max_ns_{0};
};

}  // namespace humanoid_rt
