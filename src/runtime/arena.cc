// Size-classed block cache with a cap at the peak in-use size.
#include "runtime/arena.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace kestrel::runtime {

struct Arena::State {
  std::mutex mutex;
  struct CachedBlock {
    void* block;
    uint64_t released;  // when it came back (a count of releases): the cache evicts the longest idle first
  };
  std::map<size_t, std::vector<CachedBlock>> free_blocks;  // size class -> blocks, oldest first
  uint64_t releases = 0;
  size_t cached = 0;
  size_t in_use = 0;
  size_t peak_in_use = 0;
  bool open = true;  // false once the Arena is gone: blocks released later go back to the system

  ~State() {
    for (auto& [size, blocks] : free_blocks)
      for (const CachedBlock& b : blocks) std::free(b.block);
  }
};

namespace {

// Small blocks round to 64 bytes, larger ones to 4 KiB pages, so shapes that differ slightly share blocks.
size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t unit = bytes <= 16384 ? 64 : 4096;
  return (bytes + unit - 1) / unit * unit;
}

// Frees the cached block released longest ago (the cache is not empty).
void evict_longest_idle(Arena::State& state) {
  std::vector<Arena::State::CachedBlock>* oldest = nullptr;
  size_t oldest_cls = 0;
  for (auto& [cls, blocks] : state.free_blocks)
    if (!blocks.empty() && (!oldest || blocks.front().released < oldest->front().released)) {
      oldest = &blocks;
      oldest_cls = cls;
    }
  std::free(oldest->front().block);
  oldest->erase(oldest->begin());
  state.cached -= oldest_cls;
}

// Returns a block to its arena's cache, or to the system.
struct BlockRelease {
  std::weak_ptr<Arena::State> weak;
  size_t cls;
  void operator()(void* p) const {
    if (auto state = weak.lock()) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->in_use -= cls;
      // The cache stays within the largest working set seen: to keep this block, the blocks idle longest go
      // first. A run repeating the same requests releases every block it uses, so those stay and the ones no
      // run asks for leave, and steady-state runs stop missing the cache (a miss costs a malloc).
      if (state->open && cls <= Arena::kCacheLimit * state->peak_in_use) {
        while (state->cached + cls > Arena::kCacheLimit * state->peak_in_use) evict_longest_idle(*state);
        state->free_blocks[cls].push_back({p, state->releases++});
        state->cached += cls;
        return;
      }
    }
    std::free(p);
  }
};

}  // namespace

Arena::Arena() : state_(std::make_shared<State>()), control_blocks_(std::make_shared<ControlBlockPool>()) {}

Arena::~Arena() {
  shrink();
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->open = false;
}

std::shared_ptr<void> Arena::allocate(size_t bytes, bool zero_fill) {
  const size_t cls = size_class(bytes);
  void* block = nullptr;
  size_t block_cls = cls;  // the class of the block handed out: a cached one may be larger
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    // The smallest cached block of at least `cls` bytes, up to twice that. The cache holds at most one run's
    // peak working set, so with exact sizes only, most of a run's tensors would miss it every run (and, once
    // glibc trims its heap, fault in fresh pages); a larger block serves as well.
    for (auto it = state_->free_blocks.lower_bound(cls);
         it != state_->free_blocks.end() && it->first <= 2 * cls; ++it) {
      if (it->second.empty()) continue;
      block = it->second.back().block;  // the most recently released: likeliest still in cache
      it->second.pop_back();
      block_cls = it->first;
      state_->cached -= block_cls;
      break;
    }
    state_->in_use += block_cls;
    if (state_->in_use > state_->peak_in_use) state_->peak_in_use = state_->in_use;
  }
  if (!block) {
    block = std::aligned_alloc(64, cls);
    if (!block) {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->in_use -= cls;
      throw std::bad_alloc();
    }
  }
  if (zero_fill) std::memset(block, 0, cls);
  return std::shared_ptr<void>(block, BlockRelease{state_, block_cls}, PooledAllocator<char>(control_blocks_));
}

size_t Arena::cached_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->cached;
}

size_t Arena::peak_in_use_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->peak_in_use;
}

void Arena::shrink() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (auto& [size, blocks] : state_->free_blocks)
    for (const State::CachedBlock& b : blocks) std::free(b.block);
  state_->free_blocks.clear();
  state_->cached = 0;
}

void release_free_memory() { malloc_trim(0); }

}  // namespace kestrel::runtime
