// The fast Pow (src/providers/cpu/kernels/fast/pow.cc) against the reference Pow: squares and square roots by
// float, double and integer scalar exponents, exponents of rank above the base's (the output takes their
// rank), negative, zero, infinite and NaN bases, and exponents it declines (3, a non-scalar 2).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::NodeInput;
using testing::pattern_tensor;

Tensor exponent(ElementType type, Shape shape, double v) {
  Tensor t(type, shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (type) {
      case ElementType::kFloat:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case ElementType::kDouble:
        t.data<double>()[i] = v;
        break;
      case ElementType::kInt32:
        t.data<int32_t>()[i] = static_cast<int32_t>(v);
        break;
      default:
        t.data<int64_t>()[i] = static_cast<int64_t>(v);
        break;
    }
  }
  return t;
}

// Pattern values plus the special ones at the start.
Tensor base(Shape shape) {
  Tensor x = pattern_tensor(shape, 1);
  float* p = x.data<float>();
  const float specials[] = {0.0f,
                            -0.0f,
                            -2.5f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            1e30f,
                            1e-30f};
  for (int64_t i = 0; i < x.size() && i < 8; ++i) p[i] = specials[i];
  return x;
}

void expect_pow_matches_reference(const Shape& x_shape, const Tensor& e) {
  const std::vector<NodeInput> inputs = {{"X", base(x_shape)}, {"E", e, true}};
  const Tensor ref = testing::compare_fast_with_reference("Pow", inputs, nullptr, 15);
  // expect_close takes -0 for +0: compare signs too (pow(-0, 0.5) and pow(-0, 2) are +0, sqrt(-0) is -0).
  const std::string bytes = testing::model_with_initializers("Pow", inputs, nullptr, 15);
  const Tensor fast = testing::make_session(bytes, false, 1).run(testing::feeds_of(inputs)).at(0).tensor();
  for (int64_t i = 0; i < ref.size(); ++i)
    EXPECT_EQ(std::signbit(ref.data<float>()[i]), std::signbit(fast.data<float>()[i]))
        << "at flat index " << i;
}

TEST(FastPow, SquareAndSqrtByEveryExponentType) {
  for (ElementType type :
       {ElementType::kFloat, ElementType::kDouble, ElementType::kInt32, ElementType::kInt64})
    for (double v : {2.0, 0.5}) {
      if (v == 0.5 && (type == ElementType::kInt32 || type == ElementType::kInt64)) continue;
      SCOPED_TRACE(std::string(element_type_name(type)) + " " + std::to_string(v));
      expect_pow_matches_reference({1, 129, 8}, exponent(type, {}, v));
      expect_pow_matches_reference({37}, exponent(type, {1}, v));
    }
}

TEST(FastPow, ExponentOfHigherRank) {
  expect_pow_matches_reference({5}, exponent(ElementType::kFloat, {1, 1, 1}, 2.0));
  expect_pow_matches_reference({}, exponent(ElementType::kFloat, {1, 1}, 0.5));
}

TEST(FastPow, OtherExponentsTakeTheReferenceKernel) {
  expect_pow_matches_reference({3, 7}, exponent(ElementType::kFloat, {}, 3.0));
  expect_pow_matches_reference({3, 7}, exponent(ElementType::kFloat, {7}, 2.0));
}

}  // namespace
}  // namespace kestrel
