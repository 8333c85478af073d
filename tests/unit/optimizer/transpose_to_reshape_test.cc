// transpose_to_reshape: a Transpose that only moves dims of size 1 becomes a Reshape.
#include "optimizer/rewrite.h"
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int transpose_to_reshape(ir::Graph& graph);
}

namespace kestrel::optimizer_test {

TEST(TransposeToReshape, NhwcPooledBackToNchw) {
  ModelBuilder m;
  m.input("X", {1, 1, 1, 7});
  attr(m.node("Transpose", {"X"}, {"Y"}), "perm", std::vector<int64_t>{0, 3, 1, 2});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 1u);
  const ir::Node* reshape = model->graph->nodes()[0].get();
  EXPECT_EQ(reshape->op_type, "Reshape");
  EXPECT_EQ(reshape->inputs[0]->name, "X");
  EXPECT_EQ(reshape->outputs[0]->name, "Y");
  EXPECT_EQ(optimizer::ints_of(reshape->inputs[1]), (std::vector<int64_t>{1, 7, 1, 1}));
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 1, 1, 7}, 3))}},
                      GraphOptimizationLevel::kBasic);
}

TEST(TransposeToReshape, UnknownDimBecomesMinusOne) {
  // [d0, 1, 5, 1] -> perm (1, 0, 3, 2) -> [1, d0, 1, 5]: d0 and 5 keep their order.
  ModelBuilder m;
  m.input("X", {-1, 1, 5, 1});
  attr(m.node("Transpose", {"X"}, {"Y"}), "perm", std::vector<int64_t>{1, 0, 3, 2});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 1u);
  EXPECT_EQ(optimizer::ints_of(model->graph->nodes()[0]->inputs[1]), (std::vector<int64_t>{1, -1, 1, 5}));
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({3, 1, 5, 1}, 4))}},
                      GraphOptimizationLevel::kBasic);
}

TEST(TransposeToReshape, DefaultPermReversesSingleDim) {
  ModelBuilder m;
  m.input("X", {1, 9});
  m.node("Transpose", {"X"}, {"Y"});  // no perm: reverse
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "Reshape"), 1);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 9}, 5))}}, GraphOptimizationLevel::kBasic);
}

TEST(TransposeToReshape, KeepsTransposesThatMoveData) {
  // Two dims other than 1 change order.
  ModelBuilder m;
  m.input("X", {1, 3, 1, 4});
  attr(m.node("Transpose", {"X"}, {"Y"}), "perm", std::vector<int64_t>{0, 3, 2, 1});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 0);
  // Unknown rank.
  ModelBuilder r;
  r.input("X", {1, 1});
  r.node("Relu", {"X"}, {"h"});
  auto* gi = r.graph().mutable_input(0)->mutable_type()->mutable_tensor_type();
  gi->clear_shape();
  attr(r.node("Transpose", {"h"}, {"Y"}), "perm", std::vector<int64_t>{1, 0});
  r.output("Y");
  auto no_rank = load(r.bytes());
  EXPECT_EQ(optimizer::transpose_to_reshape(*no_rank->graph), 0);
}

TEST(TransposeToReshape, UnknownDimsBecomeSqueezeAndUnsqueeze) {
  // [N, H, W, 1] back to NCHW with N, H, W unknown: no Reshape target can be written.
  for (int opset : {11, 13}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    ModelBuilder m(opset);
    m.input("X", {-1, -1, -1, 1});
    attr(m.node("Transpose", {"X"}, {"t"}), "perm", std::vector<int64_t>{0, 3, 1, 2});
    m.node("Sigmoid", {"t"}, {"Y"});
    m.output("Y");
    auto model = load(m.bytes());
    EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 1);
    EXPECT_EQ(count_ops(*model->graph, "Transpose"), 0);
    EXPECT_EQ(count_ops(*model->graph, "Squeeze"), 1);
    EXPECT_EQ(count_ops(*model->graph, "Unsqueeze"), 1);
    expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 3, 5, 1}, 4))}}, GraphOptimizationLevel::kBasic);
  }
}

TEST(TransposeToReshape, FoldsIntoFlatten) {
  // [d0, 1, 1, 6] -> perm (0, 3, 1, 2) -> [d0, 6, 1, 1] -> Flatten(axis) for every axis, negative ones too.
  for (int64_t axis : {0, 1, 2, 3, 4, -1, -3}) {
    ModelBuilder m;
    m.input("X", {-1, 1, 1, 6});
    attr(m.node("Transpose", {"X"}, {"t"}), "perm", std::vector<int64_t>{0, 3, 1, 2});
    attr(m.node("Flatten", {"t"}, {"Y"}), "axis", axis);
    m.output("Y");
    auto model = load(m.bytes());
    EXPECT_EQ(optimizer::transpose_to_reshape(*model->graph), 1) << axis;
    ASSERT_EQ(model->graph->nodes().size(), 1u) << axis;
    EXPECT_EQ(model->graph->nodes()[0]->op_type, "Flatten");
    EXPECT_EQ(model->graph->nodes()[0]->inputs[0]->name, "X");
    expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 1, 1, 6}, 7))}},
                        GraphOptimizationLevel::kBasic);
  }
}

TEST(TransposeToReshape, GlobalPoolingHeadHasNoTransposeLeft) {
  // Conv -> GlobalAveragePool -> Flatten -> Gemm: the layout pass leaves a Transpose after the pooling, which
  // becomes a Reshape and merges with the Flatten.
  ModelBuilder m;
  m.input("X", {-1, 3, 9, 7});
  m.random_initializer("W", {5, 3, 3, 3});
  m.random_initializer("B", {5});
  m.node("Conv", {"X", "W", "B"}, {"c"});
  m.node("Relu", {"c"}, {"r"});
  m.node("GlobalAveragePool", {"r"}, {"p"});
  m.node("Flatten", {"p"}, {"f"});
  m.random_initializer("G", {4, 5});
  m.random_initializer("GB", {4});
  auto& gemm = m.node("Gemm", {"f", "G", "GB"}, {"Y"});
  attr(gemm, "transB", int64_t{1});
  m.output("Y");
  auto model = load(m.bytes());
  optimizer::optimize(*model->graph, 99);
  // One Transpose into NHWC at the graph input, none after the pooling: the Flatten reads the pooled NHWC
  // value.
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 1);
  EXPECT_EQ(count_ops(*model->graph, "Flatten"), 1);
  EXPECT_EQ(count_ops(*model->graph, "Reshape"), 0);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 3, 9, 7}, 6))}},
                      GraphOptimizationLevel::kAll);
}

}  // namespace kestrel::optimizer_test
