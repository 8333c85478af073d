// 2 MiB-aligned buffers advised onto transparent huge pages, and the recycling of their pages during session
// creation (see huge_pages.h).
#include "runtime/huge_pages.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "kestrel/error.h"

namespace kestrel::runtime {
namespace {

// At most this many freed pages are kept (128 MiB): creation frees a weight and soon allocates its packed form,
// so a handful suffice, and a model whose optimizer frees more than it allocates does not hold it all until the
// end of creation.
constexpr size_t kMaxRecycledPages = 64;

// Twice the time of 512 small page faults (0.6 ms); a quick huge page fault zeroes 2 MiB in about 0.1 ms.
std::atomic<int64_t> slow_fault_ns{1'200'000};

// Freed whole huge pages, each a mapping of its own whose content is stale; kept while a scope is alive.
struct RecycledPages {
  std::mutex mu;
  int scopes = 0;
  std::vector<char*> pages;
  bool small_pages = false;  // a fresh huge page was slow to touch while scopes were alive
  // Buffers made while scopes are alive and not freed yet: base -> bytes of whole huge pages.
  std::unordered_map<char*, size_t> made;
};

RecycledPages& recycled() {
  static auto* pool = new RecycledPages;  // never destroyed: buffers may be freed during exit
  return *pool;
}

// Takes up to `wanted` kept pages.
std::vector<char*> take_pages(size_t wanted) {
  RecycledPages& pool = recycled();
  std::lock_guard<std::mutex> lock(pool.mu);
  const size_t n = std::min(wanted, pool.pages.size());
  std::vector<char*> taken(pool.pages.end() - static_cast<std::ptrdiff_t>(n), pool.pages.end());
  pool.pages.resize(pool.pages.size() - n);
  return taken;
}

// Frees a buffer of `length` bytes (a multiple of the small page) at `base`; its whole huge pages are kept
// instead when a scope is alive and there is room.
void release(char* base, size_t length) {
  const size_t whole = length >= kHugePageBytes ? length / kHugePageBytes * kHugePageBytes : 0;
  size_t kept = 0;
  if (whole > 0) {
    RecycledPages& pool = recycled();
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.made.erase(base);
    if (pool.scopes > 0) {
      for (; kept < whole && pool.pages.size() < kMaxRecycledPages; kept += kHugePageBytes)
        pool.pages.push_back(base + kept);
    }
  }
  if (kept < length) munmap(base + kept, length - kept);
}

// Maps `length` bytes (a multiple of the small page) at a 2 MiB boundary, untouched.
char* map_aligned(size_t length) {
  const size_t reserve = length + kHugePageBytes;
  void* p = mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  char* start = static_cast<char*>(p);
  char* aligned = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(start), kHugePageBytes));
  if (aligned > start) munmap(start, static_cast<size_t>(aligned - start));
  char* end = start + reserve;
  if (end > aligned + length) munmap(aligned + length, static_cast<size_t>(end - (aligned + length)));
  return aligned;
}

// Whether scopes are alive, and whether fresh pages go on small pages for now.
std::pair<bool, bool> creation_state() {
  RecycledPages& pool = recycled();
  std::lock_guard<std::mutex> lock(pool.mu);
  return {pool.scopes > 0, pool.small_pages};
}

// The calling thread's CPU time: a fault waiting for the host counts, time other threads ran on the CPU does
// not (a loaded machine would otherwise make every fault look slow).
int64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// Touches the `count` fresh huge pages at `pages` one at a time, as long as each is quick to fault in; after
// a slow one, the rest go on small pages, and so do the fresh pages of later buffers while scopes are alive.
void touch_while_huge_pages_pay(char* pages, size_t count) {
  const int64_t limit = slow_fault_ns.load(std::memory_order_relaxed);
  for (size_t i = 0; i < count; ++i) {
    volatile char* page = pages + i * kHugePageBytes;
    const int64_t start = thread_cpu_ns();
    *page = 0;  // the memory is uninitialized for the caller: any byte may be written
    if (thread_cpu_ns() - start <= limit) continue;
    if (i + 1 < count)
      madvise(pages + (i + 1) * kHugePageBytes, (count - i - 1) * kHugePageBytes, MADV_NOHUGEPAGE);
    RecycledPages& pool = recycled();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.scopes > 0) pool.small_pages = true;
    return;
  }
}

}  // namespace

