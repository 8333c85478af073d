// kestrel.precision=bf16: Conv, MatMul and Gemm with bfloat16 weights and activations against the fp32 reference
// kernels. bf16 keeps 8 significant bits, so each product carries a relative error up to 2^-8 and the
// comparison is against the output's scale (and its direction, by cosine), not element by element at fp32's
// tolerance. On a CPU without bf16 instructions the session must say it runs fp32, and then match tightly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fast_vs_reference.h"

namespace kestrel::testing {
namespace {

// pattern_tensor's values (multiples of 1/32) are exact in bf16, and so would be every product: a third of them
// is not, so bf16 rounding shows.
Tensor inexact(Shape shape, int salt = 0) {
  Tensor t = pattern_tensor(std::move(shape), salt);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] /= 3.0f;
  return t;
}

bool cpu_has_bf16() { return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16"); }

// fp32_op_types: the session config entry kestrel.precision.fp32_op_types, when not empty.
Session bf16_session(const std::string& bytes, int threads, GraphOptimizationLevel level,
                     const std::string& fp32_op_types = "") {
  SessionOptions o;
  o.graph_optimization_level = level;
  o.intra_op_num_threads = threads;
  o.config_entries["kestrel.precision"] = "bf16";
  if (!fp32_op_types.empty()) o.config_entries["kestrel.precision.fp32_op_types"] = fp32_op_types;
  return Session(bytes.data(), bytes.size(), o);
}

// max |bf16 - ref| <= 2% of max |ref|, and cosine similarity >= 0.9999.
void expect_bf16_close(const Tensor& ref, const Tensor& got) {
  ASSERT_EQ(ref.shape(), got.shape());
  const float* r = ref.data<float>();
  const float* g = got.data<float>();
  double scale = 0, dot = 0, rr = 0, gg = 0, worst = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << "at flat index " << i;
    scale = std::max(scale, std::fabs(static_cast<double>(r[i])));
    worst = std::max(worst, std::fabs(static_cast<double>(r[i]) - g[i]));
    dot += static_cast<double>(r[i]) * g[i];
    rr += static_cast<double>(r[i]) * r[i];
    gg += static_cast<double>(g[i]) * g[i];
  }
  EXPECT_LE(worst, 0.02 * scale) << "largest error " << worst << " against a largest |reference| of " << scale;
  if (rr > 0) {
    EXPECT_GE(dot / std::sqrt(rr * gg), 0.9999);
  }
}

// Runs the node at bf16 (1 and 2 threads, twice each: the second run uses the cached primitive) and compares
// with the fp32 reference kernels. Also checks bf16 really ran where the CPU has it: the result differs from
// fp32's in some element (bf16 rounding shows in sums of non-representable products). A node that bf16 sessions
// deliberately keep in fp32 (kept_fp32) must instead give exactly the fp32 session's output.
void compare_bf16_with_reference(const std::string& op, const std::vector<NodeInput>& inputs,
                                 const std::function<void(onnx::NodeProto&)>& set_attrs, int opset,
                                 const std::string& domain = "", bool kept_fp32 = false) {
  const std::string bytes = model_with_initializers(op, inputs, set_attrs, opset, domain);
  const Feeds feeds = feeds_of(inputs);
  const Tensor ref = make_session(bytes, true, 1).run(feeds).at(0).tensor();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    Session s = bf16_session(bytes, threads, GraphOptimizationLevel::kDisableAll);
    if (!cpu_has_bf16()) {
      EXPECT_EQ(s.precision(), "fp32");
      expect_close(ref, s.run(feeds).at(0).tensor(), 1e-4f);
      continue;
    }
    EXPECT_EQ(s.precision(), "bf16");
    const Tensor first = s.run(feeds).at(0).tensor();
    const Tensor fp32 = make_session(bytes, false, threads).run(feeds).at(0).tensor();
    if (kept_fp32) {
      ASSERT_EQ(fp32.size(), first.size());
      for (int64_t i = 0; i < fp32.size(); ++i)
        ASSERT_EQ(fp32.data<float>()[i], first.data<float>()[i]) << "at flat index " << i;
      continue;
    }
    expect_bf16_close(ref, first);
    expect_bf16_close(ref, s.run(feeds).at(0).tensor());
    bool differs = false;
    for (int64_t i = 0; i < fp32.size() && !differs; ++i) differs = fp32.data<float>()[i] != first.data<float>()[i];
    EXPECT_TRUE(differs) << "bf16 output is bit-identical to fp32: the bf16 path did not run";
  }
}

void conv_attrs(onnx::NodeProto& n, std::vector<int64_t> strides, std::vector<int64_t> pads, int64_t group) {
  auto* s = n.add_attribute();
  s->set_name("strides");
  s->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : strides) s->add_ints(v);
  auto* p = n.add_attribute();
  p->set_name("pads");
  p->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : pads) p->add_ints(v);
  auto* g = n.add_attribute();
  g->set_name("group");
  g->set_type(onnx::AttributeProto::INT);
  g->set_i(group);
}

