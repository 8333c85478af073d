// layout_nhwc: at level 3, convolutions and the ops between them run channels-last with one Transpose at each
// boundary; outputs match level 0, level 2 keeps the model's layout, and the rewritten graph saves and reloads.
// Int8 QDQ chains become channels-last ai.kestrel QLinearConvs with the per-tensor Q/DQ between them.
// ai.kestrel QLinearGlobalAveragePool and QLinearConvTranspose after them take channels_last = 1.
#include "onnx/writer.h"
#include "qdq_test_util.h"

namespace kestrel::optimizer_test {
namespace {

int channels_last_convs(const ir::Graph& g) {
  int n = 0;
  for (const auto& node : g.nodes())
    if (node->op_type == "FusedConv" && node->attribute("channels_last") && node->attribute("channels_last")->i == 1)
      ++n;
  return n;
}

std::unique_ptr<ir::Model> optimized(const std::string& bytes, int level) {
  auto model = load(bytes);
  optimizer::optimize(*model->graph, level);
  return model;
}

// X -> Conv -> Relu -> Conv(+X residual) -> Sigmoid -> Conv(depthwise, stride 2) -> Y: one chain.
ModelBuilder conv_chain() {
  ModelBuilder m;
  m.input("X", {1, 4, 9, 7});
  m.random_initializer("W1", {4, 4, 3, 3});
  m.random_initializer("B1", {4});
  m.random_initializer("W2", {4, 4, 1, 1});
  m.random_initializer("W3", {4, 1, 3, 3});
  attr(m.node("Conv", {"X", "W1", "B1"}, {"c1"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", {"c1"}, {"r1"});
  m.node("Conv", {"r1", "W2"}, {"c2"});
  m.node("Add", {"c2", "X"}, {"s2"});
  m.node("Sigmoid", {"s2"}, {"g2"});
  auto& dw = m.node("Conv", {"g2", "W3"}, {"Y"});
  attr(dw, "group", int64_t{4});
  attr(dw, "strides", std::vector<int64_t>{2, 2});
  attr(dw, "pads", std::vector<int64_t>{1, 0, 1, 1});
  m.output("Y");
  return m;
}

TEST(LayoutNhwc, ConvChainHasOneTransposeAtEachEnd) {
  const ModelBuilder m = conv_chain();
  auto model = optimized(m.bytes(), 3);
  EXPECT_EQ(channels_last_convs(*model->graph), 3);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);  // X to NHWC (read by two convs), Y back to NCHW
  const Feeds feeds = {{"X", Value(random_tensor({1, 4, 9, 7}, 31))}};
  expect_same_outputs(m.bytes(), feeds, GraphOptimizationLevel::kLayout);
  expect_same_outputs(m.bytes(), feeds, GraphOptimizationLevel::kAll);
}

TEST(LayoutNhwc, Level2KeepsTheModelsLayout) {
  auto model = optimized(conv_chain().bytes(), 2);
  EXPECT_EQ(channels_last_convs(*model->graph), 0);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 0);
}

// Squeeze-excitation: x * Sigmoid(Conv(Relu(Conv(GlobalAveragePool(x))))), then a pointwise conv.
TEST(LayoutNhwc, SqueezeExcitationStaysChannelsLast) {
  ModelBuilder m;
  m.input("X", {1, 6, 5, 5});
  m.random_initializer("W0", {6, 6, 1, 1});
  m.random_initializer("Wr", {3, 6, 1, 1});
  m.random_initializer("Br", {3});
  m.random_initializer("We", {6, 3, 1, 1});
  m.random_initializer("Be", {6});
  m.random_initializer("W1", {5, 6, 1, 1});
  m.node("Conv", {"X", "W0"}, {"x"});
  m.node("GlobalAveragePool", {"x"}, {"p"});
  m.node("Conv", {"p", "Wr", "Br"}, {"r"});
  m.node("Relu", {"r"}, {"rr"});
  m.node("Conv", {"rr", "We", "Be"}, {"e"});
  m.node("Sigmoid", {"e"}, {"s"});
  m.node("Mul", {"x", "s"}, {"scaled"});
  m.node("Conv", {"scaled", "W1"}, {"Y"});
  m.output("Y");
  auto model = optimized(m.bytes(), 3);
  EXPECT_EQ(channels_last_convs(*model->graph), 4);
  EXPECT_EQ(count_ops(*model->graph, "GlobalAveragePool"), 0);
  EXPECT_EQ(count_ops(*model->graph, "ReduceMean"), 1);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 6, 5, 5}, 32))}}, GraphOptimizationLevel::kLayout);
}

