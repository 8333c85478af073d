// eliminate_relu_before_quantize: Relu -> QuantizeLinear with the lowest zero point loses the Relu.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int eliminate_relu_before_quantize(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

std::string relu_quantize(uint8_t zp, bool relu_read_twice = false) {
  ModelBuilder m;
  m.input("X", {3, 7});
  m.node("Relu", {"X"}, {"r"});
  fake_quantize(m, "r", "Y", 0.03f, zp);
  m.output("Y");
  if (relu_read_twice) m.output("r");
  return m.bytes();
}

TEST(EliminateReluBeforeQuantize, RemovedAtZeroPointZero) {
  const std::string bytes = relu_quantize(0);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::eliminate_relu_before_quantize(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "Relu"), 0);
  expect_same_outputs(bytes, {{"X", Value(random_tensor({3, 7}, 4))}}, GraphOptimizationLevel::kExtended, 0, 0);
}

TEST(EliminateReluBeforeQuantize, KeptAboveLowestZeroPoint) {
  auto model = load(relu_quantize(5));
  EXPECT_EQ(optimizer::eliminate_relu_before_quantize(*model->graph), 0);
}

TEST(EliminateReluBeforeQuantize, KeptWhenReluIsReadElsewhere) {
  auto model = load(relu_quantize(0, true));
  EXPECT_EQ(optimizer::eliminate_relu_before_quantize(*model->graph), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
