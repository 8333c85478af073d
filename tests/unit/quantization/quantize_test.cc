// The quantizer end to end on small graphs built here: the structure of the written model (which ops, which
// types) and its outputs against the float model. 8-bit tolerance: cosine similarity >= 0.999 and a largest
// error within 3% of the largest |output| on the data the model was calibrated for (per-tensor int8 error is
// about range/255 per value; these graphs stack at most three quantized layers).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "kestrel/quantization.h"
#include "optimizer/optimizer_test_util.h"

namespace kestrel::quantization_test {
namespace fs = std::filesystem;
using optimizer_test::attr;
using optimizer_test::ModelBuilder;
using optimizer_test::random_tensor;

class Quantize : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kestrel_quantize_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!std::getenv("KESTREL_KEEP_TEST_FILES")) fs::remove_all(dir_);
  }

  std::string write(const ModelBuilder& m) {
    const std::string path = (dir_ / "model.onnx").string();
    std::ofstream(path, std::ios::binary) << m.bytes();
    return path;
  }
  std::string out() const { return (dir_ / "quantized.onnx").string(); }

  static std::map<std::string, int> ops(const std::string& path) {
    auto model = onnx_format::load_model_file(path);
    std::map<std::string, int> counts;
    for (const auto& n : model->graph->nodes()) counts[n->op_type]++;
    return counts;
  }
  static const Tensor* initializer(const std::string& path, const std::string& name,
                                   std::unique_ptr<ir::Model>& holder) {
    holder = onnx_format::load_model_file(path);
    const ir::Value* v = holder->graph->find(name);
    return v && v->initializer ? v->initializer.get() : nullptr;
  }

  // Outputs of both models on `feeds`: cosine >= 0.999 (or `min_cosine`) and max error <= `rel` * max|ref|.
  static void expect_close(const std::string& fp32, const std::string& int8, const Feeds& feeds,
                           double min_cosine = 0.999, double rel = 0.03) {
    Session a(fp32), b(int8);
    const auto ref = a.run(feeds);
    const auto got = b.run(feeds);
    ASSERT_EQ(ref.size(), got.size());
    for (size_t k = 0; k < ref.size(); ++k) {
      const Tensor& r = ref[k].tensor();
      const Tensor& g = got[k].tensor();
      ASSERT_EQ(r.shape(), g.shape());
      double dot = 0, nr = 0, ng = 0, max_err = 0, max_ref = 0;
      for (int64_t i = 0; i < r.size(); ++i) {
        const double x = r.data<float>()[i], y = g.data<float>()[i];
        dot += x * y;
        nr += x * x;
        ng += y * y;
        max_err = std::max(max_err, std::fabs(x - y));
        max_ref = std::max(max_ref, std::fabs(x));
      }
      EXPECT_GE(dot / std::sqrt(nr * ng), min_cosine) << "output " << k;
      EXPECT_LE(max_err, rel * max_ref) << "output " << k;
    }
  }

  static CalibrationReader reader_of(const std::vector<Feeds>& batches) {
    auto next = std::make_shared<size_t>(0);
    return [batches, next]() -> std::optional<Feeds> {
      if (*next == batches.size()) return std::nullopt;
      return batches[(*next)++];
    };
  }

  fs::path dir_;
};

// X [4, 16] -> MatMul W [16, 8] -> Add b -> Y
ModelBuilder matmul_model() {
  ModelBuilder m;
  m.input("X", {4, 16});
  m.random_initializer("W", {16, 8});
  m.random_initializer("b", {8});
  m.node("MatMul", {"X", "W"}, {"p"}).set_name("mm");
  m.node("Add", {"p", "b"}, {"Y"});
  m.output("Y");
  return m;
}