// An inference BatchNormalization the convolutions cannot absorb (a Relu before it) becomes Mul and Add by
// per-channel constants inside the channels-last region.
TEST(LayoutNhwc, BatchNormalizationBetweenConvsStaysChannelsLast) {
  ModelBuilder m;
  m.input("X", {1, 5, 6, 7});
  m.random_initializer("W0", {4, 5, 3, 3});
  m.random_initializer("W1", {3, 4, 1, 1});
  m.initializer("scale", {4}, {0.5f, 1.5f, -0.7f, 2.0f});
  m.initializer("bias", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
  m.initializer("mean", {4}, {0.05f, -0.4f, 0.2f, 1.0f});
  m.initializer("var", {4}, {0.9f, 0.2f, 1.7f, 0.01f});
  attr(m.node("Conv", {"X", "W0"}, {"c"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", {"c"}, {"r"});
  attr(m.node("BatchNormalization", {"r", "scale", "bias", "mean", "var"}, {"b"}), "epsilon", 1e-3f);
  m.node("Conv", {"b", "W1"}, {"Y"});
  m.output("Y");
  auto model = optimized(m.bytes(), 3);
  EXPECT_EQ(channels_last_convs(*model->graph), 2);
  EXPECT_EQ(count_ops(*model->graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 5, 6, 7}, 41))}}, GraphOptimizationLevel::kLayout);
}

// Concat of two branches on channels, a constant per-channel operand ([C,1,1], padded to rank 4 and permuted),
// and an intermediate that is also a graph output (it stays NCHW for the caller).
TEST(LayoutNhwc, ConcatConstantsAndGraphOutputs) {
  ModelBuilder m;
  m.input("X", {2, 3, 6, 5});
  m.random_initializer("Wa", {4, 3, 1, 1});
  m.random_initializer("Wb", {2, 3, 3, 3});
  m.random_initializer("scale", {6, 1, 1});
  m.random_initializer("W2", {3, 6, 1, 1});
  m.node("Conv", {"X", "Wa"}, {"a"});
  attr(m.node("Conv", {"X", "Wb"}, {"b"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(m.node("Concat", {"a", "b"}, {"cat"}), "axis", int64_t{1});
  m.node("Mul", {"cat", "scale"}, {"scaled"});
  m.node("Conv", {"scaled", "W2"}, {"Y"});
  m.output("Y");
  m.output("cat");
  auto model = optimized(m.bytes(), 3);
  EXPECT_EQ(channels_last_convs(*model->graph), 3);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 3);  // X in; Y and cat out
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({2, 3, 6, 5}, 33))}}, GraphOptimizationLevel::kLayout);
}

// MaxPool becomes NhwcMaxPool, Resize gets permuted scales (and sizes): still one Transpose at each end.
TEST(LayoutNhwc, MaxPoolAndResize) {
  for (const char* mode : {"nearest", "linear"}) {
    SCOPED_TRACE(mode);
    ModelBuilder m;
    m.input("X", {1, 3, 11, 9});
    m.random_initializer("W1", {5, 3, 3, 3});
    m.random_initializer("W2", {6, 5, 1, 1});
    m.random_initializer("W3", {2, 6, 3, 3});
    m.initializer("roi", {0}, {});
    m.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 3.0f});
    attr(m.node("Conv", {"X", "W1"}, {"c1"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
    auto& pool = m.node("MaxPool", {"c1"}, {"p1"});
    attr(pool, "kernel_shape", std::vector<int64_t>{3, 3});
    attr(pool, "strides", std::vector<int64_t>{2, 2});
    attr(pool, "ceil_mode", int64_t{1});
    m.node("Conv", {"p1", "W2"}, {"c2"});
    auto& resize = m.node("Resize", {"c2", "roi", "scales"}, {"r2"});
    resize.add_attribute()->set_name("mode");
    resize.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
    resize.mutable_attribute(0)->set_s(mode);
    attr(m.node("Conv", {"r2", "W3"}, {"Y"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
    m.output("Y");
    auto model = optimized(m.bytes(), 3);
    EXPECT_EQ(channels_last_convs(*model->graph), 3);
    EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:NhwcMaxPool"), 1);
    EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);
    expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 3, 11, 9}, 36))}}, GraphOptimizationLevel::kLayout);
  }
}

