// fuse_conv_output_affine: scalar Mul/Add after a FusedConv's activation become its activation_scale/shift.
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int fuse_conv_activation(ir::Graph& graph);
int fuse_conv_output_affine(ir::Graph& graph);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer_test {

namespace {
// Conv -> activation -> Mul(a) -> Add(b), as PaddleOCR writes its learnable hard swish.
std::string hardswish_affine_model(bool with_mul, bool with_add, bool scalar_left) {
  ModelBuilder m;
  m.input("X", {1, 3, 6, 6});
  m.random_initializer("W", {4, 3, 3, 3});
  m.random_initializer("B", {4});
  m.initializer("a", {1}, {0.8f});
  m.initializer("b", {}, {-0.2f});
  attr(m.node("Conv", {"X", "W", "B"}, {"c"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Sigmoid", {"c"}, {"h"});
  std::string cur = "h";
  if (with_mul) {
    m.node("Mul", scalar_left ? std::vector<std::string>{"a", cur} : std::vector<std::string>{cur, "a"},
           {"m"});
    cur = "m";
  }
  if (with_add) {
    m.node("Add", scalar_left ? std::vector<std::string>{"b", cur} : std::vector<std::string>{cur, "b"},
           {"s"});
    cur = "s";
  }
  m.node("Identity", {cur}, {"Y"});
  m.output("Y");
  return m.bytes();
}
}  // namespace

TEST(FuseConvOutputAffine, MulAddMulOnlyAddOnly) {
  struct Case {
    bool mul, add, left;
    float scale, shift;
  };
  for (const Case& c : {Case{true, true, false, 0.8f, -0.2f}, Case{true, false, true, 0.8f, 0.0f},
                        Case{false, true, true, 1.0f, -0.2f}}) {
    SCOPED_TRACE(std::string(c.mul ? "Mul " : "") + (c.add ? "Add " : "") + (c.left ? "left" : "right"));
    const std::string bytes = hardswish_affine_model(c.mul, c.add, c.left);
    auto model = load(bytes);
    ASSERT_EQ(optimizer::fuse_conv_activation(*model->graph), 1);
    EXPECT_EQ(optimizer::fuse_conv_output_affine(*model->graph), 1);
    ASSERT_EQ(model->graph->nodes().size(), 2u);  // FusedConv, Identity
    const ir::Node* n = model->graph->nodes()[0]->op_type == "FusedConv" ? model->graph->nodes()[0].get()
                                                                         : model->graph->nodes()[1].get();
    EXPECT_EQ(n->op_type, "FusedConv");
    EXPECT_EQ(n->attribute("activation")->s, "Sigmoid");
    EXPECT_FLOAT_EQ(n->attribute("activation_scale")->f, c.scale);
    EXPECT_FLOAT_EQ(n->attribute("activation_shift")->f, c.shift);
    for (auto level : {GraphOptimizationLevel::kExtended, GraphOptimizationLevel::kAll})
      expect_same_outputs(bytes, {{"X", Value(random_tensor({1, 3, 6, 6}, 31))}}, level);
  }
}

TEST(FuseConvOutputAffine, LeavesNonScalarAndSharedValues) {
  ModelBuilder m;
  m.input("X", {1, 3, 6, 6});
  m.random_initializer("W", {4, 3, 1, 1});
  m.random_initializer("v", {4, 1, 1});
  m.initializer("a", {1, 1, 1, 1, 1}, {2.0f});  // one element but rank 5: Mul's output would be 5-D
  m.node("Conv", {"X", "W"}, {"c"});
  m.node("Relu", {"c"}, {"r"});
  m.node("Mul", {"r", "v"}, {"Y"});  // per channel, not a scalar
  m.node("Conv", {"X", "W"}, {"d"});
  m.node("Relu", {"d"}, {"e"});
  m.node("Mul", {"e", "a"}, {"Y2"});
  m.node("Conv", {"X", "W"}, {"f"});
  m.node("Relu", {"f"}, {"g"});
  m.node("Add", {"g", "a"}, {"Y3"});
  m.output("Y");
  m.output("Y2");
  m.output("Y3");
  m.output("g");  // g is also a graph output
  auto model = load(m.bytes());
  ASSERT_EQ(optimizer::fuse_conv_activation(*model->graph), 3);
  EXPECT_EQ(optimizer::fuse_conv_output_affine(*model->graph), 0);
}

}  // namespace kestrel::optimizer_test
