// The oneDNN InvertedResidual (src/providers/cpu/dnnl/inverted_residual.cc) against the reference kernel, at
// teams of 1 to 4 (as many row bands per image) and against its own one-thread output: odd heights and
// widths, stride 2, asymmetric pads, a 5x5 window, with and without residual and biases, bands of one chunk
// and of many, batches and shapes seen only at run time. Shapes are large enough for a team (over 2^20
// multiply-adds a block).
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

// X [N, H, W, C] -> expansion to E -> depthwise kH x kW -> projection to M (+ Z when `residual`).
std::vector<NodeInput> block(Shape x, int64_t E, int64_t M, int64_t k, bool residual, bool biases = true,
                             Shape z = {}) {
  const int64_t C = x[3];
  std::vector<NodeInput> in{{"X", pattern_tensor(x, 1)},
                            {"W1", pattern_tensor({E, C, 1, 1}, 2), true},
                            {"B1", biases ? pattern_tensor({E}, 3) : Tensor(), true},
                            {"W2", pattern_tensor({E, 1, k, k}, 4), true},
                            {"B2", biases ? pattern_tensor({E}, 5) : Tensor(), true},
                            {"W3", pattern_tensor({M, E, 1, 1}, 6), true},
                            {"B3", biases ? pattern_tensor({M}, 7) : Tensor(), true}};
  if (residual) in.push_back({"Z", pattern_tensor(z.empty() ? x : z, 8)});
  return in;
}

// MobileNetV2's activations: ReLU6 after the expansion and the depthwise convolution, none after the
// projection.
std::function<void(onnx::NodeProto&)> relu6_block(std::vector<int64_t> strides, std::vector<int64_t> pads,
                                                  std::function<void(onnx::NodeProto&)> more = nullptr) {
  return [=](onnx::NodeProto& n) {
    add_attr(n, "strides", strides);
    add_attr(n, "pads", pads);
    for (const char* prefix : {"expand_", "depthwise_"}) {
      add_attr(n, std::string(prefix) + "activation", std::string("Clip"));
      add_attr(n, std::string(prefix) + "activation_params", std::vector<float>{0.0f, 6.0f});
    }
    if (more) more(n);
  };
}

void compare(const std::vector<NodeInput>& in, const std::function<void(onnx::NodeProto&)>& attrs) {
  testing::compare_teams("InvertedResidual", in, attrs, {testing::feeds_of(in)});
}

TEST(FastInvertedResidual, OddSizeWithResidual) {  // 23 rows: bands of 11/12, 7/8/8, 5/6/6/6
  compare(block({1, 23, 19, 16}, 96, 16, 3, true), relu6_block({1, 1}, {1, 1, 1, 1}));
}

TEST(FastInvertedResidual, StrideTwoWithoutResidual) {  // the bands' windows reach rows expanded by others
  compare(block({1, 29, 27, 24}, 144, 32, 3, false), relu6_block({2, 2}, {1, 1, 1, 1}));
  compare(block({1, 28, 31, 24}, 144, 32, 3, false), relu6_block({2, 2}, {0, 1, 1, 0}));
}

TEST(FastInvertedResidual, FiveByFiveAsymmetricPadsNoBias) {
  compare(block({1, 21, 17, 20}, 120, 20, 5, true, false), relu6_block({1, 1}, {2, 1, 2, 3}));
}

TEST(FastInvertedResidual, OtherActivations) {  // Relu, HardSwish and a projection activation as post-ops
  compare(block({1, 19, 23, 16}, 96, 16, 3, true), [](onnx::NodeProto& n) {
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
    add_attr(n, "expand_activation", std::string("HardSwish"));
    add_attr(n, "depthwise_activation", std::string("Relu"));
    add_attr(n, "activation", std::string("LeakyRelu"));
    add_attr(n, "activation_params", std::vector<float>{0.1f});
  });
}

TEST(FastInvertedResidual,
     FewRowsPerBand) {  // 7 rows over 4 bands, 4 over 4 (a band of one row), small blocks
  compare(block({1, 7, 7, 160}, 960, 160, 3, true), relu6_block({1, 1}, {1, 1, 1, 1}));
  compare(block({1, 4, 9, 96}, 576, 96, 3, true), relu6_block({1, 1}, {1, 1, 1, 1}));
  compare(block({1, 5, 6, 8}, 16, 8, 3, true), relu6_block({1, 1}, {1, 1, 1, 1}));  // one thread's work
}

// Rows wide enough (121 x 144 channels, 68 KiB a row) that each band runs in chunks of a few output rows,
// each chunk keeping the expanded rows the previous one read: stride 1 (chunks of 5 rows), stride 2 (3 rows,
// one row kept), a 5x5 window (3 rows, four kept).
TEST(FastInvertedResidual, BandsInChunks) {
  compare(block({1, 37, 121, 24}, 144, 24, 3, true), relu6_block({1, 1}, {1, 1, 1, 1}));
  compare(block({1, 41, 121, 24}, 144, 32, 3, false), relu6_block({2, 2}, {1, 1, 1, 1}));
  compare(block({1, 40, 121, 24}, 144, 32, 3, false), relu6_block({2, 2}, {0, 1, 1, 1}));
  compare(block({1, 29, 121, 16}, 144, 16, 5, true), relu6_block({1, 1}, {2, 2, 2, 2}));
}

// Pads wider than the window: the first and last chunks would read padding alone, so such a band runs whole.
TEST(FastInvertedResidual, PadsWiderThanTheWindow) {
  compare(block({1, 12, 121, 24}, 144, 24, 3, false), relu6_block({1, 1}, {8, 1, 8, 1}));
}

// The weights are packed at creation for the declared shape and the model's copies freed; other batches and
// shapes then make their bands from the packed copies.
TEST(FastInvertedResidual, BatchesAndShapesSeenAtRunTime) {
  std::vector<NodeInput> in = block({1, 17, 15, 16}, 96, 16, 3, true);
  in[0].dynamic = in.back().dynamic = true;
  std::vector<Feeds> runs;
  for (const Shape& s :
       {Shape{1, 17, 15, 16}, Shape{3, 17, 15, 16}, Shape{2, 30, 11, 16}, Shape{1, 17, 15, 16}})
    runs.push_back({{"X", Value(pattern_tensor(s, 9))}, {"Z", Value(pattern_tensor(s, 10))}});
  testing::compare_teams("InvertedResidual", in, relu6_block({1, 1}, {1, 1, 1, 1}), runs);
}

TEST(FastInvertedResidual, RejectsAResidualOfAnotherShape) {
  const std::vector<NodeInput> in = block({1, 9, 9, 8}, 16, 8, 3, true, true, {1, 1, 1, 8});
  const std::string bytes = testing::model_with_initializers(
      "InvertedResidual", in, relu6_block({1, 1}, {1, 1, 1, 1}), 13, "ai.kestrel");
  for (bool reference : {true, false}) {
    Session s = testing::make_session(bytes, reference, 2);
    EXPECT_THROW(s.run(testing::feeds_of(in)), Error);
  }
}

}  // namespace
}  // namespace kestrel
