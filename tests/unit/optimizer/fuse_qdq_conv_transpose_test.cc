// fuse_qdq_conv_transpose: DequantizeLinear x2 (+ int32 bias) -> ConvTranspose (stride = kernel) [-> Relu] ->
// QuantizeLinear becomes ai.kestrel QLinearConvTranspose; other ConvTransposes are left alone.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_conv_transpose(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kXs = 0.02f, kYs = 0.05f;
constexpr int64_t kC = 6, kM = 5;

struct Variant {
  bool relu = false;
  uint8_t yz = 100;
  bool bias = true;
  bool per_channel = true;
  std::vector<int64_t> strides = {2, 2};
  std::vector<int64_t> pads = {0, 0, 0, 0};
};

// X -> Q/DQ -> ConvTranspose(DQ(w int8 [C, M, 2, 2]), DQ(bias int32)) [-> Relu] -> Q(kYs, yz) -> DQ -> Y.
std::string qdq_conv_transpose(const Variant& v) {
  ModelBuilder m;
  m.input("X", {1, kC, 5, 7});
  fake_quantize(m, "X", "xd", kXs, 128);
  std::vector<float> ws;
  for (int64_t i = 0; i < kM; ++i) ws.push_back(0.003f + 0.001f * static_cast<float>(i));
  typed_initializer<int8_t>(m, "wq", {kC, kM, 2, 2}, onnx::TensorProto::INT8, seeded_int8(kC * kM * 4, 1));
  if (v.per_channel) {
    m.initializer("ws", {kM}, ws);
    typed_initializer<int8_t>(m, "wz", {kM}, onnx::TensorProto::INT8, std::vector<int8_t>(kM, 0));
    attr(m.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}), "axis", int64_t{1});
  } else {
    ws.assign(kM, ws[2]);
    m.initializer("ws", {}, {ws[0]});
    m.node("DequantizeLinear", {"wq", "ws"}, {"w"});
  }
  std::vector<std::string> conv_in{"xd", "w"};
  if (v.bias) {
    std::vector<float> bs;
    for (float s : ws) bs.push_back(kXs * s);
    typed_initializer<int32_t>(m, "bq", {kM}, onnx::TensorProto::INT32, {-300, 0, 1200, 77, -5000});
    m.initializer("bs", {kM}, bs);
    attr(m.node("DequantizeLinear", {"bq", "bs"}, {"b"}), "axis", int64_t{0});
    conv_in.push_back("b");
  }
  auto& conv = m.node("ConvTranspose", conv_in, {"c"});
  attr(conv, "strides", v.strides);
  attr(conv, "pads", v.pads);
  if (v.relu) m.node("Relu", {"c"}, {"r"});
  fake_quantize(m, v.relu ? "r" : "c", "Y", kYs, v.yz);
  m.output("Y");
  return m.bytes();
}

Feeds feeds() { return {{"X", Value(random_tensor({1, kC, 5, 7}, 5))}}; }

void expect_fused(const Variant& v, bool fused) {
  const std::string bytes = qdq_conv_transpose(v);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_conv_transpose(*model->graph), fused ? 1 : 0);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QLinearConvTranspose"), fused ? 1 : 0);
  if (fused) {
    EXPECT_EQ(count_ops(*model->graph, "ConvTranspose"), 0);
    EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 1);  // the output's, for Y
    EXPECT_EQ(count_ops(*model->graph, "Relu"), 0);
  }
  // One quantization step at most (see the rule's comment); the layout level makes it channels-last.
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kAll, 0, kYs * 1.001f);
}

TEST(FuseQdqConvTranspose, PerChannelWeightsWithBias) { expect_fused({}, true); }
TEST(FuseQdqConvTranspose, PerTensorWeightsWithoutBias) {
  Variant v;
  v.per_channel = false;
  v.bias = false;
  expect_fused(v, true);
}
TEST(FuseQdqConvTranspose, ReluAbsorbedAtLowestZeroPoint) {
  Variant v;
  v.relu = true;
  v.yz = 0;
  expect_fused(v, true);
}
TEST(FuseQdqConvTranspose, LeavesReluAboveLowestZeroPoint) {
  Variant v;
  v.relu = true;
  v.yz = 10;
  expect_fused(v, false);
}
TEST(FuseQdqConvTranspose, LeavesStrideOtherThanKernel) {
  Variant v;
  v.strides = {1, 1};
  expect_fused(v, false);
}
TEST(FuseQdqConvTranspose, LeavesPads) {
  Variant v;
  v.pads = {0, 1, 0, 1};
  expect_fused(v, false);
}

}  // namespace
}  // namespace kestrel::optimizer_test
