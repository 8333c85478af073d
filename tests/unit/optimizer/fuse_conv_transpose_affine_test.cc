// fuse_conv_transpose_affine: per-channel constant Add/Mul and BatchNormalization after a ConvTranspose go
// into its weights and bias (groups included).
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int fuse_conv_transpose_affine(ir::Graph& graph);
}

namespace kestrel::optimizer_test {

namespace {
// X [1, 4, 5, 5] -> ConvTranspose(W [4, Mg, 2, 2], group) -> Add(bias [1, M, 1, 1]) -> Mul(s [M, 1, 1]) -> BN
// -> Y
std::string ct_chain_model(int64_t group, bool with_b) {
  const int64_t Mg = 3, M = Mg * group;
  ModelBuilder m;
  m.input("X", {1, 4, 5, 5});
  m.random_initializer("W", {4, Mg, 2, 2});
  if (with_b) m.random_initializer("B", {M});
  m.random_initializer("b", {1, M, 1, 1});
  m.random_initializer("s", {M, 1, 1});
  m.random_initializer("scale", {M}, 0.5f, 1.5f);
  m.random_initializer("bias", {M});
  m.random_initializer("mean", {M});
  m.random_initializer("var", {M}, 0.1f, 2.0f);
  auto& ct =
      m.node("ConvTranspose",
             with_b ? std::vector<std::string>{"X", "W", "B"} : std::vector<std::string>{"X", "W"}, {"c"});
  attr(ct, "strides", std::vector<int64_t>{2, 2});
  attr(ct, "pads", std::vector<int64_t>{0, 1, 1, 0});
  if (group != 1) attr(ct, "group", group);
  m.node("Add", {"c", "b"}, {"d"});
  m.node("Mul", {"s", "d"}, {"e"});
  attr(m.node("BatchNormalization", {"e", "scale", "bias", "mean", "var"}, {"Y"}), "epsilon", 1e-3f);
  m.output("Y");
  return m.bytes();
}
}  // namespace

TEST(FuseConvTransposeAffine, FoldsAddMulBatchNormWithGroupsAndBias) {
  for (int64_t group : {1, 2}) {
    for (bool with_b : {false, true}) {
      SCOPED_TRACE("group " + std::to_string(group) + (with_b ? " with B" : " without B"));
      const std::string bytes = ct_chain_model(group, with_b);
      auto model = load(bytes);
      EXPECT_EQ(optimizer::fuse_conv_transpose_affine(*model->graph), 3);
      ASSERT_EQ(model->graph->nodes().size(), 1u);
      EXPECT_EQ(model->graph->nodes()[0]->op_type, "ConvTranspose");
      EXPECT_EQ(model->graph->nodes()[0]->outputs[0]->name, "Y");
      expect_same_outputs(bytes, {{"X", Value(random_tensor({1, 4, 5, 5}, 13))}},
                          GraphOptimizationLevel::kBasic);
    }
  }
}

TEST(FuseConvTransposeAffine, LeavesSpatialConstantAndSharedOutput) {
  ModelBuilder m;
  m.input("X", {1, 2, 3, 3});
  m.random_initializer("W", {2, 3, 2, 2});
  m.random_initializer("s", {1, 1, 4, 4});
  m.random_initializer("t", {3, 1, 1});
  m.node("ConvTranspose", {"X", "W"}, {"c"});
  m.node("Mul", {"c", "s"}, {"Y"});  // varies over space: not a channel affine
  m.node("ConvTranspose", {"X", "W"}, {"c2"});
  m.node("Add", {"c2", "t"}, {"Y2"});
  m.node("Relu", {"c2"}, {"Y3"});  // c2 has a second reader
  m.output("Y");
  m.output("Y2");
  m.output("Y3");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_conv_transpose_affine(*model->graph), 0);
}

TEST(FuseConvTransposeAffine, LeavesWeightsGivenAtRunTime) {
  ModelBuilder m;
  m.input("X", {1, 2, 3, 3});
  m.input("W", {2, 3, 2, 2});
  m.random_initializer("t", {3, 1, 1});
  m.node("ConvTranspose", {"X", "W"}, {"c"});
  m.node("Add", {"c", "t"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_conv_transpose_affine(*model->graph), 0);
}

}  // namespace kestrel::optimizer_test
