// The input layer of BERT-style encoders: embedding lookups summed and normalised, in one ai.kestrel op.
//   w = Gather(word_table, input_ids)   p = Gather(position_table, position_ids)   [s = Gather(segment_table, segment_ids)]
//   y = LayerNormalization(Add(Add(w, p), s), gamma, beta, axis=-1)        (the Adds in any order and nesting)
//   becomes   y = EmbedLayerNormalization(input_ids, segment_ids, word_table, position_table, segment_table,
//                                         gamma, beta, position_ids; epsilon)                       (ai.kestrel)
// position_ids is left out when it is 0..S-1 along input_ids' dim 1: Unsqueeze(Range(0, S, 1), [0]) (or the
// Range alone) with S read from Shape(input_ids), or that sequence as a constant when S is fixed. Tables are
// constant float [rows, E]; gamma and beta constant [E]; every index tensor other than default positions has
// input_ids' shape; every intermediate is read inside the pattern only. Runs before fuse_skip_layer_norm,
// which would otherwise take the last Add.
#include <algorithm>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

using Reads = std::unordered_set<const ir::Value*>;

struct Lookup {
  ir::Node* gather = nullptr;
  ir::Value* table = nullptr;
  ir::Value* ids = nullptr;
  int64_t rows = 0;
};

bool is_index_type(ElementType t) { return t == ElementType::kInt64 || t == ElementType::kInt32; }

// Collects the leaves of a tree of two-input Adds rooted at `v` whose inner sums are read by their Add alone.
void sum_terms(ir::Value* v, const Reads& reads, bool root, std::vector<ir::Value*>& terms,
               std::vector<ir::Node*>& adds) {
  ir::Node* add = producer_op(v, "Add");
  if (add && add->inputs.size() == 2 && (root || only_used_by(v, 1, reads)) && terms.size() + adds.size() < 8) {
    adds.push_back(add);
    sum_terms(add->inputs[0], reads, false, terms, adds);
    sum_terms(add->inputs[1], reads, false, terms, adds);
    return;
  }
  terms.push_back(v);
}

// `v` = Gather(constant float [rows, E], int ids) along axis 0, read by its Add alone.
std::optional<Lookup> lookup(ir::Value* v, int64_t E, const Reads& reads) {
  ir::Node* g = producer_op(v, "Gather");
  if (!g || g->inputs.size() != 2 || attr_int(g, "axis", 0) != 0 || !only_used_by(v, 1, reads)) return std::nullopt;
  const Tensor* table = constant_view_of(g->inputs[0]);  // read at run time a row at a time, as bytes
  if (!table || table->type() != ElementType::kFloat || table->rank() != 2 || table->dim(1) != E ||
      table->dim(0) == 0 || !is_index_type(element_type_of(g->inputs[1])))
    return std::nullopt;
  return Lookup{g, g->inputs[0], g->inputs[1], table->dim(0)};
}

// The fixed size of dim `i` of `v`, or -1.
int64_t fixed_dim(const ir::Value* v, size_t i) {
  if (v->type.kind != TypeInfo::Kind::kTensor || !v->type.shape || v->type.shape->size() <= i) return -1;
  const Dim& d = (*v->type.shape)[i];
  return d.fixed() ? d.value : -1;
}

// True when `v` is dim 1 of `ids` computed at run time: Gather(Shape(ids), 1 or -1), possibly through a Cast.
bool is_sequence_length_of(const ir::Value* v, const ir::Value* ids) {
  if (ir::Node* cast = producer_op(v, "Cast")) v = cast->inputs.empty() ? nullptr : cast->inputs[0];
  ir::Node* g = producer_op(v, "Gather");
  if (!g || g->inputs.size() != 2 || attr_int(g, "axis", 0) != 0) return false;
  const auto index = scalar_of(g->inputs[1]);
  if (!index || (*index != 1 && *index != -1)) return false;
  ir::Node* shape = producer_op(g->inputs[0], "Shape");
  return shape && !shape->inputs.empty() && shape->inputs[0] == ids && !shape->attribute("start") &&
         !shape->attribute("end");
}

