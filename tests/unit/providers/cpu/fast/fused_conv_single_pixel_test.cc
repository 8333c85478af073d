// The single-pixel FusedConv (src/providers/cpu/kernels/fast/fused_conv_single_pixel.cc) against the
// reference kernel: channel counts around the vector widths (1, 15, 16, 17, 33, 1152), output counts around
// its 64-output chunks (fewer outputs than channels take the dot-product form, the others the transposed
// one), both layouts, batches, no bias, activations (Sigmoid and SiLU in registers, the others after) with
// scale and shift, a product large enough to split over threads, and nodes it leaves to oneDNN (pads, groups,
// a residual), which must agree as well.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

void pixel_conv(int64_t N, int64_t C, int64_t M, bool channels_last, const std::string& activation,
                bool bias = true, const std::function<void(onnx::NodeProto&)>& more = nullptr,
                int64_t group = 1) {
  SCOPED_TRACE("N " + std::to_string(N) + " C " + std::to_string(C) + " M " + std::to_string(M) + " " +
               activation + (channels_last ? " NHWC" : " NCHW"));
  std::vector<NodeInput> in{{"X", pattern_tensor(channels_last ? Shape{N, 1, 1, C} : Shape{N, C, 1, 1}, 1)},
                            {"W", pattern_tensor({M, C / group, 1, 1}, 2), true}};
  if (bias) in.push_back({"B", pattern_tensor({M}, 3), true});
  testing::compare_fast_with_reference(
      "FusedConv", in,
      [&](onnx::NodeProto& n) {
        if (channels_last) add_attr(n, "channels_last", int64_t{1});
        if (!activation.empty()) add_attr(n, "activation", activation);
        if (group != 1) add_attr(n, "group", group);
        if (more) more(n);
      },
      13, 1e-4f, "ai.kestrel");
}

TEST(FastSinglePixelConv, ChannelAndOutputCounts) {
  for (int64_t C : {1, 15, 16, 17, 33, 1152})
    for (int64_t M : {1, 7, 64, 65, 130}) pixel_conv(1, C, M, true, "Silu");
}

TEST(FastSinglePixelConv, LayoutsBatchesBiasAndActivations) {
  pixel_conv(3, 40, 24, false, "Sigmoid");
  pixel_conv(2, 48, 1152, true, "");
  pixel_conv(1, 20, 480, true, "Relu", false);
  pixel_conv(1, 96, 4, true, "HardSigmoid", true, [](onnx::NodeProto& n) {
    add_attr(n, "activation_params", std::vector<float>{0.2f, 0.5f});
    add_attr(n, "activation_scale", 2.0f);
    add_attr(n, "activation_shift", -0.5f);
  });
  // Sigmoid and SiLU run in registers, with the scale and shift after them.
  pixel_conv(1, 33, 100, true, "Sigmoid", true, [](onnx::NodeProto& n) {
    add_attr(n, "activation_scale", 0.5f);
    add_attr(n, "activation_shift", 0.25f);
  });
  pixel_conv(3, 7, 20, false, "Silu", false,
             [](onnx::NodeProto& n) { add_attr(n, "activation_scale", -2.0f); });
  pixel_conv(1, 8, 32, true, "Silu", true, [](onnx::NodeProto& n) {  // strides change nothing on one pixel
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
  });
}

TEST(FastSinglePixelConv, SplitOverThreads) { pixel_conv(2, 1024, 600, true, "Silu"); }

TEST(FastSinglePixelConv, LeftToOneDnn) {
  pixel_conv(1, 12, 6, true, "Relu", true, [](onnx::NodeProto& n) {  // padding makes a 3x3 output
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
  });
  pixel_conv(1, 12, 6, true, "Relu", true, nullptr, 3);  // groups
  testing::compare_fast_with_reference(
      "FusedConv",
      {{"X", pattern_tensor({1, 1, 1, 9}, 1)},
       {"W", pattern_tensor({5, 9, 1, 1}, 2), true},
       {"B", pattern_tensor({5}, 3), true},
       {"Z", pattern_tensor({1, 1, 1, 5}, 4)}},
      [](onnx::NodeProto& n) { add_attr(n, "channels_last", int64_t{1}); }, 13, 1e-4f, "ai.kestrel");
}

}  // namespace
}  // namespace kestrel
