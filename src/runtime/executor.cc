// The sequential executor and the KernelContext it hands to kernels.
#include "runtime/executor.h"

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "runtime/profiler.h"
#include "runtime/tensor_limit.h"

namespace kestrel::runtime {
namespace {

// A 64-byte aligned heap block, not zero-filled (the arena is off).
std::shared_ptr<void> allocate_unfilled(size_t bytes) {
  const size_t padded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, padded);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

class StepContext final : public KernelContext {
 public:
  StepContext(const Step& step, std::vector<Value>& slots, std::vector<char>& present, const RunContext& run)
      : step_(step), slots_(slots), present_(present), run_(run) {}

  size_t num_inputs() const override { return step_.inputs.size(); }
  size_t num_outputs() const override { return step_.outputs.size(); }
  bool has_input(size_t i) const override {
    return i < step_.inputs.size() && step_.inputs[i] >= 0 && present_[step_.inputs[i]];
  }
  const Value& input_value(size_t i) const override {
    if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
    return slots_[step_.inputs[i]];
  }
  bool has_output(size_t i) const override { return i < step_.outputs.size() && step_.outputs[i] >= 0; }
  void set_output(size_t i, Value value) override {
    if (i >= step_.outputs.size()) fail("kernel wrote output " + std::to_string(i) + " which the node lacks");
    if (step_.outputs[i] < 0) {  // omitted optional output: kept aside, then dropped
      scratch_ = std::move(value);
      return;
    }
    slots_[step_.outputs[i]] = std::move(value);
    present_[step_.outputs[i]] = 1;
  }
  Tensor& allocate_output(size_t i, ElementType type, Shape shape) override {
    return allocate(i, type, std::move(shape), true);
  }
  Tensor& allocate_uninitialized_output(size_t i, ElementType type, Shape shape) override {
    return allocate(i, type, std::move(shape), false);
  }
  bool may_alias_output(size_t i) const override { return i < step_.may_alias.size() && step_.may_alias[i]; }
  Value& output_value(size_t i) override {
    if (!has_output(i)) return scratch_;
    return slots_[step_.outputs[i]];
  }
  std::vector<Value> run_subgraph(const Plan& plan, std::vector<Value> inputs) const override {
    std::vector<bool> provided(inputs.size(), true);
    RunContext inner = run_;
    inner.bound_outputs = nullptr;  // bound buffers belong to the main graph's outputs only
    return execute(plan, std::move(inputs), provided, &slots_, inner);
  }
  int intra_op_threads() const override { return run_.intra_op_threads; }
  bool terminated() const override { return run_.terminate && run_.terminate->load(std::memory_order_relaxed); }
  const ir::Node& node() const override { return *step_.node; }

 private:
  Tensor& allocate(size_t i, ElementType type, Shape shape, bool zero_fill) {
    // The session's limit travels with the run, so an output allocated on any thread (a kernel's OpenMP worker)
    // is held to it, not only those allocated on the thread that called Session::run.
    const ScopedTensorLimit limit(run_.max_tensor_bytes);
    if (run_.bound_outputs && has_output(i) && type != ElementType::kString) {
      auto it = run_.bound_outputs->find(step_.outputs[i]);
      if (it != run_.bound_outputs->end() && it->second.type() == type && it->second.shape() == shape) {
        Tensor bound = it->second;
        if (zero_fill && bound.bytes()) std::memset(bound.raw_data(), 0, bound.bytes());
        set_output(i, Value(bound));
        return output_value(i).tensor();
      }
    }
    if (type == ElementType::kString) return KernelContext::allocate_output(i, type, std::move(shape));
    // Oversized requests take the normal path, which reports the usual size error.
    const int64_t count = shape_size(shape);
    if (static_cast<uint64_t>(count) > Tensor::max_tensor_bytes() / element_size(type))
      return KernelContext::allocate_output(i, type, std::move(shape));  // throws the usual size error
    const size_t bytes = static_cast<size_t>(count) * element_size(type);
    std::shared_ptr<void> block;
    if (run_.arena) {
      block = run_.arena->allocate(bytes, zero_fill);
    } else {
      if (zero_fill) {
        try {
          return KernelContext::allocate_output(i, type, std::move(shape));
        } catch (const Error& e) {
          // The tensor reports running out of memory; the error names the node that asked, as the other
          // allocation paths' std::bad_alloc does (caught where the step runs).
          if (e.code() != ErrorCode::kRuntimeException) throw;
          throw Error(e.code(), step_.node->describe() + ": " + e.what());
        }
      }
      block = allocate_unfilled(bytes);
    }
    set_output(i, Value(Tensor::adopt(type, std::move(shape), std::move(block))));
    return output_value(i).tensor();
  }

  const Step& step_;
  std::vector<Value>& slots_;
  std::vector<char>& present_;
  const RunContext& run_;
  Value scratch_;
};

}  // namespace

std::vector<Value> execute(const Plan& plan, std::vector<Value> inputs, const std::vector<bool>& provided,
                           const std::vector<Value>* parent_slots, const RunContext& run) {
  std::vector<Value> slots(plan.num_slots);
  std::vector<char> present(plan.num_slots, 0);
  for (const auto& [s, tensor] : plan.constants) {
    slots[s] = Value(*tensor);
    present[s] = 1;
  }
  if (parent_slots) {
    for (const auto& [here, there] : plan.outer) {
      slots[here] = (*parent_slots)[there];
      present[here] = 1;
    }
  }
  for (size_t i = 0; i < inputs.size() && i < plan.input_slots.size(); ++i) {
    if (i < provided.size() && !provided[i]) continue;
    slots[plan.input_slots[i]] = std::move(inputs[i]);
    present[plan.input_slots[i]] = 1;
  }
  for (const Step& step : plan.steps) {
    if (run.terminate && run.terminate->load(std::memory_order_relaxed))
      throw Error(ErrorCode::kRuntimeException, "run was terminated by RunOptions.terminate");
    StepContext ctx(step, slots, present, run);
    const auto start = run.profiler ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      step.kernel->compute(ctx);
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::kRuntimeException, step.node->describe() + ": out of memory");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kRuntimeException, step.node->describe() + ": " + e.what());
    }
    for (size_t i = 0; i < step.outputs.size(); ++i) {
      int s = step.outputs[i];
      if (s >= 0 && !present[s]) {
        // Kernels may leave optional trailing outputs unset only when nothing reads them.
        slots[s] = Value();
        present[s] = 1;
      }
    }
    if (run.profiler) run.profiler->record_node(*step.node, slots, step, start);
    for (int s : step.release) {
      slots[s] = Value();
      present[s] = 0;
    }
  }
  std::vector<Value> outputs;
  outputs.reserve(plan.output_slots.size());
  for (int s : plan.output_slots) {
    if (!present[s]) throw Error(ErrorCode::kRuntimeException, "graph output was not computed");
    outputs.push_back(slots[s]);
  }
  return outputs;
}

}  // namespace kestrel::runtime