TEST(Bf16, ConvOddShapes) {
  {
    SCOPED_TRACE("3x3, stride 2, pads, odd channels");
    compare_bf16_with_reference("Conv",
                                {{"X", inexact({1, 19, 23, 17})},
                                 {"W", inexact({37, 19, 3, 3}, 3), true},
                                 {"B", inexact({37}, 5), true}},
                                [](onnx::NodeProto& n) { conv_attrs(n, {2, 2}, {1, 1, 1, 1}, 1); }, 13);
  }
  {
    SCOPED_TRACE("1x1, batch 2, no bias");
    compare_bf16_with_reference(
        "Conv", {{"X", inexact({2, 64, 7, 9})}, {"W", inexact({48, 64, 1, 1}, 7), true}},
        [](onnx::NodeProto& n) { conv_attrs(n, {1, 1}, {0, 0, 0, 0}, 1); }, 13);
  }
  {
    // Depthwise stays fp32: each output sums one 3x3 window, so bf16 rounding would show almost undamped.
    SCOPED_TRACE("depthwise");
    compare_bf16_with_reference(
        "Conv", {{"X", inexact({1, 32, 15, 15})}, {"W", inexact({32, 1, 3, 3}, 2), true}},
        [](onnx::NodeProto& n) { conv_attrs(n, {1, 1}, {1, 1, 1, 1}, 32); }, 13, "", /*kept_fp32=*/true);
  }
  {
    // So does a short reduction: an image model's first conv sums 3 channels x 3x3 = 27 products per output.
    SCOPED_TRACE("3 input channels");
    compare_bf16_with_reference(
        "Conv", {{"X", inexact({1, 3, 17, 19})}, {"W", inexact({24, 3, 3, 3}, 2), true}},
        [](onnx::NodeProto& n) { conv_attrs(n, {2, 2}, {1, 1, 1, 1}, 1); }, 13, "", /*kept_fp32=*/true);
  }
  {
    SCOPED_TRACE("grouped, 4 channels per group");
    compare_bf16_with_reference(
        "Conv", {{"X", inexact({1, 32, 15, 15})}, {"W", inexact({48, 4, 3, 3}, 2), true}},
        [](onnx::NodeProto& n) { conv_attrs(n, {1, 1}, {1, 1, 1, 1}, 8); }, 13);
  }
  {
    // Large enough for oneDNN: Kestrel's own small 1-D convolution kernel stays fp32.
    SCOPED_TRACE("1-D, dynamic input shape");
    compare_bf16_with_reference("Conv",
                                {{"X", inexact({1, 64, 300}), false, true},
                                 {"W", inexact({96, 64, 5}, 9), true},
                                 {"B", inexact({96}, 1), true}},
                                [](onnx::NodeProto& n) { conv_attrs(n, {1}, {2, 2}, 1); }, 13);
  }
}

TEST(Bf16, MatMulConstantB) {
  {
    SCOPED_TRACE("3-D A, odd K and N");
    compare_bf16_with_reference("MatMul",
                                {{"A", inexact({2, 5, 131})}, {"B", inexact({131, 67}, 4), true}},
                                nullptr, 13);
  }
  {
    SCOPED_TRACE("one row, dynamic A");
    compare_bf16_with_reference(
        "MatMul", {{"A", inexact({1, 256}), false, true}, {"B", inexact({256, 300}, 8), true}},
        nullptr, 13);
  }
}

TEST(Bf16, GemmTransposesAndBias) {
  compare_bf16_with_reference("Gemm",
                              {{"A", inexact({70, 33})},
                               {"B", inexact({45, 70}, 6), true},
                               {"C", inexact({45}, 2), true}},
                              [](onnx::NodeProto& n) {
                                for (const char* name : {"transA", "transB"}) {
                                  auto* a = n.add_attribute();
                                  a->set_name(name);
                                  a->set_type(onnx::AttributeProto::INT);
                                  a->set_i(1);
                                }
                                auto* alpha = n.add_attribute();
                                alpha->set_name("alpha");
                                alpha->set_type(onnx::AttributeProto::FLOAT);
                                alpha->set_f(0.5f);
                              },
                              13);
}

// A MatMul whose B is not a constant (attention's Q.K^T) stays fp32: same result as the fp32 session.
TEST(Bf16, MatMulOfTwoActivationsStaysFp32) {
  const std::vector<NodeInput> inputs{{"A", inexact({3, 8, 16})}, {"B", inexact({3, 16, 8}, 5)}};
  const std::string bytes = model_with_initializers("MatMul", inputs, nullptr, 13);
  const Feeds feeds = feeds_of(inputs);
  const Tensor fp32 = make_session(bytes, false, 1).run(feeds).at(0).tensor();
  const Tensor bf16 = bf16_session(bytes, 1, GraphOptimizationLevel::kDisableAll).run(feeds).at(0).tensor();
  expect_close(fp32, bf16, 0.0f);
}

// kestrel.precision.fp32_op_types: a listed op type, and the optimizer's fused form of it, gives exactly the
// fp32 session's output while the op types not listed still run bf16.
TEST(Bf16, Fp32OpTypesStayFp32) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "no bf16 instructions: every op runs fp32 anyway";
  struct Case {
    std::string op, domain, type;  // type: the op type the fused form counts as
    std::vector<NodeInput> inputs;
    std::function<void(onnx::NodeProto&)> attrs;
  };
  const auto pointwise = [](onnx::NodeProto& n) { conv_attrs(n, {1, 1}, {0, 0, 0, 0}, 1); };
  const std::vector<NodeInput> conv_inputs{
      {"X", inexact({1, 64, 7, 9})}, {"W", inexact({48, 64, 1, 1}, 7), true}, {"B", inexact({48}, 2), true}};
  const std::vector<NodeInput> mat_mul_inputs{{"A", inexact({2, 5, 131})},
                                              {"B", inexact({131, 67}, 4), true}};
  const std::vector<Case> cases{
      {"Conv", "", "Conv", conv_inputs, pointwise},
      {"FusedConv", "ai.kestrel", "Conv", conv_inputs, pointwise},
      {"MatMul", "", "MatMul", mat_mul_inputs, nullptr},
      {"FusedMatMul", "ai.kestrel", "MatMul", mat_mul_inputs, nullptr},
      {"Gemm", "", "Gemm", {{"A", inexact({70, 33})}, {"B", inexact({33, 45}, 6), true}}, nullptr},
      {"FusedGemm",
       "ai.kestrel",
       "Gemm",
       {{"A", inexact({70, 33})}, {"B", inexact({33, 45}, 6), true}},
       nullptr}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    const std::string bytes = model_with_initializers(c.op, c.inputs, c.attrs, 13, c.domain);
    const Feeds feeds = feeds_of(c.inputs);
    const Tensor fp32 = make_session(bytes, false, 1).run(feeds).at(0).tensor();
    const Tensor kept = bf16_session(bytes, 1, GraphOptimizationLevel::kDisableAll, "Gemm," + c.type)
                            .run(feeds)
                            .at(0)
                            .tensor();
    ASSERT_EQ(fp32.size(), kept.size());
    for (int64_t i = 0; i < fp32.size(); ++i)
      ASSERT_EQ(fp32.data<float>()[i], kept.data<float>()[i]) << "at flat index " << i;
    const std::string others = c.type == "Conv" ? "MatMul,Gemm" : c.type == "MatMul" ? "Conv" : "Conv,MatMul";
    const Tensor reduced =
        bf16_session(bytes, 1, GraphOptimizationLevel::kDisableAll, others).run(feeds).at(0).tensor();
    bool differs = false;
    for (int64_t i = 0; i < fp32.size() && !differs; ++i)
      differs = fp32.data<float>()[i] != reduced.data<float>()[i];
    EXPECT_TRUE(differs) << "with only " << others << " kept fp32, " << c.op << " did not run bf16";
  }
}

TEST(Bf16, Fp32OpTypesAreValidated) {
  const std::string bytes =
      model_with_initializers("MatMul", {{"A", inexact({2, 4})}, {"B", inexact({4, 3}), true}}, nullptr, 13);
  for (const char* value : {"Relu", "", "Conv,,MatMul", "conv"}) {
    SCOPED_TRACE("'" + std::string(value) + "'");
    SessionOptions o;
    o.config_entries["kestrel.precision"] = "bf16";
    o.config_entries["kestrel.precision.fp32_op_types"] = value;
    try {
      Session s(bytes.data(), bytes.size(), o);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("kestrel.precision.fp32_op_types"), std::string::npos) << e.what();
    }
  }
}

TEST(Bf16, PrecisionConfigIsValidated) {
  const std::string bytes = model_with_initializers(
      "MatMul", {{"A", inexact({2, 4})}, {"B", inexact({4, 3}), true}}, nullptr, 13);
  SessionOptions o;
  o.config_entries["kestrel.precision"] = "fp16";
  try {
    Session s(bytes.data(), bytes.size(), o);
    FAIL() << "expected an error for kestrel.precision=fp16";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("kestrel.precision must be fp32 or bf16"), std::string::npos) << e.what();
  }
  o.config_entries["kestrel.precision"] = "fp32";
  EXPECT_EQ(Session(bytes.data(), bytes.size(), o).precision(), "fp32");
  EXPECT_EQ(Session(bytes.data(), bytes.size(), SessionOptions{}).precision(), "fp32");
}

}  // namespace
}  // namespace kestrel::testing
