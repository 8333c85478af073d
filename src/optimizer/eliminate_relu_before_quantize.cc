// A Relu whose only reader is a QuantizeLinear with the type's lowest zero point (0 for uint8, -128 for int8)
// changes nothing: the quantization already maps every value <= 0 to that zero point.
//   x -> Relu -> QuantizeLinear(s, z = lowest) -> y      becomes      x -> QuantizeLinear(s, z) -> y
// (QDQ models write it after residual Adds; fuse_qdq_conv handles the one between Conv and QuantizeLinear.)
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {

int eliminate_relu_before_quantize(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* relu : anchors_of(graph, {"Relu"})) {
    if (!is_op(relu, "Relu") || relu->inputs.size() != 1 || !relu->outputs[0]) continue;
    ir::Node* q = sole_consumer(relu->outputs[0], reads);
    if (!is_op(q, "QuantizeLinear") || q->inputs.size() < 2 || q->inputs[0] != relu->outputs[0] ||
        element_type_of(relu->inputs[0]) != ElementType::kFloat)
      continue;
    const Tensor* s = constant_of(q->inputs[1]);
    if (!s || s->type() != ElementType::kFloat || s->size() != 1 || !(s->data<float>()[0] > 0)) continue;
    const ir::Value* zp = q->inputs.size() > 2 ? q->inputs[2] : nullptr;
    const Tensor* z = zp ? constant_of(zp) : nullptr;
    if (zp && (!z || z->size() != 1)) continue;
    const bool lowest = !z || (z->type() == ElementType::kUInt8 && z->data<uint8_t>()[0] == 0) ||
                        (z->type() == ElementType::kInt8 && z->data<int8_t>()[0] == -128);
    if (!lowest) continue;
    if (bypass_node(graph, relu, 0, reads)) ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
