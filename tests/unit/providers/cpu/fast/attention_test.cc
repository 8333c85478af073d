// The fast ai.kestrel Attention (src/providers/cpu/kernels/fast/attention.cc) against the reference kernel:
// sequence lengths and head sizes around the vector width, masks of every broadcast shape, a row masked out
// entirely, and fewer heads than threads (rows split between threads).
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

auto heads_attr(int64_t heads, float scale = 0.0f) {
  return [heads, scale](onnx::NodeProto& n) {
    add_attr(n, "num_heads", heads);
    if (scale != 0.0f) add_attr(n, "scale", scale);
  };
}

// Padding-style mask [B, 1, 1, S]: batch b ignores its last b + 1 keys (as far as there are keys to spare).
Tensor key_padding_mask(int64_t B, int64_t S) {
  Tensor m(ElementType::kFloat, {B, 1, 1, S});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      m.data<float>()[b * S + s] = (s >= S - (b + 1) && s > 0) ? -10000.0f : 0.0f;
  return m;
}

TEST(FastAttention, SequenceLengthsAndHeadSizes) {
  const int64_t B = 2, H = 2;
  for (int64_t S : {1, 7, 33, 128}) {
    for (int64_t d : {16, 64, 5}) {
      for (bool masked : {false, true}) {
        SCOPED_TRACE("S " + std::to_string(S) + ", d " + std::to_string(d) + (masked ? ", mask" : ""));
        std::vector<NodeInput> inputs = {{"QKV", pattern_tensor({B, S, 3 * H * d}, static_cast<int>(S + d))}};
        if (masked)
          inputs.insert(inputs.end(),
                        {{"W", Tensor()}, {"bias", Tensor()}, {"mask", key_padding_mask(B, S)}});
        compare_fast_with_reference("Attention", inputs, heads_attr(H), 13, 1e-4f, "ai.kestrel");
      }
    }
  }
}

TEST(FastAttention, MaskBroadcastShapesAndScale) {
  const int64_t B = 2, H = 3, S = 19, d = 16;
  const std::vector<Shape> shapes = {{B, H, S, S}, {B, 1, S, S}, {1, H, 1, S}, {S, S},
                                     {S},          {1},          {B, 1, S, 1}};
  for (const Shape& shape : shapes) {
    SCOPED_TRACE("mask " + shape_to_string(shape));
    Tensor mask = pattern_tensor(shape, 7);
    compare_fast_with_reference(
        "Attention",
        {{"QKV", pattern_tensor({B, S, 3 * H * d}, 3)}, {"W", Tensor()}, {"bias", Tensor()}, {"mask", mask}},
        heads_attr(H, 0.3f), 13, 1e-4f, "ai.kestrel");
  }
}

TEST(FastAttention, MinusInfinityMaskAndFullyMaskedRow) {
  const int64_t B = 1, H = 2, S = 20, d = 16;
  Tensor mask(ElementType::kFloat, {B, 1, S, S});
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j)
      mask.data<float>()[i * S + j] = (j > i || i == 5) ? -INFINITY : 0.0f;  // causal; row 5 sees nothing
  const Tensor ref = compare_fast_with_reference(
      "Attention",
      {{"QKV", pattern_tensor({B, S, 3 * H * d}, 5)}, {"W", Tensor()}, {"bias", Tensor()}, {"mask", mask}},
      heads_attr(H), 13, 1e-4f, "ai.kestrel");
  // Row 0 attends to key 0 alone: its output is V's first row; row 5 is NaN, as Softmax of -inf everywhere
  // is.
  const Tensor qkv = pattern_tensor({B, S, 3 * H * d}, 5);
  for (int64_t c = 0; c < H * d; ++c) {
    EXPECT_FLOAT_EQ(ref.data<float>()[c], qkv.data<float>()[2 * H * d + c]);
    EXPECT_TRUE(std::isnan(ref.data<float>()[5 * H * d + c]));
  }
}

TEST(FastAttention, OneHeadSplitsRowsBetweenThreads) {
  for (int64_t S : {2, 9, 64}) {
    SCOPED_TRACE("S " + std::to_string(S));
    compare_fast_with_reference("Attention", {{"QKV", pattern_tensor({1, S, 3 * 32}, 9)}}, heads_attr(1), 13,
                                1e-4f, "ai.kestrel");
  }
}

TEST(FastAttention, EmptySequence) {
  compare_fast_with_reference("Attention", {{"QKV", pattern_tensor({2, 0, 3 * 2 * 16}, 1)}}, heads_attr(2),
                              13, 1e-4f, "ai.kestrel");
}

TEST(FastAttention, MaskThatDoesNotBroadcastIsAnError) {
  const std::vector<NodeInput> inputs = {{"QKV", pattern_tensor({2, 7, 3 * 2 * 16}, 1)},
                                         {"W", Tensor()},
                                         {"bias", Tensor()},
                                         {"mask", pattern_tensor({3, 1, 1, 7})}};
  Session fast = testing::make_session(
      testing::model_with_initializers("Attention", inputs, heads_attr(2), 13, "ai.kestrel"), false, 2);
  EXPECT_THROW(fast.run(testing::feeds_of(inputs)), Error);
}

}  // namespace
}  // namespace kestrel
