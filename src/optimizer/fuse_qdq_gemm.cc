// A Gemm of dequantized int8 operands whose result stays float (a classifier's last layer in QDQ models):
//   DequantizeLinear(aq, as, az) [-> Flatten] ─┐
//   DequantizeLinear(bq, bs, bz) ──────────────┴─ Gemm(C) -> y (float)
// becomes the exact integer product, scaled once per output column:
//   aq [-> Flatten] -> MatMulInteger(b', az, bz) -> Cast(float) -> Mul(as * bs) -> Add(C) -> y
// where b' is bq laid out [K, N] (transposed once here when transB = 1). The Gemm must have alpha = beta = 1
// and transA = 0, a's scale and zero point one constant value each, b a constant 2-D tensor quantized per
// tensor or per output column, and C (optional) N constant values (or their DequantizeLinear). Outputs differ
// from the float Gemm's by float rounding only (the sum is exact where the float one rounds at each step), as
// in ONNX Runtime's integer matrix products with a float output; the weights stay int8 (a quarter of the
// bytes to stream per run).
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// Whether `c` is a row of n floats, shaped [n] or [1, n]: a constant, or a DequantizeLinear of constants (QDQ
// quantizers store the bias as int32; fold_weight_dequantize then makes it a float constant).
bool row_of(const ir::Value* c, int64_t n) {
  const ir::Node* dq = producer_op(c, "DequantizeLinear");
  if (dq) {
    for (const ir::Value* in : dq->inputs)
      if (in && !constant_of(in)) return false;
    c = dq->inputs[0];
  }
  const Tensor* t = constant_of(c);
  if (!t || (!dq && t->type() != ElementType::kFloat) || t->size() != n) return false;
  return t->rank() == 1 || (t->rank() == 2 && t->dim(0) == 1);
}

// bq [N, K] -> [K, N].
Tensor transposed(const Tensor& b) {
  const int64_t rows = b.dim(0), cols = b.dim(1);
  Tensor t(b.type(), {cols, rows});
  const auto* from = static_cast<const uint8_t*>(b.raw_data());
  auto* to = static_cast<uint8_t*>(t.raw_data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) to[c * rows + r] = from[r * cols + c];
  return t;
}

}  // namespace

int fuse_qdq_gemm(ir::Graph& graph) {
  if (onnx_opset(graph) < 10) return 0;  // MatMulInteger
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* gemm : anchors_of(graph, {"Gemm"})) {
    if (!is_op(gemm, "Gemm") || gemm->inputs.size() < 2 || gemm->outputs.size() != 1 || !gemm->outputs[0])
      continue;
    if (attr_float(gemm, "alpha", 1.0f) != 1.0f || attr_float(gemm, "beta", 1.0f) != 1.0f ||
        attr_int(gemm, "transA", 0) != 0)
      continue;
    const bool trans_b = attr_int(gemm, "transB", 0) != 0;
    // a: DequantizeLinear per tensor, maybe behind a Flatten that reads it alone.
    ir::Node* flatten = producer_op(gemm->inputs[0], "Flatten");
    ir::Value* a_float = flatten ? flatten->inputs[0] : gemm->inputs[0];
    if (flatten && !only_used_by(a_float, 1, reads)) continue;
    const auto a = dequantized(a_float, false);
    const auto b = dequantized(gemm->inputs[1], true);
    if (!a || !b) continue;
    const Tensor* bq = constant_of(b->x);
    if (!bq || bq->rank() != 2) continue;
    const int64_t N = trans_b ? bq->dim(0) : bq->dim(1);
    if (b->axis != -1 && b->axis != (trans_b ? 0 : 1)) continue;  // per output column only
    ir::Value* c = gemm->inputs.size() > 2 ? gemm->inputs[2] : nullptr;
    if (c && !row_of(c, N)) continue;
    if (flatten ? known_rank(a->x) < 1 : known_rank(a->x) != 2) continue;
    // Per column: as * bs[n].
    const float a_scale = constant_of(a->scale)->data<float>()[0];
    const Tensor* bs = constant_of(b->scale);
    Tensor scale(ElementType::kFloat, {N});
    for (int64_t n = 0; n < N; ++n)
      scale.data<float>()[n] = a_scale * bs->data<float>()[bs->size() == 1 ? 0 : n];
    const std::string name = gemm->name;
    ir::Value* y = gemm->outputs[0];
    ir::Value* a_int = a->x;
    if (flatten) {
      ir::Value* flat = add_intermediate(graph, name + "_a_flat");
      ir::Node* f = add_node(graph, "Flatten", "", {a->x}, {flat}, name + "_flatten");
      f->attributes = flatten->attributes;
      a_int = flat;
    }
    ir::Value* weights = add_constant(graph, name + "_b", trans_b ? transposed(*bq) : *bq);
    ir::Value* a_zero = zero_point_or_zero(graph, a->zero_point, element_type_of(a->x));
    ir::Value* b_zero = zero_point_or_zero(graph, b->zero_point, bq->type());
    ir::Value* sums = add_intermediate(graph, name + "_sums");
    ir::Value* sums_float = add_intermediate(graph, name + "_sums_float");
    ir::Value* scaled = c ? add_intermediate(graph, name + "_scaled") : y;
    std::vector<ir::Node*> gone = {gemm};
    if (flatten) gone.push_back(flatten);
    remove_nodes(graph, gone);
    add_node(graph, "MatMulInteger", "", {a_int, weights, a_zero, b_zero}, {sums}, name + "_integer");
    ir::Node* cast = add_node(graph, "Cast", "", {sums}, {sums_float}, name + "_cast");
    set_attr(cast, make_int_attr("to", static_cast<int64_t>(ElementType::kFloat)));
    add_node(graph, "Mul", "", {sums_float, add_constant(graph, name + "_scale", std::move(scale))}, {scaled},
             name + "_scale");
    if (c) add_node(graph, "Add", "", {scaled, c}, {y}, name + "_bias");
    remove_if_unused(graph, a->node, reads);
    remove_if_unused(graph, b->node, reads);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
