// The channels-last Transpose (src/providers/cpu/kernels/fast/transpose_channels.cc) against the reference:
// both permutations on sizes that are not multiples of the tile (primes, 1, 3 channels: the shuffle path),
// batches, int32, int8 (16 x 16 byte tiles, three-channel byte images), large tensors split over threads,
// empty tensors; other perms and 8-byte types go elsewhere and still agree.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

Tensor transpose(const Tensor& x, std::vector<int64_t> perm) {
  return compare_fast_with_reference(
      "Transpose", {{"X", x}}, [&](onnx::NodeProto& n) { add_attr(n, "perm", perm); }, 13, 0.0f);
}

const std::vector<int64_t> kToNhwc{0, 2, 3, 1}, kToNchw{0, 3, 1, 2};

// The fast kernel at each of `threads` gives the reference's bytes for any element type.
void expect_reference_bytes(const Tensor& x, const std::vector<int64_t>& perm,
                            std::vector<int> threads = {1, 2}) {
  const std::string bytes = testing::model_with_initializers(
      "Transpose", {{"X", x}}, [&](onnx::NodeProto& n) { add_attr(n, "perm", perm); }, 13);
  const Tensor ref = testing::make_session(bytes, true, 1).run({{"X", Value(x)}}).at(0).tensor();
  const auto* want = static_cast<const uint8_t*>(ref.raw_data());
  for (int t : threads) {
    const Tensor got = testing::make_session(bytes, false, t).run({{"X", Value(x)}}).at(0).tensor();
    ASSERT_EQ(ref.shape(), got.shape());
    ASSERT_EQ(ref.type(), got.type());
    const auto* have = static_cast<const uint8_t*>(got.raw_data());
    for (size_t i = 0; i < ref.bytes(); ++i) ASSERT_EQ(want[i], have[i]) << "byte " << i << ", threads " << t;
  }
}

TEST(FastChannelsTranspose, ImageToChannelsLast) {
  const Tensor y = transpose(pattern_tensor({1, 3, 37, 41}, 1), kToNhwc);
  EXPECT_EQ(y.shape(), (Shape{1, 37, 41, 3}));
}
TEST(FastChannelsTranspose, ThreeChannelImages) {
  // 3 channels take the shuffle path (16 positions a step, then a tail): several tails, a batch, one image
  // large enough to split over threads, and fewer positions than one step.
  for (int64_t w : {1, 5, 16, 17, 31, 48}) transpose(pattern_tensor({1, 3, 3, w}, 8), kToNhwc);
  transpose(pattern_tensor({3, 3, 19, 23}, 9), kToNhwc);
  const Tensor y = transpose(pattern_tensor({2, 3, 131, 67}, 10), kToNhwc);
  EXPECT_EQ(y.shape(), (Shape{2, 131, 67, 3}));
}
TEST(FastChannelsTranspose, BackToChannelsFirst) { transpose(pattern_tensor({2, 7, 5, 19}, 2), kToNchw); }
TEST(FastChannelsTranspose, SizeOneDims) {
  transpose(pattern_tensor({1, 1280, 1, 1}, 3), kToNhwc);
  transpose(pattern_tensor({1, 1, 1, 1280}, 4), kToNchw);
  transpose(pattern_tensor({3, 1, 17, 1}, 5), kToNhwc);
}
TEST(FastChannelsTranspose, LargeThreaded) { transpose(pattern_tensor({1, 33, 113, 111}, 6), kToNhwc); }
TEST(FastChannelsTranspose, Empty) { transpose(Tensor(ElementType::kFloat, {0, 4, 5, 6}), kToNchw); }
TEST(FastChannelsTranspose, Int32) {
  Tensor x(ElementType::kInt32, {2, 5, 3, 17});
  for (int64_t i = 0; i < x.size(); ++i) x.data<int32_t>()[i] = static_cast<int32_t>(i * 7 - 300);
  expect_reference_bytes(x, kToNhwc, {2});
}
TEST(FastChannelsTranspose, Int8BothWays) {
  for (const auto& perm : {kToNhwc, kToNchw}) {
    Tensor x(ElementType::kInt8, {2, 3, 19, 23});
    for (int64_t i = 0; i < x.size(); ++i) x.data<int8_t>()[i] = static_cast<int8_t>(i * 37 % 251 - 125);
    expect_reference_bytes(x, perm);
  }
}
// Bytes: three-channel images (the shuffle path, with tails), and full 16 x 16 tiles with partial ones around
// them, both ways, split over threads.
TEST(FastChannelsTranspose, Int8TilesAndThreeChannels) {
  const std::vector<Shape> shapes = {{1, 3, 7, 5}, {2, 3, 19, 37}, {1, 3, 224, 224}, {1, 16, 48, 48},
                                     {2, 35, 17, 33}, {1, 96, 31, 31}};
  for (const Shape& shape : shapes)
    for (const auto& perm : {kToNhwc, kToNchw}) {
      SCOPED_TRACE(shape_to_string(shape));
      Tensor x(ElementType::kUInt8, shape);
      for (int64_t i = 0; i < x.size(); ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(i * 37 % 251);
      expect_reference_bytes(x, perm);
    }
}
TEST(FastChannelsTranspose, OtherPermsStillAgree) { transpose(pattern_tensor({2, 3, 4, 5}, 7), {0, 1, 3, 2}); }

}  // namespace
}  // namespace kestrel
