// Static quantization with an accuracy target (see passes.h): which chosen nodes stay quantized.
//
// Quantization error does not add up evenly: in some models (a text detector's probability map after a
// sigmoid, for instance) one tensor quantized to 8 bits is enough to ruin the output while a hundred others
// cost nothing. So each node's harm is measured alone, on real data, at the model's outputs: the model with
// only that node quantized, compared with the float model. The most harmful nodes are then kept in float,
// as few as the target allows, found by bisection over that ranking.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "onnx/loader.h"
#include "onnx/writer.h"
#include "quantization/passes.h"

namespace kestrel::quantization {
namespace {

// Cosine similarity of two float tensors of the same size; two all-zero tensors are identical.
double cosine(const Tensor& a, const Tensor& b) {
  double dot = 0, na = 0, nb = 0;
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  for (int64_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(x[i]) * y[i];
    na += static_cast<double>(x[i]) * x[i];
    nb += static_cast<double>(y[i]) * y[i];
  }
  if (na == 0 && nb == 0) return 1.0;
  if (na == 0 || nb == 0) return 0.0;
  const double c = dot / std::sqrt(na * nb);
  return std::isfinite(c) ? c : 0.0;  // NaN or Inf in an output is as bad as it gets
}

bool is_float_tensor(const Value& v) { return v.is_tensor() && v.tensor().type() == ElementType::kFloat; }

// Builds and scores variants of one float model with a subset of the chosen nodes quantized.
class CandidateScorer {
 public:
  CandidateScorer(const ir::Model& float_model, const std::vector<NodePlan>& plans,
                  const std::map<std::string, FloatRange>& ranges, const std::vector<Feeds>& batches,
                  const QuantizationOptions& options)
      : bytes_(onnx_format::serialize_model(float_model)),
        ranges_(ranges),
        batches_(batches),
        options_(options) {
    for (const NodePlan& p : plans) plan_names_.push_back(p.node->name);
    Session reference(bytes_.data(), bytes_.size());
    for (const Feeds& feeds : batches_) reference_.push_back(reference.run(feeds));
  }

  // The lowest output cosine over the batches of the model with the plans flagged in `quantize` quantized.
  double score(const std::vector<bool>& quantize) {
    const std::string bytes = build(quantize);
    Session session(bytes.data(), bytes.size());
    double lowest = 1.0;
    for (size_t b = 0; b < batches_.size(); ++b) {
      const std::vector<Value> got = session.run(batches_[b]);
      for (size_t k = 0; k < reference_[b].size(); ++k) {
        const Value& ref = reference_[b][k];
        if (!is_float_tensor(ref)) continue;
        const bool comparable =
            k < got.size() && is_float_tensor(got[k]) && got[k].tensor().shape() == ref.tensor().shape();
        lowest = std::min(lowest, comparable ? cosine(ref.tensor(), got[k].tensor()) : 0.0);
      }
    }
    ++evaluated_;
    return lowest;
  }
  int evaluated() const { return evaluated_; }

 private:
  // Each variant is rebuilt from the serialized float model: the passes rewrite the graph they are given.
  std::string build(const std::vector<bool>& quantize) const {
    std::unique_ptr<ir::Model> model = onnx_format::load_model_bytes(bytes_.data(), bytes_.size(), "");
    QuantizationSummary ignored;
    std::vector<NodePlan> plans = select_nodes(*model->graph, options_, /*dynamic=*/false, ignored);
    if (plans.size() != plan_names_.size())
      throw Error(ErrorCode::kFail, "the accuracy search chose " + std::to_string(plans.size()) +
                                        " nodes on the reloaded model instead of " +
                                        std::to_string(plan_names_.size()));
    std::vector<NodePlan> kept;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (plans[i].node->name != plan_names_[i])
        throw Error(ErrorCode::kFail, "the accuracy search found " + plans[i].node->describe() +
                                          " where it expected node '" + plan_names_[i] + "'");
      if (quantize[i]) kept.push_back(plans[i]);
    }
    insert_qdq(*model->graph, kept, ranges_, options_, ignored);
    if (options_.format.value_or(QuantFormat::kQDQ) == QuantFormat::kQOperator)
      fold_qoperator(*model->graph, ignored);
    return onnx_format::serialize_model(*model);
  }

  const std::string bytes_;
  std::vector<std::string> plan_names_;
  const std::map<std::string, FloatRange>& ranges_;
  const std::vector<Feeds>& batches_;
  const QuantizationOptions& options_;
  std::vector<std::vector<Value>> reference_;
  int evaluated_ = 0;
};

std::string format_cosine(double c) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", c);
  return text;
}

}  // namespace

std::vector<bool> choose_for_accuracy(const ir::Model& float_model, const std::vector<NodePlan>& plans,
                                      const std::map<std::string, FloatRange>& ranges,
                                      const std::vector<Feeds>& batches, const QuantizationOptions& options,
                                      QuantizationSummary& summary) {
  const double target = options.accuracy_target.value();
  const size_t n = plans.size();
  std::vector<bool> quantize(n, true);
  if (n == 0) {  // nothing to quantize: the model stays the float model
    summary.cosine_all_quantized = summary.cosine = 1.0;
    return quantize;
  }

  CandidateScorer scorer(float_model, plans, ranges, batches, options);
  // Planned evaluations: all quantized, each node alone, then the bisection over 1..n-1 kept float.
  int planned = 1 + static_cast<int>(n);
  for (size_t span = n; span > 1; span = (span + 1) / 2) ++planned;
  auto report = [&](bool finished) {
    if (options.accuracy_progress)
      options.accuracy_progress(finished ? planned : scorer.evaluated(), planned);
  };

  summary.cosine_all_quantized = summary.cosine = scorer.score(quantize);
  if (summary.cosine >= target) {
    report(true);
    return quantize;
  }
  report(false);

  std::vector<double> alone(n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<bool> only(n, false);
    only[i] = true;
    alone[i] = scorer.score(only);
    report(false);
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return alone[a] < alone[b]; });
  auto without_worst = [&](size_t count) {
    std::vector<bool> mask(n, true);
    for (size_t i = 0; i < count; ++i) mask[order[i]] = false;
    return mask;
  };

  // Keeping all n in float is the float model itself (cosine 1); bisect for the fewest that meet the target.
  // Quality need not be monotonic in the count, but any other answer is a count measured to pass.
  size_t failing = 0, passing = n;
  double passing_cosine = 1.0;
  while (passing - failing > 1) {
    const size_t mid = failing + (passing - failing) / 2;
    const double c = scorer.score(without_worst(mid));
    report(false);
    if (c >= target) {
      passing = mid;
      passing_cosine = c;
    } else {
      failing = mid;
    }
  }
  report(true);
  summary.cosine = passing_cosine;
  for (size_t i = 0; i < passing; ++i)
    summary.kept_for_accuracy.push_back(plans[order[i]].node->describe() + " (quantized alone: cosine " +
                                        format_cosine(alone[order[i]]) + ")");
  return without_worst(passing);
}

}  // namespace kestrel::quantization
