// The fast Relu and Sigmoid (src/providers/cpu/kernels/fast/unary_activation.h) against the reference
// kernels: empty, size 1, odd sizes that leave vector tails, sizes that take the threaded loop, extreme and
// special values (infinities, NaN, values where exp over- and underflows), and both opset ranges.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::compare_fast_with_reference;
using testing::pattern_tensor;

void both_ops(const Shape& s, int opset = 14) {
  for (const char* op : {"Relu", "Sigmoid"}) {
    SCOPED_TRACE(std::string(op) + " " + shape_to_string(s) + " opset " + std::to_string(opset));
    compare_fast_with_reference(op, {{"X", pattern_tensor(s, 1)}}, nullptr, opset, 1e-5f);
  }
}

TEST(FastUnaryActivation, OddSizes) {
  for (const Shape& s : {Shape{0}, Shape{1}, Shape{15}, Shape{17}, Shape{3, 37}, Shape{1, 24, 13, 11}})
    both_ops(s);
}
TEST(FastUnaryActivation, OlderOpsets) {
  both_ops({5, 7}, 6);
  both_ops({5, 7}, 13);
}
TEST(FastUnaryActivation, LargeEnoughForThreads) { both_ops({1, 24, 97, 101}); }

TEST(FastUnaryActivation, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x(ElementType::kFloat, {37});
  const float special[] = {0.0f,   -0.0f,   inf,    -inf,    nan,   88.0f,  89.0f, -87.0f,
                           -88.0f, -104.0f, 1e-30f, -1e-30f, 20.0f, -20.0f, 3.0f,  -3.0f};
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = special[i % 16];
  for (const char* op : {"Relu", "Sigmoid"}) {
    SCOPED_TRACE(op);
    compare_fast_with_reference(op, {{"X", x}}, nullptr, 14, 1e-5f);
  }
}

}  // namespace
}  // namespace kestrel
