// The fast Add/Sub/Mul/Div, Softmax and GlobalAveragePool (src/providers/cpu/kernels/fast/) against the
// reference kernels: every broadcast pattern they specialise and some they hand back, empty and size-1
// shapes, odd sizes that leave vector tails, large inputs that take the threaded loops, and extreme softmax
// inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

void binary_all_ops(const Shape& a, const Shape& b, bool b_constant = false) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(std::string(op) + " " + shape_to_string(a) + " " + shape_to_string(b));
    compare_fast_with_reference(op, {{"A", pattern_tensor(a, 1)}, {"B", pattern_tensor(b, 2), b_constant}},
                                nullptr, 14);
  }
}

TEST(FastBinary, SameShape) { binary_all_ops({3, 37}, {3, 37}); }
TEST(FastBinary, ScalarRightAndLeft) {
  binary_all_ops({5, 7, 3}, {});
  binary_all_ops({1}, {4, 9});
}
TEST(FastBinary, BiasRow) { binary_all_ops({1, 13, 33}, {33}, true); }
TEST(FastBinary, AttentionMask) { binary_all_ops({2, 4, 9, 9}, {2, 1, 1, 9}); }
TEST(FastBinary, MaskRowOnLeft) { binary_all_ops({1, 1, 9}, {3, 4, 5, 9}); }
TEST(FastBinary, PerChannelScale) { binary_all_ops({2, 19, 5, 7}, {2, 19, 1, 1}); }
TEST(FastBinary, PerChannelOnLeft) { binary_all_ops({19, 1, 1}, {1, 19, 4, 3}); }
TEST(FastBinary, HigherRankOnes) { binary_all_ops({7}, {1, 1, 7}); }
TEST(FastBinary, GeneralBroadcastFallsBack) {
  binary_all_ops({3, 1, 5}, {1, 4, 1});
  binary_all_ops({3, 4, 5}, {3, 1, 5});
}
TEST(FastBinary, Empty) { binary_all_ops({0, 5}, {5}); }
TEST(FastBinary, LargeThreaded) { binary_all_ops({3, 200, 301}, {3, 200, 1}); }
TEST(FastBinary, Opset7) {
  compare_fast_with_reference("Add", {{"A", pattern_tensor({4, 6}, 1)}, {"B", pattern_tensor({6}, 2)}},
                              nullptr, 7);
}
TEST(FastBinary, MismatchIsAnError) {
  const std::vector<NodeInput> in{{"A", pattern_tensor({3, 4}, 1)}, {"B", pattern_tensor({5}, 2)}};
  const std::string bytes = testing::model_with_initializers("Add", in, nullptr, 14);
  EXPECT_THROW(testing::make_session(bytes, false, 1).run(testing::feeds_of(in)), Error);
}

void softmax(const Shape& x, int64_t axis, int opset, Tensor input = Tensor()) {
  if (!input.defined()) input = pattern_tensor(x, 1);
  compare_fast_with_reference(
      "Softmax", {{"X", input}}, [&](onnx::NodeProto& n) { add_attr(n, "axis", axis); }, opset, 2e-6f);
}

TEST(FastSoftmax, LastAxis) { softmax({2, 3, 37}, -1, 13); }
TEST(FastSoftmax, LongRowsThreaded) { softmax({40, 6625}, 1, 13); }
TEST(FastSoftmax, InnerAxisFallsBack) { softmax({2, 5, 7}, 1, 13); }
TEST(FastSoftmax, Coerced2DBeforeOpset13) { softmax({2, 5, 7}, 1, 11); }
TEST(FastSoftmax, SizeOneAndEmpty) {
  softmax({4, 1}, -1, 13);
  softmax({0, 5}, -1, 13);
}
TEST(FastSoftmax, ExtremeValues) {
  Tensor x(ElementType::kFloat, {3, 6});
  const float v[18] = {-1e4f, 0,   1e4f, -3e38f, 88,  -88,  // huge spreads and near exp's range limits
                       100,   100, 100,  100,    100, 100, -std::numeric_limits<float>::infinity(),
                       1,     2,   3,    -200,   -90};
  std::copy(v, v + 18, x.data<float>());
  softmax({3, 6}, -1, 13, x);
}

TEST(FastSoftmax, ExtremeValuesInVectorLanesAndTail) {
  // Rows of 35: two 16-lane blocks and a tail of 3; the row maximum sits once in a lane, once in the tail.
  Tensor x = pattern_tensor({3, 35}, 3);
  float* p = x.data<float>();
  p[5] = 1e4f;
  p[20] = -std::numeric_limits<float>::infinity();
  p[35 + 33] = 90;
  p[35 + 2] = -3e38f;
  for (int i = 70; i < 105; ++i) p[i] = -88.5f + 0.01f * static_cast<float>(i % 7);
  softmax({3, 35}, -1, 13, x);
}