// A small CNN: Conv+Relu, Conv (grouped), residual Add, MaxPool, GlobalAveragePool, Flatten, Gemm.
ModelBuilder cnn_model(int opset = 13) {
  ModelBuilder m(opset);
  m.input("X", {1, 4, 8, 8});
  m.random_initializer("W1", {8, 4, 3, 3}, -0.3f, 0.3f);
  m.random_initializer("B1", {8}, -0.1f, 0.1f);
  m.random_initializer("W2", {8, 4, 3, 3}, -0.3f, 0.3f);
  m.random_initializer("B2", {8}, -0.1f, 0.1f);
  m.random_initializer("Wfc", {5, 8}, -0.5f, 0.5f);
  m.random_initializer("Bfc", {5}, -0.1f, 0.1f);
  auto& c1 = m.node("Conv", {"X", "W1", "B1"}, {"c1"});
  c1.set_name("conv1");
  attr(c1, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", {"c1"}, {"r1"});
  auto& c2 = m.node("Conv", {"r1", "W2", "B2"}, {"c2"});
  c2.set_name("conv2");
  attr(c2, "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(c2, "group", int64_t{2});
  m.node("Add", {"r1", "c2"}, {"s"}).set_name("add");
  auto& mp = m.node("MaxPool", {"s"}, {"p"});
  attr(mp, "kernel_shape", std::vector<int64_t>{2, 2});
  attr(mp, "strides", std::vector<int64_t>{2, 2});
  m.node("GlobalAveragePool", {"p"}, {"g"});
  m.node("Flatten", {"g"}, {"f"});
  auto& fc = m.node("Gemm", {"f", "Wfc", "Bfc"}, {"Y"});
  fc.set_name("fc");
  attr(fc, "transB", int64_t{1});
  m.output("Y");
  return m;
}

Feeds cnn_feed(unsigned seed) { return {{"X", Value(random_tensor({1, 4, 8, 8}, seed, -1, 1))}}; }
std::vector<Feeds> cnn_batches() { return {cnn_feed(1), cnn_feed(2), cnn_feed(3), cnn_feed(4)}; }

TEST_F(Quantize, DynamicMatMulBecomesMatMulInteger) {
  const std::string in = write(matmul_model());
  QuantizationSummary s = quantize_dynamic(in, out());
  auto counts = ops(out());
  EXPECT_EQ(counts["DynamicQuantizeLinear"], 1);
  EXPECT_EQ(counts["MatMulInteger"], 1);
  EXPECT_EQ(counts["MatMul"], 0);
  EXPECT_EQ(s.quantized_nodes["MatMul"], 1);
  EXPECT_EQ(s.opset_after, 13);
  std::unique_ptr<ir::Model> holder;
  const Tensor* w = initializer(out(), "W_quantized", holder);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->type(), ElementType::kInt8);
  EXPECT_EQ(holder->graph->find("W"), nullptr);  // the float weight is gone
  expect_close(in, out(), {{"X", Value(random_tensor({4, 16}, 7))}});
}

TEST_F(Quantize, DynamicPerChannelMatMulHasAZeroPointPerColumn) {
  const std::string in = write(matmul_model());
  QuantizationOptions o;
  o.per_channel = true;
  o.weight_type = QuantType::kUInt8;
  quantize_dynamic(in, out(), o);
  std::unique_ptr<ir::Model> holder;
  const Tensor* zp = initializer(out(), "W_zero_point", holder);
  ASSERT_NE(zp, nullptr);
  EXPECT_EQ(zp->shape(), Shape({8}));
  EXPECT_EQ(zp->type(), ElementType::kUInt8);
  expect_close(in, out(), {{"X", Value(random_tensor({4, 16}, 8))}});
}

TEST_F(Quantize, MatMulConstBOnlyDecidesForActivationProducts) {
  ModelBuilder m;
  m.input("X", {3, 5});
  m.input("Z", {5, 4});
  m.node("MatMul", {"X", "Z"}, {"Y"});
  m.output("Y");
  const std::string in = write(m);
  QuantizationSummary s = quantize_dynamic(in, out());  // default for dynamic: only constant B
  EXPECT_EQ(ops(out())["MatMul"], 1);
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_NE(s.skipped[0].find("MatMulConstBOnly"), std::string::npos);
  QuantizationOptions o;
  o.matmul_const_b_only = false;
  quantize_dynamic(in, out(), o);
  auto counts = ops(out());
  EXPECT_EQ(counts["DynamicQuantizeLinear"], 2);
  EXPECT_EQ(counts["MatMulInteger"], 1);
  expect_close(in, out(), {{"X", Value(random_tensor({3, 5}, 9))}, {"Z", Value(random_tensor({5, 4}, 10))}});
}

TEST_F(Quantize, DynamicGemmFoldsTransposeAlphaAndBeta) {
  ModelBuilder m;
  m.input("X", {2, 16});
  m.random_initializer("W", {8, 16});
  m.random_initializer("C", {8});
  auto& g = m.node("Gemm", {"X", "W", "C"}, {"Y"});
  attr(g, "transB", int64_t{1});
  attr(g, "alpha", 0.5f);
  attr(g, "beta", 2.0f);
  m.output("Y");
  const std::string in = write(m);
  quantize_dynamic(in, out());
  auto counts = ops(out());
  EXPECT_EQ(counts["MatMulInteger"], 1);
  EXPECT_EQ(counts["Gemm"], 0);
  EXPECT_EQ(counts["Add"], 1);
  expect_close(in, out(), {{"X", Value(random_tensor({2, 16}, 11))}});
}

TEST_F(Quantize, DynamicConvBecomesConvInteger) {
  const std::string in = write(cnn_model());
  for (bool per_channel : {false, true}) {
    QuantizationOptions o;
    o.per_channel = per_channel;
    o.op_types = {"Conv"};
    quantize_dynamic(in, out(), o);
    auto counts = ops(out());
    EXPECT_EQ(counts["ConvInteger"], 2);
    EXPECT_EQ(counts["Conv"], 0);
    EXPECT_EQ(counts["Gemm"], 1);  // not in op_types
    expect_close(in, out(), cnn_feed(5));
  }
}

TEST_F(Quantize, DynamicQdqFormKeepsFloatOps) {
  const std::string in = write(cnn_model());
  QuantizationOptions o;
  o.format = QuantFormat::kQDQ;
  quantize_dynamic(in, out(), o);
  auto counts = ops(out());
  EXPECT_EQ(counts["Conv"], 2);
  EXPECT_EQ(counts["Gemm"], 1);
  EXPECT_EQ(counts["DynamicQuantizeLinear"], 3);
  EXPECT_EQ(counts["DequantizeLinear"], 6);  // an activation and a weight for each of the three
  expect_close(in, out(), cnn_feed(6));
}

TEST_F(Quantize, StaticQdqWrapsEveryQuantizableOp) {
  const std::string in = write(cnn_model());
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()));
  EXPECT_EQ(s.calibration_batches, 4);
  auto counts = ops(out());
  EXPECT_EQ(counts["Relu"], 0);  // folded into the QuantizeLinear after conv1
  EXPECT_EQ(counts["Conv"], 2);
  EXPECT_EQ(counts["Add"], 1);
  EXPECT_EQ(counts["MaxPool"], 1);
  EXPECT_GE(counts["QuantizeLinear"], 5);
  std::unique_ptr<ir::Model> holder;
  const Tensor* w = initializer(out(), "W1_quantized", holder);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->type(), ElementType::kInt8);
  const Tensor* b = initializer(out(), "B1_quantized", holder);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type(), ElementType::kInt32);
  // The MaxPool output keeps its input's parameters (an int8 MaxPool needs no requantization).
  const Tensor* s_in = initializer(out(), "s_scale", holder);
  const Tensor* s_out =
      holder->graph->find("p_scale") ? holder->graph->find("p_scale")->initializer.get() : nullptr;
  ASSERT_TRUE(s_in && s_out);
  EXPECT_EQ(s_in->data<float>()[0], s_out->data<float>()[0]);
  for (unsigned seed : {1u, 3u}) expect_close(in, out(), cnn_feed(seed), 0.999, 0.05);
}

