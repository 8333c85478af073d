// The oneDNN ConvTranspose (src/providers/cpu/dnnl/conv_transpose.cc) and the stride-equals-kernel one
// (kernels/fast/conv_transpose_upsample.cc) against the reference ConvTranspose on
// odd shapes: primes, size 1, strides larger than the kernel, dilations, asymmetric pads, output_padding,
// groups and depthwise, 1-D/3-D, empty batch, dynamic shapes, and the cases it hands to the reference
// (output_shape, auto_pad SAME_*).
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

struct DeconvCase {
  Shape x, w;  // N x C x spatial, C x M/group x kernel
  bool bias = true;
  std::vector<int64_t> strides = {}, dilations = {}, pads = {}, output_padding = {}, output_shape = {};
  int64_t group = 1;
  std::string auto_pad = {};
};

Tensor run_deconv(const DeconvCase& c, int opset = 11, bool dynamic = false) {
  std::vector<NodeInput> in{{"X", pattern_tensor(c.x, 1), false, dynamic},
                            {"W", pattern_tensor(c.w, 2), true}};
  if (c.bias) in.push_back({"B", pattern_tensor({c.w[1] * c.group}, 3), true});
  return compare_fast_with_reference(
      "ConvTranspose", in,
      [&](onnx::NodeProto& n) {
        if (!c.strides.empty()) add_attr(n, "strides", c.strides);
        if (!c.dilations.empty()) add_attr(n, "dilations", c.dilations);
        if (!c.pads.empty()) add_attr(n, "pads", c.pads);
        if (!c.output_padding.empty()) add_attr(n, "output_padding", c.output_padding);
        if (!c.output_shape.empty()) add_attr(n, "output_shape", c.output_shape);
        if (c.group != 1) add_attr(n, "group", c.group);
        if (!c.auto_pad.empty()) add_attr(n, "auto_pad", c.auto_pad);
      },
      opset);
}

TEST(FastConvTranspose, Upsample2x2Stride2) { run_deconv({{1, 24, 12, 12}, {24, 24, 2, 2}, true, {2, 2}}); }
TEST(FastConvTranspose, OneOutputChannel) { run_deconv({{1, 24, 9, 9}, {24, 1, 2, 2}, false, {2, 2}}); }
TEST(FastConvTranspose, PrimesPadsDilations) {
  run_deconv({{2, 7, 13, 11}, {7, 5, 3, 3}, true, {2, 1}, {2, 1}, {1, 0, 2, 1}});
}
// Stride equal to the kernel (kernels/fast/conv_transpose_upsample.cc): rows of 16 columns with tails, 2x2
// (the interleaving shuffles), 3x3 and 1x4, without bias, one input channel, a batch split over threads.
TEST(FastConvTranspose, StrideEqualsKernel) {
  run_deconv({{1, 24, 12, 35}, {24, 24, 2, 2}, true, {2, 2}});
  run_deconv({{2, 5, 7, 9}, {5, 3, 3, 3}, false, {3, 3}});
  run_deconv({{1, 1, 5, 33}, {1, 4, 1, 4}, true, {1, 4}});
  run_deconv({{2, 24, 64, 64}, {24, 1, 2, 2}, true, {2, 2}});
  run_deconv({{1, 3, 4, 4}, {3, 2, 2, 2}, true, {2, 2}}, 1);
}
TEST(FastConvTranspose, StrideLargerThanKernel) { run_deconv({{1, 4, 7, 5}, {4, 3, 2, 2}, true, {3, 3}}); }
TEST(FastConvTranspose, OutputPadding) {
  run_deconv({{1, 5, 6, 7}, {5, 3, 3, 3}, true, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}});
}
TEST(FastConvTranspose, OutputPaddingBeyondEndPad) {
  run_deconv({{1, 3, 5, 5}, {3, 2, 3, 3}, true, {3, 2}, {}, {}, {2, 1}});
}
TEST(FastConvTranspose, Groups) {
  run_deconv({{1, 6, 8, 9}, {6, 3, 3, 3}, true, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, 3});
}
TEST(FastConvTranspose, Depthwise) {
  run_deconv({{1, 13, 7, 7}, {13, 1, 4, 4}, true, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, 13});
}
TEST(FastConvTranspose, AllSizeOne) { run_deconv({{1, 1, 1, 1}, {1, 1, 1, 1}}); }
TEST(FastConvTranspose, WideChannels) {
  run_deconv({{1, 67, 5, 6}, {67, 37, 3, 3}, true, {1, 1}, {}, {1, 1, 1, 1}});
}
TEST(FastConvTranspose, OneD) { run_deconv({{2, 4, 17}, {4, 6, 5}, true, {3}, {2}, {2, 1}}); }
TEST(FastConvTranspose, ThreeD) {
  run_deconv({{1, 3, 4, 5, 3}, {3, 4, 2, 3, 2}, true, {2, 1, 2}, {}, {0, 1, 0, 0, 1, 1}});
}
TEST(FastConvTranspose, Opset1) { run_deconv({{1, 3, 6, 6}, {3, 4, 3, 3}, true, {2, 2}}, 1); }
TEST(FastConvTranspose, Valid) {
  run_deconv({{1, 3, 6, 5}, {3, 4, 3, 2}, true, {2, 2}, {}, {}, {}, {}, 1, "VALID"});
}
TEST(FastConvTranspose, SameUpperGoesToReference) {
  run_deconv({{1, 3, 6, 5}, {3, 4, 3, 3}, true, {2, 2}, {}, {}, {}, {}, 1, "SAME_UPPER"});
}
TEST(FastConvTranspose, OutputShapeGoesToReference) {
  run_deconv({{1, 3, 6, 5}, {3, 4, 3, 3}, true, {2, 2}, {}, {}, {}, {14, 12}});
}
TEST(FastConvTranspose, LargeEnoughForTwoThreads) {
  run_deconv({{1, 32, 40, 40}, {32, 32, 2, 2}, true, {2, 2}});
}

TEST(FastConvTranspose, EmptyBatch) {
  const Tensor y = run_deconv({{0, 3, 5, 5}, {3, 4, 2, 2}, true, {2, 2}});
  EXPECT_EQ(y.shape(), (Shape{0, 4, 10, 10}));
}

TEST(FastConvTranspose, DynamicShapesCachePerShape) {
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 3, 9, 9}, 1), false, true},
                            {"W", pattern_tensor({3, 4, 3, 3}, 2), true},
                            {"B", pattern_tensor({4}, 3), true}};
  auto attrs = [](onnx::NodeProto& n) {
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
  };
  const std::string bytes = testing::model_with_initializers("ConvTranspose", in, attrs, 11);
  Session ref = testing::make_session(bytes, true, 1), fast = testing::make_session(bytes, false, 2);
  for (const Shape& s : {Shape{1, 3, 9, 9}, Shape{2, 3, 14, 5}, Shape{1, 3, 9, 9}, Shape{3, 3, 1, 2}}) {
    const Feeds f{{"X", Value(pattern_tensor(s, 4))}};
    testing::expect_close(ref.run(f).at(0).tensor(), fast.run(f).at(0).tensor());
  }
}

TEST(FastConvTranspose, ChannelMismatchIsAnError) {
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 4, 5, 5}, 1), false, true},
                            {"W", pattern_tensor({3, 2, 3, 3}, 2), true}};
  const std::string bytes = testing::model_with_initializers("ConvTranspose", in, nullptr, 11);
  Session fast = testing::make_session(bytes, false, 1);
  EXPECT_THROW(fast.run(testing::feeds_of(in)), Error);
}

}  // namespace
}  // namespace kestrel
