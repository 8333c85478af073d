// A DequantizeLinear of constants that no int8 rule can take becomes the float constant it computes:
//   DequantizeLinear(wq, ws, wz) -> Gemm | ConvTranspose | ...      becomes      w (float initializer) -> ...
// QDQ quantizers store the weights of every quantized op as int8 behind a DequantizeLinear; where the op stays
// float (Gemm, ConvTranspose, a Conv or MatMul whose output is not quantized), that DequantizeLinear would
// rebuild the whole float weight on every run, and the float kernel could not prepack it. Left alone while a
// Conv or MatMul reads it, since fuse_qdq_conv and fuse_qdq_matmul take those groups (this rule runs after
// them, so what they leave is what they could not fuse in this round; the values are the same either way).
// x int8, uint8 or int32; scale float, per tensor or 1-D along `axis`; zero point constant of x's type or
// absent; no block_size.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

template <typename T>
void dequantize(const Tensor& x, const Tensor& scale, const Tensor* zero_point, int64_t axis, float* y) {
  const T* q = x.data<T>();
  const float* s = scale.data<float>();
  const T* z = zero_point ? zero_point->data<T>() : nullptr;
  // Index of the scale for element i: (i / inner) % channels, or 0 per tensor.
  const int64_t channels = static_cast<int64_t>(scale.size());
  int64_t inner = 1;
  if (channels > 1)
    for (int64_t d = axis + 1; d < static_cast<int64_t>(x.rank()); ++d) inner *= x.dim(d);
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t c = channels > 1 ? (i / inner) % channels : 0;
    const float zp = z ? static_cast<float>(z[c]) : 0.0f;
    y[i] = (static_cast<float>(q[i]) - zp) * s[c];
  }
}

bool read_by_qdq_anchor(const ir::Value* v) {
  for (const ir::Node* c : v->consumers)
    if (is_op(c, "Conv") || is_op(c, "MatMul")) return true;
  return false;
}

}  // namespace

int fold_weight_dequantize(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* dq : anchors_of(graph, {"DequantizeLinear"})) {
    if (!is_op(dq, "DequantizeLinear") || dq->inputs.size() < 2 || dq->outputs.size() != 1 || !dq->outputs[0])
      continue;
    ir::Value* y = dq->outputs[0];
    if (y->is_graph_output || reads.count(y) || y->consumers.empty() || read_by_qdq_anchor(y)) continue;
    if (attr_int(dq, "block_size", 0) != 0) continue;
    const Tensor* x = constant_of(dq->inputs[0]);
    const Tensor* scale = constant_of(dq->inputs[1]);
    const bool has_zp = dq->inputs.size() > 2 && dq->inputs[2];
    const Tensor* zp = has_zp ? constant_of(dq->inputs[2]) : nullptr;
    if (!x || !scale || (has_zp && !zp) || scale->type() != ElementType::kFloat) continue;
    const ElementType t = x->type();
    if (t != ElementType::kInt8 && t != ElementType::kUInt8 && t != ElementType::kInt32) continue;
    if (zp && (zp->type() != t || zp->size() != scale->size())) continue;
    if (scale->rank() > 1) continue;
    int64_t axis = attr_int(dq, "axis", 1);
    if (scale->size() > 1) {
      if (dq->opset < 13) continue;  // per-axis scales came with opset 13: the kernel reports the error
      const int64_t rank = static_cast<int64_t>(x->rank());
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank || x->dim(axis) != static_cast<int64_t>(scale->size())) continue;
    }
    Tensor out(ElementType::kFloat, x->shape());
    float* o = out.data<float>();
    if (t == ElementType::kInt8) dequantize<int8_t>(*x, *scale, zp, axis, o);
    else if (t == ElementType::kUInt8) dequantize<uint8_t>(*x, *scale, zp, axis, o);
    else dequantize<int32_t>(*x, *scale, zp, axis, o);
    graph.remove_node(dq);
    y->type = TypeInfo::tensor(ElementType::kFloat, std::vector<Dim>());
    for (int64_t d : out.shape()) y->type.shape->push_back(Dim{d, ""});
    y->initializer = std::make_shared<const Tensor>(std::move(out));
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
