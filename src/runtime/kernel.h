// The contract between the runtime and an operator implementation.
//
// A Kernel is created once per node at session creation from a KernelInfo (attributes parsed and validated,
// constant inputs available for prepacking) and then computes many times, possibly from several threads at once:
// compute() is const and keeps no per-run state. Errors are thrown as kestrel::Error; use info.fail()/ctx.fail()
// so the message names the node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kestrel/error.h"
#include "kestrel/tensor.h"
#include "kestrel/value.h"

namespace kestrel::runtime {

class Plan;  // a compiled graph; for kernels that run subgraphs (If, Loop, Scan, SequenceMap)

// The arithmetic the heavy float ops (Conv, MatMul, Gemm and their fused forms) run in. kBf16 converts their
// weights to bfloat16 once and their activations on the way in, accumulates in fp32 and writes fp32 outputs;
// every other op stays fp32. Session config "kestrel.precision".
enum class Precision { kFp32, kBf16 };

class KernelInfo {
 public:
  KernelInfo(const ir::Node& node, std::function<const Plan*(const std::string&)> subgraph_compiler,
             Precision precision = Precision::kFp32)
      : node_(node), compile_subgraph_(std::move(subgraph_compiler)), precision_(precision) {}

  const ir::Node& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type; }
  int opset() const { return node_.opset; }
  // The session's precision for heavy float ops (kernels that have no reduced-precision path ignore it).
  Precision precision() const { return precision_; }
  size_t num_inputs() const { return node_.inputs.size(); }
  size_t num_outputs() const { return node_.outputs.size(); }
  // True when input i exists and is not omitted.
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] != nullptr; }
  bool has_output(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] != nullptr; }
  // The initializer behind input i, or nullptr when that input is not a constant.
  const Tensor* constant_input(size_t i) const;
  // Declared/inferred type of input i (kind kUnknown when not known).
  const TypeInfo& input_type(size_t i) const;
  const TypeInfo& output_type(size_t i) const;

  bool has_attr(const std::string& name) const { return node_.attribute(name) != nullptr; }
  int64_t attr_int(const std::string& name) const;  // required
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback) const;
  std::vector<float> attr_floats(const std::string& name) const;
  std::vector<float> attr_floats(const std::string& name, std::vector<float> fallback) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name, std::vector<std::string> fallback) const;
  const Tensor& attr_tensor(const std::string& name) const;
  const std::vector<Tensor>& attr_tensors(const std::string& name) const;
  // The compiled body held in a graph attribute (If's then_branch, Loop's body...).
  const Plan& subgraph(const std::string& name) const;

  // Throws kInvalidArgument / kInvalidGraph with the node named: "Conv node 'conv1': <message>".
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void not_implemented(const std::string& message) const;

 private:
  const ir::Attribute& attr(const std::string& name, ir::Attribute::Type type) const;
  const ir::Node& node_;
  std::function<const Plan*(const std::string&)> compile_subgraph_;
  Precision precision_;
};

// What one compute() call sees: its inputs (read-only), its outputs (to fill), and the run's services.
class KernelContext {
 public:
  virtual ~KernelContext() = default;

  virtual size_t num_inputs() const = 0;
  virtual size_t num_outputs() const = 0;
  // False for an omitted optional input (or one past the node's inputs).
  virtual bool has_input(size_t i) const = 0;
  // The value of input i; throws naming the node when the input is omitted.
  virtual const Value& input_value(size_t i) const = 0;
  // Input i as a tensor; throws naming the node when omitted or not a tensor.
  const Tensor& input(size_t i) const;
  // Input i if present, else nullptr (still throws if present but not a tensor).
  const Tensor* optional_input(size_t i) const;

  // False when output i is omitted by the node (the kernel may skip computing it).
  virtual bool has_output(size_t i) const = 0;
  virtual void set_output(size_t i, Value value) = 0;
  // Allocates a zero-filled tensor for output i and returns it for writing. The runtime may hand out a buffer the
  // caller bound for a graph output instead, so kernels must write their outputs through this reference.
  virtual Tensor& allocate_output(size_t i, ElementType type, Shape shape);
  // Like allocate_output, but the buffer's contents are unspecified: for kernels that write every element.
  virtual Tensor& allocate_uninitialized_output(size_t i, ElementType type, Shape shape) {
    return allocate_output(i, type, std::move(shape));
  }
  // The same two with the shape given as a view (a stack array, an input's shape): the runtime copies it into a
  // tensor it keeps from run to run, so kernels that use these allocate nothing in steady state.
  virtual Tensor& allocate_output_dims(size_t i, ElementType type, std::span<const int64_t> shape) {
    return allocate_output(i, type, Shape(shape.begin(), shape.end()));
  }
  virtual Tensor& allocate_uninitialized_output_dims(size_t i, ElementType type, std::span<const int64_t> shape) {
    return allocate_uninitialized_output(i, type, Shape(shape.begin(), shape.end()));
  }
  // Output i as a view of `source`'s buffer with another shape of the same element count; only when
  // may_alias_output(i) (the caller checks).
  virtual Tensor& set_output_view(size_t i, const Tensor& source, std::span<const int64_t> shape) {
    set_output(i, Value(source.reshaped(Shape(shape.begin(), shape.end()))));
    return output_value(i).tensor();
  }
  // True when output i may share the buffer of an input (a view: Reshape, Squeeze...). False for graph outputs,
  // which the caller receives and may keep or modify, so they never alias an input or a constant.
  virtual bool may_alias_output(size_t /*i*/) const { return false; }
  // Output `output` in the buffer of input `input`, with its element type and `shape` (of its element count),
  // when the input dies with this step: no later step reads it, nothing else shares its buffer, it is no
  // graph input, output or constant, and the output may alias (may_alias_output). Null, changing nothing,
  // otherwise. For kernels that read that input as the output's first contents (a residual summed into the
  // output, as ORT's FusedConv does in place) or read it wholly before writing.
  virtual Tensor* reuse_input_as_output(size_t /*input*/, size_t /*output*/,
                                        std::span<const int64_t> /*shape*/) {
    return nullptr;
  }
  // The output slot after set_output/allocate_output.
  virtual Value& output_value(size_t i) = 0;

  // Runs a compiled subgraph with the given inputs; outer-scope values come from the current run.
  virtual std::vector<Value> run_subgraph(const Plan& plan, std::vector<Value> inputs) const = 0;
  // intra_op_num_threads of the session (>= 1).
  virtual int intra_op_threads() const = 0;
  // True once RunOptions.terminate was set; long-running kernels (Loop) check it.
  virtual bool terminated() const = 0;

  virtual const ir::Node& node() const = 0;
  [[noreturn]] void fail(const std::string& message) const;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void compute(KernelContext& ctx) const = 0;
  // True when constant input i lives on inside the kernel in its own form (weights prepacked at creation) and
  // compute() never reads it: once no other step reads it, the planner frees the model's copy.
  virtual bool owns_constant_input(size_t /*i*/) const { return false; }
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInfo&)>;

// Factory for a kernel class constructible from a KernelInfo.
template <typename K>
KernelFactory make_kernel() {
  return [](const KernelInfo& info) -> std::unique_ptr<Kernel> { return std::make_unique<K>(info); };
}

}  // namespace kestrel::runtime
