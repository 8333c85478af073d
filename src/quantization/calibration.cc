// Calibration runs and the three range estimators (see calibration.h).
#include "quantization/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "onnx/writer.h"

namespace kestrel::quantization {

void RangeCollector::add(const float* data, int64_t count) {
  if (count == 0) return;
  float lo = data[0], hi = data[0];
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(data[i])) continue;
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
  }
  if (!std::isfinite(lo)) lo = 0;
  if (!std::isfinite(hi)) hi = 0;
  if (!seen_) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  seen_ = true;
  if (!keep_histogram_) return;
  const float absmax = std::max(std::fabs(lo), std::fabs(hi));
  if (absmax > limit_) widen(absmax);
  if (limit_ <= 0) {
    counts_[counts_.size() / 2] += static_cast<double>(count);  // all zeros
    return;
  }
  const int64_t bins = static_cast<int64_t>(counts_.size());
  const double width = 2.0 * limit_ / static_cast<double>(bins);
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(data[i])) continue;
    int64_t b = static_cast<int64_t>((static_cast<double>(data[i]) + limit_) / width);
    counts_[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))] += 1;
  }
}

void RangeCollector::widen(float new_limit) {
  if (limit_ > 0) {
    // Move each old bin's count to the new bin holding its centre.
    const int64_t bins = static_cast<int64_t>(counts_.size());
    std::vector<double> widened(counts_.size(), 0.0);
    const double old_width = 2.0 * limit_ / static_cast<double>(bins);
    const double new_width = 2.0 * new_limit / static_cast<double>(bins);
    for (int64_t b = 0; b < bins; ++b) {
      if (counts_[static_cast<size_t>(b)] == 0) continue;
      const double centre = -limit_ + (static_cast<double>(b) + 0.5) * old_width;
      const int64_t nb = static_cast<int64_t>((centre + new_limit) / new_width);
      widened[static_cast<size_t>(std::clamp<int64_t>(nb, 0, bins - 1))] += counts_[static_cast<size_t>(b)];
    }
    counts_ = std::move(widened);
  }
  limit_ = new_limit;
}

