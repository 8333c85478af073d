// The matching and editing primitives the rewrite rules share (see rewrite.h).
#include "optimizer/rewrite.h"

#include <algorithm>
#include <cmath>

#include "runtime/huge_pages.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::optimizer {

const Tensor* constant_of(const ir::Value* v) {
  if (!constant_view_of(v)) return nullptr;
  // The graph is the caller's to rewrite: an aligned copy of a view on unaligned bytes replaces it once, with
  // the same values.
  return runtime::aligned_initializer(*const_cast<ir::Value*>(v));
}

const Tensor* constant_view_of(const ir::Value* v) {
  if (!v || !v->initializer || v->is_graph_input) return nullptr;
  return v->initializer.get();
}

std::optional<double> scalar_of(const ir::Value* v) {
  const Tensor* view = constant_view_of(v);  // a large weight is not copied to learn it is no scalar
  if (!view || view->size() != 1) return std::nullopt;
  const Tensor* t = constant_of(v);
  switch (t->type()) {
    case ElementType::kFloat: return static_cast<double>(t->data<float>()[0]);
    case ElementType::kDouble: return t->data<double>()[0];
    case ElementType::kFloat16: return static_cast<double>(static_cast<float>(t->data<Float16>()[0]));
    case ElementType::kBFloat16: return static_cast<double>(static_cast<float>(t->data<BFloat16>()[0]));
    case ElementType::kInt32: return static_cast<double>(t->data<int32_t>()[0]);
    case ElementType::kInt64: return static_cast<double>(t->data<int64_t>()[0]);
    default: return std::nullopt;
  }
}

