// Size-classed block cache with a cap at the peak in-use size.
#include "runtime/arena.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace kestrel::runtime {

struct Arena::State {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  size_t cached = 0;
  size_t in_use = 0;
  size_t peak_in_use = 0;

  ~State() {
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
  }
};

namespace {

// Small blocks round to 64 bytes, larger ones to 4 KiB pages, so shapes that differ slightly share blocks.
size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t unit = bytes <= 16384 ? 64 : 4096;
  return (bytes + unit - 1) / unit * unit;
}

}  // namespace

Arena::Arena() : state_(std::make_shared<State>()) {}

std::shared_ptr<void> Arena::allocate(size_t bytes, bool zero_fill) {
  const size_t cls = size_class(bytes);
  void* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto it = state_->free_blocks.find(cls);
    if (it != state_->free_blocks.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      state_->cached -= cls;
    }
    state_->in_use += cls;
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
  std::weak_ptr<State> weak = state_;
  return std::shared_ptr<void>(block, [weak, cls](void* p) {
    if (auto state = weak.lock()) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->in_use -= cls;
      // Keep the block only while the cache stays within the largest working set seen.
      if (state->cached + cls <= state->peak_in_use) {
        state->free_blocks[cls].push_back(p);
        state->cached += cls;
        return;
      }
    }
    std::free(p);
  });
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
    for (void* p : blocks) std::free(p);
  state_->free_blocks.clear();
  state_->cached = 0;
}

void release_free_memory() { malloc_trim(0); }

}  // namespace kestrel::runtime
