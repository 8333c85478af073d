// fold_weight_dequantize: a DequantizeLinear of constants read by a float op becomes its float constant; one read
// by a Conv or MatMul (the QDQ fusions' anchors) stays.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fold_weight_dequantize(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

// X [3, 16] -> Gemm(transB) with W = DequantizeLinear(int8 [10, 16], per tensor or per row (axis 0), int8 zero
// points) and bias = DequantizeLinear(int32 [10], per tensor) -> Y. `zero_points`: W has nonzero zero points.
std::string qdq_gemm(bool per_row, bool zero_points) {
  ModelBuilder m;
  m.input("X", {3, 16});
  typed_initializer<int8_t>(m, "wq", {10, 16}, onnx::TensorProto::INT8, seeded_int8(160, 4));
  std::vector<std::string> w_inputs = {"wq", "ws"};
  if (per_row) {
    std::vector<float> s;
    for (int i = 0; i < 10; ++i) s.push_back(0.003f + 0.0007f * static_cast<float>(i));
    m.initializer("ws", {10}, s);
  } else {
    m.initializer("ws", {}, {0.006f});
  }
  if (zero_points) {
    std::vector<int8_t> z;
    for (int i = 0; i < (per_row ? 10 : 1); ++i) z.push_back(static_cast<int8_t>(i * 3 - 7));
    typed_initializer<int8_t>(m, "wz", per_row ? std::vector<int64_t>{10} : std::vector<int64_t>{},
                              onnx::TensorProto::INT8, z);
    w_inputs.push_back("wz");
  }
  attr(m.node("DequantizeLinear", w_inputs, {"w"}), "axis", int64_t{0});
  typed_initializer<int32_t>(m, "bq", {10}, onnx::TensorProto::INT32, {5, -3, 100, -250, 0, 7, 9, -1, 40, 2});
  m.initializer("bs", {}, {0.001f});
  m.node("DequantizeLinear", {"bq", "bs"}, {"b"});
  attr(m.node("Gemm", {"X", "w", "b"}, {"Y"}), "transB", int64_t{1});
  m.output("Y");
  return m.bytes();
}

}  // namespace

TEST(FoldWeightDequantize, GemmWeightsAndBiasBecomeFloatConstants) {
  for (bool per_row : {false, true}) {
    for (bool zero_points : {false, true}) {
      const std::string bytes = qdq_gemm(per_row, zero_points);
      auto model = load(bytes);
      EXPECT_EQ(optimizer::fold_weight_dequantize(*model->graph), 2);
      EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 0);
      const ir::Value* w = model->graph->find("w");
      ASSERT_NE(w, nullptr);
      ASSERT_NE(w->initializer, nullptr);
      EXPECT_EQ(w->initializer->type(), ElementType::kFloat);
      EXPECT_EQ(w->initializer->shape(), (Shape{10, 16}));
      expect_same_outputs(bytes, {{"X", Value(random_tensor({3, 16}, 11))}}, GraphOptimizationLevel::kExtended,
                          1e-5f, 1e-6f);
    }
  }
}

TEST(FoldWeightDequantize, LeavesWeightsOfConvAndMatMulToTheQdqFusions) {
  ModelBuilder m;
  m.input("X", {2, 16});
  typed_initializer<int8_t>(m, "wq", {16, 4}, onnx::TensorProto::INT8, seeded_int8(64, 5));
  m.initializer("ws", {}, {0.01f});
  m.node("DequantizeLinear", {"wq", "ws"}, {"w"});
  m.node("MatMul", {"X", "w"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fold_weight_dequantize(*model->graph), 0);
  EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 1);
}

TEST(FoldWeightDequantize, LeavesRuntimeInputsAndGraphOutputs) {
  ModelBuilder m;
  m.input("Xq", {4}, onnx::TensorProto::UINT8);
  m.initializer("s", {}, {0.5f});
  m.node("DequantizeLinear", {"Xq", "s"}, {"x"});
  typed_initializer<uint8_t>(m, "cq", {4}, onnx::TensorProto::UINT8, {1, 2, 3, 4});
  m.node("DequantizeLinear", {"cq", "s"}, {"C"});
  m.node("Add", {"x", "C"}, {"Y"});
  m.output("Y");
  m.output("C");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fold_weight_dequantize(*model->graph), 0);
  EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 2);
}

}  // namespace kestrel::optimizer_test
