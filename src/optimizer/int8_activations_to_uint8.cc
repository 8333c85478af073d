// An int8 activation between quantized ops becomes uint8 with its zero point moved by 128:
//   QuantizeLinear(x, s, z: int8) -> q: int8 -> QLinearConv(q, s, z, ...)
// becomes
//   QuantizeLinear(x, s, z + 128: uint8) -> q: uint8 -> QLinearConv(q, s, z + 128, ...)
// Every stored value moves by 128 (v -> v + 128), and so do the zero point and the saturation bounds
// ([-128, 127] -> [0, 255]), so each dequantized value (q - z) * s is unchanged, and so is each requantized
// result of the ops that round before adding their zero point (QuantizeLinear, the QLinear ops but
// QLinearConv, the lookups). QLinearConv adds its output zero point in float before rounding (as its oneDNN
// kernel must): there a result whose float sum lies within rounding error of a half-integer can move by one
// step (about once in 10^5 values), as the QDQ fusions' results can against the float graph.
// The int8 convolutions run on u8 activations (VNNI multiplies u8 by s8): an int8 input costs a sign-flipping
// copy per convolution, a uint8 one without padding is read in place.
//
// A value changes only with everything it is tied to: the values joined through byte-moving ops (Transpose,
// Reshape, Concat, MaxPool and NhwcMaxPool, nearest Resize... which carry int8 unchanged, as
// fuse_qdq_data_movement leaves them) form one group, and a group changes when each of its values is made by
// a quantized op whose output zero point is a constant (or by a byte-moving op of the group), each reader is
// a quantized op reading it with a constant zero point (or a QuantizedLookup, whose table is indexed by
// storage order, the same for both types), and none is a graph output or read by a subgraph. Weights
// (initializers) never change.
#include <unordered_map>
#include <unordered_set>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// The ops that move int8 bytes unchanged, and which of their inputs carry them (the rest are shapes, axes,
// sizes).
bool moves_bytes(const ir::Node* n) {
  if (n->outputs.empty()) return false;
  if (n->domain == kKestrelDomain) return n->op_type == "NhwcMaxPool";  // MaxPool in the channels-last region
  if (!n->domain.empty()) return false;
  const std::string& t = n->op_type;
  if (t == "Resize") return attr_string(n, "mode", "nearest") == "nearest";
  if (t == "MaxPool") return n->outputs.size() < 2 || !n->outputs[1];  // no indices
  return t == "Transpose" || t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" ||
         t == "Concat" || t == "Identity";
}
size_t byte_inputs(const ir::Node* n) { return n->op_type == "Concat" ? n->inputs.size() : 1; }

// For a quantized op: the zero-point input slot that goes with its data input `slot` (-1 when the slot holds
// no activation this rule can move).
int zero_point_of_input(const ir::Node* n, size_t slot) {
  const std::string& t = n->op_type;
  const bool onnx = n->domain.empty(), kestrel = n->domain == kKestrelDomain;
  if (onnx && t == "DequantizeLinear" && slot == 0) return 2;
  if ((onnx || kestrel) && t == "QLinearConv" && slot == 0) return 2;
  if (onnx && t == "QLinearMatMul" && (slot == 0 || slot == 3)) return static_cast<int>(slot) + 2;
  if (onnx && (t == "MatMulInteger" || t == "ConvInteger") && slot <= 1) return static_cast<int>(slot) + 2;
  if (kestrel && (t == "QLinearAdd" || t == "QLinearMul") && (slot == 0 || slot == 3))
    return static_cast<int>(slot) + 2;
  if (kestrel && t == "QLinearGlobalAveragePool" && slot == 0) return 2;
  return -1;
}
// The zero-point input slot that sets the type of output 0 of a quantized op (-1 when not one).
int zero_point_of_output(const ir::Node* n) {
  const std::string& t = n->op_type;
  const bool onnx = n->domain.empty(), kestrel = n->domain == kKestrelDomain;
  if (onnx && t == "QuantizeLinear") return 2;
  if ((onnx || kestrel) && t == "QLinearConv") return 7;
  if (onnx && t == "QLinearMatMul") return 7;
  if (kestrel && (t == "QLinearAdd" || t == "QLinearMul")) return 7;
  if (kestrel && t == "QLinearGlobalAveragePool") return 4;
  return -1;
}
bool is_lookup(const ir::Node* n) { return n->domain == kKestrelDomain && n->op_type == "QuantizedLookup"; }
// Whether `n` reads input `slot` through a table indexed by storage order, which holds for both types: a
// lookup's X, or an ai.kestrel QLinearConv's X with an x_table (fuse_lookup_into_conv).
bool reads_through_table(const ir::Node* n, size_t slot) {
  if (is_lookup(n)) return slot == 0;
  return n->domain == kKestrelDomain && n->op_type == "QLinearConv" && slot == 0 && n->inputs.size() > 9 &&
         n->inputs[9];
}

