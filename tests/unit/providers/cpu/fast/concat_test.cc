// The fast Concat (src/providers/cpu/kernels/fast/concat.cc) against the reference: channel concatenation of
// NHWC tensors (last axis, odd widths), first and middle axes, negative axis, three inputs with an empty one,
// large outputs split over threads, int64, and a shape mismatch reported as the reference does.
#include <gtest/gtest.h>

#include <cstring>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

Tensor concat(const std::vector<Shape>& shapes, int64_t axis) {
  std::vector<NodeInput> in;
  for (size_t i = 0; i < shapes.size(); ++i)
    in.push_back({"X" + std::to_string(i), pattern_tensor(shapes[i], static_cast<int>(i) + 1)});
  return compare_fast_with_reference("Concat", in, [&](onnx::NodeProto& n) { add_attr(n, "axis", axis); }, 13, 0.0f);
}

TEST(FastConcat, ChannelsLast) {
  const Tensor y = concat({{1, 5, 7, 3}, {1, 5, 7, 13}}, 3);
  EXPECT_EQ(y.shape(), (Shape{1, 5, 7, 16}));
}
TEST(FastConcat, NegativeAxis) { concat({{2, 3, 4}, {2, 3, 1}}, -1); }
TEST(FastConcat, FirstAndMiddleAxes) {
  concat({{2, 3, 4}, {5, 3, 4}}, 0);
  concat({{2, 3, 4}, {2, 7, 4}, {2, 1, 4}}, 1);
}
TEST(FastConcat, EmptyInput) { concat({{2, 0, 4}, {2, 3, 4}, {2, 2, 4}}, 1); }
TEST(FastConcat, LargeThreaded) { concat({{1, 55, 55, 64}, {1, 55, 55, 67}}, 3); }
TEST(FastConcat, Int64) {
  const Tensor a = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector<int64_t>({7, 8}, {2, 1});
  const std::string bytes = testing::model_with_initializers(
      "Concat", {{"A", a}, {"B", b}}, [](onnx::NodeProto& n) { add_attr(n, "axis", int64_t{1}); }, 13);
  const Tensor y = testing::make_session(bytes, false, 2).run({{"A", Value(a)}, {"B", Value(b)}}).at(0).tensor();
  EXPECT_EQ(std::vector<int64_t>(y.data<int64_t>(), y.data<int64_t>() + y.size()),
            (std::vector<int64_t>{1, 2, 3, 7, 4, 5, 6, 8}));
}
// One-pixel blocks of every size up to 64 bytes and just past it (the inline small copies, and memcpy for
// the 65- and 100-byte ones), uint8 channels-last, large enough to split over threads; the bytes must be identical.
TEST(FastConcat, SmallBlocksOfEverySize) {
  std::vector<NodeInput> in;
  int64_t channels = 0;
  for (int64_t c : {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100}) {
    in.push_back({"X" + std::to_string(in.size()),
                  testing::random_bytes(ElementType::kUInt8, {1, 41, 19, c}, static_cast<unsigned>(c))});
    channels += c;
  }
  const Feeds feeds = testing::feeds_of(in);
  const std::string bytes = testing::model_with_initializers(
      "Concat", in, [](onnx::NodeProto& n) { add_attr(n, "axis", int64_t{3}); }, 13);
  const Tensor want = testing::make_session(bytes, true, 1).run(feeds).at(0).tensor();
  ASSERT_EQ(want.shape(), (Shape{1, 41, 19, channels}));
  for (int threads : {1, 2}) {
    const Tensor got = testing::make_session(bytes, false, threads).run(feeds).at(0).tensor();
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), want.bytes()), 0) << "threads " << threads;
  }
}
TEST(FastConcat, MismatchIsTheReferencesError) {
  const Tensor a = pattern_tensor({2, 3}, 1), b = pattern_tensor({3, 3}, 2);
  const std::string bytes = testing::model_with_initializers(
      "Concat", {{"A", a}, {"B", b}}, [](onnx::NodeProto& n) { add_attr(n, "axis", int64_t{1}); }, 13);
  std::string fast, reference;
  try {
    testing::make_session(bytes, false, 1).run({{"A", Value(a)}, {"B", Value(b)}});
  } catch (const Error& e) {
    fast = e.what();
  }
  try {
    testing::make_session(bytes, true, 1).run({{"A", Value(a)}, {"B", Value(b)}});
  } catch (const Error& e) {
    reference = e.what();
  }
  EXPECT_FALSE(fast.empty());
  EXPECT_EQ(fast, reference);
}

}  // namespace
}  // namespace kestrel