std::optional<std::vector<int64_t>> ints_of(const ir::Value* v) {
  const Tensor* view = constant_view_of(v);
  if (!view || (view->type() != ElementType::kInt64 && view->type() != ElementType::kInt32))
    return std::nullopt;
  const Tensor* t = constant_of(v);
  std::vector<int64_t> out;
  if (t->type() == ElementType::kInt64) {
    out.assign(t->data<int64_t>(), t->data<int64_t>() + t->size());
  } else if (t->type() == ElementType::kInt32) {
    for (int64_t i = 0; i < t->size(); ++i) out.push_back(t->data<int32_t>()[i]);
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<Shape> static_shape(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constant_view_of(v)) return t->shape();
  if (v->type.kind != TypeInfo::Kind::kTensor || !v->type.shape) return std::nullopt;
  Shape s;
  for (const Dim& d : *v->type.shape) {
    if (!d.fixed()) return std::nullopt;
    s.push_back(d.value);
  }
  return s;
}

int known_rank(const ir::Value* v) {
  if (!v) return -1;
  if (const Tensor* t = constant_view_of(v)) return static_cast<int>(t->rank());
  if (v->type.kind != TypeInfo::Kind::kTensor || !v->type.shape) return -1;
  return static_cast<int>(v->type.shape->size());
}

ElementType element_type_of(const ir::Value* v) {
  if (!v) return ElementType::kUndefined;
  if (const Tensor* t = constant_view_of(v)) return t->type();
  if (v->type.kind != TypeInfo::Kind::kTensor) return ElementType::kUndefined;
  return v->type.element_type;
}

bool is_op(const ir::Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

ir::Node* producer_op(const ir::Value* v, const char* op) {
  if (!v || !v->producer || v->producer->owner != v->owner) return nullptr;
  return is_op(v->producer, op) ? v->producer : nullptr;
}

namespace {
void collect_reads(const ir::Graph& sub, const ir::Graph& scope, std::unordered_set<const ir::Value*>& out) {
  for (const ir::Value* v : sub.outer_values())
    if (v->owner == &scope) out.insert(v);
}
}  // namespace

std::unordered_set<const ir::Value*> subgraph_reads(const ir::Graph& graph) {
  std::unordered_set<const ir::Value*> out;
  for (const auto& node : graph.nodes()) {
    for (const auto& [name, attr] : node->attributes) {
      if (attr.g) collect_reads(*attr.g, graph, out);
      for (const auto& g : attr.graphs) collect_reads(*g, graph, out);
    }
  }
  return out;
}

bool only_used_by(const ir::Value* v, size_t uses, const std::unordered_set<const ir::Value*>& sub_reads) {
  return v && !v->is_graph_output && !v->is_graph_input && !sub_reads.count(v) && v->consumers.size() == uses;
}

int64_t attr_int(const ir::Node* n, const std::string& name, int64_t fallback) {
  const ir::Attribute* a = n->attribute(name);
  return a && a->type == ir::Attribute::Type::kInt ? a->i : fallback;
}
float attr_float(const ir::Node* n, const std::string& name, float fallback) {
  const ir::Attribute* a = n->attribute(name);
  return a && a->type == ir::Attribute::Type::kFloat ? a->f : fallback;
}
std::string attr_string(const ir::Node* n, const std::string& name, const std::string& fallback) {
  const ir::Attribute* a = n->attribute(name);
  return a && a->type == ir::Attribute::Type::kString ? a->s : fallback;
}
std::optional<std::vector<int64_t>> attr_ints(const ir::Node* n, const std::string& name) {
  const ir::Attribute* a = n->attribute(name);
  if (!a || a->type != ir::Attribute::Type::kInts) return std::nullopt;
  return a->ints;
}

ir::Attribute make_int_attr(const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::Attribute::Type::kInt;
  a.i = v;
  return a;
}
ir::Attribute make_float_attr(const std::string& name, float v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::Attribute::Type::kFloat;
  a.f = v;
  return a;
}
ir::Attribute make_string_attr(const std::string& name, const std::string& v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::Attribute::Type::kString;
  a.s = v;
  return a;
}
ir::Attribute make_ints_attr(const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::Attribute::Type::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute make_floats_attr(const std::string& name, std::vector<float> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::Attribute::Type::kFloats;
  a.floats = std::move(v);
  return a;
}

std::string unique_name(const ir::Graph& graph, const std::string& hint) {
  if (!graph.find(hint)) return hint;
  for (int i = 1;; ++i) {
    std::string candidate = hint + "_" + std::to_string(i);
    if (!graph.find(candidate)) return candidate;
  }
}

ir::Value* add_constant(ir::Graph& graph, const std::string& hint, Tensor t) {
  ir::Value* v = graph.add_value(unique_name(graph, hint));
  v->type = TypeInfo::tensor(t.type(), std::vector<Dim>());
  for (int64_t d : t.shape()) v->type.shape->push_back(Dim{d, ""});
  v->initializer = std::make_shared<const Tensor>(std::move(t));
  return v;
}

ir::Value* add_intermediate(ir::Graph& graph, const std::string& hint, const TypeInfo& type) {
  ir::Value* v = graph.add_value(unique_name(graph, hint));
  v->type = type;
  return v;
}

int onnx_opset(const ir::Graph& graph) {
  for (const ir::Graph* g = &graph; g; g = g->parent()) {
    auto it = g->opsets.find("");
    if (it != g->opsets.end()) return it->second;
    it = g->opsets.find("ai.onnx");
    if (it != g->opsets.end()) return it->second;
  }
  return 0;
}

ir::Node* add_node(ir::Graph& graph, const std::string& op, const std::string& domain,
                   const std::vector<ir::Value*>& inputs, const std::vector<ir::Value*>& outputs,
                   const std::string& name_hint) {
  auto node = std::make_unique<ir::Node>();
  node->op_type = op;
  node->domain = domain;
  node->name = name_hint;
  if (domain.empty()) {
    node->opset = onnx_opset(graph);
  } else {
    node->opset = 1;
    if (domain == kKestrelDomain) graph.opsets.emplace(domain, 1);
  }
  node->inputs = inputs;
  node->outputs = outputs;
  ir::Node* raw = graph.add_node(std::move(node));
  for (ir::Value* in : inputs)
    if (in) in->consumers.push_back(raw);
  for (ir::Value* out : outputs)
    if (out) out->producer = raw;
  return raw;
}

void replace_uses(ir::Value* from, ir::Value* to) {
  for (ir::Node* consumer : std::vector<ir::Node*>(from->consumers)) {
    for (ir::Value*& slot : consumer->inputs) {
      if (slot == from) {
        slot = to;
        to->consumers.push_back(consumer);
      }
    }
  }
  from->consumers.clear();
}

void set_input(ir::Node* node, size_t i, ir::Value* v) {
  ir::Value* old = node->inputs[i];
  if (old) {
    auto it = std::find(old->consumers.begin(), old->consumers.end(), node);
    if (it != old->consumers.end()) old->consumers.erase(it);
  }
  node->inputs[i] = v;
  if (v) v->consumers.push_back(node);
}

void remove_nodes(ir::Graph& graph, const std::vector<ir::Node*>& nodes) {
  for (ir::Node* n : nodes) graph.remove_node(n);
}

void release_unread_constants(const std::vector<ir::Value*>& values,
                              const std::unordered_set<const ir::Value*>& sub_reads) {
  for (ir::Value* v : values)
    if (v && v->initializer && !v->producer && v->consumers.empty() && !v->is_graph_input && !v->is_graph_output &&
        !sub_reads.count(v))
      v->initializer.reset();
}

}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
bool bypass_node(ir::Graph& graph, ir::Node* node, size_t input_index,
                 const std::unordered_set<const ir::Value*>& sub_reads) {
  if (node->outputs.empty() || !node->outputs[0] || input_index >= node->inputs.size() ||
      !node->inputs[input_index])
    return false;
  ir::Value* out = node->outputs[0];
  ir::Value* in = node->inputs[input_index];
  if (out->is_graph_output || sub_reads.count(out)) return false;
  for (size_t i = 1; i < node->outputs.size(); ++i) {
    const ir::Value* o = node->outputs[i];
    if (o && (o->is_graph_output || !o->consumers.empty() || sub_reads.count(o))) return false;
  }
  replace_uses(out, in);
  graph.remove_node(node);
  return true;
}
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
bool rescale_conv(ir::Graph& graph, ir::Node* conv, const std::vector<double>& scale,
                  const std::vector<double>& shift) {
  if (conv->inputs.size() < 2) return false;
  const Tensor* W = constant_of(conv->inputs[1]);
  if (!W || W->type() != ElementType::kFloat || W->rank() < 1) return false;
  const int64_t M = W->dim(0);
  const Tensor* B = conv->inputs.size() > 2 && conv->inputs[2] ? constant_of(conv->inputs[2]) : nullptr;
  if (conv->inputs.size() > 2 && conv->inputs[2] && (!B || B->type() != ElementType::kFloat || B->size() != M))
    return false;
  if ((!scale.empty() && static_cast<int64_t>(scale.size()) != M) ||
      (!shift.empty() && static_cast<int64_t>(shift.size()) != M))
    return false;
  const int64_t per = M > 0 ? W->size() / M : 0;
  // Every weight is written below: not zero-filled first, and on huge pages when large, as loaded weights are.
  Tensor w2 = runtime::uninitialized_weights(ElementType::kFloat, W->shape());
  Tensor b2(ElementType::kFloat, {M});
  const float* w = W->data<float>();
  float* w_out = w2.data<float>();
  float* b_out = b2.data<float>();
  for (int64_t m = 0; m < M; ++m) {
    const double s = scale.empty() ? 1.0 : scale[static_cast<size_t>(m)];
    for (int64_t k = 0; k < per; ++k) w_out[m * per + k] = static_cast<float>(w[m * per + k] * s);
    const double b = B ? B->data<float>()[m] : 0.0;
    b_out[m] = static_cast<float>(b * s + (shift.empty() ? 0.0 : shift[static_cast<size_t>(m)]));
  }
  const std::string base = conv->outputs[0] ? conv->outputs[0]->name : conv->inputs[1]->name;
  set_input(conv, 1, add_constant(graph, base + "_W", std::move(w2)));
  ir::Value* bv = add_constant(graph, base + "_B", std::move(b2));
  if (conv->inputs.size() < 3) {
    conv->inputs.push_back(bv);
    bv->consumers.push_back(conv);
  } else {
    set_input(conv, 2, bv);
  }
  return true;
}

std::optional<std::vector<double>> per_channel(const ir::Value* v, int rank, int64_t M) {
  const Tensor* t = constant_of(v);
  if (!t || rank < 2 || static_cast<int>(t->rank()) > rank) return std::nullopt;
  if (t->type() != ElementType::kFloat && t->type() != ElementType::kDouble) return std::nullopt;
  auto at = [&](int64_t i) {
    return t->type() == ElementType::kFloat ? static_cast<double>(t->data<float>()[i]) : t->data<double>()[i];
  };
  if (t->size() == 1) return std::vector<double>(static_cast<size_t>(M), at(0));
  // Right-align t's dims against [N, M, spatial...]: only the channel dim may be > 1.
  const size_t off = static_cast<size_t>(rank) - t->rank();
  for (size_t i = 0; i < t->rank(); ++i) {
    const size_t axis = off + i;
    if (axis == 1 ? (t->dim(i) != M && t->dim(i) != 1) : t->dim(i) != 1) return std::nullopt;
  }
  if (t->size() != M) return std::nullopt;
  std::vector<double> out(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) out[static_cast<size_t>(m)] = at(m);
  return out;
}
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
void absorb_follower(ir::Graph& graph, ir::Node* node, ir::Node* follower) {
  ir::Value* out = follower->outputs[0];
  ir::Value* old = node->outputs[0];
  graph.remove_node(follower);
  old->producer = nullptr;
  node->outputs[0] = out;
  out->producer = node;
}

ir::Node* sole_consumer(const ir::Value* v, const std::unordered_set<const ir::Value*>& sub_reads) {
  if (!only_used_by(v, 1, sub_reads)) return nullptr;
  ir::Node* c = v->consumers[0];
  return c->owner == v->owner ? c : nullptr;
}
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
bool near(double a, double b) { return std::abs(a - b) <= 1e-4 * std::max(std::abs(a), std::abs(b)); }

bool activation_of(const ir::Node* n, std::string& name, std::vector<float>& params) {
  if (!n || n->inputs.empty() || !n->inputs[0] || n->outputs.empty() || !n->outputs[0]) return false;
  params.clear();
  if (n->domain == kKestrelDomain && n->op_type == "Gelu") {
    name = attr_string(n, "approximate", "none") == "tanh" ? "GeluTanh" : "Gelu";
    return true;
  }
  if (!n->domain.empty()) return false;
  const std::string& op = n->op_type;
  if (n->inputs.size() != 1 && op != "Clip") return false;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
    name = op;
    return true;
  }
  if (op == "LeakyRelu") {
    name = op;
    params = {attr_float(n, "alpha", 0.01f)};
    return true;
  }
  if (op == "HardSigmoid") {
    name = op;
    params = {attr_float(n, "alpha", 0.2f), attr_float(n, "beta", 0.5f)};
    return true;
  }
  if (op == "Clip") {
    float lo = -INFINITY, hi = INFINITY;
    if (n->opset < 11) {
      lo = attr_float(n, "min", lo);
      hi = attr_float(n, "max", hi);
    } else {
      if (n->inputs.size() > 1 && n->inputs[1]) {
        auto v = scalar_of(n->inputs[1]);
        if (!v || element_type_of(n->inputs[1]) != ElementType::kFloat) return false;
        lo = static_cast<float>(*v);
      }
      if (n->inputs.size() > 2 && n->inputs[2]) {
        auto v = scalar_of(n->inputs[2]);
        if (!v || element_type_of(n->inputs[2]) != ElementType::kFloat) return false;
        hi = static_cast<float>(*v);
      }
    }
    name = op;
    params = {lo, hi};
    return true;
  }
  return false;
}

bool same_shape(const ir::Value* a, const ir::Value* b) {
  if (!a || !b) return false;
  if (a == b) return true;
  const auto sa = static_shape(a), sb = static_shape(b);
  if (sa && sb) return *sa == *sb;
  if (a->type.kind != TypeInfo::Kind::kTensor || b->type.kind != TypeInfo::Kind::kTensor || !a->type.shape ||
      !b->type.shape)
    return false;
  const auto& da = *a->type.shape;
  const auto& db = *b->type.shape;
  if (da.size() != db.size()) return false;
  for (size_t i = 0; i < da.size(); ++i) {
    if (da[i].fixed() && db[i].fixed() && da[i].value == db[i].value) continue;
    if (!da[i].fixed() && !db[i].fixed() && !da[i].symbol.empty() && da[i].symbol == db[i].symbol) continue;
    return false;
  }
  return true;
}

void set_attr(ir::Node* n, ir::Attribute a) {
  const std::string name = a.name;
  n->attributes[name] = std::move(a);
}
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
std::vector<ir::Node*> anchors_of(const ir::Graph& graph, const std::vector<std::string>& ops) {
  std::vector<ir::Node*> out;
  for (ir::Node* n : graph.topological_order()) {
    if (!n->domain.empty() && n->domain != kKestrelDomain) continue;
    if (std::find(ops.begin(), ops.end(), n->op_type) != ops.end()) out.push_back(n);
  }
  return out;
}
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
namespace {
bool is_float_scalar(const ir::Value* v, double want) {
  const auto s = scalar_of(v);
  return s && near(*s, want) && element_type_of(v) == ElementType::kFloat;
}

// HardSwish as exporters without the op spell it: Div(Mul(v, Clip(Add(v, 3), 0, 6)), 6), or Mul by 1/6 last.
ir::Value* match_hard_swish(ir::Value* v, const std::unordered_set<const ir::Value*>& reads, std::vector<ir::Node*>& nodes) {
  ir::Node* add = nullptr;
  ir::Node* mul = nullptr;
  for (ir::Node* c : v->consumers) {
    if (is_op(c, "Add") && c->inputs.size() == 2) add = c;
    else if (is_op(c, "Mul") && c->inputs.size() == 2) mul = c;
  }
  if (!add || !mul || add->opset < 7 || !is_float_scalar(add->inputs[0] == v ? add->inputs[1] : add->inputs[0], 3.0))
    return nullptr;
  ir::Node* clip = sole_consumer(add->outputs[0], reads);
  std::string clip_name;
  std::vector<float> clip_params;
  if (!is_op(clip, "Clip") || !activation_of(clip, clip_name, clip_params) || clip_params[0] != 0.0f ||
      clip_params[1] != 6.0f)
    return nullptr;
  if (sole_consumer(clip->outputs[0], reads) != mul) return nullptr;
  if (!((mul->inputs[0] == v && mul->inputs[1] == clip->outputs[0]) ||
        (mul->inputs[1] == v && mul->inputs[0] == clip->outputs[0])))
    return nullptr;
  ir::Node* scale = sole_consumer(mul->outputs[0], reads);
  if (!scale || scale->inputs.size() != 2 || scale->opset < 7) return nullptr;
  const bool ok = (is_op(scale, "Div") && scale->inputs[0] == mul->outputs[0] && is_float_scalar(scale->inputs[1], 6.0)) ||
                  (is_op(scale, "Mul") && is_float_scalar(scale->inputs[0] == mul->outputs[0] ? scale->inputs[1]
                                                                                         : scale->inputs[0],
                                                    1.0 / 6.0));
  if (!ok) return nullptr;
  nodes.insert(nodes.end(), {add, clip, mul, scale});
  return scale->outputs[0];
}

}  // namespace

// Matches an activation reading `v` (its sole reader, or Sigmoid+Mul for SiLU); fills nodes/name/params and
// returns the activation's output, or nullptr.
ir::Value* match_activation_chain(ir::Value* v, const std::unordered_set<const ir::Value*>& reads, std::vector<ir::Node*>& nodes, std::string& name,
                            std::vector<float>& params) {
  if (ir::Node* act = sole_consumer(v, reads)) {
    if (!activation_of(act, name, params) || act->inputs[0] != v) return nullptr;
    if (act->domain.empty() && act->op_type == "HardSwish" && act->opset < 14) return nullptr;
    nodes.push_back(act);
    return act->outputs[0];
  }
  if (!only_used_by(v, 2, reads)) return nullptr;
  if (ir::Value* out = match_hard_swish(v, reads, nodes)) {
    name = "HardSwish";
    params.clear();
    return out;
  }
  ir::Node* sig = nullptr;
  ir::Node* mul = nullptr;
  for (ir::Node* c : v->consumers) {
    if (is_op(c, "Sigmoid")) sig = c;
    else if (is_op(c, "Mul")) mul = c;
  }
  if (!sig || !mul || mul->inputs.size() != 2) return nullptr;
  ir::Value* s = sig->outputs[0];
  if (!only_used_by(s, 1, reads) || s->consumers[0] != mul) return nullptr;
  if (!((mul->inputs[0] == v && mul->inputs[1] == s) || (mul->inputs[1] == v && mul->inputs[0] == s))) return nullptr;
  nodes.push_back(sig);
  nodes.push_back(mul);
  name = "Silu";
  params.clear();
  return mul->outputs[0];
}

}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
std::optional<Dequantized> dequantized(const ir::Value* v, bool per_axis_ok) {
  ir::Node* dq = producer_op(v, "DequantizeLinear");
  if (!dq || dq->inputs.size() < 2 || dq->outputs.size() != 1 || dq->attributes.count("block_size")) return std::nullopt;
  Dequantized d;
  d.node = dq;
  d.x = dq->inputs[0];
  d.scale = dq->inputs[1];
  d.zero_point = dq->inputs.size() > 2 ? dq->inputs[2] : nullptr;
  const ElementType xt = element_type_of(d.x);
  if (xt != ElementType::kUInt8 && xt != ElementType::kInt8) return std::nullopt;
  const Tensor* s = constant_of(d.scale);
  if (!s || s->type() != ElementType::kFloat) return std::nullopt;
  const Tensor* z = d.zero_point ? constant_of(d.zero_point) : nullptr;
  if (d.zero_point && (!z || z->type() != xt || z->size() != s->size())) return std::nullopt;
  if (s->size() == 1 && s->rank() <= 1) return d;
  const int rank = known_rank(d.x);
  if (!per_axis_ok || s->rank() != 1 || dq->opset < 13 || rank < 1) return std::nullopt;
  d.axis = attr_int(dq, "axis", 1);
  if (d.axis < 0) d.axis += rank;
  if (d.axis < 0 || d.axis >= rank) return std::nullopt;
  return d;
}

