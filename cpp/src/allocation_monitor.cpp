#include "humanoid_rt/allocation_monitor.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace humanoid_rt {
namespace {
thread_local bool tls_realtime = false;
std::atomic<std::uint64_t> g_realtime_allocations{0};

void* counted_malloc(std::size_t size) {
  if (tls_realtime) g_realtime_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned(std::size_t size, std::align_val_t alignment) {
  if (tls_realtime) g_realtime_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(alignment);
  const std::size_t rounded = (size + align - 1) / align * align;  // aligned_alloc needs a multiple
  return std::aligned_alloc(align, rounded == 0 ? align : rounded);
}
}  // namespace

void mark_current_thread_realtime(bool realtime) { tls_realtime = realtime; }
std::uint64_t realtime_allocations() { return g_realtime_allocations.load(std::memory_order_relaxed); }

}  // namespace humanoid_rt

// Replacements of the throwing and non-throwing forms. The default operator
// delete calls free(), which matches malloc and aligned_alloc, so delete is left alone.
void* operator new(std::size_t size) {
  if (void* p = humanoid_rt::counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return humanoid_rt::counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return humanoid_rt::counted_malloc(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* p = humanoid_rt::counted_aligned(size, alignment)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
