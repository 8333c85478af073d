// A quantized Add or Mul in QDQ format (residual connections, squeeze-excitation scaling):
//   DequantizeLinear(aq, as, az) ─┐
//   DequantizeLinear(bq, bs, bz) ─┴─ Add|Mul -> QuantizeLinear(cs, cz) -> cq
// becomes
//   ai.kestrel QLinearAdd|QLinearMul(aq, as, az, bq, bs, bz, cs, cz) -> cq
// one pass over int8 data instead of three float passes. Scales and zero points are one constant value each;
// the kernels compute the same float steps as the nodes they replace, so outputs are identical.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {

int fuse_qdq_binary(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* op : anchors_of(graph, {"Add", "Mul"})) {
    if (!op->domain.empty() || op->opset < 7 || op->inputs.size() != 2 || op->outputs.size() != 1 ||
        !op->outputs[0])
      continue;
    const auto a = dequantized(op->inputs[0], false);
    const auto b = dequantized(op->inputs[1], false);
    if (!a || !b) continue;
    ir::Node* q = sole_consumer(op->outputs[0], reads);
    if (!is_per_tensor_quantize(q) || op->outputs[0]->is_graph_output) continue;
    const std::vector<ir::Value*> inputs = qlinear_inputs(graph, *a, *b, q);
    ir::Value* cq = q->outputs[0];
    const std::string fused_op = op->op_type == "Add" ? "QLinearAdd" : "QLinearMul";
    const std::string name = op->name;
    remove_nodes(graph, {op, q});
    remove_if_unused(graph, a->node, reads);
    if (b->node != a->node) remove_if_unused(graph, b->node, reads);
    add_node(graph, fused_op, kKestrelDomain, inputs, {cq}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
