// fuse_quantized_lookup: an elementwise computation between the QDQ nodes of one int8 tensor (SiLU with its
// Sigmoid quantized, HardSigmoid, a requantization) becomes one ai.kestrel QuantizedLookup; computations that
// read two tensors, or whose inner values are read elsewhere, stay.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_quantized_lookup(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kYs = 0.03f;

// X -> Q/DQ (xd) -> body(xd) -> Q(kYs) -> DQ -> Y.
std::string quantized(const std::function<std::string(ModelBuilder&)>& body, bool int8 = false) {
  ModelBuilder m;
  m.input("X", {2, 3, 5, 7});
  if (int8) {
    m.initializer("xd_s", {}, {0.05f});
    typed_initializer<int8_t>(m, "xd_z", {}, onnx::TensorProto::INT8, {-7});
    m.node("QuantizeLinear", {"X", "xd_s", "xd_z"}, {"xd_q"});
    m.node("DequantizeLinear", {"xd_q", "xd_s", "xd_z"}, {"xd"});
  } else {
    fake_quantize(m, "X", "xd", 0.05f, 100);
  }
  const std::string out = body(m);
  fake_quantize(m, out, "Y", kYs, 80);
  m.output("Y");
  return m.bytes();
}

std::string silu(ModelBuilder& m) {
  m.node("Sigmoid", {"xd"}, {"sig"});
  fake_quantize(m, "sig", "sigd", 1.0f / 255, 0);
  m.node("Mul", {"xd", "sigd"}, {"silu"});
  return "silu";
}

Feeds feeds() { return {{"X", Value(random_tensor({2, 3, 5, 7}, 11, -6, 6))}}; }

void expect_lookups(const std::string& bytes, int fired) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_quantized_lookup(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QuantizedLookup"), fired);
  // The table comes from the reference kernels; the session's fast Sigmoid may round a last bit otherwise,
  // which can move a value by one quantization step.
  expect_same_outputs(bytes, feeds(), GraphOptimizationLevel::kExtended, 0, kYs * 1.001f);
}

TEST(FuseQuantizedLookup, QuantizedSiluIsOneLookup) {
  const std::string bytes = quantized(silu);
  expect_lookups(bytes, 1);
  auto model = load(bytes);
  optimizer::fuse_quantized_lookup(*model->graph);
  EXPECT_EQ(count_ops(*model->graph, "Sigmoid"), 0);
  EXPECT_EQ(count_ops(*model->graph, "Mul"), 0);
  EXPECT_EQ(count_ops(*model->graph, "QuantizeLinear"), 1);    // X's
  EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 1);  // Y's
}

TEST(FuseQuantizedLookup, Int8SourceAndHardSigmoid) {
  expect_lookups(quantized(
                     [](ModelBuilder& m) {
                       attr(m.node("HardSigmoid", {"xd"}, {"hs"}), "alpha", 1.0f / 6);
                       return std::string("hs");
                     },
                     true),
                 1);
}

TEST(FuseQuantizedLookup, ScalarConstantsAndRequantization) {
  expect_lookups(quantized([](ModelBuilder& m) {
                   m.initializer("three", {}, {3.0f});
                   m.node("Add", {"xd", "three"}, {"a"});
                   m.node("Relu", {"a"}, {"r"});
                   return std::string("r");
                 }),
                 1);
  expect_lookups(quantized([](ModelBuilder&) { return std::string("xd"); }), 1);  // DQ -> Q: a requantization
}

// Hardswish as QDQ quantizers write it, its constants 3 and 6 dequantized from int8 too: x * q(x + 3) / 6.
TEST(FuseQuantizedLookup, QuantizedHardSwishWithDequantizedConstants) {
  const std::string bytes = quantized([](ModelBuilder& m) {
    for (const auto& [name, q] : std::vector<std::pair<std::string, int8_t>>{{"three", 127}, {"six", 127}}) {
      typed_initializer<int8_t>(m, name + "_q", {}, onnx::TensorProto::INT8, {q});
      m.initializer(name + "_s", {}, {name == "three" ? 3.0f / 127 : 6.0f / 127});
      typed_initializer<int8_t>(m, name + "_z", {}, onnx::TensorProto::INT8, {0});
      m.node("DequantizeLinear", {name + "_q", name + "_s", name + "_z"}, {name});
    }
    m.node("Add", {"xd", "three"}, {"a"});
    fake_quantize(m, "a", "ad", 6.0f / 255, 0);  // the Clip(0, 6), folded into the quantization
    m.node("Mul", {"xd", "ad"}, {"p"});
    fake_quantize(m, "p", "pd", 0.2f, 10);
    m.node("Div", {"pd", "six"}, {"hs"});
    return std::string("hs");
  });
  expect_lookups(bytes, 1);
  auto model = load(bytes);
  optimizer::fuse_quantized_lookup(*model->graph);
  EXPECT_EQ(
      count_ops(*model->graph, "Add") + count_ops(*model->graph, "Mul") + count_ops(*model->graph, "Div"), 0);
  EXPECT_EQ(count_ops(*model->graph, "DequantizeLinear"), 1);  // Y's
}

TEST(FuseQuantizedLookup, LeavesTwoTensorComputations) {
  expect_lookups(quantized([](ModelBuilder& m) {
                   fake_quantize(m, "X", "other", 0.07f, 3);
                   m.node("Mul", {"xd", "other"}, {"p"});
                   return std::string("p");
                 }),
                 0);
}

TEST(FuseQuantizedLookup, LeavesValuesReadElsewhere) {
  ModelBuilder m;
  m.input("X", {4, 6});
  fake_quantize(m, "X", "xd", 0.05f, 100);
  m.node("Sigmoid", {"xd"}, {"sig"});
  fake_quantize(m, "sig", "Y", kYs, 0);
  m.output("Y");
  m.output("sig");  // the float Sigmoid is wanted too
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_quantized_lookup(*model->graph), 0);
}

TEST(FuseQuantizedLookup, LeavesBroadcastingConstants) {
  expect_lookups(quantized([](ModelBuilder& m) {
                   m.random_initializer("per_channel", {3, 1, 1});
                   m.node("Mul", {"xd", "per_channel"}, {"p"});
                   return std::string("p");
                 }),
                 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
