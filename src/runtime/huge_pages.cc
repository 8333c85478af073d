// 2 MiB-aligned buffers advised onto transparent huge pages (see huge_pages.h).
#include "runtime/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>
#include <string>

#include "kestrel/error.h"

namespace kestrel::runtime {

std::shared_ptr<void> allocate_on_huge_pages(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, kHugePageBytes, bytes == 0 ? 1 : bytes) != 0 || !p) throw std::bad_alloc();
  // Advice only: without huge pages the buffer works the same.
  if (bytes >= kHugePageBytes) madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor uninitialized_weights(ElementType type, const Shape& shape) {
  const size_t bytes = static_cast<size_t>(shape_size(shape)) * element_size(type);
  if (type == ElementType::kString || bytes < kHugePageBytes) return Tensor(type, shape);
  try {
    return Tensor::adopt(type, shape, allocate_on_huge_pages(bytes));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kRuntimeException, "out of memory allocating a tensor of " + std::to_string(bytes) + " bytes");
  }
}

}  // namespace kestrel::runtime
