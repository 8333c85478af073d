// Static QDQ form (see passes.h) and the graph-editing conveniences the passes share.
//
//   x ─► Conv ─► Relu ─► y         becomes     x ─► Q ─► DQ ─► Conv ─► Q ─► DQ ─► y'
//        W (float)                                  W_q (int8) ─► DQ ─┘
//
// A Relu (or Clip from 0) right after a quantized node is dropped: the QuantizeLinear after the node, with
// the range calibrated on the activation's output, saturates at the same bound.
#include <algorithm>
#include <map>

#include "optimizer/rewrite.h"
#include "quantization/passes.h"

namespace kestrel::quantization {

GraphEditor::GraphEditor(ir::Graph& graph) : graph_(graph) {
  for (const auto& n : graph.nodes()) node_names_.insert(n->name);
}

std::string GraphEditor::node_name(const std::string& hint) {
  std::string name = hint;
  for (int i = 1; node_names_.count(name); ++i) name = hint + "_" + std::to_string(i);
  node_names_.insert(name);
  return name;
}

ir::Node* GraphEditor::add(const std::string& op, const std::vector<ir::Value*>& inputs,
                           const std::vector<ir::Value*>& outputs, const std::string& name_hint) {
  return optimizer::add_node(graph_, op, "", inputs, outputs, node_name(name_hint));
}

ir::Value* GraphEditor::constant(const std::string& hint, Tensor t) {
  return optimizer::add_constant(graph_, hint, std::move(t));
}

ir::Value* GraphEditor::intermediate(const std::string& hint, ElementType type, const ir::Value* shape_from) {
  TypeInfo info = TypeInfo::tensor(type);
  if (shape_from && shape_from->type.kind == TypeInfo::Kind::kTensor) info.shape = shape_from->type.shape;
  return optimizer::add_intermediate(graph_, hint, info);
}

ir::Value* GraphEditor::dequantize(ir::Value* q, ir::Value* scale, ir::Value* zero_point, int64_t axis,
                                   const std::string& hint, const ir::Value* shape_from) {
  ir::Value* out = intermediate(hint + "_dequantized", ElementType::kFloat, shape_from);
  std::vector<ir::Value*> inputs = {q, scale};
  if (zero_point) inputs.push_back(zero_point);
  ir::Node* dq = add("DequantizeLinear", inputs, {out}, hint + "_DequantizeLinear");
  if (axis >= 0) optimizer::set_attr(dq, optimizer::make_int_attr("axis", axis));
  return out;
}

namespace {

Tensor scalar_of_type(ElementType type, int value) {
  if (type == ElementType::kInt8) return Tensor::scalar(static_cast<int8_t>(value));
  return Tensor::scalar(static_cast<uint8_t>(value));
}

struct QuantizedActivation {
  QuantParams params;
  ir::Value* quantized = nullptr;
  ir::Value* dequantized = nullptr;
};

class QdqWriter {
 public:
  QdqWriter(ir::Graph& graph, const QuantizationOptions& options) : editor_(graph), options_(options) {}
  GraphEditor& editor() { return editor_; }

  // Inserts Q -> DQ after `v` once and makes every reader in this graph read the DQ output.
  const QuantizedActivation& activation(ir::Value* v, QuantParams params) {
    auto it = done_.find(v);
    if (it != done_.end()) return it->second;
    const ElementType qtype = element_type_of(options_.activation_type);
    ir::Value* scale = editor_.constant(v->name + "_scale", Tensor::scalar(params.scale));
    ir::Value* zero = editor_.constant(v->name + "_zero_point", scalar_of_type(qtype, params.zero_point));
    ir::Value* q = editor_.intermediate(v->name + "_quantized", qtype, v);
    const std::vector<ir::Node*> readers = v->consumers;
    editor_.add("QuantizeLinear", {v, scale, zero}, {q}, v->name + "_QuantizeLinear");
    ir::Value* dq = editor_.dequantize(q, scale, zero, -1, v->name, v);
    for (ir::Node* reader : readers) {
      if (reader->owner != &editor_.graph()) continue;
      for (size_t i = 0; i < reader->inputs.size(); ++i)
        if (reader->inputs[i] == v) optimizer::set_input(reader, i, dq);
    }
    return done_.emplace(v, QuantizedActivation{params, q, dq}).first->second;
  }

  // Input `index` of `node` (a float constant) stored quantized behind a DequantizeLinear.
  QuantizedTensor constant(ir::Node* node, size_t index, int64_t axis, QuantType type, bool symmetric,
                           bool reduce_range) {
    ir::Value* w = node->inputs[index];
    QuantizedTensor qt = quantize_weight(*optimizer::constant_of(w), axis, type, symmetric, reduce_range);
    ir::Value* data = editor_.constant(w->name + "_quantized", qt.data);
    ir::Value* scale = editor_.constant(w->name + "_scale", qt.scale);
    ir::Value* zero = editor_.constant(w->name + "_zero_point", qt.zero_point);
    optimizer::set_input(node, index, editor_.dequantize(data, scale, zero, axis, w->name, w));
    return qt;
  }

  void bias(ir::Node* node, size_t index, float input_scale, const Tensor& weight_scale) {
    ir::Value* b = node->inputs[index];
    QuantizedBias qb = quantize_bias(*optimizer::constant_of(b), input_scale, weight_scale);
    ir::Value* data = editor_.constant(b->name + "_quantized", qb.data);
    ir::Value* scale = editor_.constant(b->name + "_scale", qb.scale);
    optimizer::set_input(node, index,
                         editor_.dequantize(data, scale, nullptr, qb.scale.rank() == 1 ? 0 : -1, b->name, b));
  }

