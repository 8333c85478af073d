// fuse_qdq_binary: DequantizeLinear x2 -> Add|Mul -> QuantizeLinear becomes ai.kestrel QLinearAdd|QLinearMul
// with identical outputs; per-axis dequantization and an Add whose float result is wanted elsewhere stay.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_binary(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

// Q/DQ(X), Q/DQ(Z) -> op -> Q/DQ -> Y (Z broadcast as a squeeze-excitation scale when `se`).
std::string qdq_binary(const std::string& op, bool se, bool per_axis = false, bool float_output_too = false) {
  ModelBuilder m;
  m.input("X", {2, 4, 5, 3});
  m.input("Z", se ? std::vector<int64_t>{2, 4, 1, 1} : std::vector<int64_t>{2, 4, 5, 3});
  fake_quantize(m, "X", "xd", 0.03f, 120);
  if (per_axis) {
    m.initializer("z_s", {}, {0.02f});
    typed_initializer<uint8_t>(m, "z_z", {}, onnx::TensorProto::UINT8, {128});
    m.node("QuantizeLinear", {"Z", "z_s", "z_z"}, {"zq"});
    m.initializer("z_axis_s", {4}, {0.02f, 0.02f, 0.02f, 0.02f});
    typed_initializer<uint8_t>(m, "z_axis_z", {4}, onnx::TensorProto::UINT8, {128, 128, 128, 128});
    attr(m.node("DequantizeLinear", {"zq", "z_axis_s", "z_axis_z"}, {"zd"}), "axis", int64_t{1});
  } else {
    fake_quantize(m, "Z", "zd", 0.02f, 128);
  }
  m.node(op, {"xd", "zd"}, {"s"});
  fake_quantize(m, "s", "Y", 0.04f, 100);
  m.output("Y");
  if (float_output_too) m.output("s");
  return m.bytes();
}

void expect_fused(const std::string& bytes, int fired, const std::string& fused_op, bool se) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_binary(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:" + fused_op), fired);
  const Feeds feeds = {{"X", Value(random_tensor({2, 4, 5, 3}, 3, -4, 4))},
                       {"Z", Value(random_tensor(se ? Shape{2, 4, 1, 1} : Shape{2, 4, 5, 3}, 4, -2, 2))}};
  expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kExtended, 0, 0);  // the same float steps
}

TEST(FuseQdqBinary, ResidualAdd) { expect_fused(qdq_binary("Add", false), 1, "QLinearAdd", false); }
TEST(FuseQdqBinary, SqueezeExcitationMul) { expect_fused(qdq_binary("Mul", true), 1, "QLinearMul", true); }
TEST(FuseQdqBinary, LeavesPerAxisDequantize) {
  expect_fused(qdq_binary("Add", false, true), 0, "QLinearAdd", false);
}
TEST(FuseQdqBinary, LeavesFloatResultReadElsewhere) {
  expect_fused(qdq_binary("Mul", true, false, true), 0, "QLinearMul", true);
}

}  // namespace
}  // namespace kestrel::optimizer_test
