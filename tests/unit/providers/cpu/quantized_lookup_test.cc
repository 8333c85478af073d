// ai.kestrel QuantizedLookup: the reference gives table[x] (int8 x at x + 128) and reports bad operands; the
// fast VBMI kernel gives the reference's bytes on sizes around the 64-byte step, empty tensors and tensors
// split over threads, for uint8 and int8 on either side, and the reference's floats with a float table.
#include <gtest/gtest.h>

#include <cstring>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::make_session;
using testing::model_with_initializers;
using testing::random_bytes;

Tensor run(const Tensor& x, const Tensor& table, bool reference, int threads) {
  const std::string model = model_with_initializers("QuantizedLookup", {{"X", x}, {"table", table, true}},
                                                    nullptr, 13, "ai.kestrel");
  return make_session(model, reference, threads).run({{"X", Value(x)}}).at(0).tensor();
}

TEST(QuantizedLookup, ReferenceIsTheTable) {
  const Tensor table = random_bytes(ElementType::kInt8, {256}, 3);
  Tensor x(ElementType::kInt8, {2, 3});
  const int8_t xs[] = {-128, -1, 0, 1, 127, 5};
  std::memcpy(x.raw_data(), xs, sizeof(xs));
  const Tensor y = run(x, table, true, 1);
  ASSERT_EQ(y.shape(), x.shape());
  ASSERT_EQ(y.type(), ElementType::kInt8);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<int8_t>()[i], table.data<int8_t>()[xs[i] + 128]) << i;
  Tensor u(ElementType::kUInt8, {3});
  const uint8_t us[] = {0, 200, 255};
  std::memcpy(u.raw_data(), us, sizeof(us));
  const Tensor yu = run(u, table, true, 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(yu.data<int8_t>()[i], table.data<int8_t>()[us[i]]) << i;
}

TEST(QuantizedLookup, FastMatchesReference) {
  for (ElementType xt : {ElementType::kUInt8, ElementType::kInt8})
    for (ElementType tt : {ElementType::kUInt8, ElementType::kInt8})
      for (int64_t n : std::vector<int64_t>{0, 1, 63, 64, 65, 130, 4099, (int64_t{1} << 20) + 17}) {
        SCOPED_TRACE(std::to_string(n));
        const Tensor x = random_bytes(xt, {n}, static_cast<unsigned>(n));
        const Tensor table = random_bytes(tt, {256}, 7);
        const Tensor want = run(x, table, true, 1);
        for (int threads : {1, 2}) {
          const Tensor got = run(x, table, false, threads);
          ASSERT_EQ(got.shape(), want.shape());
          ASSERT_EQ(got.type(), want.type());
          ASSERT_EQ(std::memcmp(got.raw_data(), want.raw_data(), got.bytes()), 0);
        }
      }
}

// A float table (fuse_dequantize_lookup's): distinct values in every entry, sizes around the 16-lane step,
// and large enough to split over threads.
TEST(QuantizedLookup, FloatTable) {
  Tensor table(ElementType::kFloat, {256});
  for (int i = 0; i < 256; ++i)
    table.data<float>()[i] = 0.37f * static_cast<float>(i) - 41.0f + 1.0f / (i + 3);
  for (ElementType xt : {ElementType::kUInt8, ElementType::kInt8})
    for (int64_t n : std::vector<int64_t>{0, 1, 15, 16, 17, 130, 4099, (int64_t{1} << 18) + 17}) {
      SCOPED_TRACE(std::to_string(n));
      const Tensor x = random_bytes(xt, {n}, static_cast<unsigned>(n) + 1);
      const Tensor want = run(x, table, true, 1);
      ASSERT_EQ(want.type(), ElementType::kFloat);
      for (int64_t i = 0; i < n; ++i) {
        const int index = xt == ElementType::kInt8 ? x.data<int8_t>()[i] + 128 : x.data<uint8_t>()[i];
        ASSERT_EQ(want.data<float>()[i], table.data<float>()[index]) << i;
      }
      for (int threads : {1, 2}) {
        const Tensor got = run(x, table, false, threads);
        ASSERT_EQ(got.shape(), want.shape());
        ASSERT_EQ(got.type(), want.type());
        ASSERT_EQ(std::memcmp(got.raw_data(), want.raw_data(), got.bytes()), 0);
      }
    }
}

TEST(QuantizedLookup, RejectsBadOperands) {
  const Tensor x = random_bytes(ElementType::kUInt8, {4}, 1);
  for (bool reference : {true, false}) {
    EXPECT_THROW(run(x, random_bytes(ElementType::kUInt8, {255}, 2), reference, 1), Error);
    Tensor floats(ElementType::kFloat, {4});
    EXPECT_THROW(run(floats, random_bytes(ElementType::kUInt8, {256}, 2), reference, 1), Error);
    EXPECT_THROW(run(x, Tensor(ElementType::kFloat, {255}), reference, 1), Error);
    EXPECT_THROW(run(x, Tensor(ElementType::kInt32, {256}), reference, 1), Error);
  }
}

}  // namespace
}  // namespace kestrel
