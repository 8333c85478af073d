// ai.kestrel NhwcMaxPool against ONNX MaxPool on transposed tensors: odd channel counts, pads, strides,
// dilations, ceil_mode, SAME auto_pad, windows that only cover padding, NaN, empty batch, uint8 and int8.
#include <gtest/gtest.h>

#include <cmath>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::make_session;
using testing::model_with_initializers;
using testing::pattern_tensor;

Tensor to_nhwc(const Tensor& x) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor out(ElementType::kFloat, {N, H, W, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          out.data<float>()[((n * H + h) * W + w) * C + c] = x.data<float>()[((n * C + c) * H + h) * W + w];
  return out;
}

void expect_nhwc_matches_max_pool(const Tensor& x, const std::function<void(onnx::NodeProto&)>& attrs) {
  const std::string nchw_model = model_with_initializers("MaxPool", {{"X", x}}, attrs, 12);
  const Tensor x_nhwc = to_nhwc(x);
  const std::string nhwc_model = model_with_initializers("NhwcMaxPool", {{"X", x_nhwc}}, attrs, 12, "ai.kestrel");
  const Tensor ref = make_session(nchw_model, true, 1).run({{"X", Value(x)}}).at(0).tensor();
  for (int threads : {1, 2}) {
    const Tensor got = make_session(nhwc_model, false, threads).run({{"X", Value(x_nhwc)}}).at(0).tensor();
    const Tensor want = to_nhwc(ref);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < got.size(); ++i) {
      const float a = want.data<float>()[i], b = got.data<float>()[i];
      if (std::isnan(a)) EXPECT_TRUE(std::isnan(b)) << "at " << i;
      else ASSERT_EQ(a, b) << "at " << i;
    }
  }
}

// uint8 and int8 (quantized models pool their int8 values): against ONNX MaxPool-12 on the same bytes.
TEST(NhwcMaxPool, Bytes) {
  for (ElementType type : {ElementType::kUInt8, ElementType::kInt8}) {
    const int64_t N = 2, C = 67, H = 9, W = 8;
    Tensor x(type, {N, C, H, W}), x_nhwc(type, {N, H, W, C});
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) {
            const auto v = static_cast<uint8_t>((((n * C + c) * H + h) * W + w) * 73 % 251);
            static_cast<uint8_t*>(x.raw_data())[((n * C + c) * H + h) * W + w] = v;
            static_cast<uint8_t*>(x_nhwc.raw_data())[((n * H + h) * W + w) * C + c] = v;
          }
    const auto attrs = [](onnx::NodeProto& n) {
      add_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
      add_attr(n, "strides", std::vector<int64_t>{2, 2});
      add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 0});
    };
    const Tensor ref = make_session(model_with_initializers("MaxPool", {{"X", x}}, attrs, 12), true, 1)
                           .run({{"X", Value(x)}})
                           .at(0)
                           .tensor();
    const std::string nhwc_model = model_with_initializers("NhwcMaxPool", {{"X", x_nhwc}}, attrs, 12, "ai.kestrel");
    for (int threads : {1, 2}) {
      const Tensor got = make_session(nhwc_model, false, threads).run({{"X", Value(x_nhwc)}}).at(0).tensor();
      const int64_t OH = ref.dim(2), OW = ref.dim(3);
      ASSERT_EQ(got.shape(), (Shape{N, OH, OW, C}));
      ASSERT_EQ(got.type(), type);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t h = 0; h < OH; ++h)
            for (int64_t w = 0; w < OW; ++w)
              ASSERT_EQ(static_cast<const uint8_t*>(got.raw_data())[((n * OH + h) * OW + w) * C + c],
                        static_cast<const uint8_t*>(ref.raw_data())[((n * C + c) * OH + h) * OW + w]);
    }
  }
}
TEST(NhwcMaxPool, SqueezeNetStyleCeilMode) {
  expect_nhwc_matches_max_pool(pattern_tensor({1, 19, 13, 11}, 1), [](onnx::NodeProto& n) {
    add_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
    add_attr(n, "ceil_mode", int64_t{1});
  });
}
TEST(NhwcMaxPool, PadsStridesDilations) {
  expect_nhwc_matches_max_pool(pattern_tensor({2, 5, 9, 10}, 2), [](onnx::NodeProto& n) {
    add_attr(n, "kernel_shape", std::vector<int64_t>{3, 2});
    add_attr(n, "strides", std::vector<int64_t>{2, 1});
    add_attr(n, "pads", std::vector<int64_t>{1, 0, 2, 1});
    add_attr(n, "dilations", std::vector<int64_t>{2, 3});
  });
}
TEST(NhwcMaxPool, SameUpper) {
  expect_nhwc_matches_max_pool(pattern_tensor({1, 33, 7, 6}, 3), [](onnx::NodeProto& n) {
    add_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
    add_attr(n, "auto_pad", std::string("SAME_UPPER"));
  });
}
TEST(NhwcMaxPool, WindowsOfPaddingOnlyAndNaN) {
  Tensor x = pattern_tensor({1, 3, 2, 2}, 4);
  x.data<float>()[5] = NAN;
  expect_nhwc_matches_max_pool(x, [](onnx::NodeProto& n) {
    add_attr(n, "kernel_shape", std::vector<int64_t>{1, 1});
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
  });
}
TEST(NhwcMaxPool, EmptyBatch) {
  expect_nhwc_matches_max_pool(Tensor(ElementType::kFloat, {0, 4, 5, 5}), [](onnx::NodeProto& n) {
    add_attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
  });
}
TEST(NhwcMaxPool, RejectsNon4D) {
  const std::string model = model_with_initializers(
      "NhwcMaxPool", {{"X", pattern_tensor({1, 4, 5}, 1)}},
      [](onnx::NodeProto& n) { add_attr(n, "kernel_shape", std::vector<int64_t>{2, 2}); }, 12, "ai.kestrel");
  EXPECT_THROW(make_session(model, false, 1).run({{"X", Value(pattern_tensor({1, 4, 5}, 1))}}), Error);
}

}  // namespace
}  // namespace kestrel
