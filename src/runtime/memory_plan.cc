// Interval packing of tensor lifetimes, the recorder that measures them, the per-frame block and the plan cache.
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
      if (conflict(i, j)) taken.emplace_back(layout.offsets[j], layout.offsets[j] + padded_size(buffers[j].bytes));
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
  return std::shared_ptr<void>(p, [self = shared_from_this(), index, block = std::move(block)](void*) {
    self->released(index);
  });
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
  plan->overlap_begin.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    const size_t begin = plan->offset[i], end = begin + padded_size(plan->buffers[i].bytes);
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const size_t b = plan->offset[j], e = b + padded_size(plan->buffers[j].bytes);
      if (b < end && begin < e) plan->overlaps.push_back(static_cast<int>(j));
    }
    plan->overlap_begin.push_back(static_cast<int>(plan->overlaps.size()));
  }
  return plan;
}

PlannedBlock::PlannedBlock(size_t bytes, size_t buffers)
    : capacity_(padded_size(bytes)),
      buffers_(buffers),
      live_(std::make_unique<std::atomic<uint8_t>[]>(std::max<size_t>(buffers, 1))),
      control_blocks_(std::make_shared<ControlBlockPool>()) {
  if (capacity_ >= kHugePageBytes) {
    memory_ = allocate_on_huge_pages(capacity_);
  } else {
    void* p = std::aligned_alloc(kPlanAlignment, capacity_);
    if (!p) throw std::bad_alloc();
    memory_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  for (size_t i = 0; i < std::max<size_t>(buffers, 1); ++i) live_[i].store(0, std::memory_order_relaxed);
}

std::shared_ptr<void> PlannedBlock::take(const MemoryPlan& plan, int step, int request, size_t bytes,
                                         bool zero_fill) {
  if (step < 0 || static_cast<size_t>(step) + 1 >= plan.step_requests.size()) return {};
  const int first = plan.step_requests[step];
  if (request >= plan.step_requests[step + 1] - first) return {};
  const int buffer = plan.request_buffer[first + request];
  if (buffer < 0 || static_cast<size_t>(buffer) >= buffers_ || bytes > plan.buffers[buffer].bytes ||
      plan.offset[buffer] + padded_size(plan.buffers[buffer].bytes) > capacity_)
    return {};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (live_[buffer].load(std::memory_order_acquire)) return {};
    for (int k = plan.overlap_begin[buffer]; k < plan.overlap_begin[buffer + 1]; ++k)
      if (live_[plan.overlaps[k]].load(std::memory_order_acquire)) return {};
    live_[buffer].store(1, std::memory_order_relaxed);
    live_count_.fetch_add(1, std::memory_order_relaxed);
  }
  void* p = static_cast<char*>(memory_.get()) + plan.offset[buffer];
  if (zero_fill && bytes) std::memset(p, 0, bytes);
  return std::shared_ptr<void>(p, RegionRelease{shared_from_this(), buffer}, PooledAllocator<char>(control_blocks_));
}

void PlannedBlock::RegionRelease::operator()(void*) const {
  // Whoever takes an overlapping region next reads this flag with acquire: this tensor's last reads and writes
  // happen before that region's first.
  block->live_[buffer].store(0, std::memory_order_release);
  block->live_count_.fetch_sub(1, std::memory_order_release);
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
