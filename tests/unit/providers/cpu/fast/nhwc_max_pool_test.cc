// The fast NhwcMaxPool (src/providers/cpu/kernels/fast/nhwc_max_pool.cc) against the reference: channel
// counts around the 64-channel register block (1, 3, 63, 64, 65, 130), strides, asymmetric and deep pads,
// dilations, ceil_mode, auto_pad, batches, NaNs inside windows, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

struct NhwcPoolCase {
  Shape x;  // N, H, W, C
  std::vector<int64_t> kernel, strides, pads, dilations;
  int64_t ceil_mode;
  std::string auto_pad;
};

Tensor pool(const Tensor& x, const NhwcPoolCase& c) {
  return testing::compare_fast_with_reference(
      "NhwcMaxPool", {{"X", x}},
      [&](onnx::NodeProto& n) {
        testing::add_attr(n, "kernel_shape", c.kernel);
        if (!c.strides.empty()) testing::add_attr(n, "strides", c.strides);
        if (!c.pads.empty()) testing::add_attr(n, "pads", c.pads);
        if (!c.dilations.empty()) testing::add_attr(n, "dilations", c.dilations);
        if (c.ceil_mode) testing::add_attr(n, "ceil_mode", c.ceil_mode);
        if (!c.auto_pad.empty()) testing::add_attr(n, "auto_pad", c.auto_pad);
      },
      13, 0.0f, "ai.kestrel");
}

TEST(FastNhwcMaxPool, WindowsPadsStridesCeilDilations) {
  const std::vector<NhwcPoolCase> cases{
      {{1, 13, 13, 64}, {3, 3}, {2, 2}, {}, {}, 1, ""},                // squeezenet's pools
      {{1, 15, 15, 65}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, ""},      // resnet's, one channel past the block
      {{2, 9, 11, 63}, {3, 2}, {1, 2}, {1, 0, 2, 1}, {}, 0, ""},       // asymmetric pads
      {{1, 10, 9, 130}, {2, 3}, {2, 1}, {1, 1, 1, 1}, {2, 2}, 1, ""},  // dilations with ceil
      {{1, 8, 7, 3}, {3, 3}, {2, 2}, {}, {}, 0, "SAME_UPPER"},
      {{3, 7, 5, 1}, {2, 2}, {1, 1}, {}, {}, 0, "SAME_LOWER"},
      {{1, 1, 1, 1}, {1, 1}, {}, {}, {}, 0, ""},
      {{1, 6, 6, 17}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {}, 0, ""},  // windows wholly in the padding: -inf
      {{1, 41, 37, 96}, {3, 3}, {2, 2}, {}, {}, 1, ""},          // large enough to split over threads
  };
  for (const NhwcPoolCase& c : cases) {
    SCOPED_TRACE(shape_to_string(c.x) + " kernel " + shape_to_string(c.kernel));
    pool(testing::pattern_tensor(c.x, 1), c);
  }
}

TEST(FastNhwcMaxPool, NaNFollowsTheReferenceOrder) {
  // A NaN that starts a window propagates; one met later is skipped (only a strictly greater value replaces).
  Tensor x = testing::pattern_tensor({1, 9, 9, 70}, 2);
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.size(); i += 13) p[i] = NAN;
  pool(x, {{1, 9, 9, 70}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, ""});
}

TEST(FastNhwcMaxPool, EmptyBatch) {
  pool(Tensor(ElementType::kFloat, {0, 5, 5, 8}), {{0, 5, 5, 8}, {2, 2}, {2, 2}, {}, {}, 0, ""});
}

}  // namespace
}  // namespace kestrel
