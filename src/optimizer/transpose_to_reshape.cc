// A Transpose that only moves dims of size 1 keeps every element where it was: it is a Reshape.
//   X[1,1,1,C] -> Transpose(0,3,1,2) -> Y[1,C,1,1]      becomes      X -> Reshape([1,C,1,1]) -> Y
// The layout rule leaves such a Transpose after a global pooling (NHWC [N,1,1,C] back to NCHW); as a Reshape
// it then merges with the Flatten or Reshape that usually follows (merge_reshape_chain), and costs nothing at
// run time. The dims other than 1 must keep their order; at most one of them may be unknown (it becomes -1).
// With two unknown dims or more (a detector's [N, H, W, 1] map back to NCHW), a Squeeze of the dims of size 1
// and an Unsqueeze to their places say the same without a target:
//   X[N,H,W,1] -> Transpose(0,3,1,2) -> Y[N,1,H,W]      becomes      X -> Squeeze(3) -> Unsqueeze(1) -> Y
// When the Transpose's only reader is a Flatten, the Flatten reads X directly instead, its axis moved to the
// same place among the dims other than 1 (this also covers an unknown batch dim, which a Reshape to the
// Flatten's output shape could not):
//   X[N,1,1,C] -> Transpose(0,3,1,2) -> Flatten(axis=1) -> Y      becomes      X -> Flatten(axis=1) -> Y
#include <algorithm>
#include <numeric>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

bool is_one(const Dim& d) { return d.fixed() && d.value == 1; }

// Whether transposing `shape` by `perm` moves only dims of size 1 (the others keep their order).
bool moves_only_ones(const std::vector<Dim>& shape, const std::vector<int64_t>& perm) {
  int64_t last_moved = -1;  // input index of the previous dim other than 1, in output order
  for (int64_t p : perm) {
    if (is_one(shape[static_cast<size_t>(p)])) continue;
    if (p < last_moved) return false;
    last_moved = p;
  }
  return true;
}

// The Reshape target equivalent to transposing `shape` by `perm` (which moves only dims of size 1), or nothing
// when it cannot be written (two unknown dims).
std::optional<std::vector<int64_t>> reshape_target(const std::vector<Dim>& shape,
                                                   const std::vector<int64_t>& perm) {
  std::vector<int64_t> target;
  int unknown = 0;
  for (int64_t p : perm) {
    const Dim& d = shape[static_cast<size_t>(p)];
    if (is_one(d)) {
      target.push_back(1);
      continue;
    }
    if (!d.fixed() && ++unknown > 1) return std::nullopt;
    if (d.fixed() && d.value == 0) return std::nullopt;  // 0 would mean "copy" in Reshape's target
    target.push_back(d.fixed() ? d.value : -1);
  }
  return target;
}

// `node` (a Transpose moving only dims of size 1 of `x`) as Squeeze of those dims, then Unsqueeze to their
// places in the output.
void replace_by_squeeze_unsqueeze(ir::Graph& graph, ir::Node* node, ir::Value* x,
                                  const std::vector<int64_t>& perm) {
  const std::vector<Dim>& shape = *x->type.shape;
  std::vector<int64_t> squeezed, unsqueezed;
  for (size_t i = 0; i < shape.size(); ++i)
    if (is_one(shape[i])) squeezed.push_back(static_cast<int64_t>(i));
  for (size_t i = 0; i < perm.size(); ++i)
    if (is_one(shape[static_cast<size_t>(perm[i])])) unsqueezed.push_back(static_cast<int64_t>(i));
  ir::Value* y = node->outputs[0];
  const std::string name = node->name;
  const bool axes_input = onnx_opset(graph) >= 13;
  graph.remove_node(node);
  std::vector<Dim> middle_shape;
  for (const Dim& d : shape)
    if (!is_one(d)) middle_shape.push_back(d);
  TypeInfo middle_type = TypeInfo::tensor(element_type_of(x));
  middle_type.shape = middle_shape;
  ir::Value* middle = add_intermediate(graph, y->name + "_squeezed", middle_type);
  const auto axes = [&](const std::vector<int64_t>& a, const std::string& hint) {
    return add_constant(graph, hint, Tensor::from_vector<int64_t>(a, {static_cast<int64_t>(a.size())}));
  };
  ir::Node* squeeze = add_node(graph, "Squeeze", "", axes_input ? std::vector<ir::Value*>{x, axes(squeezed, name + "_squeeze_axes")}
                                                                : std::vector<ir::Value*>{x},
                               {middle}, name + "_squeeze");
  ir::Node* unsqueeze =
      add_node(graph, "Unsqueeze", "",
               axes_input ? std::vector<ir::Value*>{middle, axes(unsqueezed, name + "_unsqueeze_axes")}
                          : std::vector<ir::Value*>{middle},
               {y}, name);
  if (!axes_input) {
    set_attr(squeeze, make_ints_attr("axes", squeezed));
    set_attr(unsqueeze, make_ints_attr("axes", unsqueezed));
  }
}