bool is_per_tensor_quantize(const ir::Node* q) {
  if (!is_op(q, "QuantizeLinear") || q->inputs.size() < 2 || q->attributes.count("saturate") ||
      q->attributes.count("block_size"))
    return false;
  const Tensor* scale = constant_of(q->inputs[1]);
  if (!scale || scale->type() != ElementType::kFloat || scale->size() != 1) return false;
  const ir::Value* zero_point = q->inputs.size() > 2 ? q->inputs[2] : nullptr;
  if (!zero_point) return true;
  const Tensor* z = constant_of(zero_point);
  return z && z->size() == 1 && (z->type() == ElementType::kUInt8 || z->type() == ElementType::kInt8);
}

bool is_lowest_zero_point(const ir::Value* zp) {
  if (!zp) return true;
  const Tensor* t = constant_of(zp);
  if (!t || t->size() != 1) return false;
  if (t->type() == ElementType::kUInt8) return t->data<uint8_t>()[0] == 0;
  if (t->type() == ElementType::kInt8) return t->data<int8_t>()[0] == -128;
  return false;
}

std::optional<Requantization> requantization_of(const ir::Value* y,
                                                const std::unordered_set<const ir::Value*>& sub_reads) {
  ir::Node* next = sole_consumer(y, sub_reads);
  ir::Node* relu = is_op(next, "Relu") ? next : nullptr;
  ir::Node* q = relu ? sole_consumer(relu->outputs[0], sub_reads) : next;
  if (!is_per_tensor_quantize(q)) return std::nullopt;
  if (relu && !is_lowest_zero_point(q->inputs.size() > 2 ? q->inputs[2] : nullptr)) return std::nullopt;
  return Requantization{relu, q};
}

