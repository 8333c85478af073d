// Dynamic quantization (see passes.h): weights quantized now, activations by DynamicQuantizeLinear at run
// time.
//
// Integer form, for MatMul(A, B) with B constant:
//   A ─► DynamicQuantizeLinear ─► A_q, A_scale, A_zero ─► MatMulInteger(A_q, B_q, A_zero, B_zero) ─►
//   Cast(float)
//     ─► Mul(A_scale * B_scale) ─► Y              (Gemm: then Add(beta * C); Conv: ConvInteger, then
//     Add(bias))
// QDQ form: A ─► DynamicQuantizeLinear ─► DequantizeLinear ─► MatMul(·, DequantizeLinear(B_q)).
#include <map>

#include "optimizer/rewrite.h"
#include "quantization/passes.h"

namespace kestrel::quantization {
namespace {

struct DynamicActivation {
  ir::Value* quantized;
  ir::Value* scale;
  ir::Value* zero_point;
  ir::Value* dequantized = nullptr;  // QDQ form only
};

class DynamicWriter {
 public:
  DynamicWriter(ir::Graph& graph, const QuantizationOptions& options)
      : editor_(graph),
        options_(options),
        weight_symmetric_(options.weight_symmetric.value_or(options.weight_type == QuantType::kInt8)) {}

  GraphEditor& editor() { return editor_; }

  // One DynamicQuantizeLinear per tensor, shared by every quantized reader.
  DynamicActivation& activation(ir::Value* v) {
    auto it = done_.find(v);
    if (it != done_.end()) return it->second;
    DynamicActivation a;
    a.quantized = editor_.intermediate(v->name + "_quantized", ElementType::kUInt8, v);
    a.scale = editor_.intermediate(v->name + "_scale", ElementType::kFloat, nullptr);
    a.zero_point = editor_.intermediate(v->name + "_zero_point", ElementType::kUInt8, nullptr);
    a.scale->type.shape = std::vector<Dim>();
    a.zero_point->type.shape = std::vector<Dim>();
    editor_.add("DynamicQuantizeLinear", {v}, {a.quantized, a.scale, a.zero_point},
                v->name + "_DynamicQuantizeLinear");
    return done_.emplace(v, a).first->second;
  }

  ir::Value* dequantized_activation(ir::Value* v) {
    DynamicActivation& a = activation(v);
    if (!a.dequantized)
      a.dequantized = editor_.dequantize(a.quantized, a.scale, a.zero_point, -1, v->name, v);
    return a.dequantized;
  }

  QuantizedTensor weight(const Tensor& w, int64_t axis) {
    return quantize_weight(w, axis, options_.weight_type, weight_symmetric_, options_.reduce_range);
  }

  // The QDQ form of one node: its activations and its weight behind DequantizeLinear.
  void qdq(const NodePlan& plan) {
    ir::Node* node = plan.node;
    for (size_t i : plan.activation_inputs)
      optimizer::set_input(node, i, dequantized_activation(node->inputs[i]));
    if (plan.weight_input < 0) return;
    ir::Value* w = node->inputs[static_cast<size_t>(plan.weight_input)];
    QuantizedTensor qt = weight(*optimizer::constant_of(w), plan.weight_axis);
    ir::Value* data = editor_.constant(w->name + "_quantized", qt.data);
    ir::Value* scale = editor_.constant(w->name + "_scale", qt.scale);
    ir::Value* zero = editor_.constant(w->name + "_zero_point", qt.zero_point);
    optimizer::set_input(node, static_cast<size_t>(plan.weight_input),
                         editor_.dequantize(data, scale, zero, plan.weight_axis, w->name, w));
  }

  // The integer form of one node.
  void integer(const NodePlan& plan);

