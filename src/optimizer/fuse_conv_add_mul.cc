// Conv followed by a per-channel (or scalar) constant Mul or Add folded into the Conv's weights and bias:
//   X -> Conv(W, B) -> Mul(c) -> Y     becomes   X -> Conv(W * c, B * c) -> Y
//   X -> Conv(W, B) -> Add(c) -> Y     becomes   X -> Conv(W, B + c) -> Y
// c must broadcast along the output channels only ([M,1,1], [1,M,1,1] or one element) and the Conv output must
// be read by that node alone; W, B constant float. Sub/Div by constants are left to other rules.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

bool fold_next(ir::Graph& graph, ir::Node* conv, const std::unordered_set<const ir::Value*>& sub_reads) {
  if (conv->outputs.size() != 1 || !conv->outputs[0] || conv->inputs.size() < 2) return false;
  ir::Node* next = sole_consumer(conv->outputs[0], sub_reads);
  if (!(is_op(next, "Mul") || is_op(next, "Add")) || next->inputs.size() != 2 || !next->outputs[0]) return false;
  if (next->opset < 7) return false;  // old broadcast/axis attributes: not worth the cases
  // Its type and shape only (rescale_conv reads the values): a large weight is not copied for a Conv that
  // folds nothing.
  const Tensor* W = constant_view_of(conv->inputs[1]);
  if (!W || W->type() != ElementType::kFloat) return false;
  const int64_t M = W->dim(0);
  const ir::Value* other = next->inputs[0] == conv->outputs[0] ? next->inputs[1] : next->inputs[0];
  if (other == conv->outputs[0]) return false;
  const auto c = per_channel(other, static_cast<int>(W->rank()), M);
  if (!c) return false;
  const bool ok = next->op_type == "Mul" ? rescale_conv(graph, conv, *c, {}) : rescale_conv(graph, conv, {}, *c);
  if (!ok) return false;
  absorb_follower(graph, conv, next);
  return true;
}

}  // namespace

int fuse_conv_add_mul(ir::Graph& graph) {
  const auto sub_reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* conv : anchors_of(graph, {"Conv"})) {
    // A Conv may absorb a chain (Mul then Add): keep going while the next node folds.
    while (fold_next(graph, conv, sub_reads)) ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