TEST(FastGlobalAveragePool, Planes) {
  for (const Shape& s :
       {Shape{1, 3, 7, 7}, Shape{2, 17, 1, 1}, Shape{1, 5, 13}, Shape{1, 2, 3, 4, 5}, Shape{1, 64, 56, 57}}) {
    SCOPED_TRACE(shape_to_string(s));
    compare_fast_with_reference("GlobalAveragePool", {{"X", pattern_tensor(s, 1)}}, nullptr, 13, 2e-6f);
  }
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

void transpose(const Shape& x, const std::vector<int64_t>& perm) {
  SCOPED_TRACE(shape_to_string(x) + " perm " + shape_to_string(perm));
  testing::compare_fast_with_reference(
      "Transpose", {{"X", testing::pattern_tensor(x, 1)}},
      [&](onnx::NodeProto& n) { testing::add_attr(n, "perm", perm); }, 13, 0.0f);
}

TEST(FastTranspose, LastAxisStays) {
  transpose({2, 5, 3, 7}, {0, 2, 1, 3});
  transpose({3, 4, 5}, {1, 0, 2});
  transpose({2, 3, 4, 5, 6}, {3, 0, 2, 1, 4});
  transpose({4, 1}, {0, 1});
  transpose({0, 3, 2}, {1, 0, 2});
  transpose({3, 2, 0}, {1, 0, 2});
}
TEST(FastTranspose, OtherPermutationsFallBack) {
  transpose({2, 3, 4}, {2, 0, 1});
  transpose({5, 7}, {1, 0});
}
TEST(FastTranspose, Int64) {
  Tensor x(ElementType::kInt64, {2, 3, 4});
  for (int64_t i = 0; i < x.size(); ++i) x.data<int64_t>()[i] = i * 7 - 5;
  const std::vector<int64_t> perm{1, 0, 2};
  const std::vector<testing::NodeInput> in{{"X", x}};
  const std::string bytes = testing::model_with_initializers(
      "Transpose", in, [&](onnx::NodeProto& n) { testing::add_attr(n, "perm", perm); }, 13);
  const Tensor ref = testing::make_session(bytes, true, 1).run(testing::feeds_of(in)).at(0).tensor();
  const Tensor got = testing::make_session(bytes, false, 1).run(testing::feeds_of(in)).at(0).tensor();
  ASSERT_EQ(ref.shape(), got.shape());
  for (int64_t i = 0; i < ref.size(); ++i) EXPECT_EQ(ref.data<int64_t>()[i], got.data<int64_t>()[i]);
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

struct PoolCase {
  Shape x;
  std::vector<int64_t> kernel, strides, pads, dilations;
  int64_t ceil_mode;
  std::string auto_pad;
};

TEST(FastMaxPool, WindowsPadsStridesCeilDilations) {
  const std::vector<PoolCase> cases{
      {{1, 3, 13, 13}, {3, 3}, {2, 2}, {}, {}, 1, ""},               // squeezenet's pools
      {{2, 5, 9, 11}, {3, 2}, {1, 2}, {1, 0, 2, 1}, {}, 0, ""},      // asymmetric pads
      {{1, 2, 10, 9}, {2, 3}, {2, 1}, {1, 1, 1, 1}, {2, 2}, 1, ""},  // dilations with ceil
      {{1, 4, 17}, {4}, {3}, {2, 2}, {}, 0, ""},                     // 1-D
      {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {}, {}, 0, ""},        // 3-D
      {{1, 3, 8, 7}, {3, 3}, {2, 2}, {}, {}, 0, "SAME_UPPER"},
      {{1, 1, 1, 1}, {1, 1}, {}, {}, {}, 0, ""},
      {{1, 2, 6, 6}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {}, 0, ""},  // windows reaching deep into the padding
  };
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(shape_to_string(c.x) + " kernel " + shape_to_string(c.kernel));
    testing::compare_fast_with_reference(
        "MaxPool", {{"X", testing::pattern_tensor(c.x, 1)}},
        [&](onnx::NodeProto& n) {
          testing::add_attr(n, "kernel_shape", c.kernel);
          if (!c.strides.empty()) testing::add_attr(n, "strides", c.strides);
          if (!c.pads.empty()) testing::add_attr(n, "pads", c.pads);
          if (!c.dilations.empty()) testing::add_attr(n, "dilations", c.dilations);
          if (c.ceil_mode) testing::add_attr(n, "ceil_mode", c.ceil_mode);
          if (!c.auto_pad.empty()) testing::add_attr(n, "auto_pad", c.auto_pad);
        },
        13, 0.0f);
  }
}

}  // namespace
}  // namespace kestrel