// The Flatten axis over X that splits X's elements as `axis` splits the transposed value, whose shape is
// `target` (1 for the dims known to be 1): both sides must hold the same dims other than 1.
int64_t flatten_axis_over_input(const std::vector<Dim>& x_shape, const std::vector<int64_t>& target,
                                int64_t axis) {
  int64_t before = 0;  // dims other than 1 before the axis in the transposed value
  for (int64_t i = 0; i < axis; ++i) before += target[static_cast<size_t>(i)] != 1;
  int64_t x_axis = 0;
  for (int64_t seen = 0; seen < before; ++x_axis) {
    const Dim& d = x_shape[static_cast<size_t>(x_axis)];
    seen += !(d.fixed() && d.value == 1);
  }
  return x_axis;
}

}  // namespace

int transpose_to_reshape(ir::Graph& graph) {
  if (onnx_opset(graph) < 5) return 0;  // Reshape takes its shape as an input from opset 5
  const auto sub_reads = subgraph_reads(graph);
  int fired = 0;
  // Readers first: folding a Transpose removes its Flatten, which has then been visited already.
  const std::vector<ir::Node*> order = graph.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ir::Node* node = *it;
    if (!is_op(node, "Transpose") || node->inputs.empty() || !node->inputs[0] || node->outputs.empty() ||
        !node->outputs[0])
      continue;
    ir::Value* x = node->inputs[0];
    const int rank = known_rank(x);
    if (rank < 0 || constant_view_of(x)) continue;  // constants are folded instead
    const std::vector<Dim>& shape = *x->type.shape;
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    if (auto p = attr_ints(node, "perm")) {
      perm = *p;
    } else {  // the default reverses the dims
      std::iota(perm.rbegin(), perm.rend(), 0);
    }
    if (static_cast<int>(perm.size()) != rank) continue;
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    bool valid = true;
    for (int64_t p : perm) {
      valid = valid && p >= 0 && p < rank && !seen[static_cast<size_t>(p)];
      if (valid) seen[static_cast<size_t>(p)] = true;
    }
    if (!valid || !moves_only_ones(shape, perm)) continue;
    const auto target = reshape_target(shape, perm);
    if (!target) {
      bool has_zero = false;
      for (const Dim& d : shape) has_zero = has_zero || (d.fixed() && d.value == 0);
      if (has_zero || std::none_of(shape.begin(), shape.end(), is_one)) continue;
      replace_by_squeeze_unsqueeze(graph, node, x, perm);
      ++fired;
      continue;
    }
    ir::Value* y = node->outputs[0];
    ir::Node* flatten = sole_consumer(y, sub_reads);
    if (flatten && is_op(flatten, "Flatten") && flatten->outputs[0]) {
      int64_t axis = attr_int(flatten, "axis", 1);
      if (axis < 0) axis += rank;
      if (axis >= 0 && axis <= rank) {
        const int64_t x_axis = flatten_axis_over_input(shape, *target, axis);
        ir::Value* out = flatten->outputs[0];
        const std::string name = flatten->name;
        graph.remove_node(flatten);
        graph.remove_node(node);
        ir::Node* merged = add_node(graph, "Flatten", "", {x}, {out}, name);
        set_attr(merged, make_int_attr("axis", x_axis));
        ++fired;
        continue;
      }
    }
    ir::Value* target_value =
        add_constant(graph, y->name + "_shape",
                     Tensor::from_vector<int64_t>(*target, {static_cast<int64_t>(target->size())}));
    const std::string name = node->name;
    graph.remove_node(node);
    add_node(graph, "Reshape", "", {x, target_value}, {y}, name);
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
