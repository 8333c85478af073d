// The packed AVX-512 GEMM (src/providers/cpu/kernels/fast/packed_gemm.cc) against a double-precision loop:
// row counts around the 8-row tile, column counts around the 16-float vector and the 48-column panel, K
// around the 256-deep block, bias and every activation, transposed B and alpha, and both ways of splitting
// the work over two threads.
#include "providers/cpu/kernels/fast/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace kestrel {
namespace {

using cpu::fast::GemmActivation;
using cpu::fast::packed_gemm;
using cpu::fast::PackedGemmWeights;

std::vector<float> values(int64_t n, int salt) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(((i + salt) * 37 + salt * 11) % 97 - 48) / 32.0f;
  return v;
}

double activate(double x, GemmActivation act) {
  switch (act) {
    case GemmActivation::kNone:
      return x;
    case GemmActivation::kRelu:
      return x > 0 ? x : 0;
    case GemmActivation::kGelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case GemmActivation::kGeluTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return x;
}

struct Case {
  int64_t M, K, N;
  bool bias = true;
  GemmActivation act = GemmActivation::kNone;
  bool transposed = false;
  float alpha = 1.0f;
};

void check(const Case& c, int threads) {
  SCOPED_TRACE("M " + std::to_string(c.M) + " K " + std::to_string(c.K) + " N " + std::to_string(c.N) +
               " threads " + std::to_string(threads));
  const std::vector<float> a = values(c.M * c.K, 1), b = values(c.K * c.N, 2), bias = values(c.N, 3);
  const PackedGemmWeights packed(b.data(), c.K, c.N, c.transposed, c.alpha);
  // A sentinel row after C shows that nothing past its last column is written.
  std::vector<float> y(static_cast<size_t>((c.M + 1) * c.N), 12345.0f);
  packed_gemm(c.M, a.data(), packed, c.bias ? bias.data() : nullptr, c.act, y.data(), threads);
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      double sum = c.bias ? bias[static_cast<size_t>(n)] : 0.0;
      for (int64_t k = 0; k < c.K; ++k)
        sum += static_cast<double>(a[static_cast<size_t>(m * c.K + k)]) * c.alpha *
               b[static_cast<size_t>(c.transposed ? n * c.K + k : k * c.N + n)];
      const double want = activate(sum, c.act);
      ASSERT_NEAR(y[static_cast<size_t>(m * c.N + n)], want, 2e-5 * (1 + std::fabs(want)) + 1e-6 * c.K)
          << "at row " << m << ", column " << n;
    }
  for (int64_t n = 0; n < c.N; ++n) ASSERT_EQ(y[static_cast<size_t>(c.M * c.N + n)], 12345.0f);
}

TEST(PackedGemm, OddShapes) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t M : {1, 7, 8, 9, 17})
    for (int64_t N : {1, 15, 16, 17, 33, 47, 48, 49, 97})
      for (int64_t K : {1, 3, 255, 257})
        for (int threads : {1, 2}) check({M, K, N}, threads);
}

TEST(PackedGemm, SeveralKBlocks) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  check({13, 769, 50}, 1);
  check({3, 1024, 144, false}, 1);
}

TEST(PackedGemm, EveryActivation) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (GemmActivation act :
       {GemmActivation::kNone, GemmActivation::kRelu, GemmActivation::kGelu, GemmActivation::kGeluTanh})
    for (bool bias : {false, true}) {
      check({11, 300, 37, bias, act}, 1);
      check({11, 300, 37, bias, act, true, 0.5f}, 1);
    }
}

// Large enough to fork: rows split (N = 200: 5 panels do not share evenly) and panels split (N = 96 x 4).
TEST(PackedGemm, TwoThreadsBothSplits) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  check({130, 257, 200, true, GemmActivation::kGelu}, 2);
  check({21, 1000, 384, true, GemmActivation::kRelu}, 2);
  check({130, 97, 97, false, GemmActivation::kNone, true, 2.0f}, 2);
}

}  // namespace
}  // namespace kestrel
