// oneDNN engine, streams, thread scoping, scratch memory and packed-weights cache (see dnnl_common.h).
#include "providers/cpu/dnnl/dnnl_common.h"

#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <unordered_map>

#include "providers/cpu/dnnl/winograd_weights.h"
#include "runtime/huge_pages.h"
#include "runtime/packed_weight_memory.h"

namespace kestrel::cpu::dnnl_backend {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(engine());
  return s;
}


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
    const size_t rounded = runtime::round_up(bytes, 64);
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

dnnl::memory::dims to_dims(std::span<const int64_t> v) { return dnnl::memory::dims(v.begin(), v.end()); }

struct Executable::Bindings {
  std::vector<dnnl::memory> memory;  // run()'s arguments, then the scratchpad
  std::vector<dnnl_exec_arg_t> args;
};

struct Executable::State {
  dnnl::primitive primitive;
  dnnl::memory::desc scratchpad;
  size_t scratchpad_bytes = 0;
  std::vector<std::pair<int, dnnl::memory::desc>> args;
  std::vector<std::pair<int, dnnl::memory>> fixed;
  std::mutex mu;
  std::vector<std::unique_ptr<Bindings>> idle;  // sets not in use by a run

  std::unique_ptr<Bindings> take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        std::unique_ptr<Bindings> b = std::move(idle.back());
        idle.pop_back();
        return b;
      }
    }
    return make_bindings();
  }
  std::unique_ptr<Bindings> make_bindings() const {
    auto b = std::make_unique<Bindings>();
    for (const auto& [arg, desc] : args) {
      b->memory.emplace_back(desc, engine(), nullptr);
      b->args.push_back({arg, b->memory.back().get()});
    }
    if (scratchpad_bytes > 0) {
      b->memory.emplace_back(scratchpad, engine(), nullptr);
      b->args.push_back({DNNL_ARG_SCRATCHPAD, b->memory.back().get()});
    }
    for (const auto& [arg, memory] : fixed) b->args.push_back({arg, memory.get()});
    return b;
  }
  void give_back(std::unique_ptr<Bindings> b) {
    std::lock_guard<std::mutex> lock(mu);
    idle.push_back(std::move(b));  // within the capacity the first concurrent runs reached
  }
};

Executable::Executable(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad,
                       std::vector<std::pair<int, dnnl::memory::desc>> args,
                       std::vector<std::pair<int, dnnl::memory>> fixed)
    : state_(std::make_shared<State>()) {
  state_->primitive = std::move(primitive);
  state_->scratchpad = scratchpad;
  state_->scratchpad_bytes = scratchpad.get_size();
  state_->args = std::move(args);
  state_->fixed = std::move(fixed);
}

namespace {

// Points `memory` at `data`; set_data_handle only when it changed (oneDNN 2.6 builds an argument map inside it).
void point(const dnnl::memory& memory, const void* data) {
  if (memory.get_data_handle() != data) memory.set_data_handle(const_cast<void*>(data));
}

}  // namespace

void Executable::reserve_concurrent_runs(int runs) const {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  while (s.idle.size() < static_cast<size_t>(runs)) s.idle.push_back(s.make_bindings());
}

void Executable::run(std::initializer_list<const void*> data) const {
  State& s = *state_;
  std::unique_ptr<Bindings> b = s.take();
  struct GiveBack {
    State& s;
    std::unique_ptr<Bindings>& b;
    ~GiveBack() { s.give_back(std::move(b)); }
  } give_back{s, b};
  if (data.size() != s.args.size()) throw std::logic_error("Executable::run: wrong number of arguments");
  size_t i = 0;
  for (const void* d : data) point(b->memory[i++], d);
  if (s.scratchpad_bytes > 0) point(b->memory[i], thread_scratch(3, s.scratchpad_bytes));
  dnnl::stream& stream = thread_stream();
  dnnl::error::wrap_c_api(dnnl_primitive_execute(s.primitive.get(), stream.get(), static_cast<int>(b->args.size()),
                                                 b->args.data()),
                          "could not execute a primitive");
  stream.wait();
}

