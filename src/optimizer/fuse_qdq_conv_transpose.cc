// A quantized learned upsampling (ConvTranspose whose stride equals its kernel) in QDQ format:
//   DequantizeLinear(xq, xs, xz) ─┐
//   DequantizeLinear(wq, ws, wz) ─┼─ ConvTranspose [-> Relu] -> QuantizeLinear(ys, yz) -> yq
//   [DequantizeLinear(bq int32, bs)] ┘
// becomes
//   ai.kestrel QLinearConvTranspose(xq, xs, xz, wq, ws, wz, ys, yz[, bq]) -> yq
// so the upsampling runs on int8 data between int8 convolutions (segmentation and text-detection heads).
// Only the case where every input pixel owns its own output block: 2-D, strides equal to the kernel, group 1,
// no pads, dilations, output_padding or output_shape. x's and y's parameters per tensor, w's per tensor or
// per output channel (axis 1 of W [C, M, kh, kw]); the bias (if any) an int32 constant whose scale is xs·ws.
// A Relu goes too when yz is the type's lowest value. Outputs can differ from the QDQ graph's by one
// quantization step where the float sum lies within rounding error of a tie.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

bool all_equal(const std::optional<std::vector<int64_t>>& v, int64_t value) {
  if (!v) return true;
  for (int64_t x : *v)
    if (x != value) return false;
  return true;
}

// ConvTranspose's attributes describe the block-per-pixel case for a kernel [kh, kw].
bool is_block_upsampling(const ir::Node* n, int64_t kh, int64_t kw) {
  const std::vector<int64_t> kernel = {kh, kw};
  const auto strides = attr_ints(n, "strides");
  const auto kernel_shape = attr_ints(n, "kernel_shape");
  return strides && *strides == kernel && (!kernel_shape || *kernel_shape == kernel) &&
         attr_int(n, "group", 1) == 1 && all_equal(attr_ints(n, "dilations"), 1) &&
         all_equal(attr_ints(n, "pads"), 0) && all_equal(attr_ints(n, "output_padding"), 0) &&
         !n->attribute("output_shape") && attr_string(n, "auto_pad", "NOTSET") == "NOTSET";
}

}  // namespace

int fuse_qdq_conv_transpose(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* conv : anchors_of(graph, {"ConvTranspose"})) {
    if (!is_op(conv, "ConvTranspose") || conv->inputs.size() < 2 || conv->outputs.size() != 1 ||
        !conv->outputs[0])
      continue;
    const auto x = dequantized(conv->inputs[0], false);
    const auto w = dequantized(conv->inputs[1], true);
    if (!x || !w || (w->axis != -1 && w->axis != 1)) continue;
    const Tensor* wt = constant_of(w->x);
    if (!wt || wt->rank() != 4 || wt->size() == 0) continue;
    if (!is_block_upsampling(conv, wt->dim(2), wt->dim(3))) continue;
    const int64_t M = wt->dim(1);
    const Tensor* ws = constant_of(w->scale);
    if (ws->size() != 1 && ws->size() != M) continue;
    const float xs = constant_of(x->scale)->data<float>()[0];
    ir::Node* bias_dq = nullptr;
    if (conv->inputs.size() > 2 && conv->inputs[2]) {
      bias_dq = quantized_bias(conv->inputs[2], xs, *ws, M);
      if (!bias_dq) continue;
    }
    // ConvTranspose [-> Relu] -> QuantizeLinear, each read by the next alone.
    const auto requant = requantization_of(conv->outputs[0], reads);
    if (!requant) continue;
    ir::Node* relu = requant->relu;
    ir::Node* q = requant->q;

    std::vector<ir::Value*> inputs = qlinear_inputs(graph, *x, *w, q);
    if (bias_dq) inputs.push_back(bias_dq->inputs[0]);
    ir::Value* yq = q->outputs[0];
    const std::string name = conv->name;
    std::vector<ir::Node*> gone{conv, q};
    if (relu) gone.push_back(relu);
    remove_nodes(graph, gone);
    for (ir::Node* dq : {x->node, w->node, bias_dq})
      if (dq) remove_if_unused(graph, dq, reads);
    add_node(graph, "QLinearConvTranspose", kKestrelDomain, inputs, {yq}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
