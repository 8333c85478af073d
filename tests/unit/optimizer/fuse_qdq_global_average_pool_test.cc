// fuse_qdq_global_average_pool: DequantizeLinear -> GlobalAveragePool -> QuantizeLinear becomes ai.kestrel
// QLinearGlobalAveragePool, whose outputs are the float graph's within one quantization step; per-axis
// dequantization and a float mean wanted elsewhere stay (its channels-last form: layout_nhwc_test.cc).
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_global_average_pool(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kOutputScale = 0.01f;

// Q/DQ(X) -> GlobalAveragePool -> Q/DQ -> Y.
std::string qdq_pool(bool per_axis = false, bool float_output_too = false) {
  ModelBuilder m;
  m.input("X", {2, 3, 7, 5});
  if (per_axis) {
    m.initializer("x_s", {}, {0.03f});
    typed_initializer<uint8_t>(m, "x_z", {}, onnx::TensorProto::UINT8, {120});
    m.node("QuantizeLinear", {"X", "x_s", "x_z"}, {"xq"});
    m.initializer("x_axis_s", {3}, {0.03f, 0.03f, 0.03f});
    typed_initializer<uint8_t>(m, "x_axis_z", {3}, onnx::TensorProto::UINT8, {120, 120, 120});
    attr(m.node("DequantizeLinear", {"xq", "x_axis_s", "x_axis_z"}, {"xd"}), "axis", int64_t{1});
  } else {
    fake_quantize(m, "X", "xd", 0.03f, 120);
  }
  m.node("GlobalAveragePool", {"xd"}, {"p"});
  fake_quantize(m, "p", "Y", kOutputScale, 128);
  m.output("Y");
  if (float_output_too) m.output("p");
  return m.bytes();
}

void expect_fused(const std::string& bytes, int fired) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_global_average_pool(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QLinearGlobalAveragePool"), fired);
  const Feeds feeds = {{"X", Value(random_tensor({2, 3, 7, 5}, 3, -3, 3))}};
  // The exact integer sum against the graph's float one: at most one step apart.
  expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kExtended, 0, kOutputScale * 1.01f);
}

TEST(FuseQdqGlobalAveragePool, Fuses) { expect_fused(qdq_pool(), 1); }
TEST(FuseQdqGlobalAveragePool, LeavesPerAxisDequantize) { expect_fused(qdq_pool(true), 0); }
TEST(FuseQdqGlobalAveragePool, LeavesFloatMeanReadElsewhere) { expect_fused(qdq_pool(false, true), 0); }

}  // namespace
}  // namespace kestrel::optimizer_test
