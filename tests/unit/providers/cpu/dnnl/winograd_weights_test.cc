// Kestrel's F(4x4, 3x3) Winograd weights (src/providers/cpu/dnnl/winograd_weights.h) against oneDNN's reorder
// into the same layout: every value must agree (same transform matrix, same order of operations), for channel
// counts that are and are not multiples of oneDNN's blocks, from weights at aligned and unaligned addresses,
// on one thread and two. Also: the layouts it does not make are left to oneDNN.
#include "providers/cpu/dnnl/winograd_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "providers/cpu/dnnl/dnnl_common.h"

namespace kestrel {
namespace {

namespace dn = cpu::dnnl_backend;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The weights layout oneDNN's F(4x4, 3x3) kernel asks for, for O x I 3x3 weights; nullopt when this CPU has
// no such kernel for the shape.
std::optional<dnnl::memory::desc> winograd_layout(int64_t O, int64_t I) {
  const dnnl::memory::dims x{1, I, 20, 20}, y{1, O, 20, 20};
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
      dnnl::memory::desc(x, dt::f32, tag::nChw16c), dnnl::memory::desc({O, I, 3, 3}, dt::f32, tag::any),
      dnnl::memory::desc(y, dt::f32, tag::nChw16c), {1, 1}, {1, 1}, {1, 1});
  try {
    dnnl::convolution_forward::primitive_desc pd(desc, dn::engine());
    do {
      if (std::string(pd.impl_info_str()).find("wino_4x3") != std::string::npos) return pd.weights_desc();
    } while (pd.next_impl());
  } catch (const dnnl::error&) {
  }
  return std::nullopt;
}

std::vector<float> weights(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.37f) * 2.5f;
  return v;
}

TEST(WinogradWeights, SameValuesAsOneDnnReorder) {
  int tested = 0;
  for (const auto& [O, I] : std::vector<std::pair<int64_t, int64_t>>{
           {64, 64}, {128, 128}, {48, 80}, {40, 24}, {100, 36}, {256, 64}}) {
    SCOPED_TRACE(std::to_string(O) + "x" + std::to_string(I));
    const std::optional<dnnl::memory::desc> want = winograd_layout(O, I);
    if (!want) continue;
    const dnnl::memory::desc plain({O, I, 3, 3}, dt::f32, tag::oihw);
    ASSERT_TRUE(dn::makes_winograd_weights(plain, *want));
    ++tested;
    const std::vector<float> w = weights(static_cast<size_t>(O * I * 9));
    const size_t bytes = want->get_size();
    std::vector<char> expected(bytes, 0x7f);
    {
      dnnl::memory src(plain, dn::engine(), const_cast<float*>(w.data()));
      dnnl::memory dst(*want, dn::engine(), expected.data());
      dnnl::reorder(src, dst).execute(dn::thread_stream(), src, dst);
      dn::thread_stream().wait();
    }
    std::vector<char> storage(w.size() * sizeof(float) + 64);
    for (size_t shift : {0, 1, 2, 3}) {
      const int threads = static_cast<int>(shift % 2 + 1);
      SCOPED_TRACE("shift " + std::to_string(shift) + ", " + std::to_string(threads) + " thread(s)");
      char* source = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64 + shift;
      std::memcpy(source, w.data(), w.size() * sizeof(float));
      std::vector<char> got(bytes, 0x55);  // every byte must be written
      dn::make_winograd_weights(plain, source, *want, got.data(), threads);
      const auto* e = reinterpret_cast<const float*>(expected.data());
      const auto* g = reinterpret_cast<const float*>(got.data());
      for (size_t i = 0; i < bytes / sizeof(float); ++i)
        ASSERT_NEAR(g[i], e[i], 1e-6f * (1.0f + std::fabs(e[i]))) << "at " << i;
    }
  }
  if (tested == 0) GTEST_SKIP() << "no F(4x4, 3x3) Winograd convolution on this CPU";
}

TEST(WinogradWeights, OtherLayoutsAreLeftToOneDnn) {
  const dnnl::memory::desc plain({64, 64, 3, 3}, dt::f32, tag::oihw);
  EXPECT_FALSE(
      dn::makes_winograd_weights(plain, dnnl::memory::desc({64, 64, 3, 3}, dt::f32, tag::OIhw16i16o)));
  EXPECT_FALSE(dn::makes_winograd_weights(plain, plain));
  const std::optional<dnnl::memory::desc> want = winograd_layout(64, 64);
  if (!want) GTEST_SKIP() << "no F(4x4, 3x3) Winograd convolution on this CPU";
  // Weights given in another plain layout, or of another type, go through oneDNN's reorder.
  EXPECT_FALSE(dn::makes_winograd_weights(dnnl::memory::desc({64, 64, 3, 3}, dt::f32, tag::hwio), *want));
  EXPECT_FALSE(dn::makes_winograd_weights(dnnl::memory::desc({64, 64, 3, 3}, dt::bf16, tag::oihw), *want));
}

}  // namespace
}  // namespace kestrel