 private:
  GraphEditor editor_;
  const QuantizationOptions& options_;
  std::map<ir::Value*, QuantizedActivation> done_;
};

// A Concat's inputs and output quantized with one scale and zero point (the union of their ranges) make the
// Concat a plain copy of bytes, with no requantization of any input. Each input's range is widened back to the
// tensor it shares parameters with (a Resize's or MaxPool's input), so the whole path keeps one scale.
std::map<std::string, FloatRange> share_concat_ranges(const std::vector<NodePlan>& plans,
                                                      std::map<std::string, FloatRange> ranges) {
  std::map<const ir::Value*, const NodePlan*> sharing_producer;
  for (const NodePlan& plan : plans)
    if (plan.output_shares_input_params && !plan.node->outputs.empty())
      sharing_producer[plan.node->outputs[0]] = &plan;
  for (const NodePlan& plan : plans) {
    if (plan.node->op_type != "Concat" || !plan.quantize_output || plan.absorbed_activation) continue;
    std::vector<const ir::Value*> path = {plan.node->outputs[0]};
    for (size_t i : plan.activation_inputs) {
      const ir::Value* v = plan.node->inputs[i];
      for (int hops = 0; v && hops < 16; ++hops) {  // a bounded walk: these chains are a node or two long
        path.push_back(v);
        auto it = sharing_producer.find(v);
        v = it == sharing_producer.end() ? nullptr : it->second->node->inputs[0];
      }
    }
    bool all_seen = true;
    FloatRange joint{0, 0};
    for (const ir::Value* v : path) {
      auto it = ranges.find(v->name);
      if (it == ranges.end()) {
        all_seen = false;
        break;
      }
      joint.min = std::min(joint.min, it->second.min);
      joint.max = std::max(joint.max, it->second.max);
    }
    if (!all_seen) continue;
    for (const ir::Value* v : path) ranges[v->name] = joint;
  }
  return ranges;
}

}  // namespace

void insert_qdq(ir::Graph& graph, std::vector<NodePlan>& plans,
                const std::map<std::string, FloatRange>& calibrated, const QuantizationOptions& options,
                QuantizationSummary& summary) {
  const std::map<std::string, FloatRange> ranges = share_concat_ranges(plans, calibrated);
  const bool weight_symmetric = options.weight_symmetric.value_or(options.weight_type == QuantType::kInt8);
  auto params_of = [&](const ir::Value* v) -> std::optional<QuantParams> {
    auto it = ranges.find(v->name);
    if (it == ranges.end()) return std::nullopt;
    return compute_params(it->second.min, it->second.max, options.activation_type,
                          options.activation_symmetric, false);
  };

  // Quantizing a tensor redirects all its readers to the DequantizeLinear output, so later nodes' inputs are
  // looked up by the value they read before any rewriting.
  std::vector<std::vector<ir::Value*>> original_inputs;
  for (const NodePlan& plan : plans) original_inputs.push_back(plan.node->inputs);

  QdqWriter writer(graph, options);
  for (size_t n = 0; n < plans.size(); ++n) {
    NodePlan& plan = plans[n];
    ir::Node* node = plan.node;
    if (node->op_type == "Gather") {
      quantize_gather(writer.editor(), node, options);
      summary.quantized_nodes["Gather"]++;
      continue;
    }
    // Every activation input needs a calibrated range; tensors the data never reached stay float.
    std::vector<std::pair<ir::Value*, QuantParams>> inputs;
    std::string missing;
    for (size_t i : plan.activation_inputs) {
      ir::Value* v = original_inputs[n][i];
      if (auto p = params_of(v))
        inputs.emplace_back(v, *p);
      else
        missing = v->name;
    }
    if (!missing.empty()) {
      summary.skipped.push_back(node->describe() + ": no calibration range for '" + missing + "'");
      continue;
    }
    std::optional<QuantParams> output;
    if (plan.quantize_output) {
      const ir::Value* out =
          plan.absorbed_activation ? plan.absorbed_activation->outputs[0] : node->outputs[0];
      output =
          plan.output_shares_input_params ? std::optional<QuantParams>(inputs[0].second) : params_of(out);
      if (!output) plan.absorbed_activation = nullptr;
    }
    // A tensor quantized earlier keeps its first parameters; the bias must use the scale actually applied.
    float input_scale = 1;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const QuantParams applied = writer.activation(inputs[k].first, inputs[k].second).params;
      if (k == 0) input_scale = applied.scale;
      if (k == 0 && plan.output_shares_input_params && output) output = applied;
    }
    for (size_t i : plan.constant_inputs)
      writer.constant(node, i, -1, options.activation_type, options.activation_symmetric, false);
    if (plan.weight_input >= 0) {
      QuantizedTensor w = writer.constant(node, static_cast<size_t>(plan.weight_input), plan.weight_axis,
                                          options.weight_type, weight_symmetric, options.reduce_range);
      if (plan.bias_input >= 0) writer.bias(node, static_cast<size_t>(plan.bias_input), input_scale, w.scale);
    }
    if (output) {
      if (plan.absorbed_activation) {
        summary.quantized_nodes[plan.absorbed_activation->op_type + " (folded into QuantizeLinear)"]++;
        optimizer::absorb_follower(graph, node, plan.absorbed_activation);  // removes the activation node
        plan.absorbed_activation = nullptr;
      }
      writer.activation(node->outputs[0], *output);
    }
    summary.quantized_nodes[node->op_type]++;
  }
  graph.remove_unused_values();
}

}  // namespace kestrel::quantization
