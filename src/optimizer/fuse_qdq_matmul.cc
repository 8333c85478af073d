// A quantized matrix product in QDQ format:
//   DequantizeLinear(aq, as, az) ─┐
//   DequantizeLinear(bq, bs, bz) ─┴─ MatMul -> QuantizeLinear(ys, yz) -> yq
// becomes
//   QLinearMatMul(aq, as, az, bq, bs, bz, ys, yz) -> yq
// All scales and zero points must be constants: a's and y's per tensor, b's per tensor or per column (axis 1 of
// a 2-D b). As with fuse_qdq_conv, outputs can differ from the QDQ graph's by one quantization step where the
// float product lies within rounding error of a tie.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {

int fuse_qdq_matmul(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* mm : anchors_of(graph, {"MatMul"})) {
    if (!is_op(mm, "MatMul") || mm->inputs.size() != 2 || !mm->outputs[0]) continue;
    const auto a = dequantized(mm->inputs[0], false);
    const auto b = dequantized(mm->inputs[1], true);
    if (!a || !b) continue;
    if (b->axis != -1 && !(known_rank(b->x) == 2 && b->axis == 1)) continue;
    ir::Node* q = sole_consumer(mm->outputs[0], reads);
    if (!is_per_tensor_quantize(q)) continue;
    const std::vector<ir::Value*> inputs = qlinear_inputs(graph, *a, *b, q);
    ir::Value* yq = q->outputs[0];
    const std::string name = mm->name;
    remove_nodes(graph, {mm, q});
    remove_if_unused(graph, a->node, reads);
    remove_if_unused(graph, b->node, reads);
    add_node(graph, "QLinearMatMul", "", inputs, {yq}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
