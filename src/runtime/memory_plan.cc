// Interval packing of tensor lifetimes, the recorder that measures them, the per-frame block and the plan
// cache.
#include "runtime/memory_plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "runtime/huge_pages.h"

namespace kestrel::runtime {
namespace {

size_t padded_size(size_t bytes) {
  return std::max(kPlanAlignment, (bytes + kPlanAlignment - 1) / kPlanAlignment * kPlanAlignment);
}

}  // namespace

BufferLayout pack_buffers(std::span<const BufferLifetime> buffers,
                          const std::function<bool(size_t earlier, size_t later)>& ordered) {
  const size_t n = buffers.size();
  BufferLayout layout;
  layout.offsets.assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t sa = padded_size(buffers[a].bytes), sb = padded_size(buffers[b].bytes);
    return sa != sb ? sa > sb : buffers[a].first_step < buffers[b].first_step;
  });
  auto conflict = [&](size_t i, size_t j) {
    const BufferLifetime& a = buffers[i];
    const BufferLifetime& b = buffers[j];
    if (a.last_step < b.first_step) return ordered ? !ordered(i, j) : false;
    if (b.last_step < a.first_step) return ordered ? !ordered(j, i) : false;
    return true;
  };
  std::vector<size_t> placed;
  std::vector<std::pair<size_t, size_t>> taken;  // [begin, end) of the placed buffers `i` may not share with
  for (size_t i : order) {
    const size_t need = padded_size(buffers[i].bytes);
    taken.clear();
    for (size_t j : placed)
      if (conflict(i, j))
        taken.emplace_back(layout.offsets[j], layout.offsets[j] + padded_size(buffers[j].bytes));
    std::sort(taken.begin(), taken.end());
    size_t best = std::numeric_limits<size_t>::max();
    size_t best_gap = std::numeric_limits<size_t>::max();
    size_t cursor = 0;  // end of the taken bytes seen so far
    for (const auto& [begin, end] : taken) {
      if (begin > cursor && begin - cursor >= need && begin - cursor < best_gap) {
        best = cursor;
        best_gap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    if (best == std::numeric_limits<size_t>::max()) best = cursor;
    layout.offsets[i] = best;
    layout.size = std::max(layout.size, best + need);
    placed.push_back(i);
  }
  return layout;
}

std::shared_ptr<void> MemoryRecorder::record(int step, size_t bytes, std::shared_ptr<void> block) {
  size_t index;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    index = entries_.size();
    entries_.push_back({step, bytes});
  }
  void* p = block.get();
  return std::shared_ptr<void>(
      p, [self = shared_from_this(), index, block = std::move(block)](void*) { self->released(index); });
}

void MemoryRecorder::released(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_) entries_[index].released = step_.load(std::memory_order_relaxed);
}

std::shared_ptr<const MemoryPlan> MemoryRecorder::finish(
    size_t num_steps, const std::function<bool(const BufferLifetime&, const BufferLifetime&)>& ordered) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  auto plan = std::make_shared<MemoryPlan>();
  // Requests are numbered per step in the order the step made them, as runs with the plan count them.
  plan->step_requests.assign(num_steps + 1, 0);
  for (const Entry& e : entries_)
    if (e.step >= 0 && static_cast<size_t>(e.step) < num_steps) ++plan->step_requests[e.step + 1];
  for (size_t s = 0; s < num_steps; ++s) plan->step_requests[s + 1] += plan->step_requests[s];
  plan->request_buffer.assign(plan->step_requests.back(), -1);
  std::vector<int> next(plan->step_requests.begin(), plan->step_requests.end() - 1);
  std::vector<BufferLifetime> lifetimes;
  for (const Entry& e : entries_) {
    if (e.step < 0 || static_cast<size_t>(e.step) >= num_steps) continue;
    const int request = next[e.step]++;
    if (e.released < 0) continue;  // outlived the run: not the block's to hold
    plan->request_buffer[request] = static_cast<int>(lifetimes.size());
    lifetimes.push_back({e.bytes, e.step, std::max(e.released, e.step)});
  }
  std::function<bool(size_t, size_t)> order;
  if (ordered) order = [&](size_t a, size_t b) { return ordered(lifetimes[a], lifetimes[b]); };
  const BufferLayout layout = pack_buffers(lifetimes, order);
  plan->offset = layout.offsets;
  plan->buffers = std::move(lifetimes);
  plan->block_bytes = layout.size;
  const size_t n = plan->buffers.size();
  for (size_t i = 0; i < n; ++i) plan->tensor_bytes += padded_size(plan->buffers[i].bytes);
  return plan;
}

