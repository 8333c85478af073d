// int8_activations_to_uint8: int8 activations between quantized ops become uint8 with their zero points moved
// by 128, through byte-moving ops, lookups and the QLinear ops; graph outputs, unknown readers and run-time
// zero points hold a value (and everything tied to it) back. Each rewrite is checked bit for bit: the model
// as given and as rewritten both run on the reference kernels (level 0) and every output must be identical
// (the rule keeps every result but a QLinearConv's whose float sum lies within rounding of a half-integer;
// none of these seeded inputs does).
#include <cstring>

#include "onnx/writer.h"
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int int8_activations_to_uint8(ir::Graph& graph);
int fuse_lookup_into_conv(ir::Graph& graph);
int layout_nhwc(ir::Graph& graph);
void propagate_shapes(ir::Graph& graph);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer_test {
namespace {

constexpr int kInt8 = onnx::TensorProto::INT8;

// x (float) -> QuantizeLinear(scale, int8 zero point) -> out (int8).
void quantize_s8(ModelBuilder& m, const std::string& x, const std::string& out, float scale, int8_t zp) {
  m.initializer(out + "_s", {}, {scale});
  typed_initializer<int8_t>(m, out + "_z", {}, kInt8, {zp});
  m.node("QuantizeLinear", {x, out + "_s", out + "_z"}, {out});
}

// x (int8, scale x + "_s", zero point x + "_z") -> QLinearConv with seeded int8 weights [out_c, c/group, k,
// k], a bias and padding k/2 -> out (int8, zero point `zp`).
void q_linear_conv(ModelBuilder& m, const std::string& x, const std::string& out, int64_t c, int64_t out_c,
                   int64_t k, int8_t zp, int64_t group = 1) {
  typed_initializer<int8_t>(m, out + "_w", {out_c, c / group, k, k}, kInt8,
                            seeded_int8(out_c * (c / group) * k * k, static_cast<unsigned>(out_c * 31 + k)));
  m.initializer(out + "_ws", {}, {0.01f});
  typed_initializer<int8_t>(m, out + "_wz", {}, kInt8, {0});
  std::vector<int32_t> bias(static_cast<size_t>(out_c));
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<int32_t>(i * 37 % 200) - 100;
  typed_initializer<int32_t>(m, out + "_b", {out_c}, onnx::TensorProto::INT32, bias);
  m.initializer(out + "_s", {}, {0.08f});
  typed_initializer<int8_t>(m, out + "_z", {}, kInt8, {zp});
  auto& n = m.node(
      "QLinearConv",
      {x, x + "_s", x + "_z", out + "_w", out + "_ws", out + "_wz", out + "_s", out + "_z", out + "_b"},
      {out});
  const int64_t p = k / 2;
  attr(n, "pads", std::vector<int64_t>{p, p, p, p});
  attr(n, "group", group);
}

// x (int8) -> DequantizeLinear with x's own parameters -> out (float).
void dequantize(ModelBuilder& m, const std::string& x, const std::string& out) {
  m.node("DequantizeLinear", {x, x + "_s", x + "_z"}, {out});
}

int int8_values(const ir::Graph& g) {
  int n = 0;
  for (const auto& v : g.values())
    if (v->producer && v->type.element_type == ElementType::kInt8) ++n;
  return n;
}

Feeds feeds(const Shape& shape) { return {{"X", Value(random_tensor(shape, 5, -4, 4))}}; }

// Applies the rule to `bytes` (first optimized at `level` when > 0), expecting it to move `moved` values and
// leave `left` int8 ones, and checks the rewritten model's outputs against the model before the rule, bit for
// bit.
void expect_moved(const std::string& bytes, const Shape& x_shape, int level, int moved, int left) {
  auto model = load(bytes);
  if (level > 0) optimizer::optimize(*model->graph, level);
  optimizer::propagate_shapes(*model->graph);  // as the optimizer does before each round
  const std::string before = onnx_format::serialize_model(*model);
  EXPECT_EQ(optimizer::int8_activations_to_uint8(*model->graph), moved);
  EXPECT_EQ(int8_values(*model->graph), left);
  const std::string after = onnx_format::serialize_model(*model);
  const auto a = run(before, feeds(x_shape), GraphOptimizationLevel::kDisableAll);
  const auto b = run(after, feeds(x_shape), GraphOptimizationLevel::kDisableAll);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const Tensor& x = a[k].tensor();
    const Tensor& y = b[k].tensor();
    ASSERT_EQ(x.type(), y.type()) << "output " << k;
    ASSERT_EQ(x.shape(), y.shape()) << "output " << k;
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.bytes()), 0) << "output " << k;
  }
}

// X -> Q -> QLinearConv -> two MaxPools (one padded) -> Concat -> depthwise QLinearConv -> QLinearConv -> DQ
// -> Y: all seven int8 values become uint8.
std::string conv_chain(bool int8_output = false) {
  ModelBuilder m(13);
  m.input("X", {1, 5, 7, 6});
  quantize_s8(m, "X", "q", 0.05f, -3);
  q_linear_conv(m, "q", "c1", 5, 4, 3, 7);
  auto& pool = m.node("MaxPool", {"c1"}, {"p"});
  attr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
  auto& pool2 = m.node("MaxPool", {"c1"}, {"p2"});
  attr(pool2, "kernel_shape", std::vector<int64_t>{3, 3});
  attr(pool2, "pads", std::vector<int64_t>{1, 1, 0, 0});
  attr(m.node("Concat", {"p", "p2"}, {"cat"}), "axis", int64_t{0});  // [2, 4, 6, 5]
  m.initializer("cat_s", {}, {0.08f});
  typed_initializer<int8_t>(m, "cat_z", {}, kInt8, {7});
  q_linear_conv(m, "cat", "dw", 4, 4, 3, -20, 4);
  q_linear_conv(m, "dw", "c2", 4, 3, 1, 11);
  dequantize(m, "c2", "Y");
  m.output("Y");
  if (int8_output) m.output("c2", kInt8);
  return m.bytes();
}

