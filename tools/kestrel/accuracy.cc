// Output accuracy statistics (see accuracy.h).
#include "accuracy.h"

#include <algorithm>
#include <cmath>

namespace kestrel::cli {

double OutputStats::cosine() const {
  const double denom = std::sqrt(norm_ref) * std::sqrt(norm_got);
  return denom > 0 ? dot / denom : (norm_ref == norm_got ? 1.0 : 0.0);
}

void accumulate(OutputStats& s, const Tensor& ref, const Tensor& got) {
  if (ref.type() != ElementType::kFloat || got.type() != ElementType::kFloat || ref.shape() != got.shape()) {
    s.classifier = false;
    s.max_abs = std::nan("");
    return;
  }
  const float* r = ref.data<float>();
  const float* g = got.data<float>();
  for (int64_t i = 0; i < ref.size(); ++i) {
    s.dot += static_cast<double>(r[i]) * g[i];
    s.norm_ref += static_cast<double>(r[i]) * r[i];
    s.norm_got += static_cast<double>(g[i]) * g[i];
    s.max_abs = std::max(s.max_abs, std::fabs(static_cast<double>(r[i]) - g[i]));
    s.max_ref = std::max(s.max_ref, std::fabs(static_cast<double>(r[i])));
  }
  // Class scores: [batch, classes] with at least two classes.
  if (ref.rank() != 2 || ref.dim(1) < 2) {
    s.classifier = false;
    return;
  }
  const int64_t classes = ref.dim(1);
  for (int64_t row = 0; row < ref.dim(0); ++row) {
    const float* rr = r + row * classes;
    const float* gr = g + row * classes;
    const int64_t want = std::max_element(rr, rr + classes) - rr;
    const int64_t got = std::max_element(gr, gr + classes) - gr;
    const auto [lo, hi] = std::minmax_element(rr, rr + classes);
    if (want == got)
      ++s.top1_agree;
    else if (rr[want] - rr[got] <= 0.01f * (*hi - *lo))
      ++s.near_ties;
    ++s.rows;
  }
}

}  // namespace kestrel::cli
