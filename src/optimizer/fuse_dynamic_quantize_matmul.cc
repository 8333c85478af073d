// Dynamic quantization of a linear layer, as quantizers write it:
//   (q, s, z) = DynamicQuantizeLinear(X)
//   MatMulInteger(q, W, z[, w_zp]) -> Cast(to float) -> Mul(·, Mul(s, w_scale)) [-> Add(·, bias[N])] -> Y
// becomes
//   ai.kestrel:DynamicQuantizeMatMul(X, W, w_scale[, w_zp][, bias]) -> Y
// W must be a constant [K, N] uint8/int8 matrix, w_zp (if any) a constant, w_scale a constant float scalar or
// [N], bias a constant float [N]. The fused op quantizes X itself, so a DynamicQuantizeLinear shared by
// several layers (Q, K and V of attention) stays for the layers not fused and goes when none reads it.
// An activation reading the result alone (Relu, Gelu, ...; match_activation_chain) joins the fused op as its
// `activation`, also on a DynamicQuantizeMatMul fused in an earlier round.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

bool is_int8(ElementType t) { return t == ElementType::kUInt8 || t == ElementType::kInt8; }

// A constant float tensor of one element or of shape [n].
bool scalar_or_row(const ir::Value* v, int64_t n) {
  const Tensor* t = constant_of(v);
  if (!t || t->type() != ElementType::kFloat) return false;
  return (t->size() == 1 && t->rank() <= 1) || (t->rank() == 1 && t->dim(0) == n);
}

// Folds the activation reading `node`'s output alone into it; false when there is none.
bool absorb_activation(ir::Graph& graph, ir::Node* node, const std::unordered_set<const ir::Value*>& reads) {
  if (!node->outputs[0] || !attr_string(node, "activation", "").empty()) return false;
  std::string name;
  std::vector<float> params;
  std::vector<ir::Node*> act_nodes;
  ir::Value* out = match_activation_chain(node->outputs[0], reads, act_nodes, name, params);
  if (!out) return false;
  set_attr(node, make_string_attr("activation", name));
  if (!params.empty()) set_attr(node, make_floats_attr("activation_params", params));
  ir::Value* product = node->outputs[0];
  remove_nodes(graph, act_nodes);
  product->producer = nullptr;
  node->outputs[0] = out;
  out->producer = node;
  return true;
}

}  // namespace

int fuse_dynamic_quantize_matmul(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* dqmm : anchors_of(graph, {"DynamicQuantizeMatMul"}))
    if (dqmm->domain == kKestrelDomain && absorb_activation(graph, dqmm, reads)) ++fired;
  for (ir::Node* mmi : anchors_of(graph, {"MatMulInteger"})) {
    if (!is_op(mmi, "MatMulInteger") || mmi->inputs.size() < 3 || !mmi->outputs[0]) continue;
    ir::Node* dql = producer_op(mmi->inputs[0], "DynamicQuantizeLinear");
    if (!dql || dql->outputs.size() < 3 || mmi->inputs[0] != dql->outputs[0] || mmi->inputs[2] != dql->outputs[2] ||
        !dql->outputs[1])
      continue;
    ir::Value* w = mmi->inputs[1];
    const Tensor* wt = constant_of(w);
    if (!wt || !is_int8(wt->type()) || wt->rank() != 2) continue;
    const int64_t N = wt->dim(1);
    ir::Value* w_zp = mmi->inputs.size() > 3 ? mmi->inputs[3] : nullptr;
    if (w_zp && !constant_of(w_zp)) continue;
    ir::Node* cast = sole_consumer(mmi->outputs[0], reads);
    if (!is_op(cast, "Cast") || attr_int(cast, "to", 0) != static_cast<int64_t>(ElementType::kFloat)) continue;
    ir::Node* mul = sole_consumer(cast->outputs[0], reads);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2) continue;
    ir::Value* scales = mul->inputs[0] == cast->outputs[0] ? mul->inputs[1] : mul->inputs[0];
    ir::Node* scales_mul = producer_op(scales, "Mul");
    if (!scales_mul || scales_mul->inputs.size() != 2) continue;
    ir::Value* w_scale = scales_mul->inputs[0] == dql->outputs[1] ? scales_mul->inputs[1]
                         : scales_mul->inputs[1] == dql->outputs[1] ? scales_mul->inputs[0]
                                                                     : nullptr;
    if (!w_scale || !scalar_or_row(w_scale, N)) continue;
    // The bias Add, when the product's only reader adds a constant [N] row.
    ir::Node* add = sole_consumer(mul->outputs[0], reads);
    ir::Value* bias = nullptr;
    if (is_op(add, "Add") && add->inputs.size() == 2) {
      ir::Value* other = add->inputs[0] == mul->outputs[0] ? add->inputs[1] : add->inputs[0];
      const Tensor* bt = constant_of(other);
      if (bt && bt->type() == ElementType::kFloat && bt->rank() == 1 && bt->dim(0) == N) bias = other;
    }
    ir::Node* last = bias ? add : mul;
    ir::Value* y = last->outputs[0];
    ir::Value* x = dql->inputs[0];
    std::vector<ir::Node*> gone{mmi, cast, mul};
    if (bias) gone.push_back(add);
    const std::string name = mmi->name;
    remove_nodes(graph, gone);
    // The scales' Mul and the DynamicQuantizeLinear go when nothing else reads them.
    if (scales->consumers.empty() && !scales->is_graph_output && !reads.count(scales)) remove_nodes(graph, {scales_mul});
    bool dql_used = false;
    for (ir::Value* out : dql->outputs)
      dql_used = dql_used || (out && (!out->consumers.empty() || out->is_graph_output || reads.count(out)));
    if (!dql_used) remove_nodes(graph, {dql});
    std::vector<ir::Value*> inputs{x, w, w_scale, w_zp, bias};
    while (!inputs.back()) inputs.pop_back();  // omitted trailing inputs
    absorb_activation(graph, add_node(graph, "DynamicQuantizeMatMul", kKestrelDomain, inputs, {y}, name), reads);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
