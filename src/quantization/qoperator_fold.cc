// QOperator form (see passes.h): each DequantizeLinear -> Conv/MatMul -> QuantizeLinear group of the QDQ
// graph becomes one QLinearConv / QLinearMatMul over the quantized tensors:
//
//   x_q ─► DQ ─► Conv ─► Q ─► y_q          becomes     x_q ─► QLinearConv(x, W_q, B_int32) ─► y_q
//   W_q ─► DQ ─┘   B_int32 ─► DQ ─┘
//
// The other quantized ops have no standard ONNX QLinear form (QLinearAdd, QLinearConcat, QLinearAveragePool
// are ONNX Runtime's com.microsoft ops), so they stay in QDQ form, as do groups whose output is not
// quantized.
#include "optimizer/rewrite.h"
#include "quantization/passes.h"

namespace kestrel::quantization {
namespace {

// The DequantizeLinear producing `v` in this graph, else nullptr.
ir::Node* dequantize_of(const ir::Value* v) { return optimizer::producer_op(v, "DequantizeLinear"); }

bool per_tensor(const ir::Node* dq) {
  for (size_t i = 1; i < dq->inputs.size(); ++i)
    if (dq->inputs[i] && (!dq->inputs[i]->initializer || dq->inputs[i]->initializer->size() != 1))
      return false;
  return true;
}

ir::Value* input_or_null(const ir::Node* n, size_t i) {
  return i < n->inputs.size() ? n->inputs[i] : nullptr;
}

}  // namespace

int fold_qoperator(ir::Graph& graph, QuantizationSummary& summary) {
  GraphEditor editor(graph);
  const auto sub_reads = optimizer::subgraph_reads(graph);
  int folded = 0;
  for (ir::Node* node : optimizer::anchors_of(graph, {"Conv", "MatMul"})) {
    if (!node->domain.empty()) continue;
    const bool conv = node->op_type == "Conv";
    ir::Node* dq_x = dequantize_of(node->inputs.at(0));
    ir::Node* dq_w = dequantize_of(node->inputs.at(1));
    ir::Node* q_y = optimizer::sole_consumer(node->outputs[0], sub_reads);
    if (!dq_x || !dq_w || !q_y || q_y->op_type != "QuantizeLinear" || !q_y->domain.empty() ||
        !per_tensor(dq_x))
      continue;
    if (q_y->inputs.size() < 3 || !q_y->inputs[2] || !per_tensor(q_y)) continue;
    // A Conv weight must be quantized along its output channels, if at all per channel.
    if (!per_tensor(dq_w) && optimizer::attr_int(dq_w, "axis", 1) != (conv ? 0 : 1)) continue;
    ir::Value* bias = nullptr;
    if (conv && input_or_null(node, 2)) {
      ir::Node* dq_b = dequantize_of(node->inputs[2]);
      if (!dq_b || !dq_b->inputs[0]->initializer ||
          dq_b->inputs[0]->initializer->type() != ElementType::kInt32)
        continue;
      bias = dq_b->inputs[0];
    }
    auto zero_point = [](ir::Node* dq) { return input_or_null(dq, 2); };
    if (!zero_point(dq_x) || !zero_point(dq_w)) continue;  // both zero points are needed to name the types
    std::vector<ir::Value*> inputs = {dq_x->inputs[0], dq_x->inputs[1],  zero_point(dq_x), dq_w->inputs[0],
                                      dq_w->inputs[1], zero_point(dq_w), q_y->inputs[1],   q_y->inputs[2]};
    if (bias) inputs.push_back(bias);
    ir::Value* y_q = q_y->outputs[0];
    const std::string name = node->name.empty() ? y_q->name : node->name;
    auto attributes = node->attributes;
    const std::string op = conv ? "QLinearConv" : "QLinearMatMul";
    graph.remove_node(q_y);
    graph.remove_node(node);
    ir::Node* fused = editor.add(op, inputs, {y_q}, name + "_quant");
    if (conv) fused->attributes = attributes;
    // The DequantizeLinear nodes now read by nobody go too.
    for (ir::Node* dq : graph.topological_order())
      if (dq->op_type == "DequantizeLinear" && dq->outputs[0]->consumers.empty() &&
          !dq->outputs[0]->is_graph_output)
        graph.remove_node(dq);
    // Counted once, under the op it became.
    if (--summary.quantized_nodes[conv ? "Conv" : "MatMul"] <= 0)
      summary.quantized_nodes.erase(conv ? "Conv" : "MatMul");
    summary.quantized_nodes[op]++;
    ++folded;
  }
  graph.remove_unused_values();
  return folded;
}

}  // namespace kestrel::quantization
