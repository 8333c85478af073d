// The one place that knows oneDNN: the CPU engine, per-thread streams and scratch memory, thread-count
// scoping, and the caches every oneDNN-backed kernel shares (primitives per input-shape signature, weights
// prepacked per layout). A later move to oneDNN 3.x or to own microkernels touches this folder only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/kernel.h"

namespace kestrel::cpu::dnnl_backend {

// The process-wide CPU engine.
dnnl::engine& engine();
// A stream for the calling thread (streams are cheap but not free; one per thread is reused).
dnnl::stream& thread_stream();

// Sets the calling thread's OpenMP team size for oneDNN (which reads omp_get_max_threads()) and restores it.
// omp_set_num_threads only changes the calling thread's setting, so concurrent runs do not interfere.
class ThreadScope {
 public:
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

// The team size worth forking for `work` multiply-adds (or bytes moved, for reorders): every parallel region
// costs a fork and a join, which on a loaded machine can mean waiting a whole scheduler slice for the other
// thread, so small operations run on the calling thread alone.
inline int threads_for(int64_t work, int threads) { return work < (int64_t{1} << 20) ? 1 : threads; }

// Per-thread, 64-byte-aligned scratch memory for reorders and oneDNN scratchpads (slot 0..3). Primitives run
// with scratchpad_mode::user so that one primitive can execute on several threads at once (Debian's oneDNN is
// built without DNNL_ENABLE_CONCURRENT_EXEC, so library-owned scratchpads would be shared).
void* thread_scratch(int slot, size_t bytes);

// Plain row-major format tag for a rank (a, ab, abc, ...).
dnnl::memory::format_tag plain_tag(size_t rank);
dnnl::memory::dims to_dims(const std::vector<int64_t>& v);

// The data type a heavy op hands oneDNN for its activations and weights at a session precision (outputs and
// bias stay f32 either way).
inline dnnl::memory::data_type compute_type(runtime::Precision precision) {
  return precision == runtime::Precision::kBf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

// True for oneDNN's reference implementations ("ref:..."), which are correct but many times slower than fp32's
// real kernels: a bf16 primitive that only has one is made in f32 instead.
inline bool is_reference_impl(const char* impl_info) { return std::string(impl_info).rfind("ref", 0) == 0; }

// Attributes every primitive here is made with.
dnnl::primitive_attr user_scratchpad_attr();

// Weights reordered into whatever layouts the primitives asked for, once per layout (usually one).
// Thread-safe.
class PackedWeights {
 public:
  // `plain` describes the weights as given (plain layout, data pointer valid for the kernel's life).
  PackedWeights(dnnl::memory::desc plain, const void* data) : plain_(std::move(plain)), data_(data) {}
  // The weights in layout `want` (reordered on first use).
  dnnl::memory get(const dnnl::memory::desc& want);
  // Stops reading the plain weights (their owner may free them): layouts asked for later are reordered from
  // the first packed copy. False, changing nothing, when no layout has been packed yet.
  bool release_plain();

 private:
  dnnl::memory::desc plain_;
  const void* data_;
  std::mutex mu_;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> packed_;
  std::vector<std::shared_ptr<void>> storage_;  // the buffers behind packed_ that Kestrel allocated
};

// Shape-signature cache: key -> immutable entry, created once under a lock.
template <typename Key, typename Entry>
class PrimitiveCache {
 public:
  std::shared_ptr<const Entry> get(const Key& key,
                                   const std::function<std::shared_ptr<const Entry>()>& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    auto entry = make();
    entries_.emplace(key, entry);
    return entry;
  }

 private:
  std::mutex mu_;
  std::map<Key, std::shared_ptr<const Entry>> entries_;
};

// An f32 activation converted on its way into a reduced-precision primitive (bf16 precision): a reorder from
// the user's f32 layout `from` to the primitive's `to` (data type, and layout when they differ).
struct InputConversion {
  dnnl::memory::desc from, to;
  dnnl::reorder reorder;
  InputConversion(const dnnl::memory::desc& user, const dnnl::memory::desc& want);
};

// The memory a primitive reads as its src: `data` itself (desc `src`) without a conversion, else `data`
// converted into per-thread scratch (slot 0), using the calling thread's team when the tensor is large.
dnnl::memory converted_input(const std::optional<InputConversion>& conversion, const dnnl::memory::desc& src,
                             const void* data, int threads);

// Runs `prim` with `args`, handing it a per-thread scratchpad when its descriptor asks for one (scratch slot
// 3).
void execute(const dnnl::primitive& prim, const dnnl::memory::desc& scratchpad,
             std::unordered_map<int, dnnl::memory> args);

}  // namespace kestrel::cpu::dnnl_backend
