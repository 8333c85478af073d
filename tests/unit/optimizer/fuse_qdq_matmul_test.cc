// fuse_qdq_matmul: DequantizeLinear x2 -> MatMul -> QuantizeLinear becomes QLinearMatMul.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_matmul(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kYs = 0.04f;

std::string qdq_matmul(bool per_column, bool runtime_b = false) {
  ModelBuilder m;
  m.input("X", {2, 5, 24});
  fake_quantize(m, "X", "xd", 0.02f, 120);
  if (runtime_b) {
    m.input("B", {24, 10});
    fake_quantize(m, "B", "b", 0.01f, 128);
  } else {
    typed_initializer<int8_t>(m, "bq", {24, 10}, onnx::TensorProto::INT8, seeded_int8(240, 2));
    if (per_column) {
      std::vector<float> bs;
      for (int i = 0; i < 10; ++i) bs.push_back(0.004f + 0.0005f * static_cast<float>(i));
      m.initializer("bs", {10}, bs);
      attr(m.node("DequantizeLinear", {"bq", "bs"}, {"b"}), "axis", int64_t{1});
    } else {
      m.initializer("bs", {}, {0.005f});
      m.node("DequantizeLinear", {"bq", "bs"}, {"b"});
    }
  }
  m.node("MatMul", {"xd", "b"}, {"p"});
  fake_quantize(m, "p", "Y", kYs, 128);
  m.output("Y");
  return m.bytes();
}

Feeds feeds(bool runtime_b = false) {
  Feeds f{{"X", Value(random_tensor({2, 5, 24}, 8))}};
  if (runtime_b) f.emplace_back("B", Value(random_tensor({24, 10}, 9, -1, 1)));
  return f;
}

TEST(FuseQdqMatMul, PerTensorWeights) {
  const std::string bytes = qdq_matmul(false);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_matmul(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "QLinearMatMul"), 1);
  EXPECT_EQ(count_ops(*model->graph, "MatMul"), 0);
  EXPECT_EQ(model->graph->nodes().size(), 3u);  // Q(X), QLinearMatMul, DQ(Y)
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
}

TEST(FuseQdqMatMul, PerColumnWeights) {
  const std::string bytes = qdq_matmul(true);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_matmul(*model->graph), 1);
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
}

TEST(FuseQdqMatMul, RuntimeQuantizedBAlsoFuses) {
  // B quantized at run time still gives a QLinearMatMul (run by the reference kernel: B is not constant).
  const std::string bytes = qdq_matmul(false, true);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_matmul(*model->graph), 1);
  expect_same_outputs(bytes, feeds(true), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
}

TEST(FuseQdqMatMul, LeavesProductReadTwice) {
  ModelBuilder m;
  m.input("X", {3, 24});
  fake_quantize(m, "X", "xd", 0.02f, 120);
  typed_initializer<int8_t>(m, "bq", {24, 10}, onnx::TensorProto::INT8, seeded_int8(240, 2));
  m.initializer("bs", {}, {0.005f});
  m.node("DequantizeLinear", {"bq", "bs"}, {"b"});
  m.node("MatMul", {"xd", "b"}, {"p"});
  fake_quantize(m, "p", "Y", kYs, 128);
  m.node("Relu", {"p"}, {"Z"});
  m.output("Y");
  m.output("Z");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_qdq_matmul(*model->graph), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
