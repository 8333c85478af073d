// A quantized convolution in QDQ format:
//   DequantizeLinear(xq, xs, xz) ─┐
//   DequantizeLinear(wq, ws, wz) ─┼─ Conv [-> Relu] -> QuantizeLinear(ys, yz) -> yq
//   [DequantizeLinear(bq int32, bs)] ┘
// becomes
//   QLinearConv(xq, xs, xz, wq, ws, wz, ys, yz[, bq]) -> yq
// so the convolution runs on int8 data and the int8 output feeds the next quantized op directly. All scales and
// zero points must be constants: x's and y's per tensor, w's per tensor or per output channel (axis 0); the bias
// (if any) an int32 constant whose scale is xs·ws, as quantizers write it. A Relu between the Conv and the
// QuantizeLinear goes too when yz is the type's lowest value (the quantization already clamps there). The
// integer convolution may round a value that lies within float error of a rounding tie the other way: outputs
// can differ from the QDQ graph's by one quantization step.
#include <cmath>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {


int fuse_qdq_conv(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* conv : anchors_of(graph, {"Conv"})) {
    if (!is_op(conv, "Conv") || conv->inputs.size() < 2 || !conv->outputs[0]) continue;
    const auto x = dequantized(conv->inputs[0], false);
    const auto w = dequantized(conv->inputs[1], true);
    if (!x || !w || (w->axis != -1 && w->axis != 0)) continue;
    const Tensor* wt = constant_of(w->x);
    if (!wt || wt->rank() != 4) continue;
    const int64_t M = wt->dim(0);
    const Tensor* ws = constant_of(w->scale);
    if (ws->size() != 1 && ws->size() != M) continue;
    const float xs = constant_of(x->scale)->data<float>()[0];
    // The bias: int32 with scale xs·ws per channel.
    ir::Value* bias = nullptr;
    ir::Node* bias_dq = nullptr;
    if (conv->inputs.size() > 2 && conv->inputs[2]) {
      bias_dq = quantized_bias(conv->inputs[2], xs, *ws, M);
      if (!bias_dq) continue;
      bias = bias_dq->inputs[0];
    }
    // Conv [-> Relu] -> QuantizeLinear, each read by the next alone.
    const auto requant = requantization_of(conv->outputs[0], reads);
    if (!requant) continue;
    ir::Node* relu = requant->relu;
    ir::Node* q = requant->q;

    const std::vector<ir::Value*> inputs = qlinear_inputs(graph, *x, *w, q);
    ir::Value* yq = q->outputs[0];
    const auto attributes = conv->attributes;
    const std::string name = conv->name;
    std::vector<ir::Node*> gone{conv, q};
    if (relu) gone.push_back(relu);
    remove_nodes(graph, gone);
    for (ir::Node* dq : {x->node, w->node, bias_dq})
      if (dq) remove_if_unused(graph, dq, reads);
    std::vector<ir::Value*> all = inputs;
    if (bias) all.push_back(bias);
    ir::Node* fused = add_node(graph, "QLinearConv", "", all, {yq}, name);
    fused->attributes = attributes;
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