// Ops that need the NCHW layout (here Reshape) get a Transpose back and the model is still right.
TEST(LayoutNhwc, LayoutBoundOpsReadNchw) {
  ModelBuilder m;
  m.input("X", {1, 2, 4, 4});
  m.random_initializer("W", {3, 2, 3, 3});
  m.initializer_i64("shape", {2}, {1, -1});
  m.node("Conv", {"X", "W"}, {"c"});
  m.node("Relu", {"c"}, {"r"});
  m.node("Reshape", {"r", "shape"}, {"Y"});
  m.output("Y");
  auto model = optimized(m.bytes(), 3);
  EXPECT_EQ(channels_last_convs(*model->graph), 1);
  expect_same_outputs(m.bytes(), {{"X", Value(random_tensor({1, 2, 4, 4}, 34))}}, GraphOptimizationLevel::kLayout);
}

TEST(LayoutNhwc, SavedModelReloadsWithTheSameOutputs) {
  const ModelBuilder m = conv_chain();
  auto model = optimized(m.bytes(), 3);
  const std::string saved = onnx_format::serialize_model(*model);
  const Feeds feeds = {{"X", Value(random_tensor({1, 4, 9, 7}, 35))}};
  const auto ref = run(m.bytes(), feeds, GraphOptimizationLevel::kDisableAll);
  for (auto level : {GraphOptimizationLevel::kDisableAll, GraphOptimizationLevel::kLayout}) {
    const auto got = run(saved, feeds, level);
    ASSERT_EQ(got.size(), 1u);
    const Tensor& a = ref[0].tensor();
    const Tensor& b = got[0].tensor();
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-4f * (1 + std::fabs(a.data<float>()[i])));
  }
  // Optimizing the saved graph again changes nothing.
  auto again = load(saved);
  optimizer::optimize(*again->graph, 3);
  EXPECT_EQ(count_ops(*again->graph, "Transpose"), 2);
  EXPECT_EQ(channels_last_convs(*again->graph), 3);
}

// Nodes of `op_type` in the ai.kestrel domain that run channels-last.
int channels_last_kestrel_ops(const ir::Graph& g, const std::string& op_type) {
  int n = 0;
  for (const auto& node : g.nodes())
    if (node->domain == "ai.kestrel" && node->op_type == op_type && node->attribute("channels_last") &&
        node->attribute("channels_last")->i == 1)
      ++n;
  return n;
}

int channels_last_quantized_convs(const ir::Graph& g) { return channels_last_kestrel_ops(g, "QLinearConv"); }

