// Runs a Plan on a per-run frame of slots. Sequential: steps run in plan order; each run owns its frame, so
// concurrent runs of one plan never share mutable state.
#pragma once

#include <atomic>
#include <functional>
#include <unordered_map>
#include <vector>

#include "runtime/arena.h"
#include "runtime/plan.h"

namespace kestrel::runtime {

class Profiler;

struct RunContext {
  // Caller-provided buffers for graph outputs of the main plan, by slot; kernels write into them in place.
  const std::unordered_map<int, Tensor>* bound_outputs = nullptr;
  int intra_op_threads = 1;
  Arena* arena = nullptr;  // null when the session's arena is off
  const std::atomic<bool>* terminate = nullptr;
  Profiler* profiler = nullptr;  // null when profiling is off
  size_t max_tensor_bytes = 0;    // the session's kestrel.max_tensor_bytes; 0: the process default
};

// Runs `plan`. `inputs` fill the plan's input slots (absent entries stay empty); `parent_slots` supplies
// outer-scope values for subgraphs. Returns the values of the plan's output slots.
std::vector<Value> execute(const Plan& plan, std::vector<Value> inputs, const std::vector<bool>& provided,
                           const std::vector<Value>* parent_slots, const RunContext& run);

}  // namespace kestrel::runtime
