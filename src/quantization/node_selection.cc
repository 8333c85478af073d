// Which nodes get quantized and what each input of them is (see passes.h). The rules follow what ONNX's
// quantized ops can express: a constant weight per output channel, an int32 bias, activations per tensor.
#include <algorithm>
#include <unordered_set>

#include "optimizer/rewrite.h"
#include "quantization/passes.h"

namespace kestrel::quantization {
namespace {

using optimizer::constant_of;

const std::vector<std::string> kDynamicOps = {"Conv", "MatMul", "Gemm", "Gather"};
const std::vector<std::string> kStaticOps = {
    "Conv",  "MatMul", "Gemm", "Add", "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool",
    "Resize", "ConvTranspose", "Gather"};

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_float_constant(const ir::Value* v) {
  const Tensor* t = constant_of(v);
  return t && t->type() == ElementType::kFloat;
}

// Float, or of a type nobody declared (calibration then tells).
bool may_be_float(const ir::Value* v) {
  if (!v) return false;
  if (v->type.kind == TypeInfo::Kind::kUnknown) return true;
  return v->type.kind == TypeInfo::Kind::kTensor &&
         (v->type.element_type == ElementType::kFloat || v->type.element_type == ElementType::kUndefined);
}

// A one-element float constant: an initializer or the output of a Constant node (as exporters write Clip
// bounds).
std::optional<double> constant_scalar(const ir::Value* v) {
  if (auto x = optimizer::scalar_of(v)) return x;
  const ir::Node* c = optimizer::producer_op(v, "Constant");
  const ir::Attribute* value = c ? c->attribute("value") : nullptr;
  if (!value || value->type != ir::Attribute::Type::kTensor || value->t.size() != 1 ||
      value->t.type() != ElementType::kFloat)
    return std::nullopt;
  return static_cast<double>(value->t.data<float>()[0]);
}

bool is_layer(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm";
}

// A Relu, or a Clip with lower bound 0, reading `v` alone: asymmetric quantization of its output saturates at
// the same bounds, so the quantized output of the node before it can stand for it.
ir::Node* removable_activation(const ir::Value* v, const std::unordered_set<const ir::Value*>& sub_reads) {
  ir::Node* next = optimizer::sole_consumer(v, sub_reads);
  if (!next || !next->domain.empty() || next->outputs.empty() || !next->outputs[0]) return nullptr;
  if (next->outputs[0]->is_graph_output) return nullptr;
  if (next->op_type == "Relu") return next;
  if (next->op_type != "Clip") return nullptr;
  if (next->opset < 11) return optimizer::attr_float(next, "min", -1) == 0.0f ? next : nullptr;
  if (next->inputs.size() < 2 || !next->inputs[1]) return nullptr;
  const auto lo = constant_scalar(next->inputs[1]);
  return lo && *lo == 0.0 ? next : nullptr;
}

// Nodes that static quantization leaves float although their op type is chosen: an Add or Mul with a
// one-element constant operand (an affine map of one tensor, which needs no quantized kernel: engines fold it
// into the neighbouring layer or into a 256-entry table with the activation around it), and the Add and Mul
// of a decomposed hard-swish, Div(Mul(v, Clip(Add(v, 3), 0, 6)), 6). Quantizing each of those would round
// the same tensor once per node; left float, the whole chain between two quantized layers is rounded once.
std::unordered_set<const ir::Node*> elementwise_chain_nodes(const ir::Graph& graph,
                                                            const std::unordered_set<const ir::Value*>& reads) {
  std::unordered_set<const ir::Node*> chain;
  for (ir::Node* node : graph.topological_order()) {
    if (!node->domain.empty()) continue;
    if ((node->op_type == "Add" || node->op_type == "Mul") && node->inputs.size() == 2 && node->opset >= 7) {
      for (const ir::Value* in : node->inputs) {
        const Tensor* t = constant_of(in);
        if (t && t->size() == 1 && t->type() == ElementType::kFloat) chain.insert(node);
      }
    }
    for (ir::Value* out : node->outputs) {
      if (!out || out->consumers.size() != 2) continue;
      std::vector<ir::Node*> nodes;
      std::string name;
      std::vector<float> params;
      if (optimizer::match_activation_chain(out, reads, nodes, name, params) && name == "HardSwish")
        chain.insert(nodes.begin(), nodes.end());
    }
  }
  return chain;
}

}  // namespace

int constants_to_initializers(ir::Graph& graph, const std::vector<std::string>& op_types) {
  int converted = 0;
  for (ir::Node* node : graph.topological_order()) {
    if (node->op_type != "Constant" || !node->domain.empty() || node->outputs.size() != 1) continue;
    const ir::Attribute* value = node->attribute("value");
    ir::Value* out = node->outputs[0];
    if (!value || value->type != ir::Attribute::Type::kTensor || !out || out->is_graph_output) continue;
    bool feeds_quantizable = false;
    for (const ir::Node* reader : out->consumers)
      feeds_quantizable =
          feeds_quantizable || (reader->domain.empty() && contains(op_types, reader->op_type));
    if (!feeds_quantizable) continue;
    auto tensor = std::make_shared<const Tensor>(value->t);
    graph.remove_node(node);
    out->initializer = std::move(tensor);
    ++converted;
  }
  return converted;
}

std::vector<std::string> op_types_to_quantize(const QuantizationOptions& options, bool dynamic) {
  const std::vector<std::string>& supported = dynamic ? kDynamicOps : kStaticOps;
  std::vector<std::string> op_types = options.op_types.empty() ? supported : options.op_types;
  for (const std::string& op : op_types)
    if (!contains(supported, op)) {
      std::string list;
      for (const auto& s : supported) list += (list.empty() ? "" : ", ") + s;
      throw Error(ErrorCode::kInvalidArgument, std::string(dynamic ? "dynamic" : "static") +
                                                   " quantization does not handle op type '" + op +
                                                   "' (it quantizes " + list + ")");
    }
  return op_types;
}

std::vector<NodePlan> select_nodes(const ir::Graph& graph, const QuantizationOptions& options, bool dynamic,
                                   QuantizationSummary& summary) {
  const std::vector<std::string> op_types = op_types_to_quantize(options, dynamic);
  const bool const_b_only = options.matmul_const_b_only.value_or(dynamic);
  const auto sub_reads = optimizer::subgraph_reads(graph);
  const auto chain = dynamic ? std::unordered_set<const ir::Node*>{} : elementwise_chain_nodes(graph, sub_reads);

  std::vector<NodePlan> plans;
  for (ir::Node* node : graph.topological_order()) {
    if (!node->domain.empty() || !contains(op_types, node->op_type)) continue;
    if (!options.nodes_to_quantize.empty() && !contains(options.nodes_to_quantize, node->name)) continue;
    if (contains(options.nodes_to_exclude, node->name)) continue;
    auto skip = [&](const std::string& why) { summary.skipped.push_back(node->describe() + ": " + why); };
    const std::string& op = node->op_type;
    if (chain.count(node)) {
      skip("part of an elementwise chain (a scalar affine map or a hard-swish), rounded once after it");
      continue;
    }
    if (node->outputs.empty() || !node->outputs[0] || !may_be_float(node->outputs[0])) {
      skip("its output is not float");
      continue;
    }
    NodePlan plan;
    plan.node = node;
    bool ok = true;
    if (op == "Conv" || op == "ConvTranspose") {
      if (!is_float_constant(node->inputs.at(1)) || constant_of(node->inputs[1])->rank() < 3) {
        skip("its weight is not a float constant");
        continue;
      }
      plan.activation_inputs = {0};
      plan.weight_input = 1;
      // ConvTranspose's weight is [C, M / group, k...]: its output channels run along axis 1, and map one to
      // one onto the bias (whose scale is x_scale * w_scale[m]) only without groups.
      const bool grouped = optimizer::attr_int(node, "group", 1) != 1;
      if (op == "ConvTranspose")
        plan.weight_axis = options.per_channel && !grouped ? 1 : -1;
      else
        plan.weight_axis = options.per_channel ? 0 : -1;
      if (node->inputs.size() > 2 && node->inputs[2]) {
        if (!is_float_constant(node->inputs[2])) {
          skip("its bias is not a float constant");
          continue;
        }
        plan.bias_input = 2;
      }
    } else if (op == "MatMul" || op == "Gemm") {
      if (op == "Gemm" && optimizer::attr_int(node, "transA", 0) != 0) {
        skip("transA=1 is not quantized");
        continue;
      }
      if (constant_of(node->inputs.at(0))) {
        skip("its A input is a constant");
        continue;
      }
      plan.activation_inputs = {0};
      const ir::Value* b = node->inputs.at(1);
      if (is_float_constant(b)) {
        plan.weight_input = 1;
        const size_t rank = constant_of(b)->rank();
        if (options.per_channel && rank == 2)
          plan.weight_axis = (op == "Gemm" && optimizer::attr_int(node, "transB", 0) != 0) ? 0 : 1;
      } else if (const_b_only) {
        skip("B is not a constant initializer (MatMulConstBOnly)");
        continue;
      } else if (op == "Gemm" && dynamic) {
        skip("dynamic Gemm needs a constant B");
        continue;
      } else {
        plan.activation_inputs.push_back(1);
      }
      if (op == "Gemm" && node->inputs.size() > 2 && node->inputs[2]) {
        const Tensor* c = constant_of(node->inputs[2]);
        const bool unit =
            optimizer::attr_float(node, "alpha", 1) == 1.0f && optimizer::attr_float(node, "beta", 1) == 1.0f;
        if (dynamic && !c) {
          skip("dynamic Gemm needs a constant C");
          continue;
        }
        if (!dynamic && c && c->type() == ElementType::kFloat && c->rank() == 1 && unit &&
            plan.weight_input == 1)
          plan.bias_input = 2;
      }
    } else if (op == "Gather") {
      if (!is_float_constant(node->inputs.at(0))) {
        skip("its data is not a float constant");
        continue;
      }
      plan.weight_input = 0;
      plans.push_back(plan);
      continue;
    } else if (op == "Add" || op == "Mul" || op == "Concat") {
      for (size_t i = 0; i < node->inputs.size(); ++i) {
        const ir::Value* in = node->inputs[i];
        if (is_float_constant(in))
          plan.constant_inputs.push_back(i);
        else if (may_be_float(in))
          plan.activation_inputs.push_back(i);
        else
          ok = false;
      }
      if (!ok || plan.activation_inputs.empty()) {
        skip(ok ? "all its inputs are constants" : "an input is not float");
        continue;
      }
    } else {  // MaxPool, AveragePool, GlobalAveragePool, Resize
      if (op == "MaxPool" && node->outputs.size() > 1 && node->outputs[1]) {
        skip("its Indices output is used");
        continue;
      }
      plan.activation_inputs = {0};  // Resize's roi, scales and sizes stay as they are
      // Their outputs lie within their inputs' ranges (a resize interpolates between input values).
      plan.output_shares_input_params = op == "MaxPool" || op == "Resize";
    }
    for (size_t i : plan.activation_inputs)
      if (!may_be_float(node->inputs[i])) ok = false;
    if (!ok) {
      skip("an input is not float");
      continue;
    }
    if (!dynamic) {
      const ir::Value* out = node->outputs[0];
      if (!options.activation_symmetric && (is_layer(op) || op == "Add"))
        plan.absorbed_activation = removable_activation(out, sub_reads);
      const ir::Value* quantized = plan.absorbed_activation ? plan.absorbed_activation->outputs[0] : out;
      plan.quantize_output = !quantized->is_graph_output && !sub_reads.count(quantized);
    }
    plans.push_back(plan);
  }

  auto drop_layer = [&](bool first) {
    size_t found = plans.size();
    for (size_t i = 0; i < plans.size(); ++i) {
      if (!is_layer(plans[i].node->op_type)) continue;
      found = i;
      if (first) break;
    }
    if (found == plans.size()) return;
    summary.skipped.push_back(plans[found].node->describe() + ": kept in float (" +
                              (first ? "first" : "last") + " layer)");
    plans.erase(plans.begin() + static_cast<std::ptrdiff_t>(found));
  };
  if (options.keep_first_layer_fp32) drop_layer(true);
  if (options.keep_last_layer_fp32) drop_layer(false);
  return plans;
}

std::vector<std::string> tensors_to_calibrate(const std::vector<NodePlan>& plans) {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  auto add = [&](const ir::Value* v) {
    if (v && seen.insert(v->name).second) names.push_back(v->name);
  };
  for (const NodePlan& p : plans) {
    for (size_t i : p.activation_inputs) add(p.node->inputs[i]);
    if (p.quantize_output)
      add(p.absorbed_activation ? p.absorbed_activation->outputs[0] : p.node->outputs[0]);
  }
  return names;
}

}  // namespace kestrel::quantization