Reorder::Reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) : from_(from), to_(to) {
  if (from == to) return;
  const dnnl::reorder::primitive_desc pd(engine(), from, engine(), to, user_scratchpad_attr());
  executable_ = Executable(dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

void Reorder::run(const void* from, void* to, int threads) const {
  if (!executable_) {  // the layouts agree (e.g. channels-last and plain with one channel): a copy
    if (from != to) std::memcpy(to, from, from_.get_size());
    return;
  }
  ThreadScope team(threads_for(static_cast<int64_t>(from_.get_size()), threads));
  executable_.run({from, to});
}

const void* converted_input(const Reorder& conversion, const void* data, int threads) {
  if (!conversion) return data;
  void* converted = thread_scratch(0, conversion.to().get_size());
  conversion.run(data, converted, threads);
  return converted;
}

void* output_buffer(const Reorder& conversion, void* data) {
  return conversion ? thread_scratch(1, conversion.from().get_size()) : data;
}

void converted_output(const Reorder& conversion, const void* buffer, void* data, int threads) {
  if (conversion) conversion.run(buffer, data, threads);
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {

// The dimension of `md` (a dense blocked layout without padding offsets or extra data) whose outer index has
// the largest stride, spanning all the others: a range of its indices that starts at a multiple of its block
// is then one contiguous run of memory. Sets `block` to its inner block size (1 when not blocked); -1 when
// there is no such dimension.
int outermost_dim(const dnnl_memory_desc_t& md, dnnl_dim_t& block) {
  if (md.format_kind != dnnl_blocked || md.extra.flags != 0 || md.offset0 != 0) return -1;
  const dnnl_blocking_desc_t& blk = md.format_desc.blocking;
  dnnl_dim_t blocks[DNNL_MAX_NDIMS], total = 1;
  for (int d = 0; d < md.ndims; ++d) {
    blocks[d] = 1;
    if (md.padded_offsets[d] != 0) return -1;
    total *= md.padded_dims[d];
  }
  for (int i = 0; i < blk.inner_nblks; ++i) blocks[blk.inner_idxs[i]] *= blk.inner_blks[i];
  for (int d = 0; d < md.ndims; ++d)
    if (md.padded_dims[d] > blocks[d] && blk.strides[d] * (md.padded_dims[d] / blocks[d]) == total) {
      block = blocks[d];
      return d;
    }
  return -1;
}

// `md` cut to indices [0, n) of dimension d (its outermost): same strides, so it describes the first n
// indices in place, and, at an offset of (start / block) * strides[d] elements, any range of n from `start`.
dnnl::memory::desc leading_range(const dnnl_memory_desc_t& md, int d, dnnl_dim_t n, dnnl_dim_t block) {
  dnnl_memory_desc_t cut = md;
  cut.dims[d] = n;
  cut.padded_dims[d] = (n + block - 1) / block * block;
  return dnnl::memory::desc(cut);
}

// A heap buffer of at least `bytes`, aligned to 64 bytes, freed with its pointer.
std::unique_ptr<void, decltype(&std::free)> aligned_buffer(size_t bytes) {
  std::unique_ptr<void, decltype(&std::free)> buffer(std::aligned_alloc(64, runtime::round_up(bytes, 64)),
                                                     &std::free);
  if (!buffer) throw std::bad_alloc();
  return buffer;
}

// Reorders `src` into `dst` on a team of `threads` and waits. Scratch memory of a huge page or more (oneDNN's
// Winograd weights transform wants 4.6 MB for a 128 x 128 3x3 convolution) is given as whole huge pages that
// go back to the creation's recycled pages (huge_pages.h) when done: left to oneDNN, it was mapped and
// faulted in afresh for every weight (1150 page faults, a third of that transform's time). Less is taken from
// the heap, as oneDNN did: a fresh huge page for it could cost more than its small pages.
void reorder_weights(const dnnl::memory& src, const dnnl::memory& dst, int threads) {
  ThreadScope team(threads);  // oneDNN sizes a reorder's work split by the team it is made for
  const dnnl::reorder::primitive_desc pd(engine(), src.get_desc(), engine(), dst.get_desc(),
                                         user_scratchpad_attr());
  const size_t scratch_bytes = pd.scratchpad_desc().get_size();
  std::shared_ptr<void> scratch;
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  if (scratch_bytes >= runtime::kHugePageBytes)
    scratch = runtime::allocate_on_huge_pages(runtime::round_up(scratch_bytes, runtime::kHugePageBytes));
  else if (scratch_bytes > 0)
    scratch = aligned_buffer(scratch_bytes);
  if (scratch) args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(pd.scratchpad_desc(), engine(), scratch.get()));
  dnnl::reorder(pd).execute(thread_stream(), args);
  thread_stream().wait();
}

// Bytes of plain weights reordered at a time: small enough that a slab and its packed form stay in L2.
constexpr size_t kSlabBytes = 512 * 1024;

// Reorders the plain weights at `data` (any address; read with memcpy only) into `dst`, whose layout is
// `want`. Both layouts must share an outermost dimension: slabs of its indices are copied into an aligned
// buffer and reordered into their place, one reorder primitive for whole slabs and one for the last, the
// slabs split among the session's team when the weight is worth forking for (each thread its own buffer, the
// primitives running one thread each inside the region). Else the whole weight goes through one aligned
// buffer. The buffers are freed before returning.
void pack_unaligned(const dnnl::memory::desc& plain, const void* data, const dnnl::memory::desc& want,
                    void* dst) {
  dnnl_dim_t plain_block = 1, packed_block = 1;
  const int d = outermost_dim(plain.data, plain_block);
  const size_t elem = dnnl::memory::data_type_size(plain.data_type());
  const size_t out_elem = dnnl::memory::data_type_size(want.data_type());
  const size_t bytes = plain.get_size();
  const int team = threads_for(static_cast<int64_t>(want.get_size()), omp_get_max_threads());
  if (d < 0 || plain_block != 1 || outermost_dim(want.data, packed_block) != d) {
    const auto copy = aligned_buffer(bytes);
    std::memcpy(copy.get(), data, bytes);
    reorder_weights(dnnl::memory(plain, engine(), copy.get()), dnnl::memory(want, engine(), dst), team);
    return;
  }
  const dnnl_dim_t extent = plain.data.dims[d];
  const size_t row_bytes = static_cast<size_t>(plain.data.format_desc.blocking.strides[d]) * elem;
  // Whole blocks of the packed layout per slab, at least one.
  const dnnl_dim_t rows = std::min(
      extent,
      std::max<dnnl_dim_t>(1, static_cast<dnnl_dim_t>(kSlabBytes / row_bytes) / packed_block) * packed_block);
  const int64_t slabs = (extent + rows - 1) / rows;
  const int threads = static_cast<int>(std::min<int64_t>(team, slabs));
  const size_t slab_bytes = runtime::round_up(row_bytes * static_cast<size_t>(rows), 64);
  const auto buffers = aligned_buffer(slab_bytes * static_cast<size_t>(threads));
  const dnnl_dim_t tail = extent - (slabs - 1) * rows;
  const dnnl::memory::desc from = leading_range(plain.data, d, rows, 1),
                           to = leading_range(want.data, d, rows, packed_block);
  const dnnl::memory::desc tail_from = leading_range(plain.data, d, tail, 1),
                           tail_to = leading_range(want.data, d, tail, packed_block);
  // Each slab's reorder is made for and runs on one thread (the threads of the region below inherit this):
  // a team of one is no active region, and oneDNN would otherwise fork the session's whole team for each
  // small slab (under load, waiting milliseconds for a descheduled thread).
  ThreadScope one(1);
  const dnnl::reorder whole(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
  const dnnl::reorder last =
      tail == rows ? whole
                   : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), tail_from, engine(), tail_to));
  const size_t slab_stride =
      static_cast<size_t>(rows / packed_block * want.data.format_desc.blocking.strides[d]);
  bool failed = false;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(|| : failed)
  for (int64_t i = 0; i < slabs; ++i) {
    try {
      const bool is_last = i == slabs - 1;
      const dnnl_dim_t n = is_last ? tail : rows;
      char* buffer =
          static_cast<char*>(buffers.get()) + slab_bytes * static_cast<size_t>(omp_get_thread_num());
      std::memcpy(buffer, static_cast<const char*>(data) + static_cast<size_t>(i * rows) * row_bytes,
                  static_cast<size_t>(n) * row_bytes);
      dnnl::memory src(is_last ? tail_from : from, engine(), buffer);
      dnnl::memory out(is_last ? tail_to : to, engine(),
                       static_cast<char*>(dst) + static_cast<size_t>(i) * slab_stride * out_elem);
      (is_last ? last : whole).execute(thread_stream(), src, out);
      thread_stream().wait();
    } catch (const std::exception&) {
      failed = true;  // exceptions may not leave an OpenMP region
    }
  }
  if (failed) throw std::runtime_error("packing unaligned weights failed");
}

}  // namespace