std::shared_ptr<void> allocate_on_huge_pages(size_t bytes) {
  const size_t length = round_up(bytes == 0 ? 1 : bytes, kSmallPageBytes);
  const size_t whole_pages = length / kHugePageBytes;
  char* base = map_aligned(length);
  if (whole_pages > 0) {
    const auto [creating, small_pages] = creation_state();
    // Advice only: without huge pages the buffer works the same.
    madvise(base, whole_pages * kHugePageBytes, small_pages ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    // Kept pages replace the fresh ones (mremap moves the page tables; nothing is copied or zeroed). One that
    // cannot move is freed, and its place keeps the fresh page.
    std::vector<char*> reused = take_pages(whole_pages);
    for (size_t i = 0; i < reused.size(); ++i) {
      void* moved = mremap(reused[i], kHugePageBytes, kHugePageBytes, MREMAP_MAYMOVE | MREMAP_FIXED,
                           base + i * kHugePageBytes);
      if (moved == MAP_FAILED) munmap(reused[i], kHugePageBytes);
    }
    // During creation every byte of these buffers is written (weights): touching the pages now costs nothing
    // more, and tells whether huge pages still pay.
    if (creating && !small_pages)
      touch_while_huge_pages_pay(base + reused.size() * kHugePageBytes, whole_pages - reused.size());
    if (creating) {
      RecycledPages& pool = recycled();
      std::lock_guard<std::mutex> lock(pool.mu);
      pool.made[base] = whole_pages * kHugePageBytes;
    }
  }
  return std::shared_ptr<void>(base, [length](void* q) { release(static_cast<char*>(q), length); });
}

Tensor uninitialized_weights(ElementType type, const Shape& shape) {
  const size_t bytes = static_cast<size_t>(shape_size(shape)) * element_size(type);
  if (type == ElementType::kString) return Tensor(type, shape);
  auto out_of_memory = [bytes] {
    return Error(ErrorCode::kRuntimeException, "out of memory allocating a tensor of " + std::to_string(bytes) + " bytes");
  };
  if (bytes < kHugePageBytes) {
    // 64-byte aligned as every tensor's buffer is (the size rounded up as aligned_alloc requires).
    void* p = std::aligned_alloc(64, std::max<size_t>(64, round_up(bytes, 64)));
    if (!p) throw out_of_memory();
    return Tensor::adopt(type, shape, std::shared_ptr<void>(p, [](void* q) { std::free(q); }));
  }
  try {
    return Tensor::adopt(type, shape, allocate_on_huge_pages(bytes));
  } catch (const std::bad_alloc&) {
    throw out_of_memory();
  }
}

HugePageRecycling::HugePageRecycling() {
  RecycledPages& pool = recycled();
  std::lock_guard<std::mutex> lock(pool.mu);
  ++pool.scopes;
}

HugePageRecycling::~HugePageRecycling() {
  std::vector<char*> pages;
  {
    RecycledPages& pool = recycled();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (--pool.scopes == 0) {
      pages.swap(pool.pages);
      // Buffers left on small pages get huge pages later from the kernel's background collapsing
      // (khugepaged), which now copies them off the creation's path. Under the lock: a buffer being freed
      // leaves `made` before it is unmapped.
      if (pool.small_pages)
        for (const auto& [base, bytes] : pool.made) madvise(base, bytes, MADV_HUGEPAGE);
      pool.made.clear();
      pool.small_pages = false;
    }
  }
  for (char* page : pages) munmap(page, kHugePageBytes);
}

size_t recycled_huge_pages() {
  RecycledPages& pool = recycled();
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.pages.size();
}

bool small_pages_only() { return creation_state().second; }

std::chrono::nanoseconds slow_huge_page_fault() {
  return std::chrono::nanoseconds(slow_fault_ns.load(std::memory_order_relaxed));
}

void set_slow_huge_page_fault(std::chrono::nanoseconds limit) {
  slow_fault_ns.store(limit.count(), std::memory_order_relaxed);
}

}  // namespace kestrel::runtime
