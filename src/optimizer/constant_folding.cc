// Constant folding: a node whose inputs are all constants is run once, now, and its outputs become initializers.
//   W(init) -> Transpose -> Wt -> MatMul      becomes      Wt(init) -> MatMul
// The node's own CPU kernel computes the result, so folding means exactly what running would. Left alone:
// random ops, nodes with subgraphs, (De)QuantizeLinear (quantization fusions match them on constant weights, as
// ONNX Runtime keeps them), nodes writing graph outputs, non-tensor results, and results larger than the cap.
#include <unordered_set>

#include "optimizer/evaluate_node.h"
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// A folded output may be at most this large, or as large as the node's constant inputs together (a Transpose or
// Cast of a weight), so folding never grows the model much (ConstantOfShape/Expand/Tile are the risk).
constexpr size_t kMaxFoldedBytes = size_t{1} << 20;

bool never_fold(const ir::Node& n) {
  static const std::unordered_set<std::string> kSkip = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "If", "Loop", "Scan", "SequenceMap"};
  if (!n.domain.empty() && n.domain != kKestrelDomain) return true;
  if (kSkip.count(n.op_type)) return true;
  for (const auto& [name, attr] : n.attributes)
    if (attr.g || !attr.graphs.empty()) return true;
  return false;
}

// Runs `node` on its constant inputs; returns false (and leaves the graph alone) when anything is off.
bool fold(ir::Graph& graph, ir::Node* node, const std::unordered_set<const ir::Value*>& sub_reads) {
  // Every input constant before any is read: reading one may copy it (constant_of), worth it only for a fold.
  for (const ir::Value* in : node->inputs)
    if (in && !constant_view_of(in)) return false;
  std::vector<Value> inputs(node->inputs.size());
  size_t input_bytes = 0;
  for (size_t i = 0; i < node->inputs.size(); ++i) {
    const ir::Value* in = node->inputs[i];
    if (!in) continue;
    const Tensor* t = constant_of(in);
    if (!t) return false;
    inputs[i] = Value(*t);
    input_bytes += t->bytes();
  }
  // A Constant's result is its tensor attribute: folding it grows nothing, however large, and leaves the weight
  // where kernels can pack it at creation rather than a node copying it on every run.
  for (const auto& [name, attr] : node->attributes)
    if (attr.type == ir::Attribute::Type::kTensor) input_bytes += attr.t.bytes();
  bool any_output = false;
  for (const ir::Value* out : node->outputs) {
    if (!out) continue;
    if (out->is_graph_output || out->type.kind == TypeInfo::Kind::kSequence ||
        out->type.kind == TypeInfo::Kind::kOptional)
      return false;
    any_output = true;
  }
  if (!any_output) return false;
  (void)sub_reads;  // outputs keep their Value objects, so subgraph readers see the initializer
  // A Constant's tensor becomes the initializer as it is, sharing its buffer, where running the node would copy
  // it (a model may keep all its weights in Constant nodes).
  const ir::Attribute* value = node->op_type == "Constant" && node->domain.empty() ? node->attribute("value") : nullptr;
  const std::optional<std::vector<Value>> results =
      value && value->type == ir::Attribute::Type::kTensor && value->t.owns_data()
          ? std::optional<std::vector<Value>>(std::vector<Value>{Value(value->t)})
          : evaluate_node(*node, std::move(inputs));
  if (!results) return false;
  const size_t cap = std::max(kMaxFoldedBytes, input_bytes);
  size_t output_bytes = 0;
  for (size_t i = 0; i < node->outputs.size(); ++i) {
    if (!node->outputs[i]) continue;
    const Value& v = (*results)[i];
    if (!v.is_tensor() || !v.tensor().defined()) return false;
    output_bytes += v.tensor().bytes();
  }
  if (output_bytes > cap) return false;
  std::vector<ir::Value*> outs = node->outputs;
  graph.remove_node(node);
  for (size_t i = 0; i < outs.size(); ++i) {
    ir::Value* out = outs[i];
    if (!out) continue;
    Tensor t = (*results)[i].tensor();
    if (!t.owns_data()) t = t.clone();
    out->type = TypeInfo::tensor(t.type(), std::vector<Dim>());
    for (int64_t d : t.shape()) out->type.shape->push_back(Dim{d, ""});
    out->initializer = std::make_shared<const Tensor>(std::move(t));
  }
  return true;
}

}  // namespace

int constant_folding(ir::Graph& graph) {
  const auto sub_reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* node : graph.topological_order()) {
    if (never_fold(*node)) continue;
    if (fold(graph, node, sub_reads)) ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
