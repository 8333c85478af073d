// The memory plan of a graph for one input-shape signature: every intermediate tensor a run allocates gets an
// offset in one block, tensors whose lifetimes overlap never share bytes, and steady-state runs take their
// buffers from that block instead of the arena (issue #4, item 4).
//
// A plan is made from a recorded run, not from inferred shapes: kernels decide at run time whether an output
// is a new buffer or a view of an input, and views, sequences and subgraphs may keep a buffer alive past its
// slot's last reader. A signature's first run takes its buffers from the arena; its second run (its first
// when every input shape of the model is fixed) does too while a MemoryRecorder notes, for each buffer, the
// step that asked for it, its size, and the step during or after which its last reference went; the plan
// packs those lifetimes, and the runs after that hand the k-th request of each step the region planned for
// it.
//
// A plan is a prediction, so each region is checked as it is handed out: a region is given only when no
// region sharing its bytes is still referenced (a data-dependent op that kept a buffer longer than in the
// recorded run, a tensor that escaped the run); otherwise that request falls back to the arena. Graph outputs
// are never planned: they go to the caller's bound buffer or to the arena, so what a run returns never lives
// in the block.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "runtime/control_block_pool.h"

namespace kestrel::runtime {

// A buffer to place: its size and the steps it is alive in, both ends included.
struct BufferLifetime {
  size_t bytes = 0;
  int first_step = 0;
  int last_step = 0;
};

struct BufferLayout {
  std::vector<size_t> offsets;  // per buffer, multiples of kPlanAlignment
  size_t size = 0;              // the block's size
};

inline constexpr size_t kPlanAlignment = 64;

// Greedy by size, best fit: the largest buffers are placed first, each in the smallest gap left between the
// placed buffers it may not share memory with (or past the last of them). Two buffers may share memory when
// their lifetimes are disjoint and, if `ordered` is given, ordered(earlier, later) holds: the parallel
// executor passes "every step of `earlier`'s lifetime finishes before `later`'s first step starts".
BufferLayout pack_buffers(std::span<const BufferLifetime> buffers,
                          const std::function<bool(size_t earlier, size_t later)>& ordered = {});

// The plan of one signature: which region each allocation request of each step gets.
struct MemoryPlan {
  size_t block_bytes = 0;          // the block's size
  size_t tensor_bytes = 0;         // the planned buffers' sizes summed (what separate buffers would hold)
  std::vector<int> step_requests;  // per step, its first request in request_buffer; one more entry at the end
  std::vector<int> request_buffer;      // per request, its planned buffer, or -1 when the arena serves it
  std::vector<BufferLifetime> buffers;  // per buffer: its size and the steps it lived in when recorded
  std::vector<size_t> offset;           // per buffer
};

// Notes the buffers one run allocates and when each goes. Thread-safe.
class MemoryRecorder : public std::enable_shared_from_this<MemoryRecorder> {
 public:
  // `block`, wrapped so that its release is noted; `step` asked for it.
  std::shared_ptr<void> record(int step, size_t bytes, std::shared_ptr<void> block);
  // Releases from now on happen during or after `step`.
  void set_step(int step) { step_.store(step, std::memory_order_relaxed); }
  // The plan of the recorded run; buffers still referenced now are left to the arena. Ends the recording.
  std::shared_ptr<const MemoryPlan> finish(
      size_t num_steps,
      const std::function<bool(const BufferLifetime& earlier, const BufferLifetime& later)>& ordered = {});

 private:
  struct Entry {
    int step;
    size_t bytes;
    int released = -1;  // -1: still referenced
  };
  void released(size_t index);

  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::atomic<int> step_{0};
  bool open_ = true;
};

// One run frame's block and which of its planned regions are referenced. Shared by the frame and every tensor
// carved from it, so a tensor that outlives its run keeps the memory it points to.
class PlannedBlock : public std::enable_shared_from_this<PlannedBlock> {
 public:
  PlannedBlock(size_t bytes, size_t buffers);
  PlannedBlock(const PlannedBlock&) = delete;
  PlannedBlock& operator=(const PlannedBlock&) = delete;
  size_t capacity() const { return capacity_; }
  size_t buffer_capacity() const { return buffers_; }
  // The region planned for the `request`-th plannable allocation of `step`, or null when the plan has none
  // for it, it asks for more than was planned, or a region sharing its bytes is still referenced.
  std::shared_ptr<void> take(const MemoryPlan& plan, int step, int request, size_t bytes, bool zero_fill);
  // True while some region is referenced.
  bool in_use() const;
  // The block's base address, for tests.
  const void* base() const { return memory_.get(); }

 private:
  struct RegionRelease {
    std::shared_ptr<PlannedBlock> block;
    size_t begin;
    void operator()(void*) const;
  };
  struct Range {
    size_t begin, end;
  };

  std::shared_ptr<void> memory_;
  size_t capacity_;
  size_t buffers_;
  // The byte ranges of the regions referenced now: few at a time (the tensors alive at one step), so a
  // hand-out checks them all rather than a per-plan list of which buffers share bytes, which grows with the
  // square of the buffer count. Reserved for every buffer of the plan, so it never grows during a run.
  std::vector<Range> live_;
  mutable std::mutex mutex_;  // hand-outs and releases may come from several threads (parallel executor)
  std::shared_ptr<ControlBlockPool> control_blocks_;
};

// The plans of one compiled graph, by input-shape signature; the least recently used goes past kCapacity.
// Signatures are planned from their second run on: a shape seen once stays with the arena, so a workload
// whose shapes change every run neither records nor drops the arena's cache each time. Thread-safe.
class MemoryPlanCache {
 public:
  static constexpr size_t kCapacity = 16;
  static constexpr size_t kSeenCapacity = 64;
  std::shared_ptr<const MemoryPlan> find(std::span<const int64_t> signature);
  // True when `signature` (not planned) ran before, among the last kSeenCapacity such; notes it otherwise.
  bool seen_before(std::span<const int64_t> signature);
  void insert(std::span<const int64_t> signature, std::shared_ptr<const MemoryPlan> plan);
  size_t size();

 private:
  uint64_t seen_[kSeenCapacity] = {};  // hashes of signatures run once, a ring
  size_t seen_next_ = 0;
  struct Entry {
    std::vector<int64_t> signature;
    std::shared_ptr<const MemoryPlan> plan;
    uint64_t used;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace kestrel::runtime
