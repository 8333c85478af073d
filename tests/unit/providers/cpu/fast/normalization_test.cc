// The fast LayerNormalization (ONNX and ai.kestrel) and SkipLayerNormalization kernels against the reference
// ones: row lengths around the vector width, enough rows to be split between threads, optional inputs
// omitted, Skip repeating over leading dims, and shapes the fast kernels hand back to the reference.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

auto epsilon_attr(float epsilon, int64_t axis = -1) {
  return [epsilon, axis](onnx::NodeProto& n) {
    add_attr(n, "epsilon", epsilon);
    if (axis != -1) add_attr(n, "axis", axis);
  };
}

TEST(FastLayerNormalization, RowLengthsAndRowCounts) {
  for (int64_t D : {1, 5, 16, 17, 256, 771}) {
    for (int64_t rows : {1, 3, 130}) {
      for (bool with_bias : {true, false}) {
        SCOPED_TRACE("D " + std::to_string(D) + ", rows " + std::to_string(rows) + (with_bias ? ", B" : ""));
        std::vector<NodeInput> inputs = {{"X", pattern_tensor({rows, D}, 1)},
                                         {"Scale", pattern_tensor({D}, 2), true}};
        if (with_bias) inputs.push_back({"B", pattern_tensor({D}, 3), true});
        compare_fast_with_reference("LayerNormalization", inputs, epsilon_attr(1e-5f), 17);
        compare_fast_with_reference("LayerNormalization", inputs, epsilon_attr(1e-12f), 13, 1e-4f,
                                    "ai.kestrel");
      }
    }
  }
}

TEST(FastLayerNormalization, OverTwoAxesAndBroadcastScale) {
  // Normalising [3, 7] blocks with a block-shaped Scale (fast) and with a Scale broadcast over the block
  // (reference).
  compare_fast_with_reference("LayerNormalization",
                              {{"X", pattern_tensor({4, 3, 7}, 1)},
                               {"Scale", pattern_tensor({3, 7}, 2), true},
                               {"B", pattern_tensor({3, 7}, 3), true}},
                              epsilon_attr(1e-5f, -2), 17);
  compare_fast_with_reference("LayerNormalization",
                              {{"X", pattern_tensor({4, 3, 7}, 1)}, {"Scale", pattern_tensor({7}, 2), true}},
                              epsilon_attr(1e-5f, 1), 17);
}

TEST(FastLayerNormalization, ParameterOfHigherRankThanTheBlockIsAnError) {
  const std::vector<NodeInput> inputs = {{"X", pattern_tensor({4, 3, 7}, 1)},
                                         {"Scale", pattern_tensor({1, 3, 7}, 2), true}};
  const std::string bytes =
      testing::model_with_initializers("LayerNormalization", inputs, epsilon_attr(1e-5f, -2), 17);
  EXPECT_THROW(testing::make_session(bytes, false, 1).run(testing::feeds_of(inputs)), Error);
}

TEST(FastLayerNormalization, EmptyInput) {
  compare_fast_with_reference("LayerNormalization",
                              {{"X", pattern_tensor({0, 8}, 1)}, {"Scale", pattern_tensor({8}, 2), true}},
                              epsilon_attr(1e-5f), 17);
}

TEST(FastSkipLayerNormalization, RowLengthsSkipShapesAndOptionalInputs) {
  const int64_t B = 2;
  for (int64_t D : {1, 7, 16, 33, 257}) {
    for (int64_t S : {1, 130}) {
      for (int variant = 0; variant < 4; ++variant) {
        // 0: same-shape skip, bias and beta; 1: no bias; 2: no beta, skip [S, D]; 3: skip [D], nothing
        // optional.
        SCOPED_TRACE("D " + std::to_string(D) + ", S " + std::to_string(S) + ", variant " +
                     std::to_string(variant));
        const Shape skip_shape = variant < 2 ? Shape{B, S, D} : variant == 2 ? Shape{S, D} : Shape{D};
        std::vector<NodeInput> inputs = {
            {"X", pattern_tensor({B, S, D}, 1)},
            {"Skip", pattern_tensor(skip_shape, 2)},
            {"Gamma", pattern_tensor({D}, 3), true},
            {"Beta", variant == 0 || variant == 1 ? pattern_tensor({D}, 4) : Tensor(), true},
            {"Bias", variant == 0 || variant == 2 ? pattern_tensor({D}, 5) : Tensor(), true}};
        compare_fast_with_reference("SkipLayerNormalization", inputs, epsilon_attr(1e-12f), 13, 1e-4f,
                                    "ai.kestrel");
      }
    }
  }
}

TEST(FastSkipLayerNormalization, SkipBroadcastOverInnerDimGoesToReference) {
  // Skip [B, 1, D] broadcasts over the sequence, which the fast row loop does not take.
  compare_fast_with_reference("SkipLayerNormalization",
                              {{"X", pattern_tensor({2, 5, 16}, 1)},
                               {"Skip", pattern_tensor({2, 1, 16}, 2)},
                               {"Gamma", pattern_tensor({16}, 3), true}},
                              epsilon_attr(1e-12f), 13, 1e-4f, "ai.kestrel");
}

}  // namespace
}  // namespace kestrel
