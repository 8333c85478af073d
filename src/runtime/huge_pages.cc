// 2 MiB-aligned buffers advised onto transparent huge pages (see huge_pages.h).
#include "runtime/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace kestrel::runtime {

std::shared_ptr<void> allocate_on_huge_pages(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, kHugePageBytes, bytes == 0 ? 1 : bytes) != 0 || !p) throw std::bad_alloc();
  // Advice only: without huge pages the buffer works the same.
  if (bytes >= kHugePageBytes) madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace kestrel::runtime
