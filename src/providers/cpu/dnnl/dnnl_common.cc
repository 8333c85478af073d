// oneDNN engine, streams, thread scoping, scratch memory and packed-weights cache (see dnnl_common.h).
#include "providers/cpu/dnnl/dnnl_common.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>

#include "runtime/huge_pages.h"

namespace kestrel::cpu::dnnl_backend {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

ThreadScope::ThreadScope(int threads) : saved_(omp_get_max_threads()) {
  omp_set_num_threads(threads > 0 ? threads : 1);
}
ThreadScope::~ThreadScope() { omp_set_num_threads(saved_); }

namespace {

struct ScratchSlot {
  void* data = nullptr;
  size_t size = 0;
  ~ScratchSlot() { std::free(data); }
};

}  // namespace

void* thread_scratch(int slot, size_t bytes) {
  thread_local ScratchSlot slots[4];
  ScratchSlot& s = slots[slot];
  if (bytes > s.size) {
    std::free(s.data);
    const size_t rounded = (bytes + 63) / 64 * 64;
    s.data = std::aligned_alloc(64, rounded);
    if (!s.data) {
      s.size = 0;
      throw std::bad_alloc();
    }
    s.size = rounded;
  }
  return s.data;
}

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  return rank < 7 ? tags[rank] : tag::undef;
}

dnnl::memory::dims to_dims(const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); }

InputConversion::InputConversion(const dnnl::memory::desc& user, const dnnl::memory::desc& want)
    : from(user), to(want), reorder(dnnl::reorder::primitive_desc(engine(), user, engine(), want)) {}

dnnl::memory converted_input(const std::optional<InputConversion>& conversion, const dnnl::memory::desc& src,
                             const void* data, int threads) {
  if (!conversion) return dnnl::memory(src, engine(), const_cast<void*>(data));
  dnnl::memory user(conversion->from, engine(), const_cast<void*>(data));
  dnnl::memory converted(conversion->to, engine(), thread_scratch(0, conversion->to.get_size()));
  ThreadScope team(threads_for(static_cast<int64_t>(conversion->from.get_size()), threads));
  conversion->reorder.execute(thread_stream(), user, converted);
  return converted;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory PackedWeights::get(const dnnl::memory::desc& want) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [desc, mem] : packed_)
    if (desc == want) return mem;
  dnnl::memory src = data_ ? dnnl::memory(plain_, engine(), const_cast<void*>(data_)) : packed_.front().second;
  // Large weights go on huge pages (fewer page faults now, fewer TLB misses in every run); oneDNN allocates the
  // small ones. Both are kept for the kernel's life.
  const size_t bytes = want.get_size();
  std::shared_ptr<void> storage;
  if (bytes >= runtime::kHugePageBytes) {
    storage = runtime::allocate_on_huge_pages(bytes);
    // A reorder writes the values, not necessarily the zeros of a blocked layout's padding.
    const dnnl_memory_desc_t& d = want.data;
    for (int i = 0; i < d.ndims; ++i)
      if (d.padded_dims[i] != d.dims[i]) {
        std::memset(storage.get(), 0, bytes);
        break;
      }
  }
  dnnl::memory dst = storage ? dnnl::memory(want, engine(), storage.get()) : dnnl::memory(want, engine());
  storage_.push_back(std::move(storage));
  if (data_ && want == plain_) {
    std::memcpy(dst.get_data_handle(), data_, plain_.get_size());
  } else {
    // The session's team for weights worth forking for, the calling thread alone for small ones.
    ThreadScope team(threads_for(static_cast<int64_t>(bytes), omp_get_max_threads()));
    dnnl::reorder(src, dst).execute(thread_stream(), src, dst);
    thread_stream().wait();
  }
  packed_.emplace_back(want, dst);
  return dst;
}

bool PackedWeights::release_plain() {
  std::lock_guard<std::mutex> lock(mu_);
  if (packed_.empty()) return false;
  data_ = nullptr;
  return true;
}

void execute(const dnnl::primitive& prim, const dnnl::memory::desc& scratchpad,
             std::unordered_map<int, dnnl::memory> args) {
  const size_t bytes = scratchpad.get_size();
  if (bytes > 0)
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratchpad, engine(), thread_scratch(3, bytes)));
  prim.execute(thread_stream(), args);
  thread_stream().wait();
}

}  // namespace kestrel::cpu::dnnl_backend
