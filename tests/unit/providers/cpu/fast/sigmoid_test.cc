// The fast Sigmoid (src/providers/cpu/kernels/fast/sigmoid.cc) against the reference kernel (std::exp): sizes
// around the vector width and above the threading threshold, values far into both tails (where exp(-x)
// overflows or vanishes), infinities and NaN; both opset ranges it serves.
#include <gtest/gtest.h>

#include <limits>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::compare_fast_with_reference;

// Values from -100 to 100 in uneven steps, then (when there is room) inf, -inf, NaN, 0 and the edges of
// exp's range.
Tensor sigmoid_inputs(int64_t n) {
  Tensor t(ElementType::kFloat, {n});
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = -100.0f + 200.0f * static_cast<float>((i * 7919) % 10007) / 10007.0f;
  if (n >= 20) {
    p[3] = std::numeric_limits<float>::infinity();
    p[7] = -std::numeric_limits<float>::infinity();
    p[11] = std::numeric_limits<float>::quiet_NaN();
    p[13] = 0.0f;
    p[17] = -88.5f;
    p[18] = 87.5f;
    p[19] = -1e-3f;
  }
  return t;
}

TEST(FastSigmoid, ManySizesBothTailsSpecialValues) {
  for (int64_t n : {0, 1, 15, 16, 17, 33, 100003}) {
    SCOPED_TRACE("n " + std::to_string(n));
    for (int opset : {6, 13}) compare_fast_with_reference("Sigmoid", {{"X", sigmoid_inputs(n)}}, nullptr, opset, 1e-6f);
  }
}

}  // namespace
}  // namespace kestrel
