// ConvTranspose followed by per-output-channel constant affine ops folded into its weights and bias:
//   X -> ConvTranspose(W, B) -> Add(c) -> Y                       becomes   X -> ConvTranspose(W, B + c) -> Y
//   X -> ConvTranspose(W, B) -> Mul(c) -> Y                       becomes   X -> ConvTranspose(W * c, B * c)
//   -> Y X -> ConvTranspose(W, B) -> BatchNormalization(inference) -> Y   becomes   X -> ConvTranspose(W * s,
//   (B - mean) * s
//   + bias) -> Y, s = scale / sqrt(var + epsilon)
// (paddle2onnx writes a ConvTranspose's bias as a separate Add, and detection heads follow it with a BN). W
// is [C, M/group, k...]: output channel m = g * M/group + j scales the slices W[c, j] of the input channels c
// of group g. c must broadcast along the output channels only; W, B constant float; the ConvTranspose output
// read by that node alone; BN's running-stat outputs unused.
#include <cmath>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// Makes `ct` compute scale[m] * ct + shift[m] per output channel m (an empty vector means 1 or 0).
bool rescale_conv_transpose(ir::Graph& graph, ir::Node* ct, const std::vector<double>& scale,
                            const std::vector<double>& shift) {
  const Tensor* W = constant_of(ct->inputs[1]);
  const int64_t group = attr_int(ct, "group", 1);
  if (!W || W->type() != ElementType::kFloat || W->rank() < 3 || group <= 0 || W->dim(0) % group != 0)
    return false;
  const int64_t C = W->dim(0), Mg = W->dim(1), M = Mg * group, Cg = C / group;
  const int64_t per = W->size() / (C * Mg);  // kernel elements
  const bool has_b = ct->inputs.size() > 2 && ct->inputs[2];
  const Tensor* B = has_b ? constant_of(ct->inputs[2]) : nullptr;
  if (has_b && (!B || B->type() != ElementType::kFloat || B->size() != M)) return false;
  if ((!scale.empty() && static_cast<int64_t>(scale.size()) != M) ||
      (!shift.empty() && static_cast<int64_t>(shift.size()) != M))
    return false;
  Tensor w2(ElementType::kFloat, W->shape());
  const float* w = W->data<float>();
  float* w2p = w2.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < Mg; ++j) {
      const int64_t m = c / Cg * Mg + j;
      const double s = scale.empty() ? 1.0 : scale[static_cast<size_t>(m)];
      for (int64_t k = 0; k < per; ++k) {
        const int64_t i = (c * Mg + j) * per + k;
        w2p[i] = static_cast<float>(w[i] * s);
      }
    }
  Tensor b2(ElementType::kFloat, {M});
  for (int64_t m = 0; m < M; ++m) {
    const double s = scale.empty() ? 1.0 : scale[static_cast<size_t>(m)];
    const double b = B ? B->data<float>()[m] : 0.0;
    b2.data<float>()[m] = static_cast<float>(b * s + (shift.empty() ? 0.0 : shift[static_cast<size_t>(m)]));
  }
  const std::string base = ct->outputs[0]->name;
  set_input(ct, 1, add_constant(graph, base + "_W", std::move(w2)));
  ir::Value* bv = add_constant(graph, base + "_B", std::move(b2));
  if (ct->inputs.size() < 3) {
    ct->inputs.push_back(bv);
    bv->consumers.push_back(ct);
  } else {
    set_input(ct, 2, bv);
  }
  return true;
}

std::optional<std::vector<double>> constant_vector(const ir::Value* v, int64_t n) {
  const Tensor* t = constant_of(v);
  if (!t || t->type() != ElementType::kFloat || t->size() != n) return std::nullopt;
  return std::vector<double>(t->data<float>(), t->data<float>() + n);
}

// The per-channel scale and shift `next` applies to the ConvTranspose output `y` (M channels, rank `rank`).
bool affine_of(const ir::Node* next, const ir::Value* y, int rank, int64_t M, std::vector<double>& scale,
               std::vector<double>& shift) {
  if ((is_op(next, "Add") || is_op(next, "Mul")) && next->opset >= 7 && next->inputs.size() == 2) {
    const ir::Value* other = next->inputs[0] == y ? next->inputs[1] : next->inputs[0];
    if (other == y) return false;
    auto c = per_channel(other, rank, M);
    if (!c) return false;
    (next->op_type == "Mul" ? scale : shift) = std::move(*c);
    return true;
  }
  if (is_op(next, "BatchNormalization") && next->inputs.size() >= 5 && next->inputs[0] == y &&
      attr_int(next, "training_mode", 0) == 0) {
    for (size_t i = 1; i < next->outputs.size(); ++i)
      if (next->outputs[i] && (!next->outputs[i]->consumers.empty() || next->outputs[i]->is_graph_output))
        return false;
    const auto s = constant_vector(next->inputs[1], M), b = constant_vector(next->inputs[2], M),
               mean = constant_vector(next->inputs[3], M), var = constant_vector(next->inputs[4], M);
    if (!s || !b || !mean || !var) return false;
    const double eps = attr_float(next, "epsilon", 1e-5f);
    scale.resize(static_cast<size_t>(M));
    shift.resize(static_cast<size_t>(M));
    for (size_t m = 0; m < scale.size(); ++m) {
      scale[m] = (*s)[m] / std::sqrt((*var)[m] + eps);
      shift[m] = (*b)[m] - (*mean)[m] * scale[m];
    }
    return true;
  }
  return false;
}

}  // namespace

int fuse_conv_transpose_affine(ir::Graph& graph) {
  const auto sub_reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* ct : anchors_of(graph, {"ConvTranspose"})) {
    // Each pass folds one follower; a chain (Add then BN) folds over successive pattern matches.
    while (is_op(ct, "ConvTranspose") && ct->inputs.size() >= 2 && ct->outputs.size() == 1 &&
           ct->outputs[0]) {
      ir::Value* y = ct->outputs[0];
      if (y->is_graph_output) break;
      const Tensor* W = constant_of(ct->inputs[1]);
      if (!W || W->rank() < 3) break;
      const int64_t M = W->dim(1) * attr_int(ct, "group", 1);
      ir::Node* next = sole_consumer(y, sub_reads);
      if (!next || next->outputs.empty() || !next->outputs[0]) break;
      std::vector<double> scale, shift;
      if (!affine_of(next, y, static_cast<int>(W->rank()), M, scale, shift)) break;
      if (!rescale_conv_transpose(graph, ct, scale, shift)) break;
      absorb_follower(graph, ct, next);
      ++fired;
    }
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
