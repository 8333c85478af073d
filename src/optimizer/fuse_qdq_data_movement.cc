// Ops that only move or select values, between DequantizeLinear and QuantizeLinear with the same scale and zero
// point (how QDQ quantizers wrap Resize, Concat, MaxPool and reshapes):
//   DequantizeLinear(xq, s, z) [x k] -> Resize(nearest) | Concat | MaxPool | Transpose | Reshape | Flatten |
//                                        Squeeze | Unsqueeze -> QuantizeLinear(s, z) -> yq
// becomes the op on the int8 values themselves, xq [x k] -> op -> yq. This is exact: with s > 0 the op's outputs
// are some of its dequantized inputs (MaxPool's maximum too, dequantization being increasing), and
// QuantizeLinear(DequantizeLinear(q)) = q for 8-bit q (|q - z| <= 255, so the float quotient is within far less
// than half a step of q - z). One pass over bytes instead of a float op and two conversions.
#include <unordered_set>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// The data inputs of `op`: all of Concat's, input 0 of the others.
size_t data_inputs(const ir::Node* op) { return op->op_type == "Concat" ? op->inputs.size() : 1; }

bool takes_int8(const ir::Node* op) {
  const std::string& t = op->op_type;
  if (t == "Resize") {
    return op->opset >= 11 && attr_string(op, "mode", "nearest") == "nearest" &&
           attr_string(op, "coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize";
  }
  if (t == "MaxPool") return op->opset >= 12 && (op->outputs.size() < 2 || !op->outputs[1]);  // int8 from 12
  return t == "Concat" || t == "Transpose" || t == "Reshape" || t == "Flatten" || t == "Squeeze" ||
         t == "Unsqueeze";
}

// A one-value constant uint8/int8 zero point (0 when omitted).
int32_t zero_point_value(const ir::Value* v) {
  const Tensor* z = v ? constant_of(v) : nullptr;
  if (!z) return 0;
  return z->type() == ElementType::kUInt8 ? z->data<uint8_t>()[0] : z->data<int8_t>()[0];
}

// Whether DequantizeLinear `d` and QuantizeLinear `q` use the same one-value scale (positive) and zero point.
bool same_parameters(const Dequantized& d, const ir::Node* q) {
  const Tensor* ds = constant_of(d.scale);
  const Tensor* qs = constant_of(q->inputs[1]);
  if (!ds || !qs || ds->size() != 1 || !(ds->data<float>()[0] > 0) || ds->data<float>()[0] != qs->data<float>()[0])
    return false;
  const ir::Value* qz_value = q->inputs.size() > 2 ? q->inputs[2] : nullptr;
  const ElementType q_type = qz_value ? constant_of(qz_value)->type() : ElementType::kUInt8;
  if (element_type_of(d.x) != q_type) return false;
  return zero_point_value(d.zero_point) == zero_point_value(qz_value);
}

}  // namespace

int fuse_qdq_data_movement(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* op : anchors_of(graph, {"Resize", "Concat", "MaxPool", "Transpose", "Reshape", "Flatten",
                                         "Squeeze", "Unsqueeze"})) {
    if (!op->domain.empty() || !takes_int8(op) || op->outputs.empty() || !op->outputs[0] || op->inputs.empty())
      continue;
    ir::Node* q = sole_consumer(op->outputs[0], reads);
    if (!is_per_tensor_quantize(q)) continue;
    std::vector<Dequantized> sources;
    for (size_t i = 0; i < data_inputs(op); ++i) {
      const auto d = op->inputs[i] ? dequantized(op->inputs[i], false) : std::nullopt;
      if (!d || !same_parameters(*d, q)) break;
      sources.push_back(*d);
    }
    if (sources.size() != data_inputs(op)) continue;
    // The op reads the int8 values and writes the QuantizeLinear's output.
    for (size_t i = 0; i < sources.size(); ++i) set_input(op, i, sources[i].x);
    absorb_follower(graph, op, q);
    std::unordered_set<ir::Node*> dequantizers;  // a Concat may read one DequantizeLinear twice
    for (const Dequantized& d : sources) dequantizers.insert(d.node);
    for (ir::Node* d : dequantizers) remove_if_unused(graph, d, reads);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer

