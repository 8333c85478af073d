// ai.kestrel QLinearConvTranspose: the reference gives each output block the requantized sum of its pixel's
// channels (checked against a double-precision computation here, within the one step a rounding tie may move
// it), channels-first and channels-last; the fast kernel (channels-last) gives the reference's bytes on odd
// shapes, u8/s8 in and out, per-tensor and per-channel weight scales, with and without bias, 1 and 2 threads,
// and twice (cached plans); bad operands are errors.
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
  int64_t N, C, H, W, M, kh, kw;
  bool channels_last = true;
  ElementType xt = kS8, yt = kS8;
  bool per_channel = true, bias = true;
};

Tensor weight_scales(const Case& c) {
  if (!c.per_channel) return one(0.02f);
  Tensor s(ElementType::kFloat, {c.M});
  for (int64_t m = 0; m < c.M; ++m) s.data<float>()[m] = 0.01f + 0.003f * static_cast<float>(m % 7);
  return s;
}

std::vector<testing::NodeInput> inputs(const Case& c) {
  const Shape x = c.channels_last ? Shape{c.N, c.H, c.W, c.C} : Shape{c.N, c.C, c.H, c.W};
  Tensor w = random_bytes(kS8, {c.C, c.M, c.kh, c.kw}, 9);
  for (int64_t i = 0; i < w.size(); ++i)  // symmetric s8 weights, as quantizers write them
    if (w.data<int8_t>()[i] == -128) w.data<int8_t>()[i] = -127;
  Tensor wz(kS8, c.per_channel ? Shape{c.M} : Shape{});  // zeros
  std::vector<testing::NodeInput> in = {{"X", random_bytes(c.xt, x, 5)},
                                        {"x_scale", one(0.05f), true},
                                        {"x_zp", one(c.xt, c.xt == kU8 ? 121 : -9), true},
                                        {"W", w, true},
                                        {"w_scale", weight_scales(c), true},
                                        {"w_zp", wz, true},
                                        {"y_scale", one(0.9f), true},
                                        {"y_zp", one(c.yt, c.yt == kU8 ? 110 : 4), true}};
  if (c.bias) {
    Tensor b(ElementType::kInt32, {c.M});
    for (int64_t m = 0; m < c.M; ++m) b.data<int32_t>()[m] = static_cast<int32_t>(m * 37 % 400) - 200;
    in.push_back({"B", b, true});
  }
  return in;
}

Tensor run_op(const Case& c, bool reference, int threads, std::vector<testing::NodeInput> in = {}) {
  if (in.empty()) in = inputs(c);
  const std::string model = model_with_initializers(
      "QLinearConvTranspose", in,
      [&](onnx::NodeProto& n) {
        if (c.channels_last) testing::add_attr(n, "channels_last", int64_t{1});
      },
      13, "ai.kestrel");
  Session session = make_session(model, reference, threads);
  session.run({{"X", Value(in[0].value)}});
  return session.run({{"X", Value(in[0].value)}}).at(0).tensor();  // the second run: cached plans
}

int value_at(const Tensor& t, int64_t i) {
  return t.type() == kU8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {1, 24, 5, 7, 24, 2, 2},                               // ppocr_det's first upsampling, small
      {1, 24, 9, 11, 1, 2, 2, true, kS8, kU8},               // one output channel
      {2, 5, 3, 4, 3, 3, 1, true, kU8, kU8, false, false},   // odd kernel, no bias, per-tensor scale
      {1, 3, 1, 1, 7, 1, 3, true, kU8, kS8},                 // one pixel
      {1, 17, 33, 19, 5, 2, 2, true, kS8, kS8, true, true},  // odd channel counts and sizes
      {1, 8, 6, 5, 4, 2, 2, false, kS8, kS8},                // channels-first: reference only
      {1, 40, 64, 70, 20, 2, 2, true, kU8, kS8},             // more rows than one chunk
      // Few outputs per pixel (kh kw M <= 16), taken a vector of pixels at a time: every lane count, the
      // most channels each allows, pixels left after the last whole group, batches, split over threads.
      {2, 8, 7, 37, 1, 1, 1, true, kS8, kU8},
      {1, 16, 6, 21, 2, 1, 1, true, kU8, kU8, false, false},
      {1, 4, 5, 3, 2, 2, 1},
      {1, 64, 5, 9, 2, 2, 2, true, kU8, kS8},
      {2, 128, 3, 5, 4, 2, 2, true, kS8, kU8, false, true},
      {1, 24, 130, 97, 1, 2, 2, true, kU8, kU8}};
  return kCases;
}

