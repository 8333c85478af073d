// MobileNetV2's inverted residual block, three channels-last convolutions, becomes one op:
//   X -> FusedConv(1x1, act A) -> FusedConv(depthwise kH x kW, act B) -> FusedConv(1x1, residual Z, act C)
//     -> Y
//   becomes   X -> InvertedResidual(W1, B1, W2, B2, W3, B3, Z; expand_activation A, depthwise_activation B,
//                                   activation C) -> Y
// (the residual Z and the biases optional), so that the fast kernel runs the block in row bands on one team
// of threads, its expanded rows kept in cache (src/providers/cpu/dnnl/inverted_residual.cc). Runs after
// layout_nhwc: every FusedConv is channels_last, 2-D, with float constant weights and biases, no
// activation_scale/shift and no SiLU (FusedConv runs SiLU as a pass of its own); the 1x1 ones ungrouped,
// unstrided, unpadded; the depthwise one with one input channel per group and no residual; each intermediate
// read by the next convolution alone.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

// `n` is a channels-last FusedConv with a float constant 4-D weight and constant (or absent) bias, an
// activation the fused kernel takes as a post-op and no output affine map; its weight, else null. Only the
// constants' types and shapes are read: views, so that no weight is copied to be aligned (the kernels pack
// them from the views).
const Tensor* block_conv_weights(const ir::Node* n) {
  if (!n || n->domain != kKestrelDomain || n->op_type != "FusedConv" ||
      attr_int(n, "channels_last", 0) != 1 || n->inputs.size() < 2 || n->outputs.size() != 1 ||
      !n->outputs[0])
    return nullptr;
  if (n->attribute("activation_scale") || n->attribute("activation_shift")) return nullptr;
  if (attr_string(n, "activation", "") == "Silu") return nullptr;
  const Tensor* w = constant_view_of(n->inputs[1]);
  if (!w || w->type() != ElementType::kFloat || w->rank() != 4) return nullptr;
  if (n->inputs.size() > 2 && n->inputs[2]) {
    const Tensor* b = constant_view_of(n->inputs[2]);
    if (!b || b->type() != ElementType::kFloat || b->rank() != 1 || b->dim(0) != w->dim(0)) return nullptr;
  }
  return w;
}

// A 1x1 ungrouped convolution with unit strides and dilations and no padding.
bool pointwise(const ir::Node* n, const Tensor& w) {
  if (w.dim(2) != 1 || w.dim(3) != 1 || attr_int(n, "group", 1) != 1) return false;
  for (const char* name : {"strides", "dilations", "pads"})
    if (auto v = attr_ints(n, name))
      for (int64_t x : *v)
        if (x != (std::string(name) == "pads" ? 0 : 1)) return false;
  const std::string pad = attr_string(n, "auto_pad", "NOTSET");
  return pad == "NOTSET" || pad == "VALID";
}

// `from`'s activation attributes, renamed with `prefix`, appended to `to`.
void copy_activation(const ir::Node* from, std::vector<ir::Attribute>& to, const std::string& prefix) {
  for (const char* name : {"activation", "activation_params"})
    if (const ir::Attribute* a = from->attribute(name)) {
      to.push_back(*a);
      to.back().name = prefix + name;
    }
}

}  // namespace

int fuse_inverted_residual(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* project : anchors_of(graph, {"FusedConv"})) {
    const Tensor* w3 = block_conv_weights(project);
    if (!w3 || !pointwise(project, *w3) || project->inputs.size() > 4) continue;
    ir::Node* depthwise = project->inputs[0] ? project->inputs[0]->producer : nullptr;
    const Tensor* w2 = block_conv_weights(depthwise);
    if (!w2 || depthwise->inputs.size() > 3 || sole_consumer(depthwise->outputs[0], reads) != project)
      continue;
    const int64_t E = w2->dim(0);
    if (w2->dim(1) != 1 || attr_int(depthwise, "group", 1) != E || w3->dim(1) != E) continue;
    ir::Node* expand = depthwise->inputs[0] ? depthwise->inputs[0]->producer : nullptr;
    const Tensor* w1 = block_conv_weights(expand);
    if (!w1 || !pointwise(expand, *w1) || expand->inputs.size() > 3 || w1->dim(0) != E ||
        sole_consumer(expand->outputs[0], reads) != depthwise)
      continue;
    auto bias = [](const ir::Node* n) { return n->inputs.size() > 2 ? n->inputs[2] : nullptr; };
    std::vector<ir::Value*> inputs = {expand->inputs[0],    expand->inputs[1], bias(expand),
                                      depthwise->inputs[1], bias(depthwise),   project->inputs[1],
                                      bias(project)};
    if (project->inputs.size() > 3 && project->inputs[3]) {
      if (!same_shape(project->inputs[3], project->outputs[0]))
        continue;  // the kernel adds Z of Y's shape only
      inputs.push_back(project->inputs[3]);
    }
    ir::Value* y = project->outputs[0];
    std::vector<ir::Attribute> attributes;
    for (const char* name : {"kernel_shape", "strides", "pads", "dilations", "auto_pad"})
      if (const ir::Attribute* a = depthwise->attribute(name)) attributes.push_back(*a);
    copy_activation(expand, attributes, "expand_");
    copy_activation(depthwise, attributes, "depthwise_");
    copy_activation(project, attributes, "");
    const std::string name = project->name;
    remove_nodes(graph, {expand, depthwise, project});
    ir::Node* fused = add_node(graph, "InvertedResidual", kKestrelDomain, inputs, {y}, name);
    for (ir::Attribute& a : attributes) set_attr(fused, std::move(a));
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
