// Quantizing a float model to 8-bit integers, written back as standard ONNX that any engine loads: dynamic
// (weights int8, activations quantized at run time) or static (activation ranges calibrated on the caller's
// data, QDQ or QOperator format). Names follow ONNX Runtime's quantization tool.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/session.h"

namespace kestrel {

enum class QuantType { kInt8, kUInt8 };
// kQDQ: QuantizeLinear/DequantizeLinear pairs around float ops. kQOperator: QLinearConv, QLinearMatMul,
// MatMulInteger, ConvInteger where ONNX has such an op; the other quantized ops stay in QDQ form.
enum class QuantFormat { kQDQ, kQOperator };
enum class CalibrationMethod { kMinMax, kEntropy, kPercentile };

struct QuantizationOptions {
  QuantType weight_type = QuantType::kInt8;
  // Static mode only: dynamic activations are always uint8 (DynamicQuantizeLinear's output type).
  QuantType activation_type = QuantType::kInt8;
  // Dynamic mode defaults to kQOperator (DynamicQuantizeLinear + MatMulInteger/ConvInteger), static to kQDQ.
  std::optional<QuantFormat> format;
  bool per_channel = false;   // one scale per output channel of each weight
  bool reduce_range = false;  // 7-bit weights (for CPUs whose int8 dot products can overflow)
  // Op types to quantize; empty means the defaults of the mode (dynamic: Conv, MatMul, Gemm, Gather; static:
  // those plus Add, Mul, Concat, MaxPool, AveragePool, GlobalAveragePool). Gather means a Gather over a
  // constant table (embeddings): the table is stored quantized and its gathered rows dequantized.
  std::vector<std::string> op_types;
  std::vector<std::string> nodes_to_quantize;  // when not empty, only these nodes (by name)
  std::vector<std::string> nodes_to_exclude;   // never these nodes (by name)
  // Only MatMuls whose B is a constant initializer. nullopt: true for dynamic, false for static (ORT's
  // defaults).
  std::optional<bool> matmul_const_b_only;
  bool activation_symmetric = false;
  std::optional<bool> weight_symmetric;  // nullopt: symmetric for int8 weights, asymmetric for uint8
  // Before choosing nodes, the float graph gets the basic (level 1) rewrites a session would make,
  // all in standard ONNX: BatchNormalization and constant Mul/Add folded into the neighbouring Conv's weights
  // and bias, constants folded. Per-channel scale-and-bias nodes then never get a per-tensor quantization of
  // their own (ORT's quant_pre_process does the same with its basic optimizations).
  bool preprocess = true;
  // Keep the first / last quantizable node (in graph order) in float, where quantizing hurts accuracy most.
  bool keep_first_layer_fp32 = false;
  bool keep_last_layer_fp32 = false;

  // Static calibration.
  CalibrationMethod calibrate_method = CalibrationMethod::kMinMax;
  double percentile = 99.999;  // kPercentile: share of |values| kept inside the range
  int histogram_bins = 2048;   // kEntropy / kPercentile
  int entropy_quantized_bins = 128;
  // Called after each calibration batch with the number of batches run so far.
  std::function<void(int)> progress;

  // Static only. When set, the quantizer keeps in float the nodes whose quantization hurts the outputs most,
  // until the quantized model's outputs reach this cosine similarity (in (0, 1]) with the float model's on
  // the first `accuracy_batches` calibration batches (the lowest cosine over those batches and the float
  // outputs). Each quantized node's harm is measured alone (the model with only that node quantized); the
  // fewest of the most harmful nodes that meet the target stay float. Costs one run of those batches per
  // quantized node.
  std::optional<double> accuracy_target;
  int accuracy_batches = 4;
  // Called while measuring with the number of quantized models evaluated so far and the number planned.
  std::function<void(int, int)> accuracy_progress;
};

// Yields one feed per call and nullopt at the end (ORT's CalibrationDataReader.get_next()).
using CalibrationReader = std::function<std::optional<Feeds>()>;

struct QuantizationSummary {
  std::map<std::string, int> quantized_nodes;  // op type -> nodes quantized
  std::vector<std::string> skipped;            // "Gemm node 'fc' (transA=1)" and why, for nodes left in float
  int opset_before = 0;
  int opset_after = 0;
  int calibration_batches = 0;
  int calibrated_tensors = 0;
  // With accuracy_target: the output cosine (on the accuracy batches) with every chosen node quantized and
  // with the nodes kept in float for accuracy; NaN when not measured.
  double cosine_all_quantized = std::numeric_limits<double>::quiet_NaN();
  double cosine = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> kept_for_accuracy;  // the nodes kept in float for accuracy, most harmful first
};

// Reads `input_path`, writes the quantized model to `output_path`. Throws kestrel::Error (kInvalidArgument
// for options that do not apply, naming the option; kInvalidGraph naming the node for graphs it cannot
// rewrite).
QuantizationSummary quantize_dynamic(const std::string& input_path, const std::string& output_path,
                                     const QuantizationOptions& options = {});
QuantizationSummary quantize_static(const std::string& input_path, const std::string& output_path,
                                    const CalibrationReader& reader, const QuantizationOptions& options = {});

}  // namespace kestrel
