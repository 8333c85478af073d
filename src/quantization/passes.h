// The quantizer's steps over Kestrel's IR: choosing the nodes to quantize and the role of each input, then
// rewriting the graph in one of the output forms. quantize.cc strings them together behind the public API.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kestrel/quantization.h"
#include "quantization/calibration.h"
#include "quantization/quant_params.h"

namespace kestrel::quantization {

// One node chosen for quantization and what each of its inputs is.
struct NodePlan {
  ir::Node* node = nullptr;
  std::vector<size_t> activation_inputs;  // float inputs quantized with activation parameters
  std::vector<size_t> constant_inputs;    // float constants of element-wise ops, quantized like activations
  int weight_input = -1;                  // constant float weight (Conv W, MatMul/Gemm B)
  int64_t weight_axis = -1;               // output-channel axis of the weight when per channel, else -1
  int bias_input = -1;           // constant float bias quantized to int32 (Conv B, Gemm C of shape [N])
  bool quantize_output = false;  // static: the output gets a QuantizeLinear/DequantizeLinear pair
  ir::Node* absorbed_activation =
      nullptr;  // a Relu/Clip after the node that the output's quantization replaces
  bool output_shares_input_params = false;  // MaxPool: the output keeps the input's scale and zero point
};

// The op types to quantize (the mode's defaults when options.op_types is empty); throws kInvalidArgument
// naming an op type the mode does not handle.
std::vector<std::string> op_types_to_quantize(const QuantizationOptions& options, bool dynamic);

// Constant nodes read by nodes of `op_types` become initializers (exporters such as paddle2onnx write weights
// as Constant nodes), so that weights are recognised as constants. Returns how many were converted.
int constants_to_initializers(ir::Graph& graph, const std::vector<std::string>& op_types);

// The nodes of the main graph to quantize, in topological order; nodes of the chosen types that cannot be
// quantized are listed in summary.skipped with the reason.
std::vector<NodePlan> select_nodes(const ir::Graph& graph, const QuantizationOptions& options, bool dynamic,
                                   QuantizationSummary& summary);

// Names of the float tensors whose ranges static quantization needs.
std::vector<std::string> tensors_to_calibrate(const std::vector<NodePlan>& plans);

// Static QDQ: QuantizeLinear/DequantizeLinear pairs on the calibrated activations, weights stored quantized
// behind DequantizeLinear, biases as int32.
void insert_qdq(ir::Graph& graph, std::vector<NodePlan>& plans,
                const std::map<std::string, FloatRange>& ranges, const QuantizationOptions& options,
                QuantizationSummary& summary);

// Static with options.accuracy_target: which of `plans` (chosen on `float_model`, the float model as it will
// be rewritten) to quantize so that the outputs on `batches` reach the target cosine; the others stay float.
// Fills summary.cosine_all_quantized, summary.cosine and summary.kept_for_accuracy.
std::vector<bool> choose_for_accuracy(const ir::Model& float_model, const std::vector<NodePlan>& plans,
                                      const std::map<std::string, FloatRange>& ranges,
                                      const std::vector<Feeds>& batches, const QuantizationOptions& options,
                                      QuantizationSummary& summary);

// Dynamic: activations quantized by DynamicQuantizeLinear at run time. `integer_ops` picks MatMulInteger /
// ConvInteger with the float rescale after them; otherwise DequantizeLinear feeds the float op (QDQ form).
void quantize_dynamic_graph(ir::Graph& graph, const std::vector<NodePlan>& plans,
                            const QuantizationOptions& options, bool integer_ops,
                            QuantizationSummary& summary);

// Gather over a constant float table: the table stored quantized, a DequantizeLinear after the Gather.
class GraphEditor;
void quantize_gather(GraphEditor& editor, ir::Node* gather, const QuantizationOptions& options);

// QOperator: DequantizeLinear -> Conv/MatMul -> QuantizeLinear groups of a QDQ graph become QLinearConv /
// QLinearMatMul reading and producing the quantized tensors. Returns the number of groups folded.
int fold_qoperator(ir::Graph& graph, QuantizationSummary& summary);

// Graph-editing conveniences shared by the passes: nodes with unique names, constants, Q/DQ nodes.
class GraphEditor {
 public:
  explicit GraphEditor(ir::Graph& graph);
  ir::Graph& graph() { return graph_; }
  std::string node_name(const std::string& hint);
  ir::Node* add(const std::string& op, const std::vector<ir::Value*>& inputs,
                const std::vector<ir::Value*>& outputs, const std::string& name_hint);
  ir::Value* constant(const std::string& hint, Tensor t);
  ir::Value* intermediate(const std::string& hint, ElementType type, const ir::Value* shape_from);
  // DequantizeLinear(q, scale, zero_point[, axis]) -> a new float value named after `hint`.
  ir::Value* dequantize(ir::Value* q, ir::Value* scale, ir::Value* zero_point, int64_t axis,
                        const std::string& hint, const ir::Value* shape_from);

 private:
  ir::Graph& graph_;
  std::set<std::string> node_names_;
};

}  // namespace kestrel::quantization
