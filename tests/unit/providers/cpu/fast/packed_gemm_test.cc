// The packed AVX-512 GEMM (src/providers/cpu/kernels/fast/packed_gemm.cc) against a double-precision loop:
// row counts around the 8-row tile, column counts around the 16-float vector and the 48-column panel, K
// around the 256-deep block, bias and every activation, transposed B and alpha, B at any byte offset (packed
// from a model file's bytes), both ways of splitting the work over two threads, and packing on two threads.
#include "providers/cpu/kernels/fast/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/thread_scope.h"

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
  // B's floats start this many bytes into their buffer (a view on a model file's bytes need not be aligned).
  size_t b_byte_offset = 0;
};

// `b`'s floats copied `offset` bytes into a byte buffer.
std::vector<unsigned char> shifted_bytes(const std::vector<float>& b, size_t offset) {
  std::vector<unsigned char> bytes(offset + b.size() * sizeof(float));
  std::memcpy(bytes.data() + offset, b.data(), b.size() * sizeof(float));
  return bytes;
}

void check(const Case& c, int threads) {
  SCOPED_TRACE("M " + std::to_string(c.M) + " K " + std::to_string(c.K) + " N " + std::to_string(c.N) +
               " threads " + std::to_string(threads) + " B offset " + std::to_string(c.b_byte_offset));
  const std::vector<float> a = values(c.M * c.K, 1), b = values(c.K * c.N, 2), bias = values(c.N, 3);
  const std::vector<unsigned char> b_bytes = shifted_bytes(b, c.b_byte_offset);
  const PackedGemmWeights packed(b_bytes.data() + c.b_byte_offset, c.K, c.N, c.transposed, c.alpha);
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

TEST(PackedGemm, WeightsAtAnyByteOffset) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (size_t offset : {1, 2, 3})
    for (bool transposed : {false, true})
      check({9, 70, 53, true, GemmActivation::kNone, transposed, 0.5f, offset}, 1);
}

// Weights of 2 MiB and more are packed by the caller's OpenMP team: the same panels as one thread packs.
TEST(PackedGemm, PackingOnTwoThreadsMatchesOne) {
  if (!cpu::fast::packed_gemm_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  constexpr int64_t K = 1000, N = 610;  // 2.4 MB of floats, 13 panels, the last one partial
  const std::vector<unsigned char> b = shifted_bytes(values(K * N, 4), 1);
  for (bool transposed : {false, true}) {
    const PackedGemmWeights one = [&] {
      runtime::ThreadScope team(1);
      return PackedGemmWeights(b.data() + 1, K, N, transposed, 1.5f);
    }();
    const PackedGemmWeights two = [&] {
      runtime::ThreadScope team(2);
      return PackedGemmWeights(b.data() + 1, K, N, transposed, 1.5f);
    }();
    ASSERT_EQ(one.panels(), two.panels());
    for (int64_t p = 0; p < one.panels(); ++p)
      ASSERT_EQ(std::memcmp(one.panel(p), two.panel(p),
                            static_cast<size_t>(K * 16 * one.vectors(p)) * sizeof(float)),
                0)
          << "panel " << p << (transposed ? " (B transposed)" : "");
    check({5, K, N, true, GemmActivation::kNone, transposed, 1.5f, 1}, 2);
  }
}

}  // namespace
}  // namespace kestrel
