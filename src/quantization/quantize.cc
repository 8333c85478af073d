// The public quantization entry points (kestrel/quantization.h): load, choose nodes, (calibrate,) rewrite,
// save.
#include <memory>

#include "onnx/loader.h"
#include "onnx/writer.h"
#include "optimizer/optimizer.h"
#include "quantization/passes.h"

namespace kestrel {
namespace {

using quantization::NodePlan;

int onnx_opset_of(const ir::Model& model) {
  auto it = model.graph->opsets.find("");
  return it == model.graph->opsets.end() ? 0 : it->second;
}

// Loads the model, raised to `min_opset` when it imports an older ai.onnx opset (the added ops need it).
std::unique_ptr<ir::Model> load(const std::string& path, int min_opset, QuantizationSummary& summary) {
  std::unique_ptr<ir::Model> model = onnx_format::load_model_file(path);
  summary.opset_before = onnx_opset_of(*model);
  if (summary.opset_before < min_opset) {
    onnx_format::LoadOptions options;
    options.min_onnx_opset = min_opset;
    model = onnx_format::load_model_file(path, options);
  }
  summary.opset_after = onnx_opset_of(*model);
  return model;
}

void check_common(const QuantizationOptions& options) {
  for (const std::string& name : options.nodes_to_exclude)
    if (std::find(options.nodes_to_quantize.begin(), options.nodes_to_quantize.end(), name) !=
        options.nodes_to_quantize.end())
      throw Error(ErrorCode::kInvalidArgument,
                  "node '" + name + "' is both in nodes_to_quantize and in nodes_to_exclude");
  if (options.accuracy_target && !(*options.accuracy_target > 0 && *options.accuracy_target <= 1))
    throw Error(ErrorCode::kInvalidArgument, "accuracy_target is a cosine similarity in (0, 1], got " +
                                                 std::to_string(*options.accuracy_target));
  if (options.accuracy_batches < 1)
    throw Error(ErrorCode::kInvalidArgument,
                "accuracy_batches must be at least 1, got " + std::to_string(options.accuracy_batches));
}

}  // namespace

QuantizationSummary quantize_dynamic(const std::string& input_path, const std::string& output_path,
                                     const QuantizationOptions& options) {
  check_common(options);
  if (options.accuracy_target)
    throw Error(ErrorCode::kInvalidArgument,
                "accuracy_target applies to static quantization (it is measured on calibration data)");
  QuantizationSummary summary;
  // DynamicQuantizeLinear needs opset 11; DequantizeLinear's axis (per-channel weights) needs 13.
  std::unique_ptr<ir::Model> model = load(input_path, options.per_channel ? 13 : 11, summary);
  if (options.preprocess) optimizer::optimize(*model->graph, 1);
  quantization::constants_to_initializers(*model->graph, quantization::op_types_to_quantize(options, true));
  std::vector<NodePlan> plans = quantization::select_nodes(*model->graph, options, /*dynamic=*/true, summary);
  const bool integer_ops = options.format.value_or(QuantFormat::kQOperator) == QuantFormat::kQOperator;
  quantization::quantize_dynamic_graph(*model->graph, plans, options, integer_ops, summary);
  onnx_format::save_model(*model, output_path);
  return summary;
}

QuantizationSummary quantize_static(const std::string& input_path, const std::string& output_path,
                                    const CalibrationReader& reader, const QuantizationOptions& options) {
  check_common(options);
  if (!reader)
    throw Error(ErrorCode::kInvalidArgument, "static quantization needs a calibration data reader");
  if (!(options.percentile > 0 && options.percentile <= 100))
    throw Error(ErrorCode::kInvalidArgument,
                "percentile must be in (0, 100], got " + std::to_string(options.percentile));
  if (options.entropy_quantized_bins < 2 || options.histogram_bins < 2 * options.entropy_quantized_bins)
    throw Error(ErrorCode::kInvalidArgument, "histogram_bins (" + std::to_string(options.histogram_bins) +
                                                 ") must be at least twice entropy_quantized_bins (" +
                                                 std::to_string(options.entropy_quantized_bins) + ")");
  QuantizationSummary summary;
  std::unique_ptr<ir::Model> model = load(input_path, options.per_channel ? 13 : 10, summary);
  if (options.preprocess) optimizer::optimize(*model->graph, 1);
  quantization::constants_to_initializers(*model->graph, quantization::op_types_to_quantize(options, false));
  std::vector<NodePlan> plans =
      quantization::select_nodes(*model->graph, options, /*dynamic=*/false, summary);
  const std::vector<std::string> tensors = quantization::tensors_to_calibrate(plans);
  // The accuracy search scores candidates on the first calibration batches, kept as they go by.
  std::vector<Feeds> accuracy_batches;
  const CalibrationReader recording_reader = [&]() -> std::optional<Feeds> {
    std::optional<Feeds> feeds = reader();
    if (feeds && options.accuracy_target &&
        accuracy_batches.size() < static_cast<size_t>(options.accuracy_batches))
      accuracy_batches.push_back(*feeds);
    return feeds;
  };
  quantization::CalibrationResult calibration =
      quantization::calibrate(*model, tensors, recording_reader, options);
  summary.calibration_batches = calibration.batches;
  summary.calibrated_tensors = static_cast<int>(calibration.ranges.size());
  if (options.accuracy_target) {
    const std::vector<bool> quantize = quantization::choose_for_accuracy(*model, plans, calibration.ranges,
                                                                         accuracy_batches, options, summary);
    std::vector<NodePlan> kept;
    for (size_t i = 0; i < plans.size(); ++i)
      if (quantize[i]) kept.push_back(plans[i]);
    plans = std::move(kept);
  }
  quantization::insert_qdq(*model->graph, plans, calibration.ranges, options, summary);
  if (options.format.value_or(QuantFormat::kQDQ) == QuantFormat::kQOperator)
    quantization::fold_qoperator(*model->graph, summary);
  onnx_format::save_model(*model, output_path);
  return summary;
}

}  // namespace kestrel
