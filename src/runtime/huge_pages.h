// Memory for a model's large, long-lived buffers (weights as loaded, weights packed by kernels): aligned to
// 2 MiB, with its whole 2 MiB pages advised onto transparent huge pages. First-touch page faults are then
// 512x rarer and the runs' TLB misses fewer. The tail past the last whole huge page stays on small
// pages: a huge page there would hold up to 2 MiB no weight uses (a 768x768 float matrix is 2.25 MiB).
//
// While a HugePageRecycling scope is alive (session creation), the whole pages of such buffers freed are kept
// and moved into the next buffers allocated instead of going back to the system. Creation frees each weight
// as loaded right after a kernel has packed it: the next packed weights then land on pages already faulted
// in, where fresh pages would have to be zeroed by the kernel first (that zeroing is most of creation's
// system time, and on a virtual machine its speed varies tenfold from run to run).
//
// Huge pages pay only when the system has them at hand. A virtual machine may hand its free 2 MiB blocks
// back to its host (virtio-balloon free page reporting); the first touch of such a block then waits for the
// host to fault in 512 pages again, 2-5 ms instead of 0.1 ms, where 512 small pages cost 0.6 ms (small pages
// come from blocks too fragmented to be handed back). So while a scope is alive, fresh huge pages are touched
// as they are handed out, one at a time, timed in the thread's CPU time: once one takes longer than
// slow_huge_page_fault(), the rest of the creation puts its fresh pages on small pages (the pages touched so
// far stay huge). When the creation ends, its buffers still alive are advised onto huge pages again, for the
// kernel to collapse their small pages in the background (khugepaged, within a minute or so).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "kestrel/tensor.h"

namespace kestrel::runtime {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;
inline constexpr size_t kSmallPageBytes = 4096;

// `n` rounded up to a multiple of `to`.
inline constexpr size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// `bytes` of uninitialized memory, owned by the returned pointer; throws std::bad_alloc when it cannot be had.
// The memory may hold the bytes of a buffer freed earlier in the process.
std::shared_ptr<void> allocate_on_huge_pages(size_t bytes);

// A tensor of weights whose every byte the caller writes next: not zero-filled, whatever its size (for a model's
// weights that is a pass over hundreds of MB), and on huge pages from 2 MiB on. Throws kRuntimeException when
// out of memory.
Tensor uninitialized_weights(ElementType type, const Shape& shape);

// Keeps the freed huge pages for the next allocate_on_huge_pages while alive (see above). Scopes may overlap
// (sessions created on several threads); the pages kept go back to the system when the last one ends.
class HugePageRecycling {
 public:
  HugePageRecycling();
  ~HugePageRecycling();
  HugePageRecycling(const HugePageRecycling&) = delete;
  HugePageRecycling& operator=(const HugePageRecycling&) = delete;
};

// Freed huge pages kept for reuse now (0 once no HugePageRecycling scope is alive).
size_t recycled_huge_pages();

// True once a fresh huge page was slow to touch while scopes were alive (see above); false again when the
// last scope ends.
bool small_pages_only();

// The first-touch time of a fresh huge page above which small pages are cheaper: 512 small page faults take
// about 0.6 ms. Settable for tests.
std::chrono::nanoseconds slow_huge_page_fault();
void set_slow_huge_page_fault(std::chrono::nanoseconds limit);

}  // namespace kestrel::runtime
