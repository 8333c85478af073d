// The fast inference BatchNormalization (src/providers/cpu/kernels/fast/batch_normalization.cc) against the
// reference: identical floats (tolerance 0) on planes with tails, one position, a batch split over threads,
// 3-D inputs, parameters given at run time, old opsets; training mode and spatial = 0 keep the reference.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

// Positive variances: the reference's sqrt of a negative one is NaN, which compares unequal.
Tensor variances(int64_t C) {
  Tensor t(ElementType::kFloat, {C});
  for (int64_t c = 0; c < C; ++c) t.data<float>()[c] = 0.01f + 0.37f * static_cast<float>(c % 7);
  return t;
}

void batch_norm(const Shape& x, bool constant_params = true, int opset = 15, float epsilon = 1e-5f) {
  const int64_t C = x[1];
  std::vector<NodeInput> in{{"X", pattern_tensor(x, 1)},
                            {"scale", pattern_tensor({C}, 2), constant_params},
                            {"B", pattern_tensor({C}, 3), constant_params},
                            {"mean", pattern_tensor({C}, 4), constant_params},
                            {"var", variances(C), constant_params}};
  compare_fast_with_reference(
      "BatchNormalization", in, [&](onnx::NodeProto& n) { add_attr(n, "epsilon", epsilon); }, opset, 0.0f);
}

TEST(FastBatchNormalization, PlanesWithTails) { batch_norm({1, 5, 7, 9}); }
TEST(FastBatchNormalization, OnePosition) { batch_norm({3, 17, 1, 1}); }
TEST(FastBatchNormalization, SplitOverThreads) { batch_norm({2, 24, 96, 97}, true, 15, 1e-3f); }
TEST(FastBatchNormalization, ThreeD) { batch_norm({2, 3, 4, 5, 6}); }
TEST(FastBatchNormalization, RuntimeParameters) { batch_norm({1, 6, 11, 13}, false); }
TEST(FastBatchNormalization, OldOpsets) {
  batch_norm({1, 4, 5, 5}, true, 9);
  batch_norm({1, 4, 5, 5}, true, 7);
}

}  // namespace
}  // namespace kestrel
