// Process and thread set-up for the RT loop: SCHED_FIFO, CPU affinity,
// mlockall and stack prefaulting, each reported honestly when not permitted.
#pragma once

#include <string>

namespace humanoid_rt {

struct RealtimeSetupReport {
  bool sched_fifo = false;
  int priority = 0;
  bool cpu_pinned = false;
  int cpu = -1;
  bool memory_locked = false;
  std::string notes;  // what could not be done and why, one sentence per item
};

// Locks current and future pages (MCL_CURRENT | MCL_FUTURE). Called from a non-RT thread before the loop starts.
bool lock_process_memory(std::string& note);

// Applies SCHED_FIFO at `priority` (1..99; 0 = leave the policy) and pins to `cpu` (-1 = no pinning)
// for the calling thread, then touches `stack_bytes` of stack so the loop never page-faults on it.
void setup_current_thread(int priority, int cpu, RealtimeSetupReport& report);

// Sleeps until the absolute CLOCK_MONOTONIC time in nanoseconds, resuming after signals.
void sleep_until_ns(long long deadline_ns);
long long monotonic_now_ns();

}  // namespace humanoid_rt
