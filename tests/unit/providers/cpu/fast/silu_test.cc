// fast::silu_in_place (src/providers/cpu/kernels/fast/silu.cc) against x / (1 + exp(-x)) in double: odd
// lengths (tails), the range where the rational tanh is clamped, NaN, and the threaded split; and the oneDNN
// FusedConv that applies it after the primitive, against the reference kernel, with a same-shape residual
// (sum post-op first) and an output large enough to be split over threads.
#include "providers/cpu/kernels/fast/silu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

void expect_silu(const std::vector<float>& x, int threads) {
  std::vector<float> y = x;
  cpu::fast::silu_in_place(y.data(), static_cast<int64_t>(y.size()), threads);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(y[i])) << i;
      continue;
    }
    const double exact = v / (1.0 + std::exp(-v));
    ASSERT_NEAR(y[i], exact, 3.5e-7 * std::fabs(v) + 1e-7 * std::fabs(exact) + 1e-30) << "x = " << v;
  }
}

TEST(FastSilu, OddLengthsAndClampedRange) {
  for (size_t n : {0, 1, 15, 16, 17, 33, 1001}) {
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i)
      x[i] = static_cast<float>((static_cast<double>(i) * 7919.0) / 1001.0 - 30.0);
    expect_silu(x, 1);
  }
}

TEST(FastSilu, FineGridNaNAndThreads) {
  std::vector<float> x;
  for (double v = -40.0; v <= 40.0; v += 1.0 / 1024) x.push_back(static_cast<float>(v));  // > 2^16: split
  x[12345] = NAN;
  expect_silu(x, 1);
  expect_silu(x, 2);
}

TEST(FastSilu, FusedConvAfterResidualAndThreaded) {
  // NHWC 1x1 and 3x3 convolutions whose outputs exceed 2^16 elements, with a same-shape residual: the SiLU
  // runs after the primitive has added the residual, as the reference does.
  for (const Shape& w : {Shape{67, 19, 1, 1}, Shape{33, 19, 3, 3}}) {
    const int64_t M = w[0];
    const auto attrs = [&](onnx::NodeProto& n) {
      testing::add_attr(n, "channels_last", int64_t{1});
      testing::add_attr(n, "activation", std::string("Silu"));
      if (w[2] == 3) testing::add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
    };
    testing::compare_fast_with_reference("FusedConv",
                                         {{"X", testing::pattern_tensor({1, 37, 41, 19}, 1)},
                                          {"W", testing::pattern_tensor(w, 2), true},
                                          {"B", testing::pattern_tensor({M}, 3), true},
                                          {"Z", testing::pattern_tensor({1, 37, 41, M}, 4)}},
                                         attrs, 13, 1e-4f, "ai.kestrel");
  }
}

}  // namespace
}  // namespace kestrel
