// Fills in shapes ONNX's inference left unknown, for the ops the fusions look through (elementwise arithmetic,
// MatMul, Gemm, Transpose, Reshape by a constant, ReduceMean, and the ai.kestrel ops). Exporters' dynamic
// Reshapes stop ONNX's inference; once fold_reshape_shape has made their targets constants, this pass carries
// shapes (with symbolic dims) past them so rules such as fuse_layer_norm can check the dims they need.
// Only values without a known shape are touched; nothing here changes the graph's structure.
#include <unordered_set>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

using Dims = std::vector<Dim>;

std::optional<Dims> dims_of(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constant_view_of(v)) {
    Dims d;
    for (int64_t x : t->shape()) d.push_back(Dim{x, ""});
    return d;
  }
  if (v->type.kind != TypeInfo::Kind::kTensor || !v->type.shape) return std::nullopt;
  return *v->type.shape;
}

Dim broadcast_dim(const Dim& a, const Dim& b) {
  if (a.fixed() && a.value == 1) return b;
  if (b.fixed() && b.value == 1) return a;
  if (a.fixed()) return a;
  if (b.fixed()) return b;
  if (!a.symbol.empty() && a.symbol == b.symbol) return a;
  return Dim{};
}

std::optional<Dims> broadcast(const Dims& a, const Dims& b) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    const Dim da = i + a.size() >= r ? a[i + a.size() - r] : Dim{1, ""};
    const Dim db = i + b.size() >= r ? b[i + b.size() - r] : Dim{1, ""};
    out[i] = broadcast_dim(da, db);
  }
  return out;
}

std::optional<Dims> infer(const ir::Node* n) {
  const std::string& op = n->op_type;
  auto in = [&](size_t i) { return i < n->inputs.size() ? dims_of(n->inputs[i]) : std::nullopt; };
  static const std::unordered_set<std::string> kSameShape = {
      "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Clip", "Softmax", "LeakyRelu", "HardSigmoid", "HardSwish", "Neg",
      "Exp", "Log", "Abs", "Reciprocal", "Identity", "Dropout", "Gelu", "LayerNormalization",
      "SkipLayerNormalization", "Cast", "Elu", "Selu", "Softplus", "LogSoftmax"};
  if (kSameShape.count(op)) return in(0);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow") {
    if (n->opset < 7) return std::nullopt;
    auto a = in(0), b = in(1);
    if (!a || !b) return std::nullopt;
    return broadcast(*a, *b);
  }
  if (op == "MatMul" || op == "FusedMatMul") {
    auto a = in(0), b = in(1);
    if (!a || !b || a->size() < 2 || b->size() < 2) return std::nullopt;
    if (attr_int(n, "transA", 0)) std::swap((*a)[a->size() - 1], (*a)[a->size() - 2]);
    if (attr_int(n, "transB", 0)) std::swap((*b)[b->size() - 1], (*b)[b->size() - 2]);
    Dims ba(a->begin(), a->end() - 2), bb(b->begin(), b->end() - 2);
    auto out = broadcast(ba, bb);
    out->push_back((*a)[a->size() - 2]);
    out->push_back(b->back());
    return out;
  }
  // ai.kestrel DynamicQuantizeMatMul: float A [.., K] x int8 B [K, N] -> float [.., N].
  if (op == "DynamicQuantizeMatMul") {
    auto a = in(0), b = in(1);
    if (!a || !b || a->empty() || b->size() != 2) return std::nullopt;
    Dims out = *a;
    out.back() = b->back();
    return out;
  }
  if (op == "Gemm" || op == "FusedGemm") {
    auto a = in(0), b = in(1);
    if (!a || !b || a->size() != 2 || b->size() != 2) return std::nullopt;
    return Dims{(*a)[attr_int(n, "transA", 0) ? 1 : 0], (*b)[attr_int(n, "transB", 0) ? 0 : 1]};
  }
  if (op == "Transpose") {
    auto a = in(0);
    if (!a) return std::nullopt;
    auto perm = attr_ints(n, "perm");
    Dims out;
    if (!perm) {
      out.assign(a->rbegin(), a->rend());
      return out;
    }
    if (perm->size() != a->size()) return std::nullopt;
    for (int64_t p : *perm) {
      if (p < 0 || p >= static_cast<int64_t>(a->size())) return std::nullopt;
      out.push_back((*a)[static_cast<size_t>(p)]);
    }
    return out;
  }
  if (op == "Reshape" && n->opset >= 5) {
    auto a = in(0);
    auto s = n->inputs.size() > 1 ? ints_of(n->inputs[1]) : std::nullopt;
    if (!s) return std::nullopt;
    Dims out;
    for (size_t i = 0; i < s->size(); ++i) {
      const int64_t d = (*s)[i];
      if (d == 0 && attr_int(n, "allowzero", 0) == 0) {
        if (!a || i >= a->size()) return std::nullopt;
        out.push_back((*a)[i]);
      } else if (d > 0) {
        out.push_back(Dim{d, ""});
      } else {
        out.push_back(Dim{});  // -1: computed at run time (static inputs are folded by ONNX's inference)
      }
    }
    return out;
  }
  if (op == "ReduceMean" && n->opset < 18) {
    auto a = in(0);
    auto axes = attr_ints(n, "axes");
    if (!a || !axes) return std::nullopt;
    const bool keep = attr_int(n, "keepdims", 1) != 0;
    std::vector<bool> reduced(a->size(), false);
    for (int64_t ax : *axes) {
      if (ax < 0) ax += static_cast<int64_t>(a->size());
      if (ax < 0 || ax >= static_cast<int64_t>(a->size())) return std::nullopt;
      reduced[static_cast<size_t>(ax)] = true;
    }
    Dims out;
    for (size_t i = 0; i < a->size(); ++i) {
      if (!reduced[i]) out.push_back((*a)[i]);
      else if (keep) out.push_back(Dim{1, ""});
    }
    return out;
  }
  if (op == "Attention") {
    auto a = in(0);
    return a;
  }
  return std::nullopt;
}

}  // namespace

void propagate_shapes(ir::Graph& graph) {
  for (ir::Node* n : graph.topological_order()) {
    if (!n->domain.empty() && n->domain != kKestrelDomain) continue;
    if (n->outputs.empty() || !n->outputs[0]) continue;
    ir::Value* out = n->outputs[0];
    if (out->type.kind == TypeInfo::Kind::kTensor && out->type.shape && out->type.element_type != ElementType::kUndefined)
      continue;
    if (out->type.kind != TypeInfo::Kind::kTensor && out->type.kind != TypeInfo::Kind::kUnknown) continue;
    const ir::Value* x = n->inputs.empty() ? nullptr : n->inputs[0];
    if (!x) continue;
    ElementType et = out->type.element_type;
    if (et == ElementType::kUndefined) {
      if (n->op_type == "Cast") et = static_cast<ElementType>(attr_int(n, "to", 0));
      else et = element_type_of(x);
    }
    if (et == ElementType::kUndefined) continue;
    std::optional<std::vector<Dim>> shape = out->type.shape;
    if (!shape) shape = infer(n);
    out->type = TypeInfo::tensor(et, shape);
  }
}

}  // namespace kestrel::optimizer
