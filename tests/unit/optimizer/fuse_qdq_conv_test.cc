// fuse_qdq_conv: DequantizeLinear x2 (+ int32 bias) -> Conv [-> Relu] -> QuantizeLinear becomes QLinearConv.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_conv(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kXs = 0.02f, kYs = 0.05f;

// X -> Q/DQ -> Conv(DQ(w int8, per channel), DQ(bias int32)) [-> Relu] -> Q(kYs, yz) -> DQ -> Y.
std::string qdq_conv(bool relu, uint8_t yz, bool bias, bool quantized_weights = true) {
  ModelBuilder m;
  m.input("X", {1, 3, 9, 8});
  fake_quantize(m, "X", "xd", kXs, 128);
  const int64_t M = 5;
  std::vector<float> ws;
  for (int64_t i = 0; i < M; ++i) ws.push_back(0.003f + 0.001f * static_cast<float>(i));
  if (quantized_weights) {
    typed_initializer<int8_t>(m, "wq", {M, 3, 3, 3}, onnx::TensorProto::INT8, seeded_int8(M * 27, 1));
    m.initializer("ws", {M}, ws);
    typed_initializer<int8_t>(m, "wz", {M}, onnx::TensorProto::INT8, std::vector<int8_t>(M, 0));
    attr(m.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}), "axis", int64_t{0});
  } else {
    m.random_initializer("w", {M, 3, 3, 3});
  }
  std::vector<std::string> conv_in{"xd", "w"};
  if (bias) {
    std::vector<float> bs;
    for (float s : ws) bs.push_back(kXs * s);
    typed_initializer<int32_t>(m, "bq", {M}, onnx::TensorProto::INT32, {-300, 0, 1200, 77, -5000});
    m.initializer("bs", {M}, bs);
    attr(m.node("DequantizeLinear", {"bq", "bs"}, {"b"}), "axis", int64_t{0});
    conv_in.push_back("b");
  }
  auto& conv = m.node("Conv", conv_in, {"c"});
  attr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(conv, "strides", std::vector<int64_t>{2, 1});
  if (relu) m.node("Relu", {"c"}, {"r"});
  fake_quantize(m, relu ? "r" : "c", "Y", kYs, yz);
  m.output("Y");
  return m.bytes();
}

Feeds feeds() { return {{"X", Value(random_tensor({1, 3, 9, 8}, 5))}}; }

void expect_fused(const std::string& bytes, bool fused) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_conv(*model->graph), fused ? 1 : 0);
  EXPECT_EQ(count_ops(*model->graph, "QLinearConv"), fused ? 1 : 0);
  if (fused) {
    EXPECT_EQ(count_ops(*model->graph, "Conv"), 0);
    EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 1);  // the output's, for Y
    EXPECT_EQ(count_ops(*model->graph, "Relu"), 0);
  }
  // One quantization step at most (see the rule's comment).
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
}

TEST(FuseQdqConv, PerChannelWeightsWithBias) { expect_fused(qdq_conv(false, 100, true), true); }
TEST(FuseQdqConv, ReluAbsorbedAtLowestZeroPoint) { expect_fused(qdq_conv(true, 0, true), true); }
TEST(FuseQdqConv, WithoutBias) { expect_fused(qdq_conv(false, 128, false), true); }
TEST(FuseQdqConv, LeavesReluAboveLowestZeroPoint) { expect_fused(qdq_conv(true, 10, true), false); }
TEST(FuseQdqConv, LeavesFloatWeights) { expect_fused(qdq_conv(false, 100, false, false), false); }

}  // namespace
}  // namespace kestrel::optimizer_test