// Q/DQ(X) -> Conv 3x3 -> Q/DQ (a) -> Conv 1x1 -> Q/DQ -> Add(a) -> Relu -> Q/DQ -> Conv depthwise stride 2 -> Q/DQ
// -> Y, int8 weights per channel: three QLinearConvs after the QDQ fusion, with a residual Add between them.
std::string qdq_residual_chain(bool per_axis_scale_in_the_middle) {
  ModelBuilder m;
  m.input("X", {1, 4, 9, 7});
  fake_quantize(m, "X", "xd", 0.02f, 128);
  auto conv = [&](const std::string& in, const std::string& out, const std::vector<int64_t>& w_shape, unsigned seed) {
    const int64_t M = w_shape[0], per = w_shape[1] * w_shape[2] * w_shape[3];
    std::vector<float> ws;
    for (int64_t i = 0; i < M; ++i) ws.push_back(0.004f + 0.001f * static_cast<float>(i));
    typed_initializer<int8_t>(m, out + "_wq", w_shape, onnx::TensorProto::INT8, seeded_int8(M * per, seed));
    m.initializer(out + "_ws", {M}, ws);
    typed_initializer<int8_t>(m, out + "_wz", {M}, onnx::TensorProto::INT8, std::vector<int8_t>(M, 0));
    attr(m.node("DequantizeLinear", {out + "_wq", out + "_ws", out + "_wz"}, {out + "_w"}), "axis", int64_t{0});
    return &m.node("Conv", {in, out + "_w"}, {out});
  };
  attr(*conv("xd", "c1", {4, 4, 3, 3}, 1), "pads", std::vector<int64_t>{1, 1, 1, 1});
  fake_quantize(m, "c1", "a", 0.05f, 120);
  conv("a", "c2", {4, 4, 1, 1}, 2);
  if (per_axis_scale_in_the_middle) {  // a per-channel DequantizeLinear: it must stay NCHW
    m.initializer("c2_s", {}, {0.05f});
    typed_initializer<uint8_t>(m, "c2_z", {}, onnx::TensorProto::UINT8, {118});
    m.node("QuantizeLinear", {"c2", "c2_s", "c2_z"}, {"c2_q"});
    m.initializer("c2_axis_s", {4}, {0.05f, 0.05f, 0.05f, 0.05f});
    typed_initializer<uint8_t>(m, "c2_axis_z", {4}, onnx::TensorProto::UINT8, {118, 118, 118, 118});
    attr(m.node("DequantizeLinear", {"c2_q", "c2_axis_s", "c2_axis_z"}, {"b"}), "axis", int64_t{1});
  } else {
    fake_quantize(m, "c2", "b", 0.05f, 118);
  }
  m.node("Add", {"a", "b"}, {"s"});
  m.node("Relu", {"s"}, {"r"});
  fake_quantize(m, "r", "rd", 0.06f, 0);
  auto* dw = conv("rd", "c3", {4, 1, 3, 3}, 3);
  attr(*dw, "group", int64_t{4});
  attr(*dw, "strides", std::vector<int64_t>{2, 2});
  attr(*dw, "pads", std::vector<int64_t>{1, 0, 1, 1});
  fake_quantize(m, "c3", "Y", 0.04f, 125);
  m.output("Y");
  return m.bytes();
}

// Level 3 computes what level 2 computes (the same int8 kernels, in the other layout): identical outputs.
void expect_same_as_level2(const std::string& bytes, unsigned seed = 37) {
  const Feeds feeds = {{"X", Value(random_tensor({1, 4, 9, 7}, seed))}};
  const auto want = run(bytes, feeds, GraphOptimizationLevel::kExtended);
  const auto got = run(bytes, feeds, GraphOptimizationLevel::kLayout);
  ASSERT_EQ(want.size(), got.size());
  const Tensor& a = want[0].tensor();
  const Tensor& b = got[0].tensor();
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << "element " << i;
}

TEST(LayoutNhwc, QuantizedChainStaysChannelsLast) {
  const std::string bytes = qdq_residual_chain(false);
  auto model = optimized(bytes, 3);
  EXPECT_EQ(channels_last_quantized_convs(*model->graph), 3);
  EXPECT_EQ(count_ops(*model->graph, "QLinearConv"), 0);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);  // the quantized X in, Y's int8 values out
  expect_same_as_level2(bytes);
}

TEST(LayoutNhwc, PerAxisDequantizeKeepsItsLayout) {
  const std::string bytes = qdq_residual_chain(true);
  auto model = optimized(bytes, 3);
  EXPECT_EQ(channels_last_quantized_convs(*model->graph), 3);
  EXPECT_GT(count_ops(*model->graph, "Transpose"), 2);  // b goes back to NCHW for its DequantizeLinear
  expect_same_as_level2(bytes);
}

constexpr float kPoolOutputScale = 0.01f;

// Q/DQ(X [1, 4, 9, 7]) -> Conv 3x3, 6 channels (int8 weights) -> Q/DQ -> "cd".
void int8_conv_3x3(ModelBuilder& m) {
  m.input("X", {1, 4, 9, 7});
  fake_quantize(m, "X", "xd", 0.02f, 128);
  typed_initializer<int8_t>(m, "wq", {6, 4, 3, 3}, onnx::TensorProto::INT8, seeded_int8(6 * 4 * 9, 1));
  m.initializer("ws", {}, {0.005f});
  typed_initializer<int8_t>(m, "wz", {}, onnx::TensorProto::INT8, {0});
  m.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"});
  attr(m.node("Conv", {"xd", "w"}, {"c"}), "pads", std::vector<int64_t>{1, 1, 1, 1});
  fake_quantize(m, "c", "cd", 0.05f, 120);
}