namespace {

// KL(p || q) over bins where p > 0; q is smoothed so that it is never 0 where p is not.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  const double p_sum = std::accumulate(p.begin(), p.end(), 0.0);
  const double q_sum = std::accumulate(q.begin(), q.end(), 0.0);
  if (p_sum <= 0 || q_sum <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / p_sum;
    const double qi = std::max(q[i] / q_sum, 1e-12);
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

FloatRange clamp_to_seen(float threshold, float lo, float hi) {
  return {std::max(-threshold, lo), std::min(threshold, hi)};
}

}  // namespace

FloatRange RangeCollector::entropy(int quantized_bins) const {
  if (!keep_histogram_ || limit_ <= 0) return min_max();
  const int64_t bins = static_cast<int64_t>(counts_.size());
  const int64_t zero_bin = bins / 2;
  const int64_t half_quantized = std::max(1, quantized_bins / 2);
  const double width = 2.0 * limit_ / static_cast<double>(bins);
  double best_kl = std::numeric_limits<double>::infinity();
  int64_t best_half = zero_bin;
  for (int64_t half = half_quantized; half <= zero_bin; ++half) {
    const int64_t start = zero_bin - half;
    const int64_t end = std::min(bins, zero_bin + half);
    std::vector<double> reference(counts_.begin() + start, counts_.begin() + end);
    // Outliers are clipped into the edge bins, as quantizing with this window would do.
    reference.front() += std::accumulate(counts_.begin(), counts_.begin() + start, 0.0);
    reference.back() += std::accumulate(counts_.begin() + end, counts_.end(), 0.0);
    // The window merged into `quantized_bins` bins and spread back over the non-empty source bins.
    const int64_t n = end - start;
    std::vector<double> expanded(static_cast<size_t>(n), 0.0);
    for (int64_t j = 0; j < quantized_bins; ++j) {
      const int64_t b0 = j * n / quantized_bins;
      const int64_t b1 = (j + 1) * n / quantized_bins;
      double total = 0;
      int64_t nonzero = 0;
      for (int64_t b = b0; b < b1; ++b) {
        total += counts_[static_cast<size_t>(start + b)];
        if (counts_[static_cast<size_t>(start + b)] > 0) ++nonzero;
      }
      for (int64_t b = b0; b < b1; ++b)
        if (counts_[static_cast<size_t>(start + b)] > 0)
          expanded[static_cast<size_t>(b)] = total / static_cast<double>(nonzero);
    }
    const double kl = kl_divergence(reference, expanded);
    if (kl < best_kl) {
      best_kl = kl;
      best_half = half;
    }
  }
  return clamp_to_seen(static_cast<float>(static_cast<double>(best_half) * width), min_, max_);
}

FloatRange RangeCollector::percentile(double percentile) const {
  if (!keep_histogram_ || limit_ <= 0) return min_max();
  const int64_t bins = static_cast<int64_t>(counts_.size());
  const int64_t zero_bin = bins / 2;
  const double total = std::accumulate(counts_.begin(), counts_.end(), 0.0);
  const double wanted = total * percentile / 100.0;
  const double width = 2.0 * limit_ / static_cast<double>(bins);
  double inside = 0;
  for (int64_t half = 1; half <= zero_bin; ++half) {
    // Window [-half*width, half*width): bins zero_bin-half .. zero_bin+half-1.
    inside +=
        counts_[static_cast<size_t>(zero_bin - half)] + counts_[static_cast<size_t>(zero_bin + half - 1)];
    if (inside >= wanted)
      return clamp_to_seen(static_cast<float>(static_cast<double>(half) * width), min_, max_);
  }
  return min_max();
}

CalibrationResult calibrate(ir::Model& model, const std::vector<std::string>& tensor_names,
                            const CalibrationReader& reader, const QuantizationOptions& options) {
  // The float model with the tensors to observe added as outputs, serialized and run through the public API.
  ir::Graph& graph = *model.graph;
  std::vector<ir::Value*> added;
  std::vector<std::string> observed;
  for (const std::string& name : tensor_names) {
    ir::Value* v = graph.find_local(name);
    if (!v) continue;
    observed.push_back(name);
    if (v->is_graph_output || v->is_graph_input) continue;
    v->is_graph_output = true;
    graph.outputs.push_back(v);
    added.push_back(v);
  }
  std::string bytes;
  try {
    bytes = onnx_format::serialize_model(model);
  } catch (...) {
    for (ir::Value* v : added) v->is_graph_output = false;
    graph.outputs.resize(graph.outputs.size() - added.size());
    throw;
  }
  for (ir::Value* v : added) v->is_graph_output = false;
  graph.outputs.resize(graph.outputs.size() - added.size());

  SessionOptions session_options;
  Session session(bytes.data(), bytes.size(), session_options);
  const bool histogram = options.calibrate_method != CalibrationMethod::kMinMax;
  std::vector<RangeCollector> collectors(observed.size(), RangeCollector(histogram, options.histogram_bins));
  CalibrationResult result;
  // Graph inputs are read from the feeds; everything else is asked for as an output.
  std::vector<std::string> fetched;
  std::vector<size_t> fetched_index(observed.size(), SIZE_MAX);
  for (size_t i = 0; i < observed.size(); ++i) {
    if (graph.find_local(observed[i])->is_graph_input) continue;
    fetched_index[i] = fetched.size();
    fetched.push_back(observed[i]);
  }
  while (std::optional<Feeds> feeds = reader()) {
    std::vector<Value> outputs = session.run(*feeds, fetched);
    for (size_t i = 0; i < observed.size(); ++i) {
      const Value* value = nullptr;
      if (fetched_index[i] != SIZE_MAX) {
        value = &outputs[fetched_index[i]];
      } else {
        for (const auto& [name, fed] : *feeds)
          if (name == observed[i]) value = &fed;
      }
      if (!value || !value->is_tensor() || value->tensor().type() != ElementType::kFloat) continue;
      const Tensor& t = value->tensor();
      collectors[i].add(t.data<float>(), t.size());
    }
    ++result.batches;
    if (options.progress) options.progress(result.batches);
  }
  if (result.batches == 0)
    throw Error(ErrorCode::kInvalidArgument,
                "the calibration data reader gave no data (get_next() returned None "
                "at once)");
  for (size_t i = 0; i < observed.size(); ++i) {
    const RangeCollector& c = collectors[i];
    if (!c.seen()) continue;
    FloatRange r;
    switch (options.calibrate_method) {
      case CalibrationMethod::kMinMax:
        r = c.min_max();
        break;
      case CalibrationMethod::kEntropy:
        r = c.entropy(options.entropy_quantized_bins);
        break;
      case CalibrationMethod::kPercentile:
        r = c.percentile(options.percentile);
        break;
    }
    result.ranges[observed[i]] = r;
  }
  return result;
}

}  // namespace kestrel::quantization
