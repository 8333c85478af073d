// Small packed weights carved out of shared huge pages during session creation (see packed_weight_memory.h).
#include "runtime/packed_weight_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>

#include "runtime/huge_pages.h"

namespace kestrel::runtime {
namespace {

constexpr size_t kAlignment = 64;

struct Slab {
  std::mutex mu;
  int scopes = 0;
  std::shared_ptr<void> page;  // the huge page being filled (it lives on while buffers in it do), or null
  size_t used = 0;             // bytes of `page` handed out
  size_t seen = 0;             // bytes of small packed weights asked for while scopes were alive
};

Slab& slab() {
  static auto* s = new Slab;  // never destroyed: buffers may be freed during exit
  return *s;
}

// Stops filling the current page: the small pages past its buffers go back to the system (the kernel splits
// the huge page), so a half-used page holds no more memory than its buffers.
void close_page(Slab& s) {
  if (!s.page) return;
  const size_t start = round_up(s.used, kSmallPageBytes);
  if (start < kHugePageBytes)
    madvise(static_cast<char*>(s.page.get()) + start, kHugePageBytes - start, MADV_DONTNEED);
  s.page.reset();
  s.used = 0;
}

}  // namespace

std::shared_ptr<void> allocate_packed_weights(size_t bytes) {
  const size_t size = std::max(kAlignment, round_up(bytes, kAlignment));
  if (size >= kHugePageBytes) return allocate_on_huge_pages(bytes);
  {
    Slab& s = slab();
    std::lock_guard<std::mutex> lock(s.mu);
    // Pages are shared only once a huge page's worth of small weights has been asked for: a model with fewer
    // would hold more memory in its one half-used huge page than it saves in page faults.
    s.seen += s.scopes > 0 ? size : 0;
    if (s.scopes > 0 && s.seen > kHugePageBytes) {
      if (!s.page || s.used + size > kHugePageBytes) {
        close_page(s);
        s.page = allocate_on_huge_pages(kHugePageBytes);
      }
      void* p = static_cast<char*>(s.page.get()) + s.used;
      s.used += size;
      return std::shared_ptr<void>(s.page, p);  // keeps the page alive
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

PackedWeightSlab::PackedWeightSlab() {
  Slab& s = slab();
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.scopes;
}

PackedWeightSlab::~PackedWeightSlab() {
  Slab& s = slab();
  std::lock_guard<std::mutex> lock(s.mu);
  if (--s.scopes == 0) {
    close_page(s);
    s.seen = 0;
  }
}

}  // namespace kestrel::runtime
