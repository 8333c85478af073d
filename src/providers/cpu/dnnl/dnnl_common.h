// The one place that knows oneDNN: the CPU engine, per-thread streams and scratch memory, thread-count
// scoping, and the caches every oneDNN-backed kernel shares (primitives per input-shape signature, weights
// prepacked per layout). A later move to oneDNN 3.x or to own microkernels touches this folder only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/kernel.h"
#include "runtime/thread_scope.h"

namespace kestrel::cpu::dnnl_backend {

// The process-wide CPU engine.
dnnl::engine& engine();
// A stream for the calling thread (streams are cheap but not free; one per thread is reused).
dnnl::stream& thread_stream();

// The calling thread's OpenMP team size for oneDNN (which reads omp_get_max_threads()) over a scope.
using ThreadScope = runtime::ThreadScope;

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
dnnl::memory::dims to_dims(std::span<const int64_t> v);

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
  // `plain` describes the weights as given (plain layout, data pointer valid for the kernel's life). The data
  // may sit at an address not aligned for its elements (a view on a model file,
  // runtime/unaligned_constants.h): it is then read with memcpy only, a slab of whole rows at a time, each
  // slab reordered from an aligned buffer into its place in the packed copy (pack_unaligned), so no aligned
  // copy of the whole weight is made.
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

// Orders dim lists, so that a cache keyed by Shape is searched with a span over a stack array (building no
// Shape per run).
struct DimsLess {
  using is_transparent = void;
  bool operator()(std::span<const int64_t> a, std::span<const int64_t> b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

// Shape-signature cache: key -> immutable entry, created once under a lock. `get` takes any key `Less`
// compares with Key and a callable making the entry, so a lookup allocates nothing.
template <typename Key, typename Entry, typename Less = std::less<>>
class PrimitiveCache {
 public:
  template <typename Make>
  std::shared_ptr<const Entry> get(const Key& key, Make&& make) {
    return get<Key, Make>(key, std::forward<Make>(make));
  }
  template <typename Lookup, typename Make>
  std::shared_ptr<const Entry> get(const Lookup& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    std::shared_ptr<const Entry> entry = make();
    if constexpr (std::is_constructible_v<Key, const Lookup&>)
      entries_.emplace(Key(key), entry);
    else
      entries_.emplace(Key(key.begin(), key.end()), entry);
    return entry;
  }

 private:
  std::mutex mu_;
  std::map<Key, std::shared_ptr<const Entry>, Less> entries_;
};

// A primitive run many times, by several threads at once, without allocating: the memory objects of its
// arguments are made at the first runs (one set per concurrent caller, reused after) and pointed at each run's
// buffers, and oneDNN is called through its C API with a plain array (the C++ wrapper builds a std::vector per
// call). What dnnl_primitive_execute allocates inside (its own argument map, the scratchpad grantor) is oneDNN
// 2.6's and no caller can avoid it.
class Executable {
 public:
  Executable() = default;
  // `args`: the arguments each run points at its own buffers (DNNL_ARG_*, memory descriptor), in the order
  // run() takes their data; `fixed`: arguments whose memory stays (packed weights, a constant bias).
  Executable(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad,
             std::vector<std::pair<int, dnnl::memory::desc>> args,
             std::vector<std::pair<int, dnnl::memory>> fixed = {});
  explicit operator bool() const { return state_ != nullptr; }
  // Runs on the calling thread's stream (scratchpad in scratch slot 3) and waits for it.
  void run(std::initializer_list<const void*> data) const;
  // Makes the argument bindings of `runs` concurrent runs now, so that runs on that many threads at once
  // allocate nothing (otherwise the first run that meets another one makes its own set).
  void reserve_concurrent_runs(int runs) const;

 private:
  struct Bindings;
  struct State;
  std::shared_ptr<State> state_;
};

// A reorder of one tensor between two layouts (memory format and/or data type), run without allocating; empty
// when the layouts agree.
class Reorder {
 public:
  Reorder() = default;
  Reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);
  explicit operator bool() const { return static_cast<bool>(executable_); }
  const dnnl::memory::desc& from() const { return from_; }
  const dnnl::memory::desc& to() const { return to_; }
  // Reorders `from` into `to` on a team of up to `threads`, sized by the bytes moved (copies them when the
  // layouts agree).
  void run(const void* from, void* to, int threads) const;
  void reserve_concurrent_runs(int runs) const {
    if (executable_) executable_.reserve_concurrent_runs(runs);
  }

 private:
  dnnl::memory::desc from_, to_;
  Executable executable_;
};

// The user's side of a primitive's src and dst: what the primitive reads is `data` itself without a conversion,
// else `data` reordered into per-thread scratch (slot 0); what it writes is the output itself, or scratch (slot
// 1) that converted_output then reorders into the output.
const void* converted_input(const Reorder& conversion, const void* data, int threads);
void* output_buffer(const Reorder& conversion, void* data);
void converted_output(const Reorder& conversion, const void* buffer, void* data, int threads);

// Runs `prim` with `args`, handing it a per-thread scratchpad when its descriptor asks for one (scratch slot
// 3). Allocates per call (memory objects, the argument map): for primitives made per run; cached ones use an
// Executable.
void execute(const dnnl::primitive& prim, const dnnl::memory::desc& scratchpad,
             std::unordered_map<int, dnnl::memory> args);

}  // namespace kestrel::cpu::dnnl_backend