// Q/DQ(X, zero point 0) -> dense Conv 3x3, padded -> Q/DQ -> Y: channels-last uint8 input with a zero point
// of 0 is read in place and padded by oneDNN itself (zeros), not copied into a padded buffer; level 2 still
// copies.
TEST(LayoutNhwc, Int8ConvReadsZeroPointZeroInputInPlace) {
  for (const std::vector<int64_t>& pads :
       {std::vector<int64_t>{1, 1, 1, 1}, std::vector<int64_t>{2, 0, 0, 2}}) {
    ModelBuilder m;
    m.input("X", {1, 4, 9, 7});
    fake_quantize(m, "X", "xd", 0.02f, 0);
    typed_initializer<int8_t>(m, "wq", {6, 4, 3, 3}, onnx::TensorProto::INT8, seeded_int8(6 * 4 * 9, 4));
    m.initializer("ws", {}, {0.005f});
    m.node("DequantizeLinear", {"wq", "ws"}, {"w"});
    attr(m.node("Conv", {"xd", "w"}, {"c"}), "pads", pads);
    fake_quantize(m, "c", "Y", 0.05f, 120);
    m.output("Y");
    const std::string bytes = m.bytes();
    EXPECT_EQ(channels_last_quantized_convs(*optimized(bytes, 3)->graph), 1);
    expect_same_as_level2(bytes, 11);
  }
}

// Q/DQ(X) -> Conv 3x3 (int8 weights) -> Q/DQ -> GlobalAveragePool -> Q/DQ -> Y: the pool joins the
// channels-last region of the convolution.
TEST(LayoutNhwc, QuantizedGlobalAveragePoolAfterInt8Conv) {
  ModelBuilder m;
  int8_conv_3x3(m);
  m.node("GlobalAveragePool", {"cd"}, {"p"});
  fake_quantize(m, "p", "Y", kPoolOutputScale, 128);
  m.output("Y");
  const std::string bytes = m.bytes();
  auto model = optimized(bytes, 3);
  EXPECT_EQ(channels_last_kestrel_ops(*model->graph, "QLinearGlobalAveragePool"), 1);
  // X goes in through a Transpose; the pooled [1, 1, 1, C] comes out through a Reshape (transpose_to_reshape).
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 1);
  expect_same_as_level2(bytes, 5);
  const Feeds feeds = {{"X", Value(random_tensor({1, 4, 9, 7}, 5))}};
  expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kLayout, 0, kPoolOutputScale * 1.01f);
}

// Q/DQ(X) -> Conv 3x3 (int8 weights) -> Q/DQ -> ConvTranspose 2x2 stride 2 (int8 weights) -> Q/DQ -> Y: the
// upsampling joins the channels-last region of the convolution and writes NHWC itself.
TEST(LayoutNhwc, QuantizedConvTransposeAfterInt8Conv) {
  ModelBuilder m;
  int8_conv_3x3(m);
  typed_initializer<int8_t>(m, "tq", {6, 3, 2, 2}, onnx::TensorProto::INT8, seeded_int8(6 * 3 * 4, 2));
  m.initializer("ts", {}, {0.007f});
  m.node("DequantizeLinear", {"tq", "ts"}, {"t"});
  attr(m.node("ConvTranspose", {"cd", "t"}, {"u"}), "strides", std::vector<int64_t>{2, 2});
  fake_quantize(m, "u", "Y", 0.03f, 128);
  m.output("Y");
  const std::string bytes = m.bytes();
  auto model = optimized(bytes, 3);
  EXPECT_EQ(channels_last_kestrel_ops(*model->graph, "QLinearConvTranspose"), 1);
  EXPECT_EQ(count_ops(*model->graph, "Transpose"), 2);  // X in, the upsampled map out
  expect_same_as_level2(bytes, 5);
}

}  // namespace
}  // namespace kestrel::optimizer_test
