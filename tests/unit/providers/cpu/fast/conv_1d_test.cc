// The fast 1-D Conv (src/providers/cpu/kernels/fast/conv_1d.cc) against the reference Conv. Depthwise:
// silero_vad's shape, odd channel counts and lengths, strides, dilations, asymmetric pads, auto_pad, no bias,
// batch above 1, a window wider than the input with padding, an empty batch, a dynamic input, and enough
// channels and samples to share the work between threads. Small dense (group 1): output channels below, at
// and across the 64-channel block (1, 16, 17, 70, 258), output lengths around the 4-sample tile, strides,
// dilations and pads, and runs too large for it that go to oneDNN.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

struct DepthwiseCase {
  int64_t N = 1, C = 7, L = 11, K = 3;
  int64_t M = 0;  // output channels of a dense (group 1) conv; 0: depthwise
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  bool bias = true;
  bool dynamic = false;
};

void expect_depthwise_matches_reference(const DepthwiseCase& c) {
  const bool dense = c.M > 0;
  std::vector<NodeInput> in{{"X", pattern_tensor({c.N, c.C, c.L}, 1), false, c.dynamic},
                            {"W", pattern_tensor({dense ? c.M : c.C, dense ? c.C : 1, c.K}, 2), true}};
  if (c.bias) in.push_back({"B", pattern_tensor({dense ? c.M : c.C}, 3), true});
  testing::compare_fast_with_reference(
      "Conv", in,
      [&](onnx::NodeProto& n) {
        if (!dense) add_attr(n, "group", c.C);
        if (!c.strides.empty()) add_attr(n, "strides", c.strides);
        if (!c.dilations.empty()) add_attr(n, "dilations", c.dilations);
        if (!c.pads.empty()) add_attr(n, "pads", c.pads);
        if (!c.auto_pad.empty()) add_attr(n, "auto_pad", c.auto_pad);
      },
      11);
}

DepthwiseCase shape(int64_t N, int64_t C, int64_t L, int64_t K, std::vector<int64_t> pads = {}) {
  DepthwiseCase c;
  c.N = N, c.C = C, c.L = L, c.K = K, c.pads = std::move(pads);
  return c;
}

TEST(FastDepthwiseConv1d, SileroShape) { expect_depthwise_matches_reference(shape(1, 258, 8, 5, {2, 2})); }

TEST(FastDepthwiseConv1d, StridesDilationsAsymmetricPads) {
  for (int64_t stride : {1, 2, 3})
    for (int64_t dilation : {1, 2})
      for (std::vector<int64_t> pads : {std::vector<int64_t>{0, 0}, {2, 1}, {0, 3}}) {
        SCOPED_TRACE("stride " + std::to_string(stride) + " dilation " + std::to_string(dilation) + " pads " +
                     std::to_string(pads[0]) + "," + std::to_string(pads[1]));
        DepthwiseCase c = shape(2, 5, 13, 3, pads);
        c.strides = {stride}, c.dilations = {dilation};
        expect_depthwise_matches_reference(c);
      }
}

TEST(FastDepthwiseConv1d, AutoPadAndNoBias) {
  for (const char* auto_pad : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    SCOPED_TRACE(auto_pad);
    DepthwiseCase c = shape(1, 3, 10, 4);
    c.strides = {2}, c.auto_pad = auto_pad, c.bias = false;
    expect_depthwise_matches_reference(c);
  }
}

TEST(FastDepthwiseConv1d, WindowWiderThanInput) {
  expect_depthwise_matches_reference(shape(1, 4, 2, 5, {2, 2}));
  expect_depthwise_matches_reference(shape(1, 1, 1, 1));
}

TEST(FastDepthwiseConv1d, EmptyBatchAndDynamicInput) {
  expect_depthwise_matches_reference(shape(0, 6, 9, 3, {1, 1}));
  DepthwiseCase c = shape(3, 6, 9, 3, {1, 1});
  c.dynamic = true;
  expect_depthwise_matches_reference(c);
}

TEST(FastDepthwiseConv1d, SharedBetweenThreads) {
  expect_depthwise_matches_reference(shape(2, 67, 501, 5, {2, 2}));
}

DepthwiseCase dense(int64_t N, int64_t C, int64_t M, int64_t L, int64_t K, std::vector<int64_t> pads = {}) {
  DepthwiseCase c = shape(N, C, L, K, std::move(pads));
  c.M = M;
  return c;
}

TEST(FastSmallConv1d, SileroShapes) {
  expect_depthwise_matches_reference(dense(1, 258, 16, 8, 1));
  expect_depthwise_matches_reference(dense(1, 64, 1, 1, 1));
  DepthwiseCase stft = dense(1, 1, 258, 704, 256);
  stft.strides = {64}, stft.bias = false;
  expect_depthwise_matches_reference(stft);
}

TEST(FastSmallConv1d, ChannelsLengthsStridesDilationsPads) {
  for (int64_t M : {1, 16, 17, 70})
    for (int64_t L : {1, 4, 6, 11})
      for (int64_t stride : {1, 2})
        for (int64_t dilation : {1, 2}) {
          if (L + 3 < 2 * dilation + 1) continue;  // the window would not fit the padded input
          SCOPED_TRACE("M " + std::to_string(M) + " L " + std::to_string(L) + " stride " +
                       std::to_string(stride) + " dilation " + std::to_string(dilation));
          DepthwiseCase c = dense(2, 3, M, L, 3, {2, 1});
          c.strides = {stride}, c.dilations = {dilation};
          c.bias = M != 17;
          expect_depthwise_matches_reference(c);
        }
}

TEST(FastSmallConv1d, LargeRunsGoToOneDnn) {
  expect_depthwise_matches_reference(dense(1, 64, 64, 300, 1));  // 1.2 M multiply-adds
  DepthwiseCase c = dense(2, 64, 64, 300, 1);
  c.dynamic = true;
  expect_depthwise_matches_reference(c);
}

}  // namespace
}  // namespace kestrel
