// Process and thread set-up for the RT loop: SCHED_FIFO, CPU affinity,
// mlockall and stack prefaulting, each reported honestly when not permitted.
#pragma once

#include <string>

namespace humanoid_rt {

struct RealtimeSetupReport {
  bool cpu_dma_latency_zero = false;  // deep CPU idle states held off while the loop runs
  bool sched_fifo = false;
  int priority = 0;
  bool cpu_pinned = false;
  int cpu = -1;
  bool memory_locked = false;
  std::string notes;  // what could not be done and why, one sentence per item
};

// Writes 0 to /dev/cpu_dma_latency and keeps the file open (the PM QoS request lasts
// while it is open): CPUs stay out of idle states whose exit latency would delay
// the loop's wakeups, as cyclictest does. Returns the fd to close later, or -1.
int hold_cpu_dma_latency_zero(std::string& note);
void release_cpu_dma_latency(int fd);

// Locks current and future pages (MCL_CURRENT | MCL_FUTURE). Called from a non-RT thread before the loop starts.
bool lock_process_memory(std::string& note);
void unlock_process_memory();

// Applies SCHED_FIFO at `priority` (1..99; 0 = leave the policy) and pins to `cpu` (-1 = no pinning)
// for the calling thread, then touches `stack_bytes` of stack so the loop never page-faults on it.
void setup_current_thread(int priority, int cpu, RealtimeSetupReport& report);

// Sleeps until the absolute CLOCK_MONOTONIC time in nanoseconds, resuming after signals.
void sleep_until_ns(long long deadline_ns);
long long monotonic_now_ns();

}  // namespace humanoid_rt
