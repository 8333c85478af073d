// Memory for a model's large, long-lived buffers (weights as loaded, weights packed by kernels): 2 MiB-aligned,
// with its whole 2 MiB pages advised onto transparent huge pages. First-touch page faults are then 512x rarer
// and the runs' TLB misses fewer. The tail past the last whole huge page stays on small pages: a huge page there
// would hold up to 2 MiB no weight uses (a 768x768 float matrix is 2.25 MiB).
#pragma once

#include <cstddef>
#include <memory>

#include "kestrel/tensor.h"

namespace kestrel::runtime {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` of uninitialized memory, owned by the returned pointer; throws std::bad_alloc when it cannot be had.
std::shared_ptr<void> allocate_on_huge_pages(size_t bytes);

// A tensor of weights whose every byte the caller writes next: not zero-filled (for a model's weights that is a
// pass over hundreds of MB), and on huge pages from 2 MiB on. Throws kRuntimeException when out of memory.
Tensor uninitialized_weights(ElementType type, const Shape& shape);

}  // namespace kestrel::runtime
