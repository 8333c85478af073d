// An elementwise float computation between the QDQ nodes of one int8 tensor is a function of that tensor's
// 256 values, so it becomes a table:
//   xq -> DequantizeLinear ─┬─ Sigmoid -> QuantizeLinear -> DequantizeLinear ─┐
//                           └──────────────────────────────────────────────── Mul -> QuantizeLinear -> yq
// (SiLU as QDQ quantizers write it) becomes
//   xq -> ai.kestrel QuantizedLookup(table) -> yq
// Every leaf is a per-tensor DequantizeLinear of the same xq (or of a one-element constant); inner nodes are
// elementwise ops (activations, Add/Sub/Mul/Div/Pow/Min/Max with one-element constant operands or operands of
// the same computation, per-tensor QuantizeLinear) whose results nothing else reads. The table is the final
// QuantizeLinear's output for each of the 256 inputs, computed by the nodes' own reference kernels, so the
// lookup gives exactly what they would.
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "optimizer/evaluate_node.h"
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

constexpr size_t kMaxInnerNodes = 16;

const std::unordered_set<std::string> kElementwise = {
    "Relu",    "Clip",     "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu",
    "Selu",    "Softplus", "Neg",     "Abs",  "Exp",         "Sqrt",      "Erf",       "Reciprocal",
    "Add",     "Sub",      "Mul",     "Div",  "Pow",         "Min",       "Max",       "QuantizeLinear",
    "Identity"};

bool one_element_constant(const ir::Value* v) {
  const Tensor* t = constant_of(v);
  return t && t->size() == 1;
}

// The computation feeding a QuantizeLinear: its leaves (DequantizeLinear nodes of one 8-bit value) and inner
// nodes in an order where producers come first.
struct Computation {
  ir::Value* source = nullptr;
  std::vector<ir::Node*> leaves;  // DequantizeLinear of the source, and of one-element constants
  std::vector<ir::Node*> inner;
};

class Matcher {
 public:
  explicit Matcher(const ir::Graph& graph) : graph_(graph) {}

  // Walks up from `v`; false when anything is not part of such a computation.
  bool visit(ir::Value* v, Computation& c) {
    if (one_element_constant(v)) return true;
    ir::Node* p = v ? v->producer : nullptr;
    if (!p || p->owner != &graph_) return false;
    if (seen_.count(p)) return true;
    if (is_op(p, "DequantizeLinear") && p->outputs.size() == 1 && p->inputs.size() >= 2) {
      // A dequantized one-element constant (hardswish's 3 and 6 in QDQ models) is a constant too.
      bool constants = one_element_constant(p->inputs[0]);
      for (size_t i = 1; i < p->inputs.size(); ++i)
        constants = constants && (!p->inputs[i] || constant_of(p->inputs[i]));
      if (constants) {
        seen_.insert(p);
        c.leaves.push_back(p);
        return true;
      }
    }
    if (auto d = dequantized(v, false)) {
      // A DequantizeLinear of the computation's own QuantizeLinear (the Sigmoid's in SiLU) is inside it; else
      // it is a leaf. Inside is tried first, and undone if the walk up fails.
      if (d->x != c.source && producer_op(d->x, "QuantizeLinear")) {
        const Computation saved = c;
        const auto saved_seen = seen_;
        if (visit(d->x, c)) {
          seen_.insert(p);
          c.inner.push_back(p);
          return true;
        }
        c = saved;
        seen_ = saved_seen;
      }
      if (c.source && c.source != d->x) return false;
      c.source = d->x;
      seen_.insert(p);
      c.leaves.push_back(p);
      return true;
    }
    if (!p->domain.empty() || !kElementwise.count(p->op_type) || p->outputs.size() != 1) return false;
    if (p->op_type == "QuantizeLinear" && !is_per_tensor_quantize(p)) return false;
    if (c.inner.size() >= kMaxInnerNodes) return false;
    const bool quantize = p->op_type == "QuantizeLinear";
    for (size_t i = 0; i < p->inputs.size(); ++i) {
      if (!p->inputs[i]) continue;
      if (quantize && i > 0) continue;  // its scale and zero point: checked above
      if (!visit(p->inputs[i], c)) return false;
    }
    seen_.insert(p);
    c.inner.push_back(p);
    return true;
  }