dnnl::memory PackedWeights::get(const dnnl::memory::desc& want) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [desc, mem] : packed_)
    if (desc == want) return mem;
  dnnl::memory src = data_ ? dnnl::memory(plain_, engine(), const_cast<void*>(data_)) : packed_.front().second;
  // On huge pages (fewer page faults now, fewer TLB misses in every run; packed_weight_memory.h), kept for
  // the kernel's life.
  const size_t bytes = want.get_size();
  std::shared_ptr<void> storage = runtime::allocate_packed_weights(bytes);
  // A reorder writes the values, not necessarily the zeros of a blocked layout's padding.
  const dnnl_memory_desc_t& d = want.data;
  for (int i = 0; i < d.ndims; ++i)
    if (d.padded_dims[i] != d.dims[i]) {
      std::memset(storage.get(), 0, bytes);
      break;
    }
  dnnl::memory dst(want, engine(), storage.get());
  storage_.push_back(std::move(storage));
  if (data_ && want == plain_) {
    std::memcpy(dst.get_data_handle(), data_, plain_.get_size());
  } else if (data_ && makes_winograd_weights(plain_, want)) {
    // Faster than oneDNN's reorder to this layout, and no scratch copy (winograd_weights.h).
    make_winograd_weights(plain_, data_, want, dst.get_data_handle(),
                          threads_for(static_cast<int64_t>(bytes), omp_get_max_threads()));
  } else if (data_ &&
             reinterpret_cast<uintptr_t>(data_) % dnnl::memory::data_type_size(plain_.data_type()) != 0) {
    pack_unaligned(plain_, data_, want, dst.get_data_handle());
  } else {
    // The session's team for weights worth forking for, the calling thread alone for small ones.
    reorder_weights(src, dst, threads_for(static_cast<int64_t>(bytes), omp_get_max_threads()));
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
