// Scale/zero-point choice, weight and bias quantization, and the calibration range estimators, against values
// worked out by hand.
#include "quantization/quant_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quantization/calibration.h"

namespace kestrel::quantization {
namespace {

TEST(QuantParams, AsymmetricUint8CoversTheRangeWithExactZero) {
  // [-1, 3] over 255 steps: scale 4/255, zero at round(0 - (-1)/scale) = round(63.75) = 64.
  const QuantParams p = compute_params(-1.0f, 3.0f, QuantType::kUInt8, false, false);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 64);
}

TEST(QuantParams, RangeIsWidenedToIncludeZero) {
  // A ReLU-like range [2, 6] becomes [0, 6]: int8 asymmetric puts 0 at -128.
  const QuantParams p = compute_params(2.0f, 6.0f, QuantType::kInt8, false, false);
  EXPECT_FLOAT_EQ(p.scale, 6.0f / 255.0f);
  EXPECT_EQ(p.zero_point, -128);
}

TEST(QuantParams, SymmetricInt8UsesPlusMinus127) {
  const QuantParams p = compute_params(-0.5f, 2.54f, QuantType::kInt8, true, false);
  EXPECT_FLOAT_EQ(p.scale, 2.54f * 2 / 254.0f);
  EXPECT_EQ(p.zero_point, 0);
  const QuantParams u = compute_params(-1.0f, 1.0f, QuantType::kUInt8, true, false);
  EXPECT_EQ(u.zero_point, 128);
}

TEST(QuantParams, ReduceRangeKeepsSevenBits) {
  EXPECT_EQ(quant_range(QuantType::kInt8, true, true).qmax, 64);
  EXPECT_EQ(quant_range(QuantType::kUInt8, false, true).qmax, 127);
  const QuantParams p = compute_params(-6.4f, 6.4f, QuantType::kInt8, true, true);
  EXPECT_FLOAT_EQ(p.scale, 0.1f);
}

TEST(QuantParams, ZeroWidthRangeGetsScaleOne) {
  const QuantParams p = compute_params(0.0f, 0.0f, QuantType::kUInt8, false, false);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(QuantizeWeight, PerChannelScalesFollowEachOutputChannel) {
  // Two output channels (axis 0) of 3 values: maxima 1.27 and 0.127 -> scales 0.01 and 0.001.
  Tensor w = Tensor::from_vector<float>({1.27f, -0.5f, 0.0f, 0.127f, 0.05f, -0.127f}, {2, 3});
  QuantizedTensor q = quantize_weight(w, 0, QuantType::kInt8, true, false);
  ASSERT_EQ(q.scale.shape(), Shape({2}));
  EXPECT_FLOAT_EQ(q.scale.data<float>()[0], 0.01f);
  EXPECT_FLOAT_EQ(q.scale.data<float>()[1], 0.001f);
  const int8_t* d = q.data.data<int8_t>();
  EXPECT_EQ(d[0], 127);
  EXPECT_EQ(d[1], -50);
  EXPECT_EQ(d[2], 0);
  EXPECT_EQ(d[3], 127);
  EXPECT_EQ(d[4], 50);
  EXPECT_EQ(d[5], -127);
}

TEST(QuantizeWeight, PerColumnOfAMatMulWeight) {
  // B [2, 2] quantized along axis 1 (columns): column 0 holds {2, -1.5}, column 1 {0.5, 0.2}.
  Tensor w = Tensor::from_vector<float>({2.0f, 0.5f, -1.5f, 0.2f}, {2, 2});
  QuantizedTensor q = quantize_weight(w, 1, QuantType::kInt8, true, false);
  EXPECT_FLOAT_EQ(q.scale.data<float>()[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(q.scale.data<float>()[1], 0.5f / 127);
  EXPECT_EQ(q.data.data<int8_t>()[0], 127);
  EXPECT_EQ(q.data.data<int8_t>()[2], -95);  // -1.5 * 127 / 2 = -95.25
  EXPECT_EQ(q.data.data<int8_t>()[3], 51);   // 0.2 * 127 / 0.5 = 50.8
}

TEST(QuantizeBias, Int32AtInputTimesWeightScale) {
  Tensor b = Tensor::from_vector<float>({0.3f, -0.02f});
  Tensor ws = Tensor::from_vector<float>({0.01f, 0.001f});
  QuantizedBias q = quantize_bias(b, 0.5f, ws);
  EXPECT_EQ(q.data.data<int32_t>()[0], 60);   // 0.3 / 0.005
  EXPECT_EQ(q.data.data<int32_t>()[1], -40);  // -0.02 / 0.0005
  EXPECT_FLOAT_EQ(q.scale.data<float>()[1], 0.0005f);
}

TEST(RangeCollector, MinMaxOverBatches) {
  RangeCollector c(false, 16);
  const float a[] = {-1, 2}, b[] = {0.5f, 3};
  c.add(a, 2);
  c.add(b, 2);
  EXPECT_EQ(c.min_max().min, -1);
  EXPECT_EQ(c.min_max().max, 3);
}

TEST(RangeCollector, PercentileDropsRareOutliers) {
  // 10000 values uniform in [-1, 1] plus one outlier at 100: 99.9% of |x| lies within ~1.
  std::vector<float> v(10000);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float& x : v) x = dist(rng);
  v.push_back(100);
  RangeCollector c(true, 2048);
  c.add(v.data(), static_cast<int64_t>(v.size()));
  const FloatRange r = c.percentile(99.9);
  EXPECT_GT(r.max, 0.9f);
  EXPECT_LT(r.max, 1.2f);
  EXPECT_GE(r.min, -1.2f);
  EXPECT_EQ(c.min_max().max, 100);
}

TEST(RangeCollector, HistogramWidensAcrossBatches) {
  // The second batch is 10x wider: the first batch's mass must still be counted (inside +-1).
  std::vector<float> narrow(5000), wide(5000);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> d1(-1, 1), d2(-10, 10);
  for (float& x : narrow) x = d1(rng);
  for (float& x : wide) x = d2(rng);
  RangeCollector c(true, 2048);
  c.add(narrow.data(), 5000);
  c.add(wide.data(), 5000);
  // Half the values are within +-1 and 5% more of the wide ones: 55% percentile ~ 1.
  const FloatRange r = c.percentile(55);
  EXPECT_NEAR(r.max, 1.0f, 0.15f);
}

TEST(RangeCollector, EntropyClipsALongTail) {
  // Gaussian body with a few far outliers: the KL-optimal window is far narrower than the max.
  std::vector<float> v(20000);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0, 1);
  for (float& x : v) x = dist(rng);
  for (int i = 0; i < 5; ++i) v.push_back(40.0f);
  RangeCollector c(true, 2048);
  c.add(v.data(), static_cast<int64_t>(v.size()));
  const FloatRange r = c.entropy(128);
  EXPECT_LT(r.max, 20.0f);
  EXPECT_GT(r.max, 2.0f);
}

}  // namespace
}  // namespace kestrel::quantization