TEST(Int8ActivationsToUint8, ConvChainThroughByteMovingOps) {
  expect_moved(conv_chain(), {1, 5, 7, 6}, 0, 7, 0);
}

TEST(Int8ActivationsToUint8, WholeOptimizerLeavesNoInt8Activation) {
  // At level 3 the MaxPools run channels-last (ai.kestrel NhwcMaxPool) between channels-last convolutions.
  const std::string bytes = conv_chain();
  auto model = load(bytes);
  optimizer::optimize(*model->graph, 3);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:NhwcMaxPool"), 2);
  EXPECT_EQ(int8_values(*model->graph), 0);
  expect_same_outputs(bytes, feeds({1, 5, 7, 6}), GraphOptimizationLevel::kLayout, 0, 0);
}

TEST(Int8ActivationsToUint8, GraphOutputHoldsItsGroupBack) {
  // c2 is a graph output: it stays int8 (and its readers keep its zero point); the rest moves.
  expect_moved(conv_chain(true), {1, 5, 7, 6}, 0, 6, 1);
}

TEST(Int8ActivationsToUint8, UnknownReaderHoldsItsGroupBack) {
  // q is read by a Cast as well: q stays int8, and so does the Concat group it joins through Identity.
  ModelBuilder m(13);
  m.input("X", {1, 3, 5, 5});
  quantize_s8(m, "X", "q", 0.05f, -3);
  attr(m.node("Cast", {"q"}, {"qf"}), "to", int64_t{onnx::TensorProto::FLOAT});
  m.node("Identity", {"q"}, {"qi"});
  m.initializer("qi_s", {}, {0.05f});
  typed_initializer<int8_t>(m, "qi_z", {}, kInt8, {-3});
  q_linear_conv(m, "qi", "c", 3, 2, 1, 4);
  dequantize(m, "c", "Y");
  m.output("Y");
  m.output("qf");
  expect_moved(m.bytes(), {1, 3, 5, 5}, 0, 1, 2);
}

TEST(Int8ActivationsToUint8, RunTimeZeroPointHoldsItsValueBack) {
  ModelBuilder m(13);
  m.input("X", {1, 3, 5, 5});
  m.input("z", {}, kInt8);
  m.initializer("s", {}, {0.05f});
  m.node("QuantizeLinear", {"X", "s", "z"}, {"q"});
  m.node("DequantizeLinear", {"q", "s", "z"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  optimizer::propagate_shapes(*model->graph);
  EXPECT_EQ(optimizer::int8_activations_to_uint8(*model->graph), 0);
}

// QDQ SiLU and an Add of two int8 tensors: after the extended rules they are an ai.kestrel QuantizedLookup
// (int8 table) and QLinearAdd, which move too.
TEST(Int8ActivationsToUint8, LookupsAndQLinearAddAfterFusion) {
  ModelBuilder m(13);
  m.input("X", {1, 6, 5, 7});
  auto qdq = [&](const std::string& x, const std::string& out, float scale, int8_t zp) {
    quantize_s8(m, x, out + "_q", scale, zp);
    m.node("DequantizeLinear", {out + "_q", out + "_q_s", out + "_q_z"}, {out});
  };
  qdq("X", "xd", 0.05f, -7);
  m.node("Sigmoid", {"xd"}, {"sig"});
  qdq("sig", "sigd", 1.0f / 255, -128);
  m.node("Mul", {"xd", "sigd"}, {"silu"});
  qdq("silu", "silud", 0.03f, -100);
  qdq("X", "xd2", 0.07f, 5);  // another int8 tensor: the Add reads two
  m.node("Add", {"silud", "xd2"}, {"sum"});
  qdq("sum", "Y", 0.06f, 9);
  m.output("Y");
  const std::string bytes = m.bytes();
  auto model = load(bytes);
  optimizer::optimize(*model->graph, 2);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QuantizedLookup"), 1);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QLinearAdd"), 1);
  expect_moved(bytes, {1, 6, 5, 7}, 2, 4, 0);
}

// A channels-last QLinearConv reading an int8 tensor through its x_table (fuse_lookup_into_conv, as in a
// model optimized, saved and loaded again): the table is indexed by storage order, so the tensor moves with
// the convolution's own input zero point (the table's type) left alone.
TEST(Int8ActivationsToUint8, ConvInputTable) {
  ModelBuilder m(13);
  m.input("X", {1, 4, 6, 5});
  quantize_s8(m, "X", "q", 0.05f, -3);
  q_linear_conv(m, "q", "c1", 4, 4, 3, 7, 4);
  m.node("DequantizeLinear", {"c1", "c1_s", "c1_z"}, {"c1d"});
  m.node("Sigmoid", {"c1d"}, {"sig"});
  quantize_s8(m, "sig", "sq", 1.0f / 256, -128);
  q_linear_conv(m, "sq", "c2", 4, 4, 3, -5, 4);
  dequantize(m, "c2", "Y");
  m.output("Y");
  auto model = load(m.bytes());
  optimizer::optimize(*model->graph, 2);  // the Sigmoid between QDQ nodes becomes a QuantizedLookup
  optimizer::propagate_shapes(*model->graph);
  optimizer::layout_nhwc(*model->graph);
  ASSERT_EQ(optimizer::fuse_lookup_into_conv(*model->graph), 1);
  // q and its channels-last copy, c1 (read through c2's table), c2.
  expect_moved(onnx_format::serialize_model(*model), {1, 4, 6, 5}, 0, 4, 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
