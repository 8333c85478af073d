// constant_folding: nodes with only constant inputs become initializers; random ops and oversized results stay.
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int constant_folding(ir::Graph& graph);
}

namespace kestrel::optimizer_test {

TEST(ConstantFolding, FoldsTransposeOfWeightAndKeepsOutputs) {
  ModelBuilder m;
  m.input("X", {2, 3});
  m.random_initializer("W", {4, 3});
  attr(m.node("Transpose", {"W"}, {"Wt"}), "perm", std::vector<int64_t>{1, 0});
  m.node("MatMul", {"X", "Wt"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::constant_folding(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 0);
  const ir::Value* wt = model->graph->find("Wt");
  ASSERT_TRUE(wt && wt->initializer);
  EXPECT_EQ(wt->initializer->shape(), (Shape{3, 4}));
  // W[0][1] lands at Wt[1][0].
  const ir::Value* w = model->graph->find("W");
  if (w) {
    EXPECT_EQ(wt->initializer->data<float>()[1 * 4 + 0], w->initializer->data<float>()[0 * 3 + 1]);
  }
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 3}, 1))}}, GraphOptimizationLevel::kBasic);
}

TEST(ConstantFolding, LeavesRandomOpsAndLargeResults) {
  ModelBuilder m;
  m.input("X", {2});
  auto& r = m.node("RandomUniform", {}, {"R"});
  attr(r, "shape", std::vector<int64_t>{2});
  m.initializer_i64("big_shape", {1}, {1 << 20});
  m.node("ConstantOfShape", {"big_shape"}, {"Big"});  // 4 MB of zeros: over the cap
  m.node("ReduceSum", {"Big"}, {"S"});
  m.node("Add", {"X", "R"}, {"Y0"});
  m.node("Add", {"Y0", "S"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  optimizer::constant_folding(*model->graph);
  EXPECT_EQ(count_ops(*model->graph, "RandomUniform"), 1);
  EXPECT_EQ(count_ops(*model->graph, "ConstantOfShape"), 1);
}

TEST(ConstantFolding, ConstantNodeBecomesInitializer) {
  ModelBuilder m;
  m.input("X", {3});
  m.random_initializer("A", {3});
  m.node("Relu", {"A"}, {"RA"});
  m.node("Add", {"X", "RA"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::constant_folding(*model->graph), 1);
  const ir::Value* ra = model->graph->find("RA");
  ASSERT_TRUE(ra && ra->initializer);
  for (int i = 0; i < 3; ++i) EXPECT_GE(ra->initializer->data<float>()[i], 0.0f);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({3}, 2))}}, GraphOptimizationLevel::kBasic);
}

TEST(ConstantFolding, LargeConstantNodeBecomesInitializer) {
  // 512x640 floats (1.25 MiB) is over the cap for computed results, but a Constant's result is its attribute.
  ModelBuilder m;
  m.input("X", {2, 512});
  auto& c = m.node("Constant", {}, {"W"});
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(512);
  t->add_dims(640);
  for (int i = 0; i < 512 * 640; ++i) t->add_float_data(static_cast<float>(i % 97) / 97.0f - 0.5f);
  m.node("MatMul", {"X", "W"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::constant_folding(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "Constant"), 0);
  const ir::Value* w = model->graph->find("W");
  ASSERT_TRUE(w && w->initializer);
  EXPECT_EQ(w->initializer->shape(), (Shape{512, 640}));
  EXPECT_EQ(w->initializer->data<float>()[640 + 5], static_cast<float>((640 + 5) % 97) / 97.0f - 0.5f);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 512}, 3))}}, GraphOptimizationLevel::kBasic);
}

}  // namespace kestrel::optimizer_test