PlannedBlock::PlannedBlock(size_t bytes, size_t buffers)
    : capacity_(padded_size(bytes)),
      buffers_(buffers),
      control_blocks_(std::make_shared<ControlBlockPool>()) {
  if (capacity_ >= kHugePageBytes) {
    memory_ = allocate_on_huge_pages(capacity_);
  } else {
    void* p = std::aligned_alloc(kPlanAlignment, capacity_);
    if (!p) throw std::bad_alloc();
    memory_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  live_.reserve(buffers);
}

bool PlannedBlock::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !live_.empty();
}

std::shared_ptr<void> PlannedBlock::take(const MemoryPlan& plan, int step, int request, size_t bytes,
                                         bool zero_fill) {
  if (step < 0 || static_cast<size_t>(step) + 1 >= plan.step_requests.size()) return {};
  const int first = plan.step_requests[step];
  if (request >= plan.step_requests[step + 1] - first) return {};
  const int buffer = plan.request_buffer[first + request];
  if (buffer < 0 || static_cast<size_t>(buffer) >= buffers_ || bytes > plan.buffers[buffer].bytes) return {};
  const Range range{plan.offset[buffer], plan.offset[buffer] + padded_size(plan.buffers[buffer].bytes)};
  if (range.end > capacity_) return {};
  {
    // The mutex orders this hand-out after the release of any region that shared these bytes: that tensor's
    // last reads and writes happen before this one's first.
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Range& r : live_)
      if (r.begin < range.end && range.begin < r.end) return {};
    live_.push_back(range);
  }
  void* p = static_cast<char*>(memory_.get()) + range.begin;
  if (zero_fill && bytes) std::memset(p, 0, bytes);
  return std::shared_ptr<void>(p, RegionRelease{shared_from_this(), range.begin},
                               PooledAllocator<char>(control_blocks_));
}

void PlannedBlock::RegionRelease::operator()(void*) const {
  std::lock_guard<std::mutex> lock(block->mutex_);
  auto& live = block->live_;
  for (size_t i = 0; i < live.size(); ++i)
    if (live[i].begin == begin) {  // live regions never share bytes, so their starts are distinct
      live[i] = live.back();
      live.pop_back();
      return;
    }
}

std::shared_ptr<const MemoryPlan> MemoryPlanCache::find(std::span<const int64_t> signature) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& e : entries_)
    if (std::equal(e.signature.begin(), e.signature.end(), signature.begin(), signature.end())) {
      e.used = ++clock_;
      return e.plan;
    }
  return nullptr;
}

bool MemoryPlanCache::seen_before(std::span<const int64_t> signature) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a over the values, never 0 (0 marks an empty entry)
  for (int64_t v : signature) hash = (hash ^ static_cast<uint64_t>(v)) * 1099511628211ull;
  hash |= 1;
  std::lock_guard<std::mutex> lock(mutex_);
  for (uint64_t h : seen_)
    if (h == hash) return true;
  seen_[seen_next_] = hash;
  seen_next_ = (seen_next_ + 1) % kSeenCapacity;
  return false;
}

void MemoryPlanCache::insert(std::span<const int64_t> signature, std::shared_ptr<const MemoryPlan> plan) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& e : entries_)
    if (std::equal(e.signature.begin(), e.signature.end(), signature.begin(), signature.end())) return;
  if (entries_.size() >= kCapacity) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const Entry& a, const Entry& b) { return a.used < b.used; });
    entries_.erase(oldest);
  }
  entries_.push_back({std::vector<int64_t>(signature.begin(), signature.end()), std::move(plan), ++clock_});
}

size_t MemoryPlanCache::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace kestrel::runtime