std::string describe(const Case& c) {
  return "X " + std::to_string(c.C) + "x" + std::to_string(c.H) + "x" + std::to_string(c.W) + " M " +
         std::to_string(c.M) + " kernel " + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
         (c.channels_last ? " channels-last" : "");
}

TEST(QLinearConvTranspose, ReferenceIsTheRequantizedBlockSum) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(describe(c));
    const auto in = inputs(c);
    const Tensor y = run_op(c, true, 1, in);
    const int64_t Ho = c.H * c.kh, Wo = c.W * c.kw;
    ASSERT_EQ(y.shape(), c.channels_last ? Shape({c.N, Ho, Wo, c.M}) : Shape({c.N, c.M, Ho, Wo}));
    ASSERT_EQ(y.type(), c.yt);
    const Tensor &X = in[0].value, &Wt = in[3].value, &ws = in[4].value;
    const int zx = value_at(in[2].value, 0), zy = value_at(in[7].value, 0);
    const double lo = c.yt == kU8 ? 0 : -128, hi = c.yt == kU8 ? 255 : 127;
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t m = 0; m < c.M; ++m)
        for (int64_t oh = 0; oh < Ho; ++oh)
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const int64_t h = oh / c.kh, i = oh % c.kh, w = ow / c.kw, j = ow % c.kw;
            const double s = 0.05 * ws.data<float>()[c.per_channel ? m : 0];
            double v = c.bias ? in[8].value.data<int32_t>()[m] * s : 0.0;
            for (int64_t ch = 0; ch < c.C; ++ch) {
              const int64_t xi = c.channels_last ? ((n * c.H + h) * c.W + w) * c.C + ch
                                                 : ((n * c.C + ch) * c.H + h) * c.W + w;
              v += (value_at(X, xi) - zx) * s * Wt.data<int8_t>()[((ch * c.M + m) * c.kh + i) * c.kw + j];
            }
            const double want = std::clamp(std::nearbyint(v / 0.9) + zy, lo, hi);
            const int64_t yi =
                c.channels_last ? ((n * Ho + oh) * Wo + ow) * c.M + m : ((n * c.M + m) * Ho + oh) * Wo + ow;
            ASSERT_NEAR(value_at(y, yi), want, 1.0) << "at " << n << "," << m << "," << oh << "," << ow;
          }
  }
}

TEST(QLinearConvTranspose, FastMatchesReference) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(describe(c));
    const Tensor want = run_op(c, true, 1);
    for (int threads : {1, 2}) {
      const Tensor got = run_op(c, false, threads);
      ASSERT_EQ(got.shape(), want.shape());
      ASSERT_EQ(got.type(), want.type());
      for (int64_t i = 0; i < got.size(); ++i) ASSERT_EQ(value_at(got, i), value_at(want, i)) << "at " << i;
    }
  }
}

TEST(QLinearConvTranspose, RejectsBadOperands) {
  const Case c{1, 4, 3, 3, 2, 2, 2};
  for (bool reference : {true, false}) {
    auto wrong_channels = inputs(c);
    wrong_channels[0].value = random_bytes(kS8, {1, 3, 3, 5}, 1);  // 5 channels, W has 4
    EXPECT_THROW(run_op(c, reference, 1, wrong_channels), Error);
    auto bad_bias = inputs(c);
    bad_bias[8].value = Tensor(ElementType::kInt32, {3});
    EXPECT_THROW(run_op(c, reference, 1, bad_bias), Error);
    auto float_x = inputs(c);
    float_x[0].value = Tensor(ElementType::kFloat, {1, 3, 3, 4});
    EXPECT_THROW(run_op(c, reference, 1, float_x), Error);
  }
}

}  // namespace
}  // namespace kestrel