TEST_F(Quantize, StaticQOperatorUsesQLinearConv) {
  const std::string in = write(cnn_model());
  QuantizationOptions o;
  o.format = QuantFormat::kQOperator;
  o.per_channel = true;
  o.activation_type = QuantType::kUInt8;
  quantize_static(in, out(), reader_of(cnn_batches()), o);
  auto counts = ops(out());
  EXPECT_EQ(counts["QLinearConv"], 2);
  EXPECT_EQ(counts["Conv"], 0);
  EXPECT_EQ(counts["Add"],
            1);  // no standard QLinearAdd: stays float between DequantizeLinear and QuantizeLinear
  EXPECT_EQ(counts["Gemm"], 1);
  expect_close(in, out(), cnn_feed(2), 0.999, 0.05);
}

TEST_F(Quantize, StaticQOperatorMatMul) {
  const std::string in = write(matmul_model());
  QuantizationOptions o;
  o.format = QuantFormat::kQOperator;
  o.op_types = {"MatMul", "Add"};
  std::vector<Feeds> batches;
  for (unsigned seed = 1; seed <= 3; ++seed) batches.push_back({{"X", Value(random_tensor({4, 16}, seed))}});
  quantize_static(in, out(), reader_of(batches), o);
  auto counts = ops(out());
  EXPECT_EQ(counts["QLinearMatMul"], 1);
  EXPECT_EQ(counts["MatMul"], 0);
  expect_close(in, out(), batches[1], 0.999, 0.05);
}

