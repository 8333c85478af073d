// MatMul and ai.kestrel FusedMatMul on the packed AVX-512 GEMM (src/providers/cpu/kernels/fast/
// packed_mat_mul.h) against the reference kernels: linear layers with batched, 1-D, dynamic and high-rank A,
// transposed B with alpha, bias with every activation the kernel takes, shapes around its tiles, and the
// cases it declines (which the oneDNN kernel then runs).
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

Tensor matmul(const Shape& a, const Shape& b, bool dynamic = false, int opset = 13) {
  return compare_fast_with_reference(
      "MatMul", {{"A", pattern_tensor(a, 1), false, dynamic}, {"B", pattern_tensor(b, 2), true}}, nullptr,
      opset);
}

Tensor fused(const Shape& a, const Shape& b, const Shape& bias, bool trans_b, float alpha,
             const std::string& activation) {
  std::vector<NodeInput> in{{"A", pattern_tensor(a, 1)}, {"B", pattern_tensor(b, 2), true}};
  if (!bias.empty()) in.push_back({"bias", pattern_tensor(bias, 3), true});
  return compare_fast_with_reference(
      "FusedMatMul", in,
      [&](onnx::NodeProto& n) {
        if (trans_b) add_attr(n, "transB", int64_t{1});
        if (alpha != 1.0f) add_attr(n, "alpha", alpha);
        if (!activation.empty()) add_attr(n, "activation", activation);
      },
      13, 1e-4f, "ai.kestrel");
}

TEST(PackedMatMul, LinearLayers) {
  matmul({1, 13, 64}, {64, 50});
  matmul({2, 9, 257}, {257, 47});
  matmul({130, 33}, {33, 129});
}
TEST(PackedMatMul, EveryOpset) {
  for (int opset : {1, 9, 13}) matmul({5, 7}, {7, 17}, false, opset);
}
TEST(PackedMatMul, VectorA) { EXPECT_EQ(matmul({6}, {6, 5}).shape(), (Shape{5})); }
TEST(PackedMatMul, DynamicA) { matmul({3, 1, 17, 64}, {64, 129}, true); }
TEST(PackedMatMul, RankAboveEight) {
  EXPECT_EQ(matmul({1, 2, 1, 1, 1, 1, 1, 1, 3, 5}, {5, 4}).shape(), (Shape{1, 2, 1, 1, 1, 1, 1, 1, 3, 4}));
}
TEST(PackedMatMul, EmptyRows) { EXPECT_EQ(matmul({0, 7}, {7, 3}).shape(), (Shape{0, 3})); }
TEST(PackedMatMul, LargeEnoughForTwoThreads) { matmul({1, 128, 256}, {256, 200}); }
TEST(PackedMatMul, InnerMismatchIsAnError) {
  const std::vector<NodeInput> in{{"A", pattern_tensor({3, 4}, 1)}, {"B", pattern_tensor({5, 2}, 2), true}};
  const std::string bytes = testing::model_with_initializers("MatMul", in, nullptr, 13);
  EXPECT_THROW(testing::make_session(bytes, false, 1).run(testing::feeds_of(in)), Error);
}

TEST(PackedFusedMatMul, BiasAndEveryActivationTaken) {
  for (const char* act : {"", "Relu", "Gelu", "GeluTanh"}) {
    SCOPED_TRACE(std::string("activation ") + act);
    fused({2, 9, 40}, {40, 53}, {53}, false, 1.0f, act);
    fused({2, 9, 40}, {40, 53}, {}, false, 1.0f, act);
  }
}
TEST(PackedFusedMatMul, TransposedBAlpha) { fused({7, 300}, {33, 300}, {33}, true, 0.125f, "Gelu"); }
TEST(PackedFusedMatMul, BertFeedForward) { fused({1, 128, 64}, {64, 256}, {256}, false, 1.0f, "Gelu"); }
// Declined (a bias that broadcasts over rows, an activation without a register form): still right.
TEST(PackedFusedMatMul, DeclinedCases) {
  fused({2, 5, 24}, {24, 17}, {5, 1}, false, 1.0f, "");
  fused({5, 24}, {24, 17}, {17}, false, 1.0f, "Sigmoid");
}

}  // namespace
}  // namespace kestrel
