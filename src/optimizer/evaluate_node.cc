// Runs one node's reference kernel at optimization time (see evaluate_node.h).
#include "optimizer/evaluate_node.h"

#include <exception>
#include <memory>

#include "runtime/kernel_registry.h"

namespace kestrel::optimizer {
namespace {

class EvaluationContext final : public runtime::KernelContext {
 public:
  EvaluationContext(const ir::Node& node, std::vector<Value> inputs)
      : node_(node), inputs_(std::move(inputs)) {
    outputs_.resize(node.outputs.size());
  }
  size_t num_inputs() const override { return inputs_.size(); }
  size_t num_outputs() const override { return outputs_.size(); }
  bool has_input(size_t i) const override { return i < node_.inputs.size() && node_.inputs[i] != nullptr; }
  const Value& input_value(size_t i) const override {
    if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
    return inputs_[i];
  }
  bool has_output(size_t i) const override { return i < node_.outputs.size() && node_.outputs[i] != nullptr; }
  void set_output(size_t i, Value value) override {
    if (i >= outputs_.size()) fail("kernel wrote output " + std::to_string(i) + " which the node lacks");
    outputs_[i] = std::move(value);
  }
  Value& output_value(size_t i) override { return outputs_.at(i); }
  std::vector<Value> run_subgraph(const runtime::Plan&, std::vector<Value>) const override {
    fail("optimization-time evaluation cannot run subgraphs");
  }
  int intra_op_threads() const override { return 1; }
  bool terminated() const override { return false; }
  const ir::Node& node() const override { return node_; }
  std::vector<Value>& outputs() { return outputs_; }

 private:
  const ir::Node& node_;
  std::vector<Value> inputs_;
  std::vector<Value> outputs_;
};

}  // namespace

std::optional<std::vector<Value>> evaluate_node(const ir::Node& node, std::vector<Value> inputs) {
  const auto defs = runtime::KernelRegistry::cpu().candidates(node.domain, node.op_type, node.opset,
                                                              /*reference_only=*/true);
  if (defs.empty()) return std::nullopt;
  EvaluationContext ctx(node, std::move(inputs));
  try {
    runtime::KernelInfo info(node, [](const std::string&) -> const runtime::Plan* { return nullptr; });
    std::unique_ptr<runtime::Kernel> kernel = defs.front()->factory(info);
    if (!kernel) return std::nullopt;
    kernel->compute(ctx);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return std::move(ctx.outputs());
}

Tensor every_byte_value(ElementType type) {
  Tensor all(type, {256});
  for (int i = 0; i < 256; ++i) {
    if (type == ElementType::kUInt8)
      all.data<uint8_t>()[i] = static_cast<uint8_t>(i);
    else
      all.data<int8_t>()[i] = static_cast<int8_t>(i - 128);
  }
  return all;
}

}  // namespace kestrel::optimizer
