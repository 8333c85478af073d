// fuse_qdq_gemm: DequantizeLinear [-> Flatten] and a dequantized constant -> Gemm with a float result becomes
// MatMulInteger -> Cast -> Mul -> Add, within float rounding of the float Gemm; other Gemms stay.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_gemm(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr int64_t kK = 37, kN = 11;  // odd sizes

struct GemmCase {
  bool trans_b = true;
  bool per_column = true;
  bool flatten = true;     // X [1, 37, 1, 1] -> Flatten -> Gemm; else X [3, 37]
  bool int32_bias = true;  // the bias as the QDQ quantizers write it: int32 behind a DequantizeLinear
  float alpha = 1.0f;
  bool int8_activation = false;
};

std::string qdq_gemm(const GemmCase& c) {
  ModelBuilder m;
  m.input("X", c.flatten ? std::vector<int64_t>{1, kK, 1, 1} : std::vector<int64_t>{3, kK});
  if (c.int8_activation) {
    m.initializer("xd_s", {}, {0.03f});
    typed_initializer<int8_t>(m, "xd_z", {}, onnx::TensorProto::INT8, {-9});
    m.node("QuantizeLinear", {"X", "xd_s", "xd_z"}, {"xd_q"});
    m.node("DequantizeLinear", {"xd_q", "xd_s", "xd_z"}, {"xd"});
  } else {
    fake_quantize(m, "X", "xd", 0.03f, 117);
  }
  std::string a = "xd";
  if (c.flatten) {
    m.node("Flatten", {"xd"}, {"flat"});
    a = "flat";
  }
  const std::vector<int64_t> b_dims = c.trans_b ? std::vector<int64_t>{kN, kK} : std::vector<int64_t>{kK, kN};
  typed_initializer<int8_t>(m, "bq", b_dims, onnx::TensorProto::INT8, seeded_int8(kK * kN, 4));
  std::vector<float> bs;
  for (int64_t i = 0; i < kN; ++i) bs.push_back(0.002f + 0.0003f * static_cast<float>(i));
  if (c.per_column) {
    m.initializer("bs", {kN}, bs);
    attr(m.node("DequantizeLinear", {"bq", "bs"}, {"b"}), "axis", int64_t{c.trans_b ? 0 : 1});
  } else {
    m.initializer("bs", {}, {bs[0]});
    m.node("DequantizeLinear", {"bq", "bs"}, {"b"});
  }
  if (c.int32_bias) {
    std::vector<int32_t> bias;
    for (int64_t i = 0; i < kN; ++i) bias.push_back(static_cast<int32_t>(i * 97 % 1000) - 500);
    typed_initializer<int32_t>(m, "cq", {kN}, onnx::TensorProto::INT32, bias);
    m.initializer("cs", {}, {0.03f * 0.002f});
    m.node("DequantizeLinear", {"cq", "cs"}, {"c"});
  } else {
    m.random_initializer("c", {kN});
  }
  auto& g = m.node("Gemm", {a, "b", "c"}, {"Y"});
  attr(g, "transB", int64_t{c.trans_b ? 1 : 0});
  if (c.alpha != 1.0f) attr(g, "alpha", c.alpha);
  m.output("Y");
  return m.bytes();
}

void expect_fused(const GemmCase& c, int fired) {
  const std::string bytes = qdq_gemm(c);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_gemm(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "MatMulInteger"), fired);
  EXPECT_EQ(count_ops(*model->graph, "Gemm"), 1 - fired);
  const Feeds feeds = {{"X", Value(random_tensor(c.flatten ? Shape{1, kK, 1, 1} : Shape{3, kK}, 6, -3, 3))}};
  // The exact integer sum, scaled once, against the float Gemm's rounded steps: float rounding only.
  expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kExtended, 1e-5f, 1e-6f);
}

TEST(FuseQdqGemm, ClassifierAfterFlatten) { expect_fused({}, 1); }
TEST(FuseQdqGemm, PerTensorWeightsNoTranspose) {
  expect_fused({.trans_b = false, .per_column = false, .flatten = false, .int32_bias = false}, 1);
}
TEST(FuseQdqGemm, PerColumnWeightsNoTranspose) { expect_fused({.trans_b = false, .flatten = false}, 1); }
TEST(FuseQdqGemm, Int8Activation) { expect_fused({.int8_activation = true}, 1); }
TEST(FuseQdqGemm, LeavesScaledGemm) { expect_fused({.alpha = 0.5f}, 0); }

}  // namespace
}  // namespace kestrel::optimizer_test
