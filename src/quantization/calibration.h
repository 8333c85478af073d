// Static calibration: runs the float model on the caller's data with the tensors to quantize exposed as extra
// outputs, and turns what it saw into one float range per tensor (MinMax, Entropy or Percentile).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "kestrel/quantization.h"

namespace kestrel::quantization {

struct FloatRange {
  float min = 0;
  float max = 0;
};

// What one tensor's values looked like over all batches: exact min/max, and a histogram of the values over
// [-limit, limit] that widens (re-binning what it holds) when a batch exceeds it.
class RangeCollector {
 public:
  RangeCollector(bool keep_histogram, int bins) : keep_histogram_(keep_histogram), counts_(bins, 0.0) {}
  void add(const float* data, int64_t count);
  FloatRange min_max() const { return {min_, max_}; }
  // The symmetric window that minimises the KL divergence between the histogram and its quantized form
  // (TensorRT's entropy calibration), clamped to the observed min/max.
  FloatRange entropy(int quantized_bins) const;
  // [-t, t] holding `percentile` percent of the values, clamped to the observed min/max.
  FloatRange percentile(double percentile) const;
  bool seen() const { return seen_; }

 private:
  void widen(float new_limit);
  bool keep_histogram_;
  bool seen_ = false;
  float min_ = 0, max_ = 0;
  float limit_ = 0;
  std::vector<double> counts_;
};

struct CalibrationResult {
  std::map<std::string, FloatRange> ranges;  // only tensors that were float and seen
  int batches = 0;
};

// Runs `model` once per feed of `reader`, collecting `tensor_names` (the model is left as it was).
CalibrationResult calibrate(ir::Model& model, const std::vector<std::string>& tensor_names,
                            const CalibrationReader& reader, const QuantizationOptions& options);

}  // namespace kestrel::quantization
