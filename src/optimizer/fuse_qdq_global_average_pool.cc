// A quantized global average pooling in QDQ format (squeeze-excitation blocks, classifier heads):
//   DequantizeLinear(xq, xs, xz) -> GlobalAveragePool -> QuantizeLinear(ys, yz) -> yq
// becomes
//   ai.kestrel QLinearGlobalAveragePool(xq, xs, xz, ys, yz) -> yq
// which sums the int8 values exactly instead of dequantizing the whole tensor to float first. Scales and zero
// points are one constant value each. The float sum of the graph it replaces rounds at every addition, the
// exact one does not, so outputs may differ by one quantization step where the float mean falls near a tie.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {

int fuse_qdq_global_average_pool(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* pool : anchors_of(graph, {"GlobalAveragePool"})) {
    if (!pool->domain.empty() || pool->inputs.size() != 1 || pool->outputs.size() != 1 || !pool->outputs[0])
      continue;
    const auto x = dequantized(pool->inputs[0], false);
    if (!x || known_rank(x->x) < 3) continue;
    ir::Node* q = sole_consumer(pool->outputs[0], reads);
    if (!is_per_tensor_quantize(q)) continue;
    ir::Value* y_zero_point = q->inputs.size() > 2 ? q->inputs[2] : nullptr;
    const std::vector<ir::Value*> inputs = {
        x->x, x->scale, zero_point_or_zero(graph, x->zero_point, element_type_of(x->x)), q->inputs[1],
        zero_point_or_zero(graph, y_zero_point, ElementType::kUInt8)};
    ir::Value* yq = q->outputs[0];
    const std::string name = pool->name;
    remove_nodes(graph, {pool, q});
    remove_if_unused(graph, x->node, reads);
    add_node(graph, "QLinearGlobalAveragePool", kKestrelDomain, inputs, {yq}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
