// The fast nearest upsampling Resize (src/providers/cpu/kernels/fast/resize.cc) against the reference: whole
// factors on NCHW and NHWC layouts, odd sizes, factor 1 axes, factors on the last axis, int64 data, and
// cases it leaves to the reference (fractional scales, other nearest modes) still agree.
#include <gtest/gtest.h>

#include <cstring>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

Tensor upsample(const Shape& x, const std::vector<float>& scales, const std::string& nearest_mode = "floor",
                int opset = 11) {
  return compare_fast_with_reference(
      "Resize",
      {{"X", pattern_tensor(x, 1)},
       {"roi", Tensor(ElementType::kFloat, {0}), true},
       {"scales", Tensor::from_vector<float>(scales), true}},
      [&](onnx::NodeProto& n) {
        add_attr(n, "mode", std::string("nearest"));
        add_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
        add_attr(n, "nearest_mode", nearest_mode);
      },
      opset, 0.0f);
}

TEST(FastResize, FpnUpsampleNchw) {
  const Tensor y = upsample({1, 5, 7, 9}, {1, 1, 2, 2});
  EXPECT_EQ(y.shape(), (Shape{1, 5, 14, 18}));
}
TEST(FastResize, ChannelsLast) { upsample({2, 3, 5, 13}, {1, 2, 2, 1}, "floor", 13); }
TEST(FastResize, MixedFactorsAndLastAxis) { upsample({1, 2, 3, 5}, {1, 3, 1, 4}); }
TEST(FastResize, AllOnes) { upsample({2, 3, 4}, {1, 1, 1}); }
TEST(FastResize, LeftToTheReference) {
  upsample({1, 2, 5, 5}, {1, 1, 1.5f, 2.5f});
  upsample({1, 2, 5, 5}, {1, 1, 2, 2}, "round_prefer_ceil");
}
// uint8 channels-last pixels of every copy size class up to 64 bytes and past it (int8 models' upsamplings
// copy one pixel at a time), factors 2, 3 and 4; the bytes must be identical.
TEST(FastResize, ChannelsLastBytes) {
  for (int64_t c : {1, 3, 5, 8, 13, 24, 33, 64, 65}) {
    for (const std::vector<float>& scales :
         {std::vector<float>{1, 2, 2, 1}, std::vector<float>{1, 4, 3, 1}}) {
      SCOPED_TRACE("channels " + std::to_string(c) + ", width factor " + std::to_string(scales[2]));
      const Tensor x = testing::random_bytes(ElementType::kUInt8, {1, 5, 7, c}, static_cast<unsigned>(c));
      const std::string bytes = testing::model_with_initializers(
          "Resize",
          {{"X", x},
           {"roi", Tensor(ElementType::kFloat, {0}), true},
           {"scales", Tensor::from_vector<float>(scales), true}},
          [](onnx::NodeProto& n) {
            add_attr(n, "mode", std::string("nearest"));
            add_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
            add_attr(n, "nearest_mode", std::string("floor"));
          },
          13);
      const Tensor want = testing::make_session(bytes, true, 1).run({{"X", Value(x)}}).at(0).tensor();
      const Tensor got = testing::make_session(bytes, false, 1).run({{"X", Value(x)}}).at(0).tensor();
      ASSERT_EQ(got.shape(), want.shape());
      EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), want.bytes()), 0);
    }
  }
}
TEST(FastResize, Int64) {
  Tensor x = Tensor::from_vector<int64_t>({1, 2, 3, 4}, {1, 1, 2, 2});
  const std::string bytes = testing::model_with_initializers(
      "Resize",
      {{"X", x}, {"roi", Tensor(ElementType::kFloat, {0}), true},
       {"scales", Tensor::from_vector<float>({1, 1, 2, 2}), true}},
      [](onnx::NodeProto& n) {
        add_attr(n, "mode", std::string("nearest"));
        add_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
        add_attr(n, "nearest_mode", std::string("floor"));
      },
      11);
  const Tensor y = testing::make_session(bytes, false, 1).run({{"X", Value(x)}}).at(0).tensor();
  EXPECT_EQ(std::vector<int64_t>(y.data<int64_t>(), y.data<int64_t>() + y.size()),
            (std::vector<int64_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

}  // namespace
}  // namespace kestrel