TEST_F(Quantize, ExcludedNodesAndFirstLastLayersStayFloat) {
  const std::string in = write(cnn_model());
  QuantizationOptions o;
  o.nodes_to_exclude = {"conv2"};
  o.keep_first_layer_fp32 = true;
  o.keep_last_layer_fp32 = true;
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()), o);
  std::unique_ptr<ir::Model> holder;
  for (const char* w : {"W1", "W2", "Wfc"}) {
    const Tensor* t = initializer(out(), w, holder);
    ASSERT_NE(t, nullptr) << w;
    EXPECT_EQ(t->type(), ElementType::kFloat) << w;
  }
  EXPECT_EQ(s.quantized_nodes.count("Conv"), 0u);
  EXPECT_EQ(s.quantized_nodes["Add"], 1);
  EXPECT_EQ(ops(out())["Relu"], 1);  // conv1 is float: nothing to fold the Relu into
  expect_close(in, out(), cnn_feed(1), 0.999, 0.05);
}

TEST_F(Quantize, CalibrationMethodsAndUnsignedTypes) {
  const std::string in = write(cnn_model());
  for (CalibrationMethod method : {CalibrationMethod::kEntropy, CalibrationMethod::kPercentile}) {
    QuantizationOptions o;
    o.calibrate_method = method;
    o.activation_type = QuantType::kUInt8;
    o.weight_type = QuantType::kUInt8;
    quantize_static(in, out(), reader_of(cnn_batches()), o);
    std::unique_ptr<ir::Model> holder;
    const Tensor* zp = initializer(out(), "W1_zero_point", holder);
    ASSERT_NE(zp, nullptr);
    EXPECT_EQ(zp->type(), ElementType::kUInt8);
    // Clipped ranges trade the outliers for resolution. Entropy, fitted on 1024 values per tensor here, clips
    // hard (on real models it sees far more data): only a looser cosine bound holds on this toy network.
    if (method == CalibrationMethod::kEntropy)
      expect_close(in, out(), cnn_feed(2), 0.97, 1.0);
    else
      expect_close(in, out(), cnn_feed(2), 0.999, 0.05);
  }
}

TEST_F(Quantize, PerChannelRaisesTheOpsetAndConvertsOlderOps) {
  // Opset 11: Squeeze takes its axes as an attribute; at 13 they become an input.
  ModelBuilder m(11);
  m.input("X", {1, 4, 1, 1});
  m.random_initializer("W", {6, 4, 1, 1});
  m.node("Conv", {"X", "W"}, {"c"});
  auto& sq = m.node("Squeeze", {"c"}, {"Y"});
  attr(sq, "axes", std::vector<int64_t>{2, 3});
  m.output("Y");
  const std::string in = write(m);
  QuantizationOptions o;
  o.per_channel = true;
  QuantizationSummary s =
      quantize_static(in, out(), reader_of({{{"X", Value(random_tensor({1, 4, 1, 1}, 1))}}}), o);
  EXPECT_EQ(s.opset_before, 11);
  EXPECT_EQ(s.opset_after, 13);
  auto model = onnx_format::load_model_file(out());
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type == "Squeeze") {
      EXPECT_EQ(n->inputs.size(), 2u);
    }
  }
  expect_close(in, out(), {{"X", Value(random_tensor({1, 4, 1, 1}, 1))}}, 0.999, 0.05);
}

TEST_F(Quantize, GatherReadsAQuantizedTable) {
  ModelBuilder m;
  m.input("ids", {2, 5}, onnx::TensorProto::INT64);
  m.random_initializer("table", {50, 16});
  m.node("Gather", {"table", "ids"}, {"Y"});
  m.output("Y");
  const std::string in = write(m);
  for (bool is_static : {false, true}) {
    QuantizationSummary s;
    if (is_static) {
      Tensor ids(ElementType::kInt64, {2, 5});
      s = quantize_static(in, out(), reader_of({{{"ids", Value(ids)}}}));
    } else {
      s = quantize_dynamic(in, out());
    }
    EXPECT_EQ(s.quantized_nodes["Gather"], 1);
    auto counts = ops(out());
    EXPECT_EQ(counts["Gather"], 1);
    EXPECT_EQ(counts["DequantizeLinear"], 1);
    std::unique_ptr<ir::Model> holder;
    const Tensor* t = initializer(out(), "table_quantized", holder);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type(), ElementType::kInt8);
    Tensor ids(ElementType::kInt64, {2, 5});
    for (int64_t i = 0; i < 10; ++i) ids.data<int64_t>()[i] = (i * 7) % 50;
    // Every gathered value is within half a quantization step of the float one: the table lies in [-1, 1), a
    // step is at most 1/127, and the gathered rows reach |y| > 0.9, so the error is below 0.5/127/0.9 of max
    // |y|.
    expect_close(in, out(), {{"ids", Value(ids)}}, 0.9999, 0.5 / 127 / 0.9);
  }
}

// One BERT encoder layer's attention half as exporters write it: Q/K/V projections (MatMul + bias Add), head
// split, Div-scaled masked softmax, head merge, output projection, residual Add, LayerNormalization. hidden 8,
// 2 heads of 4; X [B, S, 8], additive mask [B, 1, 1, S].
ModelBuilder bert_attention_layer() {
  ModelBuilder m(17);
  m.input("X", {-1, -1, 8});
  m.input("mask", {-1, 1, 1, -1});
  m.initializer_i64("split", {4}, {0, 0, 2, 4});
  m.initializer_i64("merge", {3}, {0, 0, 8});
  auto linear = [&](const std::string& in, const std::string& name, const std::string& out) {
    m.random_initializer("W" + name, {8, 8}, -0.5f, 0.5f);
    m.random_initializer("b" + name, {8}, -0.1f, 0.1f);
    m.node("MatMul", {in, "W" + name}, {name + "_mm"}).set_name(name);
    m.node("Add", {"b" + name, name + "_mm"}, {out});
  };
  for (const char* p : {"q", "k", "v"}) {
    const std::string s = p;
    linear("X", s, s + "_proj");
    m.node("Reshape", {s + "_proj", "split"}, {s + "_heads"});
    attr(m.node("Transpose", {s + "_heads"}, {s + "_t"}), "perm",
         s == "k" ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
  }
  m.node("MatMul", {"q_t", "k_t"}, {"scores"});
  m.initializer("scale", {}, {2.0f});
  m.node("Div", {"scores", "scale"}, {"scaled"});
  m.node("Add", {"scaled", "mask"}, {"masked"});
  attr(m.node("Softmax", {"masked"}, {"probs"}), "axis", int64_t{-1});
  m.node("MatMul", {"probs", "v_t"}, {"ctx"});
  attr(m.node("Transpose", {"ctx"}, {"ctx_t"}), "perm", std::vector<int64_t>{0, 2, 1, 3});
  m.node("Reshape", {"ctx_t", "merge"}, {"merged"});
  linear("merged", "o", "attended");
  m.node("Add", {"X", "attended"}, {"residual"});
  m.random_initializer("gamma", {8}, 0.5f, 1.5f);
  m.random_initializer("beta", {8}, -0.1f, 0.1f);
  m.node("LayerNormalization", {"residual", "gamma", "beta"}, {"Y"});
  m.output("Y");
  return m;
}

// The dynamically quantized layer keeps the float model's fusions: the optimizer packs the three int8
// projections into one DynamicQuantizeMatMul feeding a fused Attention, and the residual joins the
// LayerNormalization as SkipLayerNormalization.
TEST_F(Quantize, DynamicBertLayerKeepsAttentionAndSkipLayerNormFusions) {
  const std::string in = write(bert_attention_layer());
  quantize_dynamic(in, out());
  EXPECT_EQ(ops(out())["MatMulInteger"], 4);
  auto model = onnx_format::load_model_file(out());
  optimizer::optimize(*model->graph, 2);
  std::map<std::string, int> counts;
  for (const auto& n : model->graph->nodes()) counts[n->op_type]++;
  EXPECT_EQ(counts["Attention"], 1);
  EXPECT_EQ(counts["DynamicQuantizeMatMul"], 2);  // packed Q|K|V, output projection
  EXPECT_EQ(counts["SkipLayerNormalization"], 1);
  EXPECT_EQ(counts.size(), 3u);
  Tensor mask(ElementType::kFloat, {2, 1, 1, 5});
  for (int64_t i = 0; i < mask.size(); ++i) mask.data<float>()[i] = i == 9 ? -10000.0f : 0.0f;
  expect_close(in, out(), {{"X", Value(random_tensor({2, 5, 8}, 3, -1, 1))}, {"mask", Value(mask)}});
}

// X -> Conv c1 -> Add 'wide' (+1000 on channel 3) -> Slice channels 0..2 -> Conv c2 -> Y. The Add's output
// spans about [-3, 1003], so 8 bits quantize its first three channels (|values| ~ 3) to a step of ~4:
// quantizing 'wide' ruins Y, while c1 and c2 see ordinary ranges.
ModelBuilder one_sensitive_node_model() {
  ModelBuilder m(13);
  m.input("X", {1, 4, 8, 8});
  m.random_initializer("W1", {4, 4, 3, 3}, -0.3f, 0.3f);
  m.initializer("K", {1, 4, 1, 1}, {0, 0, 0, 1000});
  m.initializer_i64("starts", {1}, {0});
  m.initializer_i64("ends", {1}, {3});
  m.initializer_i64("axes", {1}, {1});
  m.random_initializer("W2", {4, 3, 3, 3}, -0.3f, 0.3f);
  auto& c1 = m.node("Conv", {"X", "W1"}, {"c"});
  c1.set_name("c1");
  attr(c1, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Add", {"c", "K"}, {"w"}).set_name("wide");
  m.node("Slice", {"w", "starts", "ends", "axes"}, {"s"});
  auto& c2 = m.node("Conv", {"s", "W2"}, {"Y"});
  c2.set_name("c2");
  attr(c2, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.output("Y");
  return m;
}

// X -> Conv -> BatchNormalization -> Mul(2) -> Add(0.5) -> Relu -> Conv -> Y: the scale-and-bias nodes after the
// first Conv, one per-channel (the batch norm) and two scalar, each with its own activation range.
ModelBuilder conv_scale_bias_model() {
  ModelBuilder m(13);
  m.input("X", {1, 4, 8, 8});
  m.random_initializer("W1", {6, 4, 3, 3}, -0.3f, 0.3f);
  m.random_initializer("B1", {6}, -0.1f, 0.1f);
  m.initializer("gamma", {6}, {0.2f, 3.0f, 1.0f, 0.05f, 2.0f, 0.7f});  // channels of very different ranges
  m.initializer("beta", {6}, {0.1f, -0.5f, 0.0f, 0.3f, 0.2f, -0.1f});
  m.initializer("mean", {6}, {0.0f, 0.1f, -0.1f, 0.05f, 0.0f, 0.2f});
  m.initializer("var", {6}, {1.0f, 0.5f, 2.0f, 1.5f, 0.8f, 1.2f});
  m.initializer("two", {1}, {2.0f});
  m.initializer("half", {1}, {0.5f});
  m.random_initializer("W2", {3, 6, 1, 1}, -0.5f, 0.5f);
  auto& c1 = m.node("Conv", {"X", "W1", "B1"}, {"c"});
  attr(c1, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"});
  m.node("Mul", {"bn", "two"}, {"scaled"});
  m.node("Add", {"scaled", "half"}, {"shifted"});
  m.node("Relu", {"shifted"}, {"r"});
  m.node("Conv", {"r", "W2"}, {"Y"});
  m.output("Y");
  return m;
}

TEST_F(Quantize, PreprocessingFoldsScaleAndBiasIntoTheConv) {
  const std::string in = write(conv_scale_bias_model());
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()));
  auto counts = ops(out());
  EXPECT_EQ(counts["BatchNormalization"], 0);
  EXPECT_EQ(counts["Mul"], 0);
  EXPECT_EQ(counts["Add"], 0);
  EXPECT_EQ(counts["Conv"], 2);
  EXPECT_EQ(counts["QuantizeLinear"], 2);  // X and the first Conv's (Relu's) output, nothing in between
  EXPECT_EQ(s.quantized_nodes["Conv"], 2);
  expect_close(in, out(), cnn_feed(8), 0.999, 0.05);  // per-tensor 8 bits over channels 60x apart

  // Without it every scale-and-bias node is quantized on its own.
  QuantizationOptions o;
  o.preprocess = false;
  quantize_static(in, out(), reader_of(cnn_batches()), o);
  counts = ops(out());
  EXPECT_EQ(counts["BatchNormalization"], 1);
  EXPECT_GT(counts["QuantizeLinear"], 2);
}

// X -> Conv -> hard-swish as exporters without the op write it -> Mul(0.8) -> Add(-0.1) -> Conv -> Y (PaddleOCR's
// learnable affine hard-swish).
ModelBuilder hard_swish_chain_model() {
  ModelBuilder m(13);
  m.input("X", {1, 4, 8, 8});
  m.random_initializer("W1", {6, 4, 3, 3}, -0.4f, 0.4f);
  m.random_initializer("W2", {3, 6, 1, 1}, -0.5f, 0.5f);
  m.initializer("three", {}, {3.0f});
  m.initializer("zero", {}, {0.0f});
  m.initializer("six", {}, {6.0f});
  m.initializer("a", {1}, {0.8f});
  m.initializer("b", {1}, {-0.1f});
  auto& c1 = m.node("Conv", {"X", "W1"}, {"c"});
  attr(c1, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Add", {"c", "three"}, {"c3"});
  m.node("Clip", {"c3", "zero", "six"}, {"clipped"});
  m.node("Mul", {"c", "clipped"}, {"prod"});
  m.node("Div", {"prod", "six"}, {"hs"});
  m.node("Mul", {"hs", "a"}, {"scaled"});
  m.node("Add", {"scaled", "b"}, {"shifted"});
  m.node("Conv", {"shifted", "W2"}, {"Y"});
  m.output("Y");
  return m;
}

TEST_F(Quantize, HardSwishAndScalarAffineAreRoundedOnce) {
  const std::string in = write(hard_swish_chain_model());
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()));
  EXPECT_EQ(s.quantized_nodes["Conv"], 2);
  EXPECT_EQ(s.quantized_nodes.count("Add"), 0u);
  EXPECT_EQ(s.quantized_nodes.count("Mul"), 0u);
  // X, the first Conv's output and the chain's output (the second Conv's input): one rounding per tensor
  // between the two layers, none inside the chain.
  EXPECT_EQ(ops(out())["QuantizeLinear"], 3);
  auto model = onnx_format::load_model_file(out());
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type != "Add" && n->op_type != "Mul" && n->op_type != "Clip" && n->op_type != "Div") continue;
    for (const ir::Value* v : n->inputs)
      EXPECT_FALSE(v->producer && v->producer->op_type == "DequantizeLinear" && v->name != "c_dequantized")
          << n->describe() << " reads " << v->name;
  }
  expect_close(in, out(), cnn_feed(9));
  // At run time the chain between the two quantized tensors is one 256-entry table.
  optimizer::optimize(*model->graph, 2);
  std::map<std::string, int> counts;
  for (const auto& n : model->graph->nodes()) counts[n->op_type]++;
  EXPECT_EQ(counts["QuantizedLookup"], 1);
  EXPECT_EQ(counts["Add"] + counts["Mul"] + counts["Div"] + counts["Clip"], 0);
}

// X -> Conv a (stride 2) -> Resize x2 (nearest) ┐
// X -> Conv b ───────────────────────────────────┴ Concat -> Conv c -> Y
ModelBuilder concat_of_resized_model() {
  ModelBuilder m(13);
  m.input("X", {1, 4, 8, 8});
  m.random_initializer("Wa", {4, 4, 3, 3}, -0.3f, 0.3f);
  m.random_initializer("Wb", {4, 4, 3, 3}, -1.0f, 1.0f);  // a range several times Conv a's
  m.random_initializer("Wc", {2, 8, 1, 1}, -0.5f, 0.5f);
  m.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  auto& a = m.node("Conv", {"X", "Wa"}, {"a"});
  attr(a, "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(a, "strides", std::vector<int64_t>{2, 2});
  auto& r = m.node("Resize", {"a", "", "scales"}, {"up"});
  attr(r, "mode", std::string("nearest"));
  auto& b = m.node("Conv", {"X", "Wb"}, {"b"});
  attr(b, "pads", std::vector<int64_t>{1, 1, 1, 1});
  attr(m.node("Concat", {"up", "b"}, {"cat"}), "axis", int64_t{1});
  m.node("Conv", {"cat", "Wc"}, {"Y"});
  m.output("Y");
  return m;
}

TEST_F(Quantize, ConcatInputsShareTheOutputScale) {
  const std::string in = write(concat_of_resized_model());
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()));
  EXPECT_EQ(s.quantized_nodes["Resize"], 1);
  EXPECT_EQ(s.quantized_nodes["Concat"], 1);
  auto model = onnx_format::load_model_file(out());
  // Every scale on the path Conv a -> Resize -> Concat and Conv b -> Concat is the Concat output's.
  std::set<float> scales;
  for (const char* name : {"a_scale", "up_scale", "b_scale", "cat_scale"}) {
    const ir::Value* v = model->graph->find(name);
    ASSERT_TRUE(v && v->initializer) << name;
    scales.insert(v->initializer->data<float>()[0]);
  }
  EXPECT_EQ(scales.size(), 1u);
  expect_close(in, out(), cnn_feed(10), 0.999, 0.05);  // Conv a's values share Conv b's wider scale
  // So the Resize and the Concat run on the int8 bytes: no DequantizeLinear feeds them.
  optimizer::optimize(*model->graph, 2);
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type != "Concat" && n->op_type != "Resize") continue;
    EXPECT_FALSE(n->inputs[0]->producer && n->inputs[0]->producer->op_type == "DequantizeLinear")
        << n->describe();
  }
}

TEST_F(Quantize, AccuracyTargetKeepsTheHarmfulNodeInFloat) {
  const std::string in = write(one_sensitive_node_model());
  QuantizationOptions o;
  o.preprocess = false;  // pre-processing would fold 'wide' into c1's bias, moving the harm to c1
  o.accuracy_target = 0.99;
  int last_done = -1, last_planned = -1;
  o.accuracy_progress = [&](int done, int planned) {
    EXPECT_LE(done, planned);
    last_done = done;
    last_planned = planned;
  };
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()), o);
  EXPECT_LT(s.cosine_all_quantized, 0.9);  // the graph is as sensitive as intended
  EXPECT_GE(s.cosine, 0.99);
  ASSERT_EQ(s.kept_for_accuracy.size(), 1u);
  EXPECT_NE(s.kept_for_accuracy[0].find("'wide'"), std::string::npos) << s.kept_for_accuracy[0];
  EXPECT_EQ(last_done, last_planned);
  EXPECT_EQ(s.quantized_nodes["Conv"], 2);
  EXPECT_EQ(s.quantized_nodes.count("Add"), 0u);
  std::unique_ptr<ir::Model> holder;
  const Tensor* k = initializer(out(), "K", holder);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->type(), ElementType::kFloat);
  for (const char* w : {"W1_quantized", "W2_quantized"}) {
    const Tensor* t = initializer(out(), w, holder);
    ASSERT_NE(t, nullptr) << w;
    EXPECT_EQ(t->type(), ElementType::kInt8) << w;
  }
  expect_close(in, out(), cnn_feed(7), 0.99, 0.1);  // held out from calibration

  // Without the target the same graph is quantized whole and fails it.
  QuantizationOptions whole;
  whole.preprocess = false;
  quantize_static(in, out(), reader_of(cnn_batches()), whole);
  Session a(in), b(out());
  const Tensor ref = a.run(cnn_feed(7))[0].tensor();
  const Tensor got = b.run(cnn_feed(7))[0].tensor();
  double dot = 0, nr = 0, ng = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    dot += double{ref.data<float>()[i]} * got.data<float>()[i];
    nr += double{ref.data<float>()[i]} * ref.data<float>()[i];
    ng += double{got.data<float>()[i]} * got.data<float>()[i];
  }
  EXPECT_LT(ng > 0 ? dot / std::sqrt(nr * ng) : 0.0, 0.9);  // all zero here: the three channels round to 0
}

