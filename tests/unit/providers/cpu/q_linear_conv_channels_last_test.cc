// ai.kestrel QLinearConv with channels_last = 1 (reference kernel) against ONNX QLinearConv on transposed
// tensors: u8 and s8 data, pads, strides, groups, per-channel scales, bias; the values must be identical.
#include <gtest/gtest.h>

#include <cstring>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::make_session;
using testing::model_with_initializers;
using testing::NodeInput;
using testing::random_bytes;

// NCHW -> NHWC of a 1-byte tensor, written out here rather than taken from the code under test.
Tensor bytes_to_nhwc(const Tensor& x) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor out(x.type(), {N, H, W, C});
  const auto* src = static_cast<const uint8_t*>(x.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          dst[((n * H + h) * W + w) * C + c] = src[((n * C + c) * H + h) * W + w];
  return out;
}

Tensor scalar(ElementType type, int v) {
  Tensor t(type, {});
  if (type == ElementType::kUInt8)
    *t.data<uint8_t>() = static_cast<uint8_t>(v);
  else
    *t.data<int8_t>() = static_cast<int8_t>(v);
  return t;
}

void expect_matches_onnx(ElementType xt, const Shape& x_shape, const Shape& w_shape, int64_t group,
                         std::vector<int64_t> pads, std::vector<int64_t> strides) {
  const int64_t M = w_shape[0];
  const Tensor x = random_bytes(xt, x_shape, 1);
  Tensor w_scale(ElementType::kFloat, {M});
  Tensor bias(ElementType::kInt32, {M});
  for (int64_t m = 0; m < M; ++m) {
    w_scale.data<float>()[m] = 0.002f + 0.0005f * static_cast<float>(m);
    bias.data<int32_t>()[m] = static_cast<int32_t>(m * 613 % 2001) - 1000;
  }
  auto inputs = [&](const Tensor& xv) {
    return std::vector<NodeInput>{{"X", xv},
                                  {"x_scale", Tensor::from_vector<float>({0.04f}, Shape{}), true},
                                  {"x_zp", scalar(xt, 7), true},
                                  {"W", random_bytes(ElementType::kInt8, w_shape, 2), true},
                                  {"w_scale", w_scale, true},
                                  {"w_zp", scalar(ElementType::kInt8, 0), true},
                                  {"y_scale", Tensor::from_vector<float>({0.3f}, Shape{}), true},
                                  {"y_zp", scalar(xt, -3), true},
                                  {"B", bias, true}};
  };
  auto attrs = [&](bool channels_last) {
    return [=](onnx::NodeProto& n) {
      add_attr(n, "group", group);
      add_attr(n, "pads", pads);
      add_attr(n, "strides", strides);
      if (channels_last) add_attr(n, "channels_last", int64_t{1});
    };
  };
  const std::string onnx_model = model_with_initializers("QLinearConv", inputs(x), attrs(false), 10);
  const Tensor x_nhwc = bytes_to_nhwc(x);
  const std::string nhwc_model =
      model_with_initializers("QLinearConv", inputs(x_nhwc), attrs(true), 10, "ai.kestrel");
  const Tensor want = bytes_to_nhwc(make_session(onnx_model, true, 1).run({{"X", Value(x)}}).at(0).tensor());
  const Tensor got = make_session(nhwc_model, true, 1).run({{"X", Value(x_nhwc)}}).at(0).tensor();
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.type(), want.type());
  EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), got.bytes()), 0);
}

TEST(QLinearConvChannelsLast, UnsignedPaddedStrided) {
  expect_matches_onnx(ElementType::kUInt8, {2, 5, 9, 7}, {6, 5, 3, 3}, 1, {1, 0, 2, 1}, {2, 1});
}
TEST(QLinearConvChannelsLast, SignedDepthwise) {
  expect_matches_onnx(ElementType::kInt8, {1, 6, 8, 5}, {6, 1, 3, 3}, 6, {1, 1, 1, 1}, {1, 1});
}
TEST(QLinearConvChannelsLast, Grouped) {
  expect_matches_onnx(ElementType::kInt8, {1, 4, 5, 5}, {6, 2, 1, 1}, 2, {0, 0, 0, 0}, {1, 1});
}
TEST(QLinearConvChannelsLast, RejectsNon4D) {
  const std::string model = model_with_initializers(
      "QLinearConv",
      {{"X", random_bytes(ElementType::kUInt8, {1, 4, 5}, 1)},
       {"x_scale", Tensor::from_vector<float>({0.04f}, Shape{}), true},
       {"x_zp", scalar(ElementType::kUInt8, 7), true},
       {"W", random_bytes(ElementType::kInt8, {2, 4, 1}, 2), true},
       {"w_scale", Tensor::from_vector<float>({0.01f}, Shape{}), true},
       {"w_zp", scalar(ElementType::kInt8, 0), true},
       {"y_scale", Tensor::from_vector<float>({0.3f}, Shape{}), true},
       {"y_zp", scalar(ElementType::kUInt8, 3), true}},
      [](onnx::NodeProto& n) { add_attr(n, "channels_last", int64_t{1}); }, 10, "ai.kestrel");
  EXPECT_THROW(
      make_session(model, true, 1).run({{"X", Value(random_bytes(ElementType::kUInt8, {1, 4, 5}, 1))}}),
      Error);
}

}  // namespace
}  // namespace kestrel