// A constant int8 tensor in `n`'s input `slot` (a zero point, or a lookup's table).
const Tensor* int8_constant(const ir::Node* n, int slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= n->inputs.size() || !n->inputs[slot]) return nullptr;
  const Tensor* t = constant_of(n->inputs[slot]);
  return t && t->type() == ElementType::kInt8 ? t : nullptr;
}

// Groups of values by union-find.
struct Groups {
  std::unordered_map<const ir::Value*, const ir::Value*> parent;
  const ir::Value* find(const ir::Value* v) {
    auto it = parent.find(v);
    if (it == parent.end()) return parent[v] = v;
    if (it->second == v) return v;
    return it->second = find(it->second);
  }
  void join(const ir::Value* a, const ir::Value* b) { parent[find(a)] = find(b); }
};

// Whether value `v` of a group may change, given the group's values.
bool movable(const ir::Value* v, const ir::Graph& graph,
             const std::unordered_set<const ir::Value*>& sub_reads) {
  if (!v->producer || v->producer->owner != &graph || v->is_graph_output || sub_reads.count(v)) return false;
  const ir::Node* p = v->producer;
  if (p->outputs[0] != v) return false;
  if (!moves_bytes(p) && !is_lookup(p) && !int8_constant(p, zero_point_of_output(p))) return false;
  if (is_lookup(p) && !int8_constant(p, 1)) return false;  // the table
  for (const ir::Node* reader : v->consumers) {
    for (size_t slot = 0; slot < reader->inputs.size(); ++slot) {
      if (reader->inputs[slot] != v) continue;
      const bool known = moves_bytes(reader) ? slot < byte_inputs(reader)
                         : reads_through_table(reader, slot)
                             ? true
                             : int8_constant(reader, zero_point_of_input(reader, slot)) != nullptr;
      if (!known) return false;
    }
  }
  return true;
}

// The uint8 twin of an int8 constant: every element + 128 (its bytes with the sign bit flipped).
Tensor flipped(const Tensor& t) {
  Tensor u(ElementType::kUInt8, t.shape());
  for (int64_t i = 0; i < t.size(); ++i)
    u.data<uint8_t>()[i] = static_cast<uint8_t>(t.data<int8_t>()[i] + 128);
  return u;
}

}  // namespace

int int8_activations_to_uint8(ir::Graph& graph) {
  const auto sub_reads = subgraph_reads(graph);
  std::vector<const ir::Value*> int8_values;
  Groups groups;
  for (const auto& v : graph.values())
    if (v->producer && element_type_of(v.get()) == ElementType::kInt8) {
      int8_values.push_back(v.get());
      groups.find(v.get());
    }
  if (int8_values.empty()) return 0;
  for (const auto& n : graph.nodes()) {
    if (!moves_bytes(n.get()) || !n->outputs[0]) continue;
    for (size_t i = 0; i < byte_inputs(n.get()) && i < n->inputs.size(); ++i)
      if (n->inputs[i]) groups.join(n->inputs[i], n->outputs[0]);
  }
  // A group moves when all its values may; values outside int8_values (inputs, initializers, other types)
  // joined to a group hold it back.
  std::unordered_map<const ir::Value*, bool> group_ok;
  for (const auto& [v, _] : groups.parent) {
    const bool ok = element_type_of(v) == ElementType::kInt8 && movable(v, graph, sub_reads);
    auto [it, fresh] = group_ok.emplace(groups.find(v), ok);
    if (!fresh) it->second = it->second && ok;
  }
  std::unordered_map<const ir::Value*, ir::Value*> twins;  // int8 constant -> its uint8 twin
  auto twin_of = [&](ir::Value* c) {
    auto it = twins.find(c);
    if (it != twins.end()) return it->second;
    return twins[c] = add_constant(graph, c->name + "_u8", flipped(*constant_of(c)));
  };
  int moved = 0;
  for (const ir::Value* cv : int8_values) {
    if (!group_ok[groups.find(cv)]) continue;
    auto* v = const_cast<ir::Value*>(cv);
    ir::Node* p = v->producer;
    if (is_lookup(p))
      set_input(p, 1, twin_of(p->inputs[1]));
    else if (!moves_bytes(p))
      set_input(p, static_cast<size_t>(zero_point_of_output(p)), twin_of(p->inputs[zero_point_of_output(p)]));
    const std::vector<ir::Node*> readers = v->consumers;
    std::unordered_set<ir::Node*> done;
    for (ir::Node* reader : readers) {
      if (moves_bytes(reader) || is_lookup(reader) || !done.insert(reader).second) continue;
      for (size_t slot = 0; slot < reader->inputs.size(); ++slot)
        if (reader->inputs[slot] == v && !reads_through_table(reader, slot)) {
          const auto z = static_cast<size_t>(zero_point_of_input(reader, slot));
          set_input(reader, z, twin_of(reader->inputs[z]));
        }
    }
    v->type.element_type = ElementType::kUInt8;
    ++moved;
  }
  if (moved) graph.remove_unused_values();
  return moved;
}

}  // namespace kestrel::optimizer
