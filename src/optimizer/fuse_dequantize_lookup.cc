// A chain of one-input elementwise float ops after a per-tensor DequantizeLinear is a function of the int8
// tensor's 256 values, so it becomes a table of floats:
//   xq -> DequantizeLinear -> Sigmoid -> y (float)
// (ppocr_det's output probabilities after its last int8 upsampling) becomes
//   xq -> ai.kestrel QuantizedLookup(table) -> y
// The chain's inner values are read by the next node alone; the table holds the chain's output for each of
// the 256 inputs, computed by the nodes' own reference kernels, so the lookup gives exactly what they would.
// Chains that end in a QuantizeLinear are fuse_quantized_lookup's; a DequantizeLinear alone stays as it is.
#include <unordered_set>

#include "optimizer/evaluate_node.h"
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

constexpr size_t kMaxChain = 8;

const std::unordered_set<std::string> kUnary = {"Relu",      "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
                                                "LeakyRelu", "Elu",     "Selu", "Softplus",    "Neg",
                                                "Abs",       "Exp",     "Sqrt", "Erf",         "Reciprocal"};

// The table: the chain's float output for every value of xq, in its storage order (uint8 0..255; int8
// -128..127), or nullopt when a node cannot be evaluated or is not elementwise after all.
std::optional<Tensor> table_of(const Dequantized& d, const std::vector<ir::Node*>& chain) {
  const Tensor all = every_byte_value(element_type_of(d.x));
  std::vector<Value> in{Value(all), Value(*constant_of(d.scale))};
  if (d.zero_point) in.emplace_back(*constant_of(d.zero_point));
  auto out = evaluate_node(*d.node, std::move(in));
  for (size_t k = 0; out && k <= chain.size(); ++k) {
    if (out->empty() || !(*out)[0].is_tensor() || (*out)[0].tensor().shape() != Shape{256})
      return std::nullopt;
    if (k == chain.size()) break;
    out = evaluate_node(*chain[k], {(*out)[0]});
  }
  if (!out) return std::nullopt;
  Tensor table = (*out)[0].tensor();
  if (table.type() != ElementType::kFloat) return std::nullopt;
  if (!table.owns_data()) table = table.clone();
  return table;
}

}  // namespace

int fuse_dequantize_lookup(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* dq : anchors_of(graph, {"DequantizeLinear"})) {
    if (!dq->domain.empty() || dq->outputs.size() != 1 || !dq->outputs[0]) continue;
    const auto d = dequantized(dq->outputs[0], false);
    if (!d || d->node != dq) continue;
    // The chain: each node the sole reader of the value before it, one input, one output.
    std::vector<ir::Node*> chain;
    ir::Value* v = dq->outputs[0];
    while (chain.size() < kMaxChain && !v->is_graph_output) {
      ir::Node* next = sole_consumer(v, reads);
      if (!next || !next->domain.empty() || !kUnary.count(next->op_type) || next->inputs.size() != 1 ||
          next->outputs.size() != 1 || !next->outputs[0])
        break;
      chain.push_back(next);
      v = next->outputs[0];
    }
    if (chain.empty()) continue;
    std::optional<Tensor> table = table_of(*d, chain);
    if (!table) continue;
    ir::Value* x = d->x;
    const std::string name = chain.back()->name;
    std::vector<ir::Node*> gone = chain;
    gone.push_back(dq);
    remove_nodes(graph, gone);
    ir::Value* table_value = add_constant(graph, name + "_table", std::move(*table));
    add_node(graph, "QuantizedLookup", kKestrelDomain, {x, table_value}, {v}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