TEST_F(Quantize, AccuracyTargetAlreadyMetQuantizesEverything) {
  const std::string in = write(cnn_model());
  QuantizationOptions o;
  o.accuracy_target = 0.9;
  o.accuracy_batches = 2;
  QuantizationSummary s = quantize_static(in, out(), reader_of(cnn_batches()), o);
  EXPECT_TRUE(s.kept_for_accuracy.empty());
  EXPECT_GE(s.cosine_all_quantized, 0.9);
  EXPECT_EQ(s.cosine, s.cosine_all_quantized);
  EXPECT_EQ(s.quantized_nodes["Conv"], 2);
  // Without a target nothing is measured.
  QuantizationSummary plain = quantize_static(in, out(), reader_of(cnn_batches()));
  EXPECT_TRUE(std::isnan(plain.cosine));
  // Nothing to quantize: the float model, identical to itself.
  QuantizationOptions no_matmul = o;
  no_matmul.op_types = {"MatMul"};
  QuantizationSummary none = quantize_static(in, out(), reader_of(cnn_batches()), no_matmul);
  EXPECT_TRUE(none.quantized_nodes.empty());
  EXPECT_EQ(none.cosine, 1.0);
}

TEST_F(Quantize, BadRequestsAreRejectedWithAMessage) {
  const std::string in = write(cnn_model());
  QuantizationOptions o;
  o.op_types = {"Softmax"};
  try {
    quantize_dynamic(in, out(), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Softmax"), std::string::npos);
  }
  EXPECT_THROW(quantize_static(in, out(), reader_of({})), Error);  // no calibration data
  QuantizationOptions both;
  both.nodes_to_quantize = {"conv1"};
  both.nodes_to_exclude = {"conv1"};
  EXPECT_THROW(quantize_dynamic(in, out(), both), Error);
  EXPECT_THROW(quantize_dynamic((dir_ / "missing.onnx").string(), out()), Error);
  for (double target : {0.0, 1.5, std::nan("")}) {
    QuantizationOptions bad;
    bad.accuracy_target = target;
    try {
      quantize_static(in, out(), reader_of(cnn_batches()), bad);
      FAIL() << "expected an error for accuracy_target " << target;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("accuracy_target"), std::string::npos) << e.what();
    }
  }
  QuantizationOptions dynamic_target;
  dynamic_target.accuracy_target = 0.99;
  EXPECT_THROW(quantize_dynamic(in, out(), dynamic_target), Error);
  QuantizationOptions no_batches;
  no_batches.accuracy_target = 0.99;
  no_batches.accuracy_batches = 0;
  EXPECT_THROW(quantize_static(in, out(), reader_of(cnn_batches()), no_batches), Error);
}

}  // namespace kestrel::quantization_test
