// PackedWeights (src/providers/cpu/dnnl/dnnl_common.h) packing weights that sit at addresses not aligned for
// their elements (views on a model file): slab by slab through an aligned buffer when the plain and the
// packed layouts share an outermost dimension, else through a whole aligned copy. Either way the packed
// weights must hold exactly what packing the same values from an aligned buffer gives, for blocked layouts
// whose outer dimension is not a whole number of blocks, several slabs with a partial last one, grouped and
// transposed weights, bf16 packing and oneDNN's Winograd layout.
#include "providers/cpu/dnnl/dnnl_common.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

namespace kestrel {
namespace {

namespace dn = cpu::dnnl_backend;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The packed weights read back into a plain f32 buffer of `plain`'s dims (row-major).
std::vector<float> unpack(const dnnl::memory& packed, const dnnl::memory::dims& dims) {
  const dnnl::memory::desc plain(dims, dt::f32, dn::plain_tag(dims.size()));
  std::vector<float> out(plain.get_size() / sizeof(float));
  dnnl::memory dst(plain, dn::engine(), out.data());
  dnnl::memory src = packed;
  dnnl::reorder(src, dst).execute(dn::thread_stream(), src, dst);
  dn::thread_stream().wait();
  return out;
}

// Packs `values` (laid out as `plain` says) into `want` from an aligned buffer and from buffers 1, 2 and 3
// bytes past alignment, at one and two threads; every packing must read back the same.
void expect_same_packing(const dnnl::memory::desc& plain, const std::vector<float>& values,
                         const dnnl::memory::desc& want, const dnnl::memory::dims& logical) {
  const size_t bytes = plain.get_size();
  ASSERT_EQ(bytes, values.size() * sizeof(float));
  dn::PackedWeights aligned(plain, values.data());
  const std::vector<float> expected = unpack(aligned.get(want), logical);
  std::vector<char> storage(bytes + 64);
  for (size_t shift : {1, 2, 3}) {
    // Large weights pack on a team of the calling thread's size: one thread and two.
    const int threads = static_cast<int>(shift % 2 + 1);
    dn::ThreadScope team(threads);
    SCOPED_TRACE("shift " + std::to_string(shift) + ", " + std::to_string(threads) + " thread(s)");
    char* base = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
    char* unaligned = base + shift;
    ASSERT_LE(unaligned + bytes, storage.data() + storage.size());
    std::memcpy(unaligned, values.data(), bytes);
    dn::PackedWeights packed(plain, unaligned);
    const std::vector<float> got = unpack(packed.get(want), logical);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << i;
  }
}

std::vector<float> pattern(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(static_cast<int>((i * 7919) % 2003) - 1001) / 97.0f;
  return v;
}

size_t count(const dnnl::memory::dims& dims) {
  size_t n = 1;
  for (auto d : dims) n *= static_cast<size_t>(d);
  return n;
}

// Conv weights OIhw into blocked layouts, output channels not a multiple of the block, one slab and many.
TEST(PackedWeightsUnaligned, BlockedConvWeights) {
  for (const dnnl::memory::dims& dims :
       {dnnl::memory::dims{37, 19, 3, 3}, dnnl::memory::dims{300, 64, 3, 3}, dnnl::memory::dims{1, 64, 3, 3},
        dnnl::memory::dims{1000, 512, 1, 1}})
    for (tag t : {tag::OIhw16i16o, tag::Ohwi16o, tag::OIhw16o16i, tag::IOhw16o16i, tag::hwio, tag::abcd}) {
      SCOPED_TRACE(std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + " tag " +
                   std::to_string(static_cast<int>(t)));
      const dnnl::memory::desc plain(dims, dt::f32, tag::oihw);
      expect_same_packing(plain, pattern(count(dims)), dnnl::memory::desc(dims, dt::f32, t), dims);
    }
}

// Grouped and depthwise weights (g, O/g, I/g, h, w), and bf16 packing.
TEST(PackedWeightsUnaligned, GroupedAndBf16) {
  const dnnl::memory::dims depthwise{144, 1, 1, 3, 3}, grouped{4, 24, 8, 3, 3};
  expect_same_packing(dnnl::memory::desc(depthwise, dt::f32, tag::goihw), pattern(count(depthwise)),
                      dnnl::memory::desc(depthwise, dt::f32, tag::Goihw16g), depthwise);
  expect_same_packing(dnnl::memory::desc(grouped, dt::f32, tag::goihw), pattern(count(grouped)),
                      dnnl::memory::desc(grouped, dt::f32, tag::gOIhw16i16o), grouped);
  const dnnl::memory::dims dims{300, 64, 3, 3};
  expect_same_packing(dnnl::memory::desc(dims, dt::f32, tag::oihw), pattern(count(dims)),
                      dnnl::memory::desc(dims, dt::bf16, tag::OIhw16i16o), dims);
}

// A MatMul/Gemm weight K x N given as B or as B transposed (strides {1, K}), into the layout oneDNN's matmul
// picks and into plain layouts.
TEST(PackedWeightsUnaligned, MatMulWeights) {
  for (int64_t K : {200, 1100})
    for (int64_t N : {1000, 77})
      for (bool transposed : {false, true}) {
        SCOPED_TRACE(std::to_string(K) + "x" + std::to_string(N) + (transposed ? " transposed" : ""));
        const dnnl::memory::dims strides = transposed ? dnnl::memory::dims{1, K} : dnnl::memory::dims{N, 1};
        const dnnl::memory::desc plain({K, N}, dt::f32, strides);
        const dnnl::matmul::desc md(dnnl::memory::desc({1, K}, dt::f32, tag::ab),
                                    dnnl::memory::desc({K, N}, dt::f32, tag::any),
                                    dnnl::memory::desc({1, N}, dt::f32, tag::ab));
        const dnnl::matmul::primitive_desc pd(md, dn::engine());
        const std::vector<float> values = pattern(static_cast<size_t>(K * N));
        for (const dnnl::memory::desc& want :
             {pd.weights_desc(), dnnl::memory::desc({K, N}, dt::f32, tag::ab),
              dnnl::memory::desc({K, N}, dt::f32, tag::ba)})
          expect_same_packing(plain, values, want, {K, N});
      }
}

// oneDNN's Winograd weights layout is not blocked (and cannot be read back): the F(4x4, 3x3) one is made by
// winograd_weights.h (tested against oneDNN there), others through one aligned copy; either way the
// convolution must compute the same output from aligned and unaligned weights.
TEST(PackedWeightsUnaligned, WinogradWeights) {
  const dnnl::memory::dims dims{64, 48, 3, 3}, x_dims{1, 48, 20, 20}, y_dims{1, 64, 20, 20};
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
      dnnl::memory::desc(x_dims, dt::f32, tag::nChw16c), dnnl::memory::desc(dims, dt::f32, tag::any),
      dnnl::memory::desc(y_dims, dt::f32, tag::nChw16c), {1, 1}, {1, 1}, {1, 1});
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  try {
    pd.emplace(desc, dn::engine());
  } catch (const dnnl::error&) {
    GTEST_SKIP() << "no Winograd convolution on this CPU";
  }
  const dnnl::convolution_forward conv(*pd);
  const dnnl::memory::desc plain(dims, dt::f32, tag::oihw);
  const std::vector<float> w = pattern(count(dims)), x = pattern(count(x_dims));
  dnnl::memory src(pd->src_desc(), dn::engine());
  {
    dnnl::memory user(dnnl::memory::desc(x_dims, dt::f32, tag::nchw), dn::engine(),
                      const_cast<float*>(x.data()));
    dnnl::reorder(user, src).execute(dn::thread_stream(), user, src);
  }
  auto output = [&](const dnnl::memory& weights) {
    dnnl::memory dst(pd->dst_desc(), dn::engine());
    conv.execute(dn::thread_stream(),
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    return unpack(dst, y_dims);
  };
  dn::PackedWeights aligned(plain, w.data());
  const std::vector<float> expected = output(aligned.get(pd->weights_desc()));
  std::vector<char> storage(plain.get_size() + 64);
  for (size_t shift : {1, 2, 3}) {
    char* unaligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64 + shift;
    std::memcpy(unaligned, w.data(), plain.get_size());
    dn::PackedWeights packed(plain, unaligned);
    const std::vector<float> got = output(packed.get(pd->weights_desc()));
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], expected[i]) << "shift " << shift << " at " << i;
  }
}

}  // namespace
}  // namespace kestrel
