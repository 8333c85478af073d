// fuse_dynamic_quantize_matmul: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scales) [-> Add(bias)]
// becomes ai.kestrel:DynamicQuantizeMatMul.
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int fuse_dynamic_quantize_matmul(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

void int8_initializer(ModelBuilder& m, const std::string& name, const std::vector<int64_t>& dims, bool u8,
                      unsigned seed) {
  auto* t = m.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(u8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  std::mt19937 rng(seed);
  std::string raw(static_cast<size_t>(n), '\0');
  for (char& c : raw) c = static_cast<char>(rng() & 0xFF);
  t->set_raw_data(raw);
}

// One dynamically quantized linear layer X[.., K] -> Y[.., N] as a quantizer writes it.
struct Layer {
  bool per_column = false, bias = true, weight_zero_point = false, u8_weights = false;
  std::string input = "X", output = "Y", prefix = "l";
};

void add_layer(ModelBuilder& m, const Layer& l, int64_t K, int64_t N, const std::string& dql_prefix) {
  const std::string p = l.prefix;
  int8_initializer(m, p + "_W", {K, N}, l.u8_weights, 7);
  if (l.per_column)
    m.random_initializer(p + "_ws", {N}, 0.001f, 0.02f);
  else
    m.initializer(p + "_ws", {}, {0.01f});
  std::vector<std::string> mmi_in{dql_prefix + "_q", p + "_W", dql_prefix + "_z"};
  if (l.weight_zero_point) {
    int8_initializer(m, p + "_wz", {N}, l.u8_weights, 8);
    mmi_in.push_back(p + "_wz");
  }
  m.node("MatMulInteger", mmi_in, {p + "_acc"});
  attr(m.node("Cast", {p + "_acc"}, {p + "_accf"}), "to", int64_t{1});
  m.node("Mul", {dql_prefix + "_s", p + "_ws"}, {p + "_scale"});
  m.node("Mul", {p + "_accf", p + "_scale"}, {l.bias ? p + "_y" : l.output});
  if (l.bias) {
    m.random_initializer(p + "_b", {N});
    m.node("Add", {p + "_y", p + "_b"}, {l.output});
  }
}

std::string one_layer(const Layer& l, int64_t K = 24, int64_t N = 10) {
  ModelBuilder m;
  m.input("X", {-1, 5, K});
  m.node("DynamicQuantizeLinear", {"X"}, {"d_q", "d_s", "d_z"});
  add_layer(m, l, K, N, "d");
  m.output("Y");
  return m.bytes();
}

Feeds feeds(int64_t K = 24) { return {{"X", Value(random_tensor({2, 5, K}, 31))}}; }

TEST(FuseDynamicQuantizeMatMul, LayerWithBiasBecomesOneNode) {
  const std::string bytes = one_layer({});
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:DynamicQuantizeMatMul"), 1);
  EXPECT_EQ(model->graph->nodes().size(), 1u);
  EXPECT_EQ(model->graph->nodes().front()->inputs.size(), 5u);  // X, W, w_scale, (no zero point), bias
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, 0);
}

TEST(FuseDynamicQuantizeMatMul, PerColumnScalesZeroPointsU8Weights) {
  Layer l;
  l.per_column = true;
  l.weight_zero_point = true;
  l.u8_weights = true;
  const std::string bytes = one_layer(l);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 1);
  EXPECT_EQ(model->graph->nodes().size(), 1u);
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, 0);
}

TEST(FuseDynamicQuantizeMatMul, WithoutBias) {
  Layer l;
  l.bias = false;
  const std::string bytes = one_layer(l);
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 1);
  EXPECT_EQ(model->graph->nodes().front()->inputs.size(), 3u);
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, 0);
}

TEST(FuseDynamicQuantizeMatMul, SharedQuantizationOfThreeLayers) {
  ModelBuilder m;
  m.input("X", {-1, 5, 24});
  m.node("DynamicQuantizeLinear", {"X"}, {"d_q", "d_s", "d_z"});
  for (const char* p : {"q", "k", "v"}) {
    Layer l;
    l.prefix = p;
    l.output = std::string(p) + "_out";
    add_layer(m, l, 24, 8, "d");
    m.output(l.output);
  }
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 3);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:DynamicQuantizeMatMul"), 3);
  EXPECT_EQ(count_ops(*model->graph, "DynamicQuantizeLinear"), 0);
  EXPECT_EQ(model->graph->nodes().size(), 3u);
  expect_same_outputs(m.bytes(), feeds(), GraphOptimizationLevel::kExtended, 0, 0);
}

TEST(FuseDynamicQuantizeMatMul, LeavesRuntimeWeights) {
  ModelBuilder m;
  m.input("X", {2, 24});
  m.input("W", {24, 10}, onnx::TensorProto::INT8);
  m.initializer("ws", {}, {0.01f});
  m.node("DynamicQuantizeLinear", {"X"}, {"d_q", "d_s", "d_z"});
  m.node("MatMulInteger", {"d_q", "W", "d_z"}, {"acc"});
  attr(m.node("Cast", {"acc"}, {"accf"}), "to", int64_t{1});
  m.node("Mul", {"d_s", "ws"}, {"scale"});
  m.node("Mul", {"accf", "scale"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 0);
  EXPECT_EQ(model->graph->nodes().size(), 5u);
}

TEST(FuseDynamicQuantizeMatMul, LeavesAccumulatorReadElsewhere) {
  ModelBuilder m;
  m.input("X", {2, 24});
  m.node("DynamicQuantizeLinear", {"X"}, {"d_q", "d_s", "d_z"});
  int8_initializer(m, "W", {24, 10}, false, 3);
  m.initializer("ws", {}, {0.01f});
  m.node("MatMulInteger", {"d_q", "W", "d_z"}, {"acc"});
  attr(m.node("Cast", {"acc"}, {"accf"}), "to", int64_t{1});
  m.node("Mul", {"d_s", "ws"}, {"scale"});
  m.node("Mul", {"accf", "scale"}, {"Y"});
  m.output("Y");
  m.output("acc", onnx::TensorProto::INT32);
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test

namespace kestrel::optimizer_test {
namespace {

TEST(FuseDynamicQuantizeMatMul, ActivationJoins) {
  ModelBuilder m;
  m.input("X", {-1, 5, 24});
  m.node("DynamicQuantizeLinear", {"X"}, {"d_q", "d_s", "d_z"});
  Layer l;
  l.output = "h";
  add_layer(m, l, 24, 10, "d");
  m.node("Relu", {"h"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_dynamic_quantize_matmul(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 1u);
  const ir::Attribute* act = model->graph->nodes().front()->attribute("activation");
  ASSERT_NE(act, nullptr);
  EXPECT_EQ(act->s, "Relu");
  expect_same_outputs(m.bytes(), feeds(), GraphOptimizationLevel::kExtended, 0, 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
