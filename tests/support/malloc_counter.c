/* Counts every C-allocator allocation per thread, for tests/test_realtime_malloc.py.
 *
 * The core's allocation guard (cpp/src/allocation_monitor.cpp) replaces operator new inside the core
 * only; Eigen, eiquadprog, Pinocchio and MuJoCo can call malloc and friends directly. Loaded with
 * LD_PRELOAD, this library wraps malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign,
 * valloc and pvalloc (each forwards to the next definition, normally glibc's, found with
 * dlsym(RTLD_NEXT)) and counts the calls made by each thread. A test reads its own thread's count
 * with malloc_counter_thread_count() (ctypes) before and after a call into the core.
 *
 * Build: cc -shared -fPIC -O2 -o libmalloc_counter.so malloc_counter.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* initial-exec: a preloaded library's TLS is static, and reading it never allocates. */
static __thread unsigned long long thread_allocations __attribute__((tls_model("initial-exec")));

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef void (*free_fn)(void *);

static malloc_fn next_malloc;
static calloc_fn next_calloc;
static realloc_fn next_realloc;
static posix_memalign_fn next_posix_memalign;
static aligned_fn next_aligned_alloc, next_memalign;
static valloc_fn next_valloc, next_pvalloc;
static free_fn next_free;

/* dlsym may allocate while the wrappers are being resolved: those few calls are served from this
 * arena (never freed to the real allocator: free() ignores pointers into it). */
static _Alignas(64) unsigned char bootstrap_arena[64 * 1024];
static size_t bootstrap_used;
static int resolving;

static void *bootstrap_alloc(size_t size) {
  size_t start = (bootstrap_used + 63) & ~(size_t)63;
  if (start + size > sizeof bootstrap_arena) return NULL;
  bootstrap_used = start + size;
  return bootstrap_arena + start;
}

static int in_bootstrap(const void *p) {
  return (const unsigned char *)p >= bootstrap_arena && (const unsigned char *)p < bootstrap_arena + sizeof bootstrap_arena;
}

static void resolve(void) {
  if (next_malloc || resolving) return;
  resolving = 1;
  next_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
  next_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
  next_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
  next_aligned_alloc = (aligned_fn)dlsym(RTLD_NEXT, "aligned_alloc");
  next_memalign = (aligned_fn)dlsym(RTLD_NEXT, "memalign");
  next_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
  next_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
  next_free = (free_fn)dlsym(RTLD_NEXT, "free");
  next_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  resolving = 0;
}

unsigned long long malloc_counter_thread_count(void) { return thread_allocations; }

void *malloc(size_t size) {
  resolve();
  if (!next_malloc) return bootstrap_alloc(size);
  ++thread_allocations;
  return next_malloc(size);
}

void *calloc(size_t count, size_t size) {
  resolve();
  if (!next_calloc || resolving) {
    void *p = bootstrap_alloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
  }
  ++thread_allocations;
  return next_calloc(count, size);
}

void *realloc(void *p, size_t size) {
  resolve();
  ++thread_allocations;
  if (in_bootstrap(p)) { /* move a bootstrap block to the real heap */
    void *moved = next_malloc(size);
    if (moved) memcpy(moved, p, size);
    return moved;
  }
  return next_realloc(p, size);
}

void free(void *p) {
  if (in_bootstrap(p)) return;
  resolve();
  if (next_free) next_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  resolve();
  ++thread_allocations;
  return next_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  resolve();
  ++thread_allocations;
  return next_aligned_alloc(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
  resolve();
  ++thread_allocations;
  return next_memalign(alignment, size);
}

void *valloc(size_t size) {
  resolve();
  ++thread_allocations;
  return next_valloc(size);
}

void *pvalloc(size_t size) {
  resolve();
  ++thread_allocations;
  return next_pvalloc(size);
}
