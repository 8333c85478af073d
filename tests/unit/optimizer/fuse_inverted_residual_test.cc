// fuse_inverted_residual: at level 3 MobileNetV2's block (1x1 Conv, ReLU6, depthwise Conv, ReLU6, 1x1 Conv
// [+ residual Add]), once channels-last, becomes one ai.kestrel InvertedResidual whose outputs match the
// unfused graph's (level 0) at 1 to 4 threads, on odd heights and widths, with stride 2, with and without the
// residual; blocks whose intermediates are read elsewhere, or that use SiLU, are left alone.
#include "optimizer_test_util.h"

namespace kestrel::optimizer_test {
namespace {

struct Block {
  int64_t C = 16, H = 23, W = 19, E = 96, M = 16, stride = 1;
  bool residual = true;
  std::string expand_activation = "Clip";
  bool expanded_read_elsewhere = false;
};

ModelBuilder block_model(const Block& b) {
  ModelBuilder m;
  m.input("X", {1, b.C, b.H, b.W});
  m.random_initializer("W1", {b.E, b.C, 1, 1});
  m.random_initializer("B1", {b.E});
  m.random_initializer("W2", {b.E, 1, 3, 3});
  m.random_initializer("B2", {b.E});
  m.random_initializer("W3", {b.M, b.E, 1, 1}, -0.3f, 0.3f);
  m.random_initializer("B3", {b.M});
  m.initializer("zero", {}, {0.0f});
  m.initializer("six", {}, {6.0f});
  m.node("Conv", {"X", "W1", "B1"}, {"e"});
  if (b.expand_activation == "Clip") {
    m.node("Clip", {"e", "zero", "six"}, {"e6"});
  } else {  // SiLU as exporters write it
    m.node("Sigmoid", {"e"}, {"es"});
    m.node("Mul", {"e", "es"}, {"e6"});
  }
  auto& dw = m.node("Conv", {"e6", "W2", "B2"}, {"d"});
  attr(dw, "group", b.E);
  attr(dw, "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(dw, "strides", std::vector<int64_t>{b.stride, b.stride});
  m.node("Clip", {"d", "zero", "six"}, {"d6"});
  m.node("Conv", {"d6", "W3", "B3"}, {b.residual ? "p" : "Y"});
  if (b.residual) m.node("Add", {"p", "X"}, {"Y"});
  m.output("Y");
  if (b.expanded_read_elsewhere) {
    m.node("ReduceMean", {"e6"}, {"mean"});
    m.output("mean");
  }
  return m;
}

int fused_blocks(const std::string& bytes, int level) {
  auto model = load(bytes);
  optimizer::optimize(*model->graph, level);
  return count_ops(*model->graph, "ai.kestrel:InvertedResidual");
}

void expect_fused_and_same(const Block& b) {
  const std::string bytes = block_model(b).bytes();
  EXPECT_EQ(fused_blocks(bytes, 3), 1);
  const Feeds feeds = {{"X", Value(random_tensor({1, b.C, b.H, b.W}, 7))}};
  for (int threads : {1, 2, 3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kAll, 1e-4f, 1e-4f, threads);
  }
}

TEST(FuseInvertedResidual, BlockWithResidual) { expect_fused_and_same(Block{}); }

TEST(FuseInvertedResidual, StrideTwoBlockWithoutResidual) {
  expect_fused_and_same(Block{.C = 24, .H = 29, .W = 27, .E = 144, .M = 32, .stride = 2, .residual = false});
}

TEST(FuseInvertedResidual, SmallOddBlock) {  // 7x5: fewer rows than some teams' bands would want
  expect_fused_and_same(Block{.C = 8, .H = 7, .W = 5, .E = 48, .M = 8});
}

TEST(FuseInvertedResidual, Level2KeepsTheThreeConvolutions) {
  EXPECT_EQ(fused_blocks(block_model(Block{}).bytes(), 2), 0);
}

TEST(FuseInvertedResidual, ExpandedValueReadElsewhereIsNotFused) {
  const std::string bytes = block_model(Block{.expanded_read_elsewhere = true}).bytes();
  EXPECT_EQ(fused_blocks(bytes, 3), 0);
  expect_same_outputs(bytes, {{"X", Value(random_tensor({1, 16, 23, 19}, 7))}}, GraphOptimizationLevel::kAll);
}

TEST(FuseInvertedResidual, SiluBlockIsNotFused) {  // FusedConv runs SiLU as a pass of its own
  EXPECT_EQ(fused_blocks(block_model(Block{.expand_activation = "Silu"}).bytes(), 3), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
