// ai.kestrel QLinearGlobalAveragePool: the reference gives the requantized mean of each channel (checked
// against a double-precision mean computed here, within the one step a rounding tie may move it),
// channels-first and channels-last; the fast kernel gives the reference's bytes on odd shapes, u8/s8 in and
// out, batches, long rows and many channels; bad operands are errors.
#include <gtest/gtest.h>

#include <cmath>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::make_session;
using testing::model_with_initializers;
using testing::one;
using testing::random_bytes;

constexpr ElementType kU8 = ElementType::kUInt8, kS8 = ElementType::kInt8;

struct Case {
  Shape x;
  bool channels_last = false;
  ElementType xt = kU8, yt = kS8;
  float x_scale = 0.031f, y_scale = 0.011f;
};

std::vector<testing::NodeInput> inputs(const Case& c) {
  return {{"X", random_bytes(c.xt, c.x, 5)},
          {"x_scale", one(c.x_scale), true},
          {"x_zp", one(c.xt, c.xt == kU8 ? 131 : -7), true},
          {"y_scale", one(c.y_scale), true},
          {"y_zp", one(c.yt, c.yt == kU8 ? 120 : 3), true}};
}

Tensor run_op(const Case& c, bool reference, int threads = 1) {
  const auto in = inputs(c);
  const std::string model = model_with_initializers(
      "QLinearGlobalAveragePool", in,
      [&](onnx::NodeProto& n) {
        if (c.channels_last) testing::add_attr(n, "channels_last", int64_t{1});
      },
      13, "ai.kestrel");
  return make_session(model, reference, threads).run({{"X", Value(in[0].value)}}).at(0).tensor();
}

int value_at(const Tensor& t, int64_t i) {
  return t.type() == kU8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {{1, 3, 5, 7}},
      {{2, 19, 9, 11}, true, kS8, kU8},
      {{2, 19, 9, 11}, false, kS8, kS8},
      {{1, 70, 3, 5}, true, kU8, kU8},                  // a tail of channels past 64
      {{1, 300, 7, 7}, true, kS8, kS8, 0.05f, 0.002f},  // more channels than one block; saturating
      {{1, 2, 112, 113}, false, kU8, kS8},              // long planes with a tail
      {{3, 77, 5}, false, kS8, kU8},                    // 1-D spatial
      {{1, 5, 4, 3, 2}, true, kU8, kU8},                // 3-D spatial, channels-last
      {{2, 37, 61, 67}, true, kS8, kU8},                // split over threads by positions; 16-bit runs' tail
      {{1, 41, 59, 131}, true, kU8, kS8, 0.2f, 0.01f},  // split; 64-channel groups and a tail; saturating
      {{1, 23, 29, 300}, true, kU8, kU8}};               // split, two blocks of channels
  return kCases;
}

TEST(QLinearGlobalAveragePool, ReferenceIsTheRequantizedMean) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_to_string(c.x) + (c.channels_last ? " channels-last" : ""));
    const auto in = inputs(c);
    const Tensor& X = in[0].value;
    const Tensor y = run_op(c, true);
    const size_t r = c.x.size(), c_axis = c.channels_last ? r - 1 : 1;
    const int64_t N = c.x[0], C = c.x[c_axis], S = X.size() / (N * C);
    Shape want_shape(r, 1);
    want_shape[0] = N;
    want_shape[c_axis] = C;
    ASSERT_EQ(y.shape(), want_shape);
    ASSERT_EQ(y.type(), c.yt);
    const int zx = value_at(in[2].value, 0), zy = value_at(in[4].value, 0);
    const double lo = c.yt == kU8 ? 0 : -128, hi = c.yt == kU8 ? 255 : 127;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch) {
        double sum = 0;
        for (int64_t s = 0; s < S; ++s)
          sum += value_at(X, c.channels_last ? (n * S + s) * C + ch : (n * C + ch) * S + s) - zx;
        const double want = std::clamp(std::nearbyint(sum * c.x_scale / S / c.y_scale) + zy, lo, hi);
        ASSERT_NEAR(value_at(y, n * C + ch), want, 1.0) << "image " << n << " channel " << ch;
      }
  }
}

TEST(QLinearGlobalAveragePool, FastMatchesReference) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_to_string(c.x) + (c.channels_last ? " channels-last" : ""));
    const Tensor want = run_op(c, true);
    for (int threads : {1, 2}) {
      const Tensor got = run_op(c, false, threads);
      ASSERT_EQ(got.shape(), want.shape());
      ASSERT_EQ(got.type(), want.type());
      for (int64_t i = 0; i < got.size(); ++i) ASSERT_EQ(value_at(got, i), value_at(want, i)) << "at " << i;
    }
  }
}

TEST(QLinearGlobalAveragePool, RejectsBadOperands) {
  for (bool reference : {true, false}) {
    auto per_axis = inputs({{1, 2, 3, 3}});
    per_axis[1].value = Tensor::from_vector<float>({0.1f, 0.2f});
    const std::string model =
        model_with_initializers("QLinearGlobalAveragePool", per_axis, nullptr, 13, "ai.kestrel");
    EXPECT_THROW(make_session(model, reference, 1).run({{"X", Value(per_axis[0].value)}}), Error);
    EXPECT_THROW(run_op({{4, 5}}, reference), Error);  // no spatial dims
    auto float_x = inputs({{1, 2, 3, 3}});
    float_x[0].value = Tensor(ElementType::kFloat, {1, 2, 3, 3});
    const std::string float_model =
        model_with_initializers("QLinearGlobalAveragePool", float_x, nullptr, 13, "ai.kestrel");
    EXPECT_THROW(make_session(float_model, reference, 1).run({{"X", Value(float_x[0].value)}}), Error);
  }
}

}  // namespace
}  // namespace kestrel