ir::Node* quantized_bias(const ir::Value* b, float x_scale, const Tensor& w_scale, int64_t M) {
  ir::Node* dq = producer_op(b, "DequantizeLinear");
  const Tensor* bq = dq ? constant_of(dq->inputs[0]) : nullptr;
  const Tensor* bs = dq && dq->inputs.size() > 1 ? constant_of(dq->inputs[1]) : nullptr;
  const Tensor* bz = dq && dq->inputs.size() > 2 && dq->inputs[2] ? constant_of(dq->inputs[2]) : nullptr;
  if (!bq || bq->type() != ElementType::kInt32 || bq->rank() != 1 || bq->dim(0) != M || !bs ||
      bs->type() != ElementType::kFloat || (bs->size() != 1 && bs->size() != M))
    return nullptr;
  if (dq->inputs.size() > 2 && dq->inputs[2] && (!bz || bz->type() != ElementType::kInt32)) return nullptr;
  if (w_scale.type() != ElementType::kFloat || (w_scale.size() != 1 && w_scale.size() != M)) return nullptr;
  const auto at = [](const Tensor& t, int64_t i) { return t.data<float>()[t.size() == 1 ? 0 : i]; };
  for (int64_t m = 0; m < M; ++m) {
    if (bz && bz->data<int32_t>()[bz->size() == 1 ? 0 : m] != 0) return nullptr;
    const double want = static_cast<double>(x_scale) * at(w_scale, m);
    if (std::fabs(at(*bs, m) - want) > 1e-5 * std::fabs(want)) return nullptr;
  }
  return dq;
}

ir::Value* zero_point_or_zero(ir::Graph& graph, ir::Value* zero_point, ElementType type) {
  if (zero_point) return zero_point;
  Tensor zero(type, {});  // zero-filled
  return add_constant(graph, "zero_point", std::move(zero));
}

std::vector<ir::Value*> qlinear_inputs(ir::Graph& graph, const Dequantized& a, const Dequantized& b, const ir::Node* q) {
  ir::Value* y_zero_point = q->inputs.size() > 2 ? q->inputs[2] : nullptr;
  return {a.x,
          a.scale,
          zero_point_or_zero(graph, a.zero_point, element_type_of(a.x)),
          b.x,
          b.scale,
          zero_point_or_zero(graph, b.zero_point, element_type_of(b.x)),
          q->inputs[1],
          zero_point_or_zero(graph, y_zero_point, ElementType::kUInt8)};
}

void remove_if_unused(ir::Graph& graph, ir::Node* node, const std::unordered_set<const ir::Value*>& sub_reads) {
  for (const ir::Value* out : node->outputs)
    if (out && (!out->consumers.empty() || out->is_graph_output || sub_reads.count(out))) return;
  remove_nodes(graph, {node});
}
}  // namespace kestrel::optimizer