// True when `pos` holds 0..S-1 with S = dim 1 of the rank-2 `ids`, shaped [S] or [1, S].
bool is_default_positions(const ir::Value* pos, const ir::Value* ids) {
  if (const Tensor* t = constant_of(pos)) {
    const auto values = ints_of(pos);
    const int64_t S = fixed_dim(ids, 1);
    if (!values || S < 0 || static_cast<int64_t>(values->size()) != S) return false;
    if (!(t->rank() == 1 || (t->rank() == 2 && t->dim(0) == 1))) return false;
    for (int64_t i = 0; i < S; ++i)
      if ((*values)[static_cast<size_t>(i)] != i) return false;
    return true;
  }
  if (ir::Node* unsqueeze = producer_op(pos, "Unsqueeze")) {
    const auto axes = unsqueeze->opset >= 13
                          ? (unsqueeze->inputs.size() > 1 ? ints_of(unsqueeze->inputs[1]) : std::nullopt)
                          : attr_ints(unsqueeze, "axes");
    if (!axes || *axes != std::vector<int64_t>{0} || unsqueeze->inputs.empty()) return false;
    pos = unsqueeze->inputs[0];
  }
  ir::Node* range = producer_op(pos, "Range");
  if (!range || range->inputs.size() != 3) return false;
  const auto start = scalar_of(range->inputs[0]);
  const auto delta = scalar_of(range->inputs[2]);
  return start && *start == 0 && delta && *delta == 1 && is_sequence_length_of(range->inputs[1], ids);
}

}  // namespace

int fuse_embed_layer_norm(ir::Graph& graph) {
  const Reads reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* ln : anchors_of(graph, {"LayerNormalization"})) {
    if (ln->inputs.size() < 2 || !ln->inputs[0] || !ln->inputs[1] || !ln->outputs[0]) continue;
    bool extra_outputs = false;
    for (size_t i = 1; i < ln->outputs.size(); ++i) extra_outputs |= ln->outputs[i] != nullptr;
    if (extra_outputs || attr_int(ln, "axis", -1) != -1 || element_type_of(ln->inputs[0]) != ElementType::kFloat)
      continue;
    const Tensor* gamma = constant_of(ln->inputs[1]);
    ir::Value* beta = ln->inputs.size() > 2 ? ln->inputs[2] : nullptr;
    if (!gamma || gamma->type() != ElementType::kFloat || gamma->rank() != 1) continue;
    const int64_t E = gamma->dim(0);
    if (beta) {
      const Tensor* b = constant_of(beta);
      if (!b || b->type() != ElementType::kFloat || b->shape() != gamma->shape()) continue;
    }
    std::vector<ir::Value*> terms;
    std::vector<ir::Node*> adds;
    sum_terms(ln->inputs[0], reads, true, terms, adds);
    if (adds.empty() || terms.size() < 2 || terms.size() > 3) continue;
    std::vector<Lookup> lookups;
    for (ir::Value* t : terms)
      if (auto l = lookup(t, E, reads)) lookups.push_back(*l);
    if (lookups.size() != terms.size()) continue;
    // The word lookup: the largest table among those indexed by a rank-2 tensor that is not 0..S-1.
    std::stable_sort(lookups.begin(), lookups.end(), [](const Lookup& a, const Lookup& b) { return a.rows > b.rows; });
    const Lookup* word = nullptr;
    for (const Lookup& l : lookups)
      if (!word && known_rank(l.ids) == 2 && !constant_of(l.ids)) word = &l;
    if (!word) continue;
    // The others: default positions (no ids needed), or ids of input_ids' shape (the segments, and then
    // positions given explicitly; which is which does not change the sum).
    const Lookup* default_position = nullptr;
    std::vector<const Lookup*> same_shaped;
    bool ok = true;
    for (const Lookup& l : lookups) {
      if (&l == word) continue;
      if (!default_position && is_default_positions(l.ids, word->ids)) default_position = &l;
      else if (same_shape(l.ids, word->ids)) same_shaped.push_back(&l);
      else ok = false;
    }
    if (!ok) continue;
    const Lookup* position = default_position;
    const Lookup* segment = nullptr;
    if (!position) {
      position = same_shaped.back();
      same_shaped.pop_back();
    }
    if (!same_shaped.empty()) segment = same_shaped.front();
    const bool default_positions = default_position != nullptr;
    ir::Value* y = ln->outputs[0];
    const float epsilon = attr_float(ln, "epsilon", 1e-5f);
    const std::string name = ln->name;
    std::vector<ir::Value*> inputs = {word->ids,
                                      segment ? segment->ids : nullptr,
                                      word->table,
                                      position->table,
                                      segment ? segment->table : nullptr,
                                      ln->inputs[1],
                                      beta,
                                      default_positions ? nullptr : position->ids};
    while (!inputs.back()) inputs.pop_back();
    std::vector<ir::Node*> nodes = adds;
    for (const Lookup& l : lookups) nodes.push_back(l.gather);
    nodes.push_back(ln);
    remove_nodes(graph, nodes);
    ir::Node* fused = add_node(graph, "EmbedLayerNormalization", kKestrelDomain, inputs, {y}, name);
    set_attr(fused, make_float_attr("epsilon", epsilon));
    ++fired;
  }
  // The position Range and its Shape arithmetic, now unread, go with eliminate_dead_nodes.
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