 private:
  const ir::Graph& graph_;
  std::unordered_set<const ir::Node*> seen_;
};

// The inputs of `n` as values: computed ones from `values`, constants as they are.
std::optional<std::vector<Value>> inputs_of(const ir::Node* n,
                                            const std::unordered_map<const ir::Value*, Value>& values) {
  std::vector<Value> in(n->inputs.size());
  for (size_t i = 0; i < n->inputs.size(); ++i) {
    const ir::Value* v = n->inputs[i];
    if (!v) continue;
    if (auto it = values.find(v); it != values.end()) {
      in[i] = it->second;
    } else if (const Tensor* t = constant_of(v)) {
      in[i] = Value(*t);
    } else {
      return std::nullopt;
    }
  }
  return in;
}

// The final QuantizeLinear's output for every value of the source, in the source's storage order (uint8
// 0..255; int8 -128..127).
std::optional<Tensor> table_of(const Computation& c, const ir::Node* q) {
  const Tensor all = every_byte_value(element_type_of(c.source));
  std::unordered_map<const ir::Value*, Value> values{{c.source, Value(all)}};
  std::vector<const ir::Node*> order(c.leaves.begin(), c.leaves.end());
  order.insert(order.end(), c.inner.begin(), c.inner.end());
  order.push_back(q);
  for (const ir::Node* n : order) {
    auto in = inputs_of(n, values);
    if (!in) return std::nullopt;
    auto out = evaluate_node(*n, std::move(*in));
    if (!out || out->empty() || !(*out)[0].is_tensor()) return std::nullopt;
    const Tensor& t = (*out)[0].tensor();
    const bool constant = one_element_constant(n->inputs[0]);  // a dequantized constant leaf
    if (!(constant && t.size() == 1) && t.shape() != Shape{256})
      return std::nullopt;  // something broadcast: not elementwise after all
    values[n->outputs[0]] = (*out)[0];
  }
  Tensor table = values.at(q->outputs[0]).tensor();
  if (!table.owns_data()) table = table.clone();
  if (table.type() != ElementType::kUInt8 && table.type() != ElementType::kInt8) return std::nullopt;
  return table;
}

}  // namespace

int fuse_quantized_lookup(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  // Last first, so the largest computation is taken whole; inner QuantizeLinears it removes are skipped.
  std::vector<ir::Node*> anchors = anchors_of(graph, {"QuantizeLinear"});
  std::unordered_set<const ir::Node*> removed;
  for (auto it = anchors.rbegin(); it != anchors.rend(); ++it) {
    ir::Node* q = *it;
    if (removed.count(q) || !is_per_tensor_quantize(q) || !q->outputs[0]) continue;
    Computation c;
    Matcher matcher(graph);
    if (!matcher.visit(q->inputs[0], c) || !c.source) continue;
    // The computation's own values are read by it alone (the final QuantizeLinear included).
    std::unordered_set<const ir::Node*> members(c.inner.begin(), c.inner.end());
    members.insert(q);
    bool private_values = true;
    for (const ir::Node* n : c.inner)
      for (const ir::Value* out : n->outputs) {
        if (!out) continue;
        if (out->is_graph_output || reads.count(out)) private_values = false;
        for (const ir::Node* reader : out->consumers)
          if (!members.count(reader)) private_values = false;
      }
    if (!private_values) continue;
    std::optional<Tensor> table = table_of(c, q);
    if (!table) continue;
    ir::Value* yq = q->outputs[0];
    ir::Value* source = c.source;
    const std::string name = q->name;
    std::vector<ir::Node*> gone = c.inner;
    gone.push_back(q);
    removed.insert(gone.begin(), gone.end());
    remove_nodes(graph, gone);
    for (ir::Node* dq : c.leaves) remove_if_unused(graph, dq, reads);
    ir::Value* table_value = add_constant(graph, name + "_table", std::move(*table));
    add_node(graph, "QuantizedLookup", kKestrelDomain, {source, table_value}, {yq}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
