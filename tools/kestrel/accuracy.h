// How far one engine's outputs are from reference outputs: cosine similarity, largest absolute and relative
// error, and top-1 agreement for class scores. Used by `kestrel quantize --report` and `kestrel run --compare`.
#pragma once

#include <cstdint>

#include "kestrel/tensor.h"

namespace kestrel::cli {

// Accuracy of one output, accumulated over any number of runs.
struct OutputStats {
  double dot = 0, norm_ref = 0, norm_got = 0;
  double max_abs = 0, max_ref = 0;
  int64_t rows = 0, top1_agree = 0;
  int64_t near_ties = 0;  // disagreements on classes the reference scores within 1% of its logit range
  bool classifier = true;

  double cosine() const;
  // The largest absolute error divided by the largest |reference value|.
  double max_rel() const { return max_ref > 0 ? max_abs / max_ref : 0.0; }
};

// Adds one run's output. Non-float or mismatched outputs make the stats NaN (and not a classifier); outputs
// of shape [batch, classes] count top-1 agreement per row.
void accumulate(OutputStats& s, const Tensor& ref, const Tensor& got);

}  // namespace kestrel::cli
