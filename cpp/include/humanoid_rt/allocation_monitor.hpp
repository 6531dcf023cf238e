// Counts heap allocations made by threads that declared themselves real-time.
//
// The RT loop must never allocate; instead of trusting review alone, the
// core replaces global operator new (inside this library only) with one that
// forwards to malloc and, on a thread marked real-time, counts the call. The
// loop thread (and the thread running step()) is marked while it runs cycles;
// the count is in the loop statistics, and a test asserts it stays zero.
#pragma once

#include <cstdint>

namespace humanoid_rt {

// Marks or unmarks the calling thread as real-time.
void mark_current_thread_realtime(bool realtime);

// Allocations made so far by threads while marked real-time (any thread may read).
std::uint64_t realtime_allocations();

// RAII: marks the calling thread real-time for a scope.
class RealtimeScope {
 public:
  RealtimeScope() { mark_current_thread_realtime(true); }
  ~RealtimeScope() { mark_current_thread_realtime(false); }
  RealtimeScope(const RealtimeScope&) = delete;
  RealtimeScope& operator=(const RealtimeScope&) = delete;
};

}  // namespace humanoid_rt
