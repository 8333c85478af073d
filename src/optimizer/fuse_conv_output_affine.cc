// A scalar scale and/or shift after a FusedConv's activation joins it as one more post-op:
//   X -> FusedConv(activation A) -> Mul(a) -> Add(b) -> Y   becomes   X -> FusedConv(A, activation_scale a,
//   activation_shift b) -> Y,   Y = A(conv + Z) * a + b
// (either of Mul and Add may be missing; constants on either side). PaddleOCR's learnable hard-swish writes
// that affine map after every HardSwish; a Conv without an activation gets its scalars folded into its
// weights by fuse_conv_add_mul instead. a and b must be float constants with one element whose rank does not
// exceed the FusedConv output's (so the output shape is unchanged); each intermediate read by the next node
// alone.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// The scalar operand of binary `n` whose other operand is `v`, when it keeps v's shape.
std::optional<double> scalar_operand(const ir::Node* n, const ir::Value* v) {
  if (n->inputs.size() != 2 || n->opset < 7 || !n->outputs[0]) return std::nullopt;
  const ir::Value* other = n->inputs[0] == v ? n->inputs[1] : n->inputs[0];
  if (other == v) return std::nullopt;
  const Tensor* t = constant_of(other);
  const int rank = known_rank(v);
  if (!t || t->type() != ElementType::kFloat || rank < 0 || static_cast<int>(t->rank()) > rank)
    return std::nullopt;
  return scalar_of(other);
}

}  // namespace

int fuse_conv_output_affine(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* conv : anchors_of(graph, {"FusedConv"})) {
    if (conv->domain != kKestrelDomain || conv->op_type != "FusedConv" || conv->outputs.size() != 1 ||
        !conv->outputs[0])
      continue;
    if (conv->attribute("activation_scale") || conv->attribute("activation_shift")) continue;
    double scale = 1.0, shift = 0.0;
    std::vector<ir::Node*> absorbed;
    ir::Value* cur = conv->outputs[0];
    if (ir::Node* mul = sole_consumer(cur, reads); is_op(mul, "Mul")) {
      if (auto a = scalar_operand(mul, cur)) {
        scale = *a;
        absorbed.push_back(mul);
        cur = mul->outputs[0];
      }
    }
    if (ir::Node* add = sole_consumer(cur, reads); is_op(add, "Add")) {
      if (auto b = scalar_operand(add, cur)) {
        shift = *b;
        absorbed.push_back(add);
        cur = add->outputs[0];
      }
    }
    if (absorbed.empty()) continue;
    for (ir::Node* n : absorbed) absorb_follower(graph, conv, n);
    set_attr(conv, make_float_attr("activation_scale", static_cast<float>(scale)));
    set_attr(conv, make_float_attr("activation_shift", static_cast<float>(shift)));
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
