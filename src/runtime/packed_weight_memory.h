// Memory for the weights kernels pack at session creation (dnnl_common.h's PackedWeights, packed_gemm.h).
// Buffers of 2 MiB and more get huge pages of their own (huge_pages.h). Smaller ones, while a session is
// being created (a PackedWeightSlab scope is alive), are carved one after another out of shared 2 MiB huge
// pages: on 4 KiB pages each would cost a page fault and a zeroed page per 4 KiB on first touch, most of the
// time a kernel spends packing it (mobilenet_v2 packs 14 MB of such weights). Pages are shared only after the
// first 2 MiB of small weights (which take small pages), so that a model with few of them holds no half-used
// huge page; the unused tail of the last shared page goes back to the system when creation ends. Outside a
// scope, small buffers are plain aligned allocations.
#pragma once

#include <cstddef>
#include <memory>

namespace kestrel::runtime {

// `bytes` of uninitialized, 64-byte aligned memory, owned by the returned pointer (which may share a huge
// page with other such buffers); throws std::bad_alloc when it cannot be had.
std::shared_ptr<void> allocate_packed_weights(size_t bytes);

// Small packed weights share huge pages while alive. Scopes may overlap (sessions created on several
// threads); the page being filled is closed when the last one ends.
class PackedWeightSlab {
 public:
  PackedWeightSlab();
  ~PackedWeightSlab();
  PackedWeightSlab(const PackedWeightSlab&) = delete;
  PackedWeightSlab& operator=(const PackedWeightSlab&) = delete;
};

}  // namespace kestrel::runtime
