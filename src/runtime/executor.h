// Runs a Plan on a frame of slots, step after step, or (ExecutionMode::kParallel) independent steps at once on
// an InterOpPool. Each run leases a frame from its plan's pool and gives it back emptied, so
// concurrent runs of one plan never share mutable state and steady-state runs reuse every container (and every
// tensor's shape storage) instead of allocating.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/arena.h"
#include "runtime/memory_plan.h"
#include "runtime/plan.h"

namespace kestrel::runtime {

class Profiler;

// Helper threads for the parallel executor: each run also works on its own thread, so a pool of n - 1 helpers
// gives n steps at once. Each step's kernel still uses intra_op_num_threads OpenMP threads.
class InterOpPool {
 public:
  explicit InterOpPool(int helpers);
  ~InterOpPool();
  InterOpPool(const InterOpPool&) = delete;
  InterOpPool& operator=(const InterOpPool&) = delete;
  int helpers() const { return static_cast<int>(threads_.size()); }
  void submit(std::function<void()> task);

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

struct RunContext {
  int intra_op_threads = 1;
  Arena* arena = nullptr;  // null when the session's arena is off
  const std::atomic<bool>* terminate = nullptr;
  Profiler* profiler = nullptr;  // null when profiling is off
  size_t max_tensor_bytes = 0;    // the session's kestrel.max_tensor_bytes; 0: the process default
  InterOpPool* inter_op = nullptr;  // set for ExecutionMode::kParallel (main graph only)
  // Plan the run's memory per input-shape signature (memory_plan.h): the main graph's runs when the arena is
  // on. Subgraph runs take their buffers from the arena.
  bool plan_memory = false;
  int log_threshold = 2;  // the session's log_severity_level
};

// The per-run state of one plan: a value per slot, kept between runs (emptied) so its storage is reused.
struct Frame {
  std::vector<Value> slots;
  std::vector<char> present;
  std::vector<const Tensor*> bound;  // per slot: a caller's buffer for a graph output, written in place
  std::vector<char> fed;             // per plan input: fed in this run
  // Memory planning (main graph, arena on): this run's input-shape signature, and either the plan made for it
  // with the frame's block, or the recorder that measures this run to make one.
  std::vector<int64_t> signature;
  std::shared_ptr<const MemoryPlan> memory_plan;
  std::shared_ptr<PlannedBlock> block;
  std::shared_ptr<MemoryRecorder> recorder;
};

// Frames of one plan not in use by a run. Thread-safe.
class FramePool {
 public:
  std::unique_ptr<Frame> acquire(const Plan& plan);
  void give_back(std::unique_ptr<Frame> frame);

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Frame>> free_;
};

// One run of a plan on a leased frame: feed inputs, bind outputs, run, read outputs. The frame returns to the
// plan's pool, emptied (constants stay), when the run is destroyed, also after an error.
class PlanRun {
 public:
  explicit PlanRun(const Plan& plan);
  ~PlanRun();
  PlanRun(const PlanRun&) = delete;
  PlanRun& operator=(const PlanRun&) = delete;

  // Sets plan input `i` (a copy sharing the buffer).
  void feed(size_t i, const Value& value);
  bool fed(size_t i) const { return frame_->fed[i] != 0; }
  // Graph output `k` of the plan is to be written into `buffer` when a kernel allocates it with the same type
  // and shape. `buffer` must outlive execute().
  void bind_output(size_t k, const Tensor* buffer) { frame_->bound[plan_.output_slots[k]] = buffer; }
  // Runs every step; `parent_slots` supplies outer-scope values for subgraphs.
  void execute(const RunContext& run, const std::vector<Value>* parent_slots = nullptr);
  // Plan output `k` after execute().
  const Value& output(size_t k) const { return frame_->slots[plan_.output_slots[k]]; }

 private:
  void run_step(const Step& step, const RunContext& run);
  void execute_parallel(const RunContext& run);
  // Finds or starts the memory plan of this run's input shapes; after the run, makes the plan it recorded.
  void prepare_memory_plan();
  void finish_memory_plan(const RunContext& run);
  void copy_outputs_out_of_block();

  const Plan& plan_;
  std::unique_ptr<Frame> frame_;
};

// Runs `plan` once and returns the values of its output slots: for subgraphs (If, Loop, Scan...). `inputs` fill
// the plan's input slots in order; `parent_slots` supplies outer-scope values.
std::vector<Value> execute(const Plan& plan, std::vector<Value> inputs, const std::vector<Value>* parent_slots,
                           const RunContext& run);

}  // namespace kestrel::runtime