 private:
  GraphEditor editor_;
  const QuantizationOptions& options_;
  bool weight_symmetric_;
  std::map<ir::Value*, DynamicActivation> done_;
};

Tensor transpose_2d(const Tensor& t) {
  const int64_t rows = t.dim(0), cols = t.dim(1);
  Tensor out(ElementType::kFloat, {cols, rows});
  const float* in = t.data<float>();
  float* o = out.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) o[c * rows + r] = in[r * cols + c];
  return out;
}

// `per_channel` (size M) reshaped to [M, 1, ..., 1] so that it broadcasts over an NCHW-like output of `rank`.
Tensor channel_column(const Tensor& per_channel, size_t rank) {
  if (per_channel.rank() == 0) return per_channel;
  Shape shape(rank - 1, 1);
  shape[0] = per_channel.size();
  return per_channel.reshaped(shape);
}

void DynamicWriter::integer(const NodePlan& plan) {
  ir::Node* node = plan.node;
  const std::string& op = node->op_type;
  const std::string base = node->name.empty() ? node->outputs[0]->name : node->name;
  ir::Value* output = node->outputs[0];
  DynamicActivation& a = activation(node->inputs[0]);

  ir::Value* weight_q = nullptr;
  ir::Value* weight_zero = nullptr;
  Tensor weight_scale;  // the scale factor per output column/channel (float), already shaped to broadcast
  ir::Value* weight_scale_value = nullptr;
  if (plan.weight_input >= 0) {
    Tensor w = *optimizer::constant_of(node->inputs[static_cast<size_t>(plan.weight_input)]);
    int64_t axis = plan.weight_axis;
    if (op == "Gemm" && optimizer::attr_int(node, "transB", 0) != 0) {
      w = transpose_2d(w);
      if (axis >= 0) axis = 1;
    }
    QuantizedTensor qt = weight(w, axis);
    const std::string wname = node->inputs[static_cast<size_t>(plan.weight_input)]->name;
    weight_q = editor_.constant(wname + "_quantized", qt.data);
    weight_zero = editor_.constant(wname + "_zero_point", qt.zero_point);
    weight_scale = qt.scale;
    if (op == "Gemm") {
      const float alpha = optimizer::attr_float(node, "alpha", 1);
      Tensor scaled = weight_scale.clone();
      for (int64_t i = 0; i < scaled.size(); ++i) scaled.data<float>()[i] *= alpha;
      weight_scale = scaled;
    }
    if (op == "Conv") weight_scale = channel_column(weight_scale, w.rank());
    weight_scale_value = editor_.constant(wname + "_scale", weight_scale);
  } else {
    DynamicActivation& b = activation(node->inputs[1]);
    weight_q = b.quantized;
    weight_zero = b.zero_point;
    weight_scale_value = b.scale;
  }

  ir::Value* product = editor_.intermediate(base + "_output_quantized", ElementType::kInt32, output);
  if (op == "Conv") {
    ir::Node* conv = editor_.add("ConvInteger", {a.quantized, weight_q, a.zero_point, weight_zero}, {product},
                                 base + "_quant");
    conv->attributes = node->attributes;
  } else {
    editor_.add("MatMulInteger", {a.quantized, weight_q, a.zero_point, weight_zero}, {product},
                base + "_quant");
  }
  ir::Value* as_float = editor_.intermediate(base + "_output_cast", ElementType::kFloat, output);
  ir::Node* cast = editor_.add("Cast", {product}, {as_float}, base + "_output_cast");
  optimizer::set_attr(cast, optimizer::make_int_attr("to", static_cast<int64_t>(ElementType::kFloat)));
  ir::Value* scale = editor_.intermediate(base + "_scale", ElementType::kFloat, nullptr);
  editor_.add("Mul", {a.scale, weight_scale_value}, {scale}, base + "_scale");

  // The bias (Conv B, Gemm beta * C) as an Add after the rescale.
  Tensor bias;
  if (op == "Conv" && node->inputs.size() > 2 && node->inputs[2]) {
    const size_t rank = optimizer::constant_of(node->inputs[1])->rank();
    bias = channel_column(*optimizer::constant_of(node->inputs[2]), rank);
  } else if (op == "Gemm" && node->inputs.size() > 2 && node->inputs[2]) {
    bias = optimizer::constant_of(node->inputs[2])->clone();
    const float beta = optimizer::attr_float(node, "beta", 1);
    for (int64_t i = 0; i < bias.size(); ++i) bias.data<float>()[i] *= beta;
  }
  ir::Value* bias_value = bias.defined() ? editor_.constant(base + "_bias", bias) : nullptr;

  editor_.graph().remove_node(node);  // `output` loses its producer and is given to the last new node
  ir::Value* scaled =
      bias_value ? editor_.intermediate(base + "_output_scaled", ElementType::kFloat, output) : output;
  editor_.add("Mul", {as_float, scale}, {scaled}, base + "_output_scale");
  if (bias_value) editor_.add("Add", {scaled, bias_value}, {output}, base + "_bias_add");
}

}  // namespace

void quantize_dynamic_graph(ir::Graph& graph, const std::vector<NodePlan>& plans,
                            const QuantizationOptions& options, bool integer_ops,
                            QuantizationSummary& summary) {
  DynamicWriter writer(graph, options);
  for (const NodePlan& plan : plans) {
    const std::string op = plan.node->op_type;
    if (op == "Gather")
      quantize_gather(writer.editor(), plan.node, options);
    else if (integer_ops)
      writer.integer(plan);
    else
      writer.qdq(plan);
    summary.quantized_nodes[op]++;
  }
  graph.remove_unused_values();
}

}  // namespace kestrel::quantization
