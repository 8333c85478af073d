// The fast ReduceMean (src/providers/cpu/kernels/fast/reduce_mean.cc) against the reference on odd shapes:
// channels-last global pooling (axes H, W), last-axis means, runs that skip size-1 dims, keepdims 0, negative
// axes, axes as an input (opset 18), empty tensors, and axis sets it hands to the reference. Channel blocks
// of whole vectors (16 to 64 channels, and wider counts cut into such blocks) take register accumulators that
// sum even and odd rows apart: odd row counts, and the per-thread slices of rows at 2 threads, check that
// path.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

Tensor reduce_mean(const Shape& x, const std::vector<int64_t>& axes, int64_t keepdims = 1, int opset = 13) {
  std::vector<NodeInput> in{{"X", pattern_tensor(x, 1)}};
  if (opset >= 18) in.push_back({"axes", Tensor::from_vector<int64_t>(axes), true});
  return compare_fast_with_reference(
      "ReduceMean", in,
      [&](onnx::NodeProto& n) {
        if (opset < 18) add_attr(n, "axes", axes);
        add_attr(n, "keepdims", keepdims);
      },
      opset);
}

TEST(FastReduceMean, ChannelsLastGlobalPool) {
  const Tensor y = reduce_mean({2, 7, 5, 37}, {1, 2});
  EXPECT_EQ(y.shape(), (Shape{2, 1, 1, 37}));
}
TEST(FastReduceMean, WideChannelsThreaded) { reduce_mean({1, 56, 56, 144}, {1, 2}); }
TEST(FastReduceMean, FewChannelsSplitRows) { reduce_mean({1, 112, 112, 33}, {1, 2}); }
TEST(FastReduceMean, WholeVectorBlocks) {
  for (int64_t C : {16, 32, 48, 64, 80, 1152}) {
    SCOPED_TRACE("C " + std::to_string(C));
    reduce_mean({2, 9, 7, C}, {1, 2});  // 63 rows: one left after the pairs
  }
  reduce_mean({1, 61, 67, 48}, {1, 2});  // large enough to split the rows over 2 threads
  reduce_mean({1, 1, 1, 32}, {1, 2});    // a single row
}
TEST(FastReduceMean, LastAxis) { reduce_mean({3, 5, 129}, {-1}, 0); }
TEST(FastReduceMean, LeadingAxes) { reduce_mean({6, 5, 3}, {0, 1}); }
TEST(FastReduceMean, RunAcrossSizeOneDim) { reduce_mean({3, 1, 4, 5, 2}, {1, 2, 3}); }
TEST(FastReduceMean, SizeOneAxesOnly) { reduce_mean({3, 1, 5}, {1}, 0); }
TEST(FastReduceMean, AxesInputOpset18) { reduce_mean({2, 9, 3, 17}, {1, 2}, 1, 18); }
TEST(FastReduceMean, SplitAxesFallBack) { reduce_mean({2, 3, 4, 5}, {1, 3}); }
TEST(FastReduceMean, EmptyReductionFallsBack) { reduce_mean({2, 0, 3}, {1}); }
TEST(FastReduceMean, EmptyOutput) { reduce_mean({0, 4, 3}, {1}); }

}  // namespace
}  // namespace kestrel
