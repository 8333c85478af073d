// Multi-head self-attention as exported from BERT-style encoders, fused into one ai.kestrel Attention:
//   q|k|v = X @ Wq|Wk|Wv + bq|bk|bv            (MatMul + Add, or FusedMatMul with a bias, or the int8
//                                               DynamicQuantizeMatMul with a bias: then the packed projection
//                                               is one DynamicQuantizeMatMul with per-column scales)
//   Q = Transpose(0,2,1,3)(Reshape(q, [0,0,H,d]))   Kt = Transpose(0,2,3,1)(Reshape(k, ..))   V like Q
//   P = Softmax(-1)(MatMul(Q, Kt) / s  [+ mask])     (Div or Mul by a scalar)
//   Y = Reshape(Transpose(0,2,1,3)(MatMul(P, V)), [0,0,H*d] or [0,0,-1])
//   becomes   QKV = FusedMatMul(X, [Wq|Wk|Wv], [bq|bk|bv]);  Y = Attention(QKV, -, -, mask; num_heads=H, scale=1/s)
// Every intermediate must be read inside the pattern only; weights and biases constant float; the Reshape
// targets constants whose leading dims are 0 (copy) or X's own fixed dims.
#include <cstring>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"
#include "runtime/huge_pages.h"

namespace kestrel::optimizer {
namespace {

using Reads = std::unordered_set<const ir::Value*>;

struct Projection {
  ir::Value* x = nullptr;
  const Tensor* w = nullptr;  // [hidden, E]: float, or uint8/int8 for a DynamicQuantizeMatMul
  const Tensor* b = nullptr;  // [E]
  const Tensor* w_scale = nullptr;       // DynamicQuantizeMatMul: one value or [E]
  const Tensor* w_zero_point = nullptr;  // DynamicQuantizeMatMul, when it has one
  std::vector<ir::Node*> nodes;
  bool quantized() const { return w_scale != nullptr; }
};

struct Match {
  std::vector<ir::Node*> nodes;
  bool ok = true;
  ir::Value* single(ir::Value* v, const Reads& reads) {
    if (!only_used_by(v, 1, reads)) ok = false;
    return v;
  }
};

// v = Add(MatMul(X, W), b) | FusedMatMul(X, W, b) with constant W [hidden, E] and b [E].
std::optional<Projection> projection(ir::Value* v, const Reads& reads) {
  Projection p;
  ir::Node* n = v ? v->producer : nullptr;
  if (!n || n->owner != v->owner) return std::nullopt;
  ir::Value* product = nullptr;
  ir::Value* bias = nullptr;
  if (n->domain == kKestrelDomain && n->op_type == "FusedMatMul") {
    if (n->inputs.size() != 3 || attr_int(n, "transA", 0) || attr_int(n, "transB", 0) ||
        attr_float(n, "alpha", 1.0f) != 1.0f || !attr_string(n, "activation", "").empty())
      return std::nullopt;
    p.x = n->inputs[0];
    p.w = constant_view_of(n->inputs[1]);  // W is only copied into the QKV weights, bytes at a time
    p.b = constant_of(n->inputs[2]);
    p.nodes = {n};
  } else if (n->domain == kKestrelDomain && n->op_type == "DynamicQuantizeMatMul") {
    if (n->inputs.size() != 5 || !n->inputs[4] || !attr_string(n, "activation", "").empty()) return std::nullopt;
    p.x = n->inputs[0];
    p.w = constant_of(n->inputs[1]);
    p.w_scale = constant_of(n->inputs[2]);
    p.w_zero_point = n->inputs[3] ? constant_of(n->inputs[3]) : nullptr;
    if (!p.w || !p.w_scale || (n->inputs[3] && !p.w_zero_point)) return std::nullopt;
    if (p.w->rank() != 2 || p.w_scale->type() != ElementType::kFloat ||
        (p.w_scale->size() != 1 && p.w_scale->size() != p.w->dim(1)) ||
        (p.w_zero_point && (p.w_zero_point->type() != p.w->type() ||
                            (p.w_zero_point->size() != 1 && p.w_zero_point->size() != p.w->dim(1)))))
      return std::nullopt;
    p.b = constant_of(n->inputs[4]);
    p.nodes = {n};
  } else if (is_op(n, "Add") && n->inputs.size() == 2) {
    for (int side = 0; side < 2; ++side) {
      if (producer_op(n->inputs[side], "MatMul")) {
        product = n->inputs[side];
        bias = n->inputs[1 - side];
      }
    }
    if (!product || !only_used_by(product, 1, reads)) return std::nullopt;
    ir::Node* mm = product->producer;
    p.x = mm->inputs[0];
    p.w = constant_view_of(mm->inputs[1]);
    p.b = constant_of(bias);
    p.nodes = {n, mm};
  } else {
    return std::nullopt;
  }
  if (!p.w || !p.b) return std::nullopt;
  const bool w_type_ok = p.quantized() ? (p.w->type() == ElementType::kUInt8 || p.w->type() == ElementType::kInt8)
                                       : p.w->type() == ElementType::kFloat;
  if (!w_type_ok || p.b->type() != ElementType::kFloat || p.w->rank() != 2 || p.b->rank() != 1 ||
      p.b->dim(0) != p.w->dim(1))
    return std::nullopt;
  return p;
}

bool has_perm(const ir::Node* n, const std::vector<int64_t>& perm) {
  const auto p = attr_ints(n, "perm");
  return is_op(n, "Transpose") && p && *p == perm;
}

// The Reshape target's leading dims copy X's (0, or X's own fixed dims); returns the trailing entries.
std::optional<std::vector<int64_t>> reshape_tail(const ir::Node* r, const ir::Value* x, size_t lead) {
  if (!is_op(r, "Reshape") || r->inputs.size() != 2 || attr_int(r, "allowzero", 0) != 0) return std::nullopt;
  const auto s = ints_of(r->inputs[1]);
  if (!s || s->size() < lead) return std::nullopt;
  const auto xs = static_shape(x);
  for (size_t i = 0; i < lead; ++i) {
    if ((*s)[i] == 0) continue;
    if (!xs || xs->size() <= i || (*xs)[i] != (*s)[i]) return std::nullopt;
  }
  return std::vector<int64_t>(s->begin() + static_cast<std::ptrdiff_t>(lead), s->end());
}

// v = Transpose(perm)(Reshape(proj, [0,0,H,d])); fills heads/size and the nodes.
std::optional<Projection> split_heads(ir::Value* v, const std::vector<int64_t>& perm, int64_t& heads,
                                      int64_t& size, Match& m, const Reads& reads) {
  ir::Node* t = v ? v->producer : nullptr;
  if (!t || !has_perm(t, perm)) return std::nullopt;
  ir::Node* r = t->inputs[0] ? t->inputs[0]->producer : nullptr;
  if (!r || !is_op(r, "Reshape")) return std::nullopt;
  m.single(t->inputs[0], reads);
  m.single(r->inputs[0], reads);
  auto p = projection(r->inputs[0], reads);
  if (!p) return std::nullopt;
  const auto tail = reshape_tail(r, p->x, 2);
  if (!tail || tail->size() != 2 || (*tail)[0] <= 0 || (*tail)[1] <= 0) return std::nullopt;
  heads = (*tail)[0];
  size = (*tail)[1];
  m.nodes.push_back(t);
  m.nodes.push_back(r);
  m.nodes.insert(m.nodes.end(), p->nodes.begin(), p->nodes.end());
  return p;
}

}  // namespace

int fuse_attention(ir::Graph& graph) {
  const Reads reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* softmax : anchors_of(graph, {"Softmax"})) {
    if (!softmax->domain.empty() || softmax->inputs.size() != 1) continue;
    const int64_t axis = attr_int(softmax, "axis", softmax->opset >= 13 ? -1 : 1);
    if (axis != -1 && axis != 3) continue;
    Match m;
    m.nodes.push_back(softmax);
    // Scores: [Add(mask)] <- Div|Mul(scalar) <- MatMul(Q, Kt).
    ir::Value* scores = softmax->inputs[0];
    ir::Value* mask = nullptr;
    ir::Node* n = scores->producer;
    m.single(scores, reads);
    if (is_op(n, "Add") && n->inputs.size() == 2) {
      ir::Node* a = n->inputs[0] ? n->inputs[0]->producer : nullptr;
      const int scaled_side = (is_op(a, "Div") || is_op(a, "Mul")) ? 0 : 1;
      mask = n->inputs[1 - scaled_side];
      m.nodes.push_back(n);
      scores = m.single(n->inputs[scaled_side], reads);
      n = scores ? scores->producer : nullptr;
    }
    double scale = 0;
    if ((is_op(n, "Div") || is_op(n, "Mul")) && n->inputs.size() == 2) {
      const auto s = scalar_of(n->inputs[1]);
      if (!s || *s == 0) continue;
      scale = n->op_type == "Div" ? 1.0 / *s : *s;
      m.nodes.push_back(n);
      scores = m.single(n->inputs[0], reads);
      n = scores ? scores->producer : nullptr;
    }
    if (!is_op(n, "MatMul") || scale == 0) continue;
    m.nodes.push_back(n);
    int64_t hq = 0, dq = 0, hk = 0, dk = 0, hv = 0, dv = 0;
    m.single(n->inputs[0], reads);
    m.single(n->inputs[1], reads);
    const auto q = split_heads(n->inputs[0], {0, 2, 1, 3}, hq, dq, m, reads);
    const auto k = split_heads(n->inputs[1], {0, 2, 3, 1}, hk, dk, m, reads);
    if (!q || !k) continue;
    // Context: Reshape(Transpose(0,2,1,3)(MatMul(P, V)), [0,0,E]).
    ir::Value* probs = softmax->outputs[0];
    ir::Node* ctx = sole_consumer(probs, reads);
    if (!is_op(ctx, "MatMul") || ctx->inputs[0] != probs) continue;
    m.nodes.push_back(ctx);
    m.single(ctx->inputs[1], reads);
    const auto v = split_heads(ctx->inputs[1], {0, 2, 1, 3}, hv, dv, m, reads);
    if (!v) continue;
    ir::Node* merge_t = sole_consumer(ctx->outputs[0], reads);
    if (!merge_t || !has_perm(merge_t, {0, 2, 1, 3})) continue;
    ir::Node* merge_r = sole_consumer(merge_t->outputs[0], reads);
    if (!merge_r || merge_r->inputs[0] != merge_t->outputs[0]) continue;
    m.nodes.push_back(merge_t);
    m.nodes.push_back(merge_r);
    const auto tail = reshape_tail(merge_r, q->x, 2);
    const int64_t E = q->w->dim(1);
    // The merged width is E, spelled out or as -1 (the only size the element count allows).
    if (!m.ok || !tail || tail->size() != 1 || ((*tail)[0] != E && (*tail)[0] != -1)) continue;
    if (q->x != k->x || q->x != v->x || hq != hk || hq != hv || dq != dk || dq != dv || hq * dq != E) continue;
    if (k->w->shape() != q->w->shape() || v->w->shape() != q->w->shape()) continue;
    if (element_type_of(q->x) != ElementType::kFloat || (mask && element_type_of(mask) != ElementType::kFloat))
      continue;
    // Q, K, V weights side by side: W [hidden, 3E], bias [3E] (and for int8 weights, scales and zero points
    // per column [3E]; a projection without zero point contributes zeros).
    const Projection* ps[3] = {&*q, &*k, &*v};
    const bool quantized = q->quantized();
    bool same_kind = true, any_zero_point = false;
    for (const Projection* p : ps) {
      same_kind = same_kind && p->quantized() == quantized && p->w->type() == q->w->type();
      any_zero_point = any_zero_point || p->w_zero_point;
    }
    if (!same_kind) continue;
    const int64_t hidden = q->w->dim(0);
    const size_t width = static_cast<size_t>(q->w->bytes() / q->w->size());
    Tensor w = runtime::uninitialized_weights(q->w->type(), {hidden, 3 * E});  // every byte is copied in
    Tensor b(ElementType::kFloat, {3 * E});
    Tensor w_scale(ElementType::kFloat, {3 * E});
    Tensor w_zero_point(q->w->type(), {3 * E});  // zero-filled
    for (int64_t part = 0; part < 3; ++part) {
      const Projection& p = *ps[part];
      const char* from = static_cast<const char*>(p.w->raw_data());
      char* to = static_cast<char*>(w.raw_data());
      for (int64_t r = 0; r < hidden; ++r)
        std::memcpy(to + (r * 3 * E + part * E) * width, from + r * E * width, static_cast<size_t>(E) * width);
      for (int64_t c = 0; c < E; ++c) {
        b.data<float>()[part * E + c] = p.b->data<float>()[c];
        if (!quantized) continue;
        w_scale.data<float>()[part * E + c] = p.w_scale->data<float>()[p.w_scale->size() == 1 ? 0 : c];
        if (p.w_zero_point)
          std::memcpy(static_cast<char*>(w_zero_point.raw_data()) + (part * E + c) * width,
                      static_cast<const char*>(p.w_zero_point->raw_data()) +
                          (p.w_zero_point->size() == 1 ? 0 : c) * width,
                      width);
      }
    }
    ir::Value* x = q->x;
    ir::Value* y = merge_r->outputs[0];
    const std::string name = softmax->name;
    std::unordered_set<ir::Node*> unique(m.nodes.begin(), m.nodes.end());
    if (unique.size() != m.nodes.size()) continue;
    ir::Value* wv = add_constant(graph, y->name + "_qkv_weight", std::move(w));
    ir::Value* bv = add_constant(graph, y->name + "_qkv_bias", std::move(b));
    std::vector<ir::Value*> read_by_match;
    for (const ir::Node* n : m.nodes) read_by_match.insert(read_by_match.end(), n->inputs.begin(), n->inputs.end());
    remove_nodes(graph, m.nodes);
    release_unread_constants(read_by_match, reads);  // Wq, Wk, Wv and their biases, now copied into W and b
    // The packed projection stays a FusedMatMul or DynamicQuantizeMatMul (the fast matmul kernels take it);
    // Attention reads its output.
    TypeInfo qkv_type = TypeInfo::tensor(ElementType::kFloat);
    if (x->type.shape && x->type.shape->size() == 3) {
      qkv_type.shape = *x->type.shape;
      qkv_type.shape->back() = Dim{3 * E, ""};
    }
    ir::Value* qkv = add_intermediate(graph, y->name + "_qkv", qkv_type);
    if (quantized) {
      ir::Value* sv = add_constant(graph, y->name + "_qkv_weight_scale", std::move(w_scale));
      ir::Value* zv =
          any_zero_point ? add_constant(graph, y->name + "_qkv_weight_zero_point", std::move(w_zero_point)) : nullptr;
      add_node(graph, "DynamicQuantizeMatMul", kKestrelDomain, {x, wv, sv, zv, bv}, {qkv}, name + "_qkv");
    } else {
      add_node(graph, "FusedMatMul", kKestrelDomain, {x, wv, bv}, {qkv}, name + "_qkv");
    }
    std::vector<ir::Value*> inputs = {qkv};
    if (mask) inputs = {qkv, nullptr, nullptr, mask};
    ir::Node* att = add_node(graph, "Attention", kKestrelDomain, inputs, {y}, name);
    set_attr(att, make_int_attr("num_heads", hq));
    set_attr(att, make_float_attr("scale", static_cast<float>(scale)));
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
