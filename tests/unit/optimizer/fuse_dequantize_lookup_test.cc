// fuse_dequantize_lookup: a per-tensor DequantizeLinear and the one-input float activations after it (each
// read by the next alone) become one ai.kestrel QuantizedLookup with a float table, for uint8 and int8
// sources; a DequantizeLinear alone, one read twice, and per-axis ones stay.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_dequantize_lookup(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

// X -> QuantizeLinear (uint8 zero point 100, or int8 -7) -> DequantizeLinear (xd) -> body(xd) -> outputs.
std::string dequantized(const std::function<void(ModelBuilder&)>& body, bool int8 = false) {
  ModelBuilder m;
  m.input("X", {2, 3, 5, 7});
  m.initializer("xd_s", {}, {0.05f});
  if (int8)
    typed_initializer<int8_t>(m, "xd_z", {}, onnx::TensorProto::INT8, {-7});
  else
    typed_initializer<uint8_t>(m, "xd_z", {}, onnx::TensorProto::UINT8, {100});
  m.node("QuantizeLinear", {"X", "xd_s", "xd_z"}, {"xd_q"});
  m.node("DequantizeLinear", {"xd_q", "xd_s", "xd_z"}, {"xd"});
  body(m);
  return m.bytes();
}

Feeds feeds() { return {{"X", Value(random_tensor({2, 3, 5, 7}, 11, -6, 6))}}; }

void expect_lookups(const std::string& bytes, int fired) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_dequantize_lookup(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QuantizedLookup"), fired);
  // The table comes from the reference kernels; the session's fast activations may differ in a last bit.
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kAll, 1e-6f, 1e-7f);
}

TEST(FuseDequantizeLookup, SigmoidAfterDequantizeIsOneLookup) {
  const std::string bytes = dequantized([](ModelBuilder& m) {
    m.node("Sigmoid", {"xd"}, {"Y"});
    m.output("Y");
  });
  expect_lookups(bytes, 1);
  auto model = load(bytes);
  optimizer::fuse_dequantize_lookup(*model->graph);
  EXPECT_EQ(count_ops(*model->graph, "Sigmoid"), 0);
  EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 0);
}

TEST(FuseDequantizeLookup, Int8SourceAndAChain) {
  expect_lookups(dequantized(
                     [](ModelBuilder& m) {
                       m.node("Tanh", {"xd"}, {"t"});
                       m.node("Exp", {"t"}, {"Y"});
                       m.output("Y");
                     },
                     true),
                 1);
}

TEST(FuseDequantizeLookup, StopsAtAValueReadElsewhere) {
  // Sigmoid's output is a graph output too: DequantizeLinear -> Sigmoid become the lookup, Neg stays.
  const std::string bytes = dequantized([](ModelBuilder& m) {
    m.node("Sigmoid", {"xd"}, {"S"});
    m.node("Neg", {"S"}, {"Y"});
    m.output("S");
    m.output("Y");
  });
  expect_lookups(bytes, 1);
  auto model = load(bytes);
  optimizer::fuse_dequantize_lookup(*model->graph);
  EXPECT_EQ(count_ops(*model->graph, "Neg"), 1);
}

TEST(FuseDequantizeLookup, LeavesOtherDequantizations) {
  // Alone, read by two nodes, or followed by a two-input op: nothing to fuse.
  expect_lookups(dequantized([](ModelBuilder& m) {
                   m.node("Identity", {"xd"}, {"Y"});
                   m.output("Y");
                 }),
                 0);
  expect_lookups(dequantized([](ModelBuilder& m) {
                   m.node("Sigmoid", {"xd"}, {"Y"});
                   m.node("Relu", {"xd"}, {"Z"});
                   m.output("Y");
                   m.output("Z");
                 }),
                 0);
  expect_lookups(dequantized([](ModelBuilder& m) {
                   m.node("Add", {"xd", "xd"}, {"Y"});
                   m.output("Y");
                 }),
                 0);
}

TEST(FuseDequantizeLookup, LeavesPerAxisDequantization) {
  ModelBuilder m;
  m.input("X", {2, 3, 5, 7});
  m.initializer("s", {3}, {0.05f, 0.1f, 0.2f});
  typed_initializer<uint8_t>(m, "z", {3}, onnx::TensorProto::UINT8, {100, 90, 80});
  attr(m.node("QuantizeLinear", {"X", "s", "z"}, {"q"}), "axis", int64_t{1});
  attr(m.node("DequantizeLinear", {"q", "s", "z"}, {"d"}), "axis", int64_t{1});
  m.node("Sigmoid", {"d"}, {"Y"});
  m.output("Y");
  expect_lookups(m.bytes(), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
