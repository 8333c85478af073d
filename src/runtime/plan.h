// A compiled graph: one step per node in topological order, each with its kernel (created once) and the frame
// slots it reads and writes, plus the slot of every constant, input, output and outer-scope value. A Plan is
// read-only after compilation, so many runs may share it; its pool of run frames is the one thread-safe
// exception.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"

namespace kestrel::runtime {

class KernelRegistry;
class FramePool;
class MemoryPlanCache;

struct PlanOptions {
  bool reference_kernels_only = false;  // session config "kestrel.reference_kernels" = "1"
  const KernelRegistry* custom_kernels = nullptr;  // the session's custom ops, tried before the CPU registry
  Precision precision = Precision::kFp32;  // session config "kestrel.precision", after the CPU check
  // Op types (Conv, MatMul, Gemm; each covering its fused form) that stay fp32 at reduced precision: session
  // config "kestrel.precision.fp32_op_types".
  std::set<std::string> fp32_op_types;
  // Called (main graph only) for each initializer that every kernel reading it owns in its own form
  // (Kernel::owns_constant_input), right after the last of them is created: the plan has dropped it, and the
  // caller drops its own reference so that the memory goes.
  std::function<void(const ir::Value*)> release_constant;
};

struct Step {
  const ir::Node* node = nullptr;
  std::unique_ptr<Kernel> kernel;
  std::vector<int> inputs;   // slot per node input, -1 for an omitted one
  std::vector<int> outputs;  // slot per node output, -1 for an omitted one
  // Slots whose last reader is this step, and its outputs nothing reads (never a constant's: frames keep those).
  std::vector<int> release;
  std::vector<char> may_alias;  // per output: 1 when it may share an input's buffer (not a graph output)
  // Per input: 1 when its value dies with this step in either executor (reuse_input_as_output): the slot is
  // read by no later step and by no step that may still run beside this one, and by this step once; it is
  // no graph input, output, constant or outer-scope value.
  std::vector<char> overwritable;
  // For the parallel executor: the steps that read this step's outputs (each once), and how many distinct
  // steps this one reads from.
  std::vector<int> consumers;
  int producers = 0;
  std::vector<int> read_slots;  // distinct slots this step reads, explicit inputs and its subgraphs' outer reads
};

class Plan {
 public:
  Plan();
  ~Plan();
  const ir::Graph* graph = nullptr;
  std::vector<Step> steps;
  int num_slots = 0;
  std::vector<int> input_slots;   // graph inputs, in order
  std::vector<int> output_slots;  // graph outputs, in order
  std::vector<std::pair<int, std::shared_ptr<const Tensor>>> constants;  // initializers
  std::vector<std::pair<int, int>> outer;  // (slot here, slot in the enclosing plan) for outer-scope reads
  std::unordered_map<const ir::Value*, int> slot_of;
  std::vector<std::unique_ptr<Plan>> subplans;  // compiled bodies of this graph's control-flow nodes
  PlanOptions options;
  std::vector<char> is_constant;  // per slot
  // Per slot, for the parallel executor: how many steps read it, and whether it may be emptied after the last
  // of them (not a constant, not a graph output).
  std::vector<int> readers;
  std::vector<char> releasable;
  std::unique_ptr<FramePool> frames;  // per-run state, reused (executor.h)
  std::unique_ptr<MemoryPlanCache> memory_plans;  // by input-shape signature (memory_plan.h)
  // Every graph input is a tensor of fixed shape: runs have one signature, planned from the first run on.
  bool static_input_shapes = false;
};

// Compiles `graph`. `enclosing` is the plan of the graph that owns it (null for the main graph).
std::unique_ptr<Plan> compile_plan(const ir::Graph& graph, const Plan* enclosing, const PlanOptions& options = {});

}  // namespace kestrel::runtime
