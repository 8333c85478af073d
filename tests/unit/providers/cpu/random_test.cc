// Random generators: values cannot match the backend data, so check statistics over many samples, shapes,
// dtypes, and that a seed repeats.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "unit/kernel_test_util.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::run_node;

template <typename T>
void moments(const Tensor& t, double& mean, double& var) {
  const T* p = t.data<T>();
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < t.size(); ++i) {
    s += static_cast<double>(p[i]);
    s2 += static_cast<double>(p[i]) * static_cast<double>(p[i]);
  }
  mean = s / static_cast<double>(t.size());
  var = s2 / static_cast<double>(t.size()) - mean * mean;
}

TEST(Random, NormalMomentsAndSeed) {
  auto attrs = [](onnx::NodeProto& n) {
    add_attr(n, "shape", std::vector<int64_t>{200, 100});
    add_attr(n, "mean", 2.0f);
    add_attr(n, "scale", 3.0f);
    add_attr(n, "seed", 7.0f);
    add_attr(n, "dtype", int64_t{11});
  };
  Tensor a = run_node("RandomNormal", {}, 1, attrs, 17)[0].tensor();
  ASSERT_EQ(a.type(), ElementType::kDouble);
  ASSERT_EQ(a.shape(), (Shape{200, 100}));
  double mean, var;
  moments<double>(a, mean, var);
  // 20000 samples: the standard error of the mean is 3/sqrt(20000) ~ 0.021.
  EXPECT_NEAR(mean, 2.0, 0.1);
  EXPECT_NEAR(var, 9.0, 0.5);
  Tensor b = run_node("RandomNormal", {}, 1, attrs, 17)[0].tensor();
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data<double>()[i], b.data<double>()[i]);
}

TEST(Random, UniformLikeMoments) {
  Tensor like(ElementType::kFloat, {10000});
  Tensor a = run_node(
                 "RandomUniformLike", {{"x", like}}, 1,
                 [](onnx::NodeProto& n) {
                   add_attr(n, "low", -1.0f);
                   add_attr(n, "high", 3.0f);
                 },
                 17)[0]
                 .tensor();
  ASSERT_EQ(a.type(), ElementType::kFloat);
  double mean, var;
  moments<float>(a, mean, var);
  for (int64_t i = 0; i < a.size(); ++i) {
    ASSERT_GE(a.data<float>()[i], -1.0f);
    ASSERT_LT(a.data<float>()[i], 3.0f);
  }
  EXPECT_NEAR(mean, 1.0, 0.1);
  EXPECT_NEAR(var, 16.0 / 12.0, 0.1);  // (b - a)^2 / 12
  Tensor n = run_node("RandomNormalLike", {{"x", like}}, 1, nullptr, 17)[0].tensor();
  moments<float>(n, mean, var);
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(var, 1.0, 0.1);
}

// A draw just below `high` can round up to it in the output type; the range is half-open, so it must not.
// bfloat16 over [-1, 3) rounds about 0.2% of draws up to 3, float over [1 - 1e-6, 1) about 3%.
TEST(Random, UniformStaysBelowHighAfterRounding) {
  struct Case {
    int64_t dtype;
    float low, high;
  };
  for (const Case c : {Case{16, -1.0f, 3.0f}, Case{1, 0.999999f, 1.0f}, Case{10, -1.0f, 3.0f}}) {
    SCOPED_TRACE("dtype " + std::to_string(c.dtype));
    Tensor a = run_node(
                   "RandomUniform", {}, 1,
                   [&](onnx::NodeProto& n) {
                     add_attr(n, "shape", std::vector<int64_t>{20000});
                     add_attr(n, "low", c.low);
                     add_attr(n, "high", c.high);
                     add_attr(n, "seed", 5.0f);
                     add_attr(n, "dtype", c.dtype);
                   },
                   17)[0]
                   .tensor();
    for (int64_t i = 0; i < a.size(); ++i) {
      float v = 0;
      if (c.dtype == 16) v = a.data<BFloat16>()[i];
      if (c.dtype == 10) v = a.data<Float16>()[i];
      if (c.dtype == 1) v = a.data<float>()[i];
      ASSERT_GE(v, c.low) << "at " << i;
      ASSERT_LT(v, c.high) << "at " << i;
    }
  }
}

TEST(Random, BernoulliRate) {
  Tensor p(ElementType::kDouble, {20000});
  for (int64_t i = 0; i < p.size(); ++i) p.data<double>()[i] = 0.25;
  Tensor y =
      run_node(
          "Bernoulli", {{"p", p}}, 1, [](onnx::NodeProto& n) { add_attr(n, "dtype", int64_t{9}); }, 17)[0]
          .tensor();
  ASSERT_EQ(y.type(), ElementType::kBool);
  int64_t ones = 0;
  for (int64_t i = 0; i < y.size(); ++i) ones += y.data<bool>()[i] ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(ones) / 20000.0, 0.25, 0.02);
}

TEST(Random, MultinomialFrequencies) {
  // log-probabilities of 0.1, 0.2, 0.7
  Tensor x = Tensor::from_vector<float>({std::log(0.1f), std::log(0.2f), std::log(0.7f)}, {1, 3});
  Tensor y = run_node(
                 "Multinomial", {{"x", x}}, 1,
                 [](onnx::NodeProto& n) {
                   add_attr(n, "sample_size", int64_t{20000});
                   add_attr(n, "dtype", int64_t{7});
                 },
                 17)[0]
                 .tensor();
  ASSERT_EQ(y.shape(), (Shape{1, 20000}));
  int64_t count[3] = {0, 0, 0};
  for (int64_t i = 0; i < y.size(); ++i) {
    const int64_t c = y.data<int64_t>()[i];
    ASSERT_TRUE(c >= 0 && c < 3);
    ++count[c];
  }
  EXPECT_NEAR(count[0] / 20000.0, 0.1, 0.02);
  EXPECT_NEAR(count[1] / 20000.0, 0.2, 0.02);
  EXPECT_NEAR(count[2] / 20000.0, 0.7, 0.02);
}

}  // namespace
}  // namespace kestrel
