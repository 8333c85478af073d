// Common-subexpression elimination: two nodes of the same op, domain, opset and attributes reading the same
// inputs compute the same outputs, so the later one's readers are pointed at the earlier one's outputs.
//   X -> Shape -> a ; X -> Shape -> b      becomes      X -> Shape -> a (read where b was)
// Small constant initializers with equal type, shape and bytes are merged first, so nodes reading copies of
// one constant compare equal. Left alone: random ops, nodes with subgraph or tensor attributes, nodes without inputs (Constant: folded
// instead), and nodes whose outputs are graph outputs or read by subgraphs.
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// A key equal for exactly the nodes that compute the same thing; empty when the node must not be merged.
std::string node_key(const ir::Node* n) {
  static const std::unordered_set<std::string> kRandom = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                          "RandomUniformLike", "Multinomial", "Bernoulli"};
  if (n->inputs.empty() || kRandom.count(n->op_type)) return "";
  std::string key = n->domain + "|" + n->op_type + "|" + std::to_string(n->opset) + "|" +
                    std::to_string(n->outputs.size()) + "|";
  for (const ir::Value* in : n->inputs) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%p,", static_cast<const void*>(in));
    key += buf;
  }
  for (const auto& [name, a] : n->attributes) {
    key += "|" + name + ":" + std::to_string(static_cast<int>(a.type)) + ":";
    switch (a.type) {
      case ir::Attribute::Type::kFloat: {
        uint32_t bits;
        std::memcpy(&bits, &a.f, sizeof(bits));
        key += std::to_string(bits);
        break;
      }
      case ir::Attribute::Type::kInt: key += std::to_string(a.i); break;
      case ir::Attribute::Type::kString: key += std::to_string(a.s.size()) + ":" + a.s; break;
      case ir::Attribute::Type::kFloats:
        for (float f : a.floats) {
          uint32_t bits;
          std::memcpy(&bits, &f, sizeof(bits));
          key += std::to_string(bits) + ",";
        }
        break;
      case ir::Attribute::Type::kInts:
        for (int64_t i : a.ints) key += std::to_string(i) + ",";
        break;
      case ir::Attribute::Type::kStrings:
        for (const auto& s : a.strings) key += std::to_string(s.size()) + ":" + s + ",";
        break;
      default: return "";  // tensors, graphs, type protos: not compared
    }
  }
  return key;
}

// Points readers of duplicate small constants at the first copy; returns how many copies lost their readers.
int merge_equal_constants(ir::Graph& graph, const std::unordered_set<const ir::Value*>& sub_reads) {
  constexpr size_t kMaxBytes = 256;
  std::unordered_map<std::string, ir::Value*> seen;
  int merged = 0;
  for (const auto& v : graph.values()) {
    const Tensor* t = constant_view_of(v.get());  // bytes compared only
    if (!t || t->type() == ElementType::kString || t->bytes() > kMaxBytes || v->is_graph_output ||
        sub_reads.count(v.get()) || v->consumers.empty())
      continue;
    std::string key = std::to_string(static_cast<int>(t->type())) + "|" + shape_to_string(t->shape()) + "|";
    key.append(static_cast<const char*>(t->raw_data()), t->bytes());
    auto [it, inserted] = seen.emplace(std::move(key), v.get());
    if (inserted) continue;
    replace_uses(v.get(), it->second);
    ++merged;
  }
  return merged;
}

}  // namespace

int eliminate_common_subexpressions(ir::Graph& graph) {
  const auto sub_reads = subgraph_reads(graph);
  const int merged = merge_equal_constants(graph, sub_reads);
  if (merged) graph.remove_unused_values();
  std::unordered_map<std::string, ir::Node*> seen;
  std::vector<ir::Node*> dead;
  int fired = 0;
  for (ir::Node* node : graph.topological_order()) {
    const std::string key = node_key(node);
    if (key.empty()) continue;
    auto [it, inserted] = seen.emplace(key, node);
    if (inserted) continue;
    ir::Node* first = it->second;
    bool ok = true;
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      const ir::Value* o = node->outputs[i];
      if (o && (o->is_graph_output || sub_reads.count(o) || !first->outputs[i])) ok = false;
    }
    if (!ok) continue;
    for (size_t i = 0; i < node->outputs.size(); ++i)
      if (node->outputs[i]) replace_uses(node->outputs[i], first->outputs[i]);
    dead.push_back(node);
    ++fired;
  }
  remove_nodes(graph, dead);
  if (fired) graph.remove_unused_values();
  return fired + merged;
}

}  // namespace kestrel::optimizer
