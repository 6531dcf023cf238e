#include "humanoid_rt/realtime_thread.hpp"

#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace humanoid_rt {

namespace {
constexpr std::size_t kPrefaultStackBytes = 512 * 1024;

// Touch the stack now so the first cycles do not take page faults on it.
__attribute__((noinline)) void prefault_stack() {
  unsigned char buffer[kPrefaultStackBytes];
  for (std::size_t i = 0; i < kPrefaultStackBytes; i += 4096) buffer[i] = 0;
  asm volatile("" : : "r"(buffer) : "memory");  // keep the writes: the point is the page faults
}
}  // namespace

int hold_cpu_dma_latency_zero(std::string& note) {
  const int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    note += "cannot open /dev/cpu_dma_latency (" + std::string(std::strerror(errno)) +
            "): deep CPU idle states may add wakeup latency. ";
    return -1;
  }
  const std::int32_t zero = 0;
  if (write(fd, &zero, sizeof(zero)) != static_cast<ssize_t>(sizeof(zero))) {
    note += "writing /dev/cpu_dma_latency failed (" + std::string(std::strerror(errno)) + "). ";
    close(fd);
    return -1;
  }
  return fd;
}

void release_cpu_dma_latency(int fd) {
  if (fd >= 0) close(fd);
}

bool lock_process_memory(std::string& note) {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0) return true;
  const int err = errno;
  rlimit limit{};
  getrlimit(RLIMIT_MEMLOCK, &limit);
  note += "mlockall failed (" + std::string(std::strerror(err)) + "; RLIMIT_MEMLOCK soft=" +
          (limit.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_cur)) +
          "): pages may fault during the loop; run as root or raise memlock in /etc/security/limits.conf. ";
  return false;
}

void unlock_process_memory() { munlockall(); }

void setup_current_thread(int priority, int cpu, RealtimeSetupReport& report) {
  if (priority > 0) {
    sched_param param{};
    param.sched_priority = priority;
    const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
    if (err == 0) {
      report.sched_fifo = true;
      report.priority = priority;
    } else {
      report.notes += "SCHED_FIFO priority " + std::to_string(priority) + " refused (" + std::strerror(err) +
                      "): the loop runs under SCHED_OTHER; run as root or grant CAP_SYS_NICE / rtprio. ";
    }
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (err == 0) {
      report.cpu_pinned = true;
      report.cpu = cpu;
    } else {
      report.notes += "pinning to CPU " + std::to_string(cpu) + " refused (" + std::strerror(err) + "). ";
    }
  }
  prefault_stack();
}

void sleep_until_ns(long long deadline_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(deadline_ns / 1000000000LL);
  ts.tv_nsec = static_cast<long>(deadline_ns % 1000000000LL);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

long long monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

}  // namespace humanoid_rt
