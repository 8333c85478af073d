// The int8 fast kernels (oneDNN MatMulInteger, QLinearMatMul, ai.kestrel DynamicQuantizeMatMul under
// src/providers/cpu/dnnl/; vectorised QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear under
// kernels/fast/) against the reference kernels: every output must be bit-identical, on odd shapes (sizes
// that are not multiples of the vector width, batched and 1-D activations, empty dims), u8/s8 operands,
// scalar, per-row and per-column zero points and scales. Each case also checks that the fast kernel took
// the node, so a test cannot pass by comparing the reference with itself.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "onnx/loader.h"
#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/fast/fast_vs_reference.h"
#include "runtime/kernel_registry.h"

namespace kestrel {
namespace {

using testing::NodeInput;

// Seeded uniform values of the element type over its whole range (float: [lo, hi)).
Tensor random_of(ElementType type, const Shape& shape, unsigned seed, float lo = -3, float hi = 3) {
  Tensor t(type, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) {
    if (type == ElementType::kFloat)
      t.data<float>()[i] = std::uniform_real_distribution<float>(lo, hi)(rng);
    else if (type == ElementType::kUInt8)
      t.data<uint8_t>()[i] = static_cast<uint8_t>(rng() & 0xFF);
    else
      t.data<int8_t>()[i] = static_cast<int8_t>(rng() & 0xFF);
  }
  return t;
}

Tensor scalar_of(ElementType type, double v) {
  Tensor t(type, {});
  if (type == ElementType::kFloat) *t.data<float>() = static_cast<float>(v);
  else if (type == ElementType::kUInt8) *t.data<uint8_t>() = static_cast<uint8_t>(v);
  else *t.data<int8_t>() = static_cast<int8_t>(v);
  return t;
}

Tensor positive_scales(const Shape& shape, unsigned seed) { return random_of(ElementType::kFloat, shape, seed, 0.001f, 0.05f); }

// The model with extra outputs beyond "Y" (for DynamicQuantizeLinear's scale and zero point).
std::string with_outputs(const std::string& bytes, const std::vector<std::string>& extra) {
  onnx::ModelProto m;
  m.ParseFromString(bytes);
  for (const auto& name : extra) {
    m.mutable_graph()->mutable_node(0)->add_output(name);
    m.mutable_graph()->add_output()->set_name(name);
  }
  return m.SerializeAsString();
}

// True when the highest-priority kernel for the model's only node is a fast one and accepts the node.
bool fast_kernel_taken(const std::string& bytes) {
  auto model = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "");
  const ir::Node& node = *model->graph->nodes().front();
  const auto defs = runtime::KernelRegistry::cpu().candidates(node.domain, node.op_type, node.opset, false);
  if (defs.empty() || defs.front()->priority == 0) return false;
  runtime::KernelInfo info(node, [](const std::string&) -> const runtime::Plan* { return nullptr; });
  return defs.front()->factory(info) != nullptr;
}

void expect_identical(const Tensor& ref, const Tensor& fast, size_t output) {
  ASSERT_EQ(ref.shape(), fast.shape()) << "output " << output;
  ASSERT_EQ(ref.type(), fast.type()) << "output " << output;
  if (std::memcmp(ref.raw_data(), fast.raw_data(), ref.bytes()) == 0) return;
  for (int64_t i = 0; i < ref.size(); ++i) {
    const size_t w = ref.bytes() / static_cast<size_t>(ref.size());
    if (std::memcmp(static_cast<const char*>(ref.raw_data()) + i * w, static_cast<const char*>(fast.raw_data()) + i * w, w) != 0) {
      if (ref.type() == ElementType::kFloat)
        FAIL() << "output " << output << " differs at " << i << ": " << ref.data<float>()[i] << " vs " << fast.data<float>()[i];
      if (ref.type() == ElementType::kInt32)
        FAIL() << "output " << output << " differs at " << i << ": " << ref.data<int32_t>()[i] << " vs " << fast.data<int32_t>()[i];
      FAIL() << "output " << output << " differs at flat index " << i;
    }
  }
}

// Runs the node on the reference and the fast kernels (1 and 2 threads, twice each) and expects identical
// outputs; `fast_expected` says whether the fast kernel must take the node.
std::vector<Value> compare(const std::string& op, const std::vector<NodeInput>& inputs, int opset, bool fast_expected = true,
             const std::function<void(onnx::NodeProto&)>& attrs = nullptr, const std::string& domain = "",
             const std::vector<std::string>& extra_outputs = {}) {
  const std::string bytes =
      with_outputs(testing::model_with_initializers(op, inputs, attrs, opset, domain), extra_outputs);
  EXPECT_EQ(fast_kernel_taken(bytes), fast_expected);
  const Feeds feeds = testing::feeds_of(inputs);
  const std::vector<Value> ref = testing::make_session(bytes, true, 1).run(feeds);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    Session fast = testing::make_session(bytes, false, threads);
    for (int round = 0; round < 2; ++round) {
      const std::vector<Value> got = fast.run(feeds);
      EXPECT_EQ(got.size(), ref.size());
      for (size_t k = 0; k < ref.size() && k < got.size(); ++k) expect_identical(ref[k].tensor(), got[k].tensor(), k);
    }
  }
  return ref;
}

const bool kVnni = cpu::int8_vnni_available();
constexpr ElementType kU8 = ElementType::kUInt8, kS8 = ElementType::kInt8, kF = ElementType::kFloat;

// ---- MatMulInteger ----

struct MmiCase {
  Shape a, b;
  ElementType at = kU8, bt = kS8;
  int a_zp = 0;      // 0: none, 1: scalar, 2: per row
  int b_zp = 0;      // 0: none, 1: scalar, 2: per column
};

std::vector<Value> matmul_integer(const MmiCase& c, bool fast_expected = kVnni) {
  std::vector<NodeInput> in{{"A", random_of(c.at, c.a, 1)}, {"B", random_of(c.bt, c.b, 2), true}};
  const int64_t M = c.a.size() >= 2 ? c.a[c.a.size() - 2] : 1, N = c.b.back();
  if (c.a_zp == 1) in.push_back({"a_zp", scalar_of(c.at, c.at == kU8 ? 131 : -7)});
  if (c.a_zp == 2) in.push_back({"a_zp", random_of(c.at, {M}, 3)});
  if (c.a_zp == 0 && c.b_zp) in.push_back({"a_zp", Tensor()});
  if (c.b_zp == 1) in.push_back({"b_zp", scalar_of(c.bt, c.bt == kU8 ? 120 : 3), true});
  if (c.b_zp == 2) in.push_back({"b_zp", random_of(c.bt, {N}, 4), true});
  return compare("MatMulInteger", in, 10, fast_expected);
}

TEST(FastInt8, MatMulIntegerU8S8) { matmul_integer({{7, 37}, {37, 19}}); }
TEST(FastInt8, MatMulIntegerScalarZeroPoints) { matmul_integer({{5, 64}, {64, 33}, kU8, kS8, 1, 1}); }
TEST(FastInt8, MatMulIntegerPerRowAndColumnZeroPoints) { matmul_integer({{2, 6, 29}, {29, 17}, kU8, kS8, 2, 2}); }
TEST(FastInt8, MatMulIntegerS8Activations) { matmul_integer({{3, 4, 45}, {45, 23}, kS8, kS8, 1, 0}); }
TEST(FastInt8, MatMulIntegerU8Weights) { matmul_integer({{9, 31}, {31, 65}, kU8, kU8, 1, 2}); }
TEST(FastInt8, MatMulIntegerS8U8) { matmul_integer({{4, 17}, {17, 5}, kS8, kU8, 2, 1}); }
TEST(FastInt8, MatMulIntegerVectorA) { EXPECT_EQ(matmul_integer({{33}, {33, 7}, kU8, kS8, 1, 0})[0].tensor().shape(), (Shape{7})); }
TEST(FastInt8, MatMulIntegerEmptyRows) { EXPECT_EQ(matmul_integer({{0, 12}, {12, 5}, kU8, kS8, 1, 1})[0].tensor().shape(), (Shape{0, 5})); }
TEST(FastInt8, MatMulIntegerBertShapes) { matmul_integer({{1, 128, 256}, {256, 1024}, kU8, kS8, 1, 0}); }
TEST(FastInt8, MatMulIntegerRuntimeBKeepsReference) {
  compare("MatMulInteger", {{"A", random_of(kU8, {3, 8}, 1)}, {"B", random_of(kS8, {8, 4}, 2)}}, 10, false);
}
TEST(FastInt8, MatMulIntegerInnerMismatchIsAnError) {
  const std::vector<NodeInput> in{{"A", random_of(kU8, {3, 9}, 1)}, {"B", random_of(kS8, {8, 4}, 2), true}};
  const std::string bytes = testing::model_with_initializers("MatMulInteger", in, nullptr, 10);
  EXPECT_THROW(testing::make_session(bytes, false, 1).run(testing::feeds_of(in)), Error);
}

// ---- QLinearMatMul ----

void q_linear_mat_mul(const Shape& a, const Shape& b, ElementType at, ElementType bt, ElementType yt, bool per_row,
                      bool per_column) {
  const int64_t M = a.size() >= 2 ? a[a.size() - 2] : 1, N = b.back();
  std::vector<NodeInput> in{
      {"A", random_of(at, a, 1)},
      {"a_scale", per_row ? positive_scales({M}, 5) : scalar_of(kF, 0.02)},
      {"a_zp", per_row ? random_of(at, {M}, 6) : scalar_of(at, at == kU8 ? 128 : 1)},
      {"B", random_of(bt, b, 2), true},
      {"b_scale", per_column ? positive_scales({N}, 7) : scalar_of(kF, 0.01), true},
      {"b_zp", per_column ? random_of(bt, {N}, 8) : scalar_of(bt, bt == kU8 ? 127 : 0), true},
      {"y_scale", scalar_of(kF, 0.3)},
      {"y_zp", scalar_of(yt, yt == kU8 ? 100 : -3)}};
  compare("QLinearMatMul", in, 10, kVnni);
}

TEST(FastInt8, QLinearMatMulPerTensor) { q_linear_mat_mul({7, 37}, {37, 19}, kU8, kS8, kU8, false, false); }
TEST(FastInt8, QLinearMatMulPerColumnWeights) { q_linear_mat_mul({2, 5, 70}, {70, 33}, kU8, kS8, kU8, false, true); }
TEST(FastInt8, QLinearMatMulPerRowActivations) { q_linear_mat_mul({3, 6, 21}, {21, 18}, kU8, kU8, kU8, true, true); }
TEST(FastInt8, QLinearMatMulSignedOutput) { q_linear_mat_mul({11, 40}, {40, 3}, kS8, kS8, kS8, false, true); }

// ---- DynamicQuantizeMatMul (ai.kestrel) ----

void dynamic_quantize_mat_mul(const Shape& a, int64_t N, ElementType bt, bool per_column, bool zp, bool bias) {
  const int64_t K = a.back();
  std::vector<NodeInput> in{{"A", random_of(kF, a, 1)},
                            {"B", random_of(bt, {K, N}, 2), true},
                            {"b_scale", per_column ? positive_scales({N}, 3) : scalar_of(kF, 0.013), true}};
  if (zp || bias) in.push_back(zp ? NodeInput{"b_zp", random_of(bt, {N}, 4), true} : NodeInput{"b_zp", Tensor()});
  if (bias) in.push_back({"bias", random_of(kF, {N}, 5), true});
  compare("DynamicQuantizeMatMul", in, 13, kVnni, nullptr, "ai.kestrel");
}

TEST(FastInt8, DynamicQuantizeMatMulPerTensor) { dynamic_quantize_mat_mul({5, 37}, 19, kS8, false, false, false); }
TEST(FastInt8, DynamicQuantizeMatMulPerColumnWithBias) { dynamic_quantize_mat_mul({2, 9, 64}, 33, kS8, true, false, true); }
TEST(FastInt8, DynamicQuantizeMatMulZeroPoints) { dynamic_quantize_mat_mul({1, 7, 30}, 12, kU8, true, true, true); }
TEST(FastInt8, DynamicQuantizeMatMulRowBlocks) {
  // At 2 threads, with fewer than 64 columns per thread (or weights under 512 KiB), the rows split into one
  // block per thread, each quantized, multiplied and scaled by its thread (odd row counts leave the second
  // block shorter), with weight zero points and without.
  dynamic_quantize_mat_mul({2, 1001, 45}, 70, kU8, true, true, true);
  dynamic_quantize_mat_mul({867, 97}, 127, kS8, false, false, true);
  // Too few rows to share out (3 at 2 threads) but work enough for oneDNN to split the columns.
  dynamic_quantize_mat_mul({3, 600}, 701, kS8, true, false, true);
}
TEST(FastInt8, DynamicQuantizeMatMulColumnSlices) {
  // At 2 threads, with weights of 512 KiB or more, each thread multiplies all rows by its own slice of the
  // columns (whole 64-column blocks but the last: 1024 + 1076 columns, 256 + 268, 384 + 393): odd rows and
  // K, weight zero points and without, per-tensor and per-column scales.
  dynamic_quantize_mat_mul({2, 5, 259}, 2100, kU8, true, true, true);
  dynamic_quantize_mat_mul({9, 1001}, 524, kS8, true, false, false);
  dynamic_quantize_mat_mul({1, 13, 700}, 777, kS8, false, true, true);
  // Smaller weights with as many columns take the row blocks.
  dynamic_quantize_mat_mul({71, 19}, 2100, kS8, false, false, true);
}
TEST(FastInt8, DynamicQuantizeMatMulBertShapes) { dynamic_quantize_mat_mul({1, 128, 256}, 256, kS8, false, false, true); }
TEST(FastInt8, DynamicQuantizeMatMulActivations) {
  // The eltwise primitive's Gelu (a polynomial erf) is not bit-identical to std::erf: compared with a
  // tolerance; Relu is exact; HardSigmoid takes the reference's loop.
  for (const char* act : {"Gelu", "Relu", "HardSigmoid"}) {
    SCOPED_TRACE(act);
    const std::vector<NodeInput> in{{"A", random_of(kF, {2, 7, 40}, 1)},
                                    {"B", random_of(kS8, {40, 21}, 2), true},
                                    {"b_scale", positive_scales({21}, 3), true},
                                    {"b_zp", Tensor()},
                                    {"bias", random_of(kF, {21}, 5), true}};
    const auto attrs = [act](onnx::NodeProto& n) { testing::add_attr(n, "activation", std::string(act)); };
    const std::string bytes = testing::model_with_initializers("DynamicQuantizeMatMul", in, attrs, 13, "ai.kestrel");
    EXPECT_EQ(fast_kernel_taken(bytes), kVnni);
    testing::compare_fast_with_reference("DynamicQuantizeMatMul", in, attrs, 13, 1e-5f, "ai.kestrel");
  }
}
TEST(FastInt8, DynamicQuantizeMatMulGeluLargeInput) {
  // An input large enough for the split quantization, odd K and N, Gelu applied in the scaling pass; 67
  // columns take the row blocks at 2 threads, 2030 (weights over 512 KiB) the column slices, HardSigmoid
  // (the reference's loop) applied per slice.
  for (const int64_t N : {67, 2030}) {
    const std::vector<NodeInput> in{{"A", random_of(kF, {1, 131, 259}, 1)},
                                    {"B", random_of(kS8, {259, N}, 2), true},
                                    {"b_scale", scalar_of(kF, 0.011), true},
                                    {"b_zp", Tensor()},
                                    {"bias", random_of(kF, {N}, 5), true}};
    for (const char* act : {"Gelu", "GeluTanh", "HardSigmoid"}) {
      SCOPED_TRACE(std::string(act) + " N " + std::to_string(N));
      const auto attrs = [act](onnx::NodeProto& n) { testing::add_attr(n, "activation", std::string(act)); };
      const std::string bytes =
          testing::model_with_initializers("DynamicQuantizeMatMul", in, attrs, 13, "ai.kestrel");
      EXPECT_EQ(fast_kernel_taken(bytes), kVnni);
      testing::compare_fast_with_reference("DynamicQuantizeMatMul", in, attrs, 13, 1e-5f, "ai.kestrel");
    }
  }
}
TEST(FastInt8, DynamicQuantizeMatMulAllZeroInput) {
  std::vector<NodeInput> in{{"A", Tensor(kF, {3, 16})},
                            {"B", random_of(kS8, {16, 5}, 2), true},
                            {"b_scale", scalar_of(kF, 0.5), true}};
  compare("DynamicQuantizeMatMul", in, 13, kVnni, nullptr, "ai.kestrel");
}

// ---- ConvInteger, QLinearConv ----

struct ConvCase {
  Shape x, w;
  ElementType xt = kU8, wt = kS8;
  int64_t group = 1;
  std::vector<int64_t> pads{0, 0, 0, 0}, strides{1, 1}, dilations{1, 1};
};

std::function<void(onnx::NodeProto&)> conv_attrs(const ConvCase& c) {
  return [c](onnx::NodeProto& n) {
    testing::add_attr(n, "group", c.group);
    testing::add_attr(n, "pads", c.pads);
    testing::add_attr(n, "strides", c.strides);
    testing::add_attr(n, "dilations", c.dilations);
  };
}

void conv_integer(const ConvCase& c, bool x_zp, bool fast_expected = kVnni) {
  std::vector<NodeInput> in{{"X", random_of(c.xt, c.x, 1)}, {"W", random_of(c.wt, c.w, 2), true}};
  if (x_zp) in.push_back({"x_zp", scalar_of(c.xt, c.xt == kU8 ? 140 : -5)});
  if (c.wt == kU8) {
    if (!x_zp) in.push_back({"x_zp", Tensor()});
    in.push_back({"w_zp", scalar_of(kU8, 128), true});
  }
  compare("ConvInteger", in, 10, fast_expected, conv_attrs(c));
}

TEST(FastInt8, ConvIntegerPadded) { conv_integer({{1, 5, 9, 11}, {7, 5, 3, 3}, kU8, kS8, 1, {1, 1, 1, 1}}, true); }
TEST(FastInt8, ConvIntegerStridedDilatedAsymmetricPads) {
  conv_integer({{2, 3, 13, 10}, {4, 3, 3, 2}, kU8, kS8, 1, {0, 2, 1, 0}, {2, 1}, {2, 1}}, true);
}
TEST(FastInt8, ConvIntegerS8InputU8Weights) { conv_integer({{1, 6, 8, 8}, {5, 6, 1, 1}, kS8, kU8}, true); }
TEST(FastInt8, ConvIntegerGroupsAndDepthwise) {
  conv_integer({{1, 8, 7, 7}, {4, 2, 3, 3}, kU8, kS8, 4, {1, 1, 1, 1}}, true);
  conv_integer({{1, 16, 9, 9}, {16, 1, 3, 3}, kU8, kS8, 16, {1, 1, 1, 1}, {2, 2}}, false);
}
TEST(FastInt8, ConvIntegerWeightZeroPointKeepsReference) {
  compare("ConvInteger",
          {{"X", random_of(kU8, {1, 3, 5, 5}, 1)}, {"W", random_of(kS8, {2, 3, 3, 3}, 2), true}, {"x_zp", Tensor()},
           {"w_zp", scalar_of(kS8, 3), true}},
          10, false);
}

// `channels_last`: ai.kestrel QLinearConv with X given NHWC (c.x stays the NCHW shape). `constant_x_zp`: the
// input zero point is a constant, as in models (the kernel then makes its per-channel offsets once).
void q_linear_conv(const ConvCase& c, ElementType yt, bool per_channel, bool bias, bool channels_last = false,
                   bool constant_x_zp = false) {
  const int64_t M = c.w[0];
  const Shape x_shape = channels_last ? Shape{c.x[0], c.x[2], c.x[3], c.x[1]} : c.x;
  // Constant scales and output zero point: requantized inside the oneDNN primitive (see QLinearConvRuntimeScales).
  std::vector<NodeInput> in{{"X", random_of(c.xt, x_shape, 1)},
                            {"x_scale", scalar_of(kF, 0.05), true},
                            {"x_zp", scalar_of(c.xt, c.xt == kU8 ? 120 : 4), constant_x_zp},
                            {"W", random_of(c.wt, c.w, 2), true},
                            {"w_scale", per_channel ? positive_scales({M}, 3) : scalar_of(kF, 0.01), true},
                            {"w_zp", c.wt == kU8 ? scalar_of(kU8, 128) : scalar_of(kS8, 0), true},
                            {"y_scale", scalar_of(kF, 0.9), true},
                            {"y_zp", scalar_of(yt, yt == kU8 ? 90 : -10), true}};
  if (bias) {
    Tensor b(ElementType::kInt32, {M});
    for (int64_t m = 0; m < M; ++m) b.data<int32_t>()[m] = static_cast<int32_t>(m * 997 % 4001) - 2000;
    in.push_back({"B", b, true});
  }
  if (!channels_last) {
    compare("QLinearConv", in, 10, kVnni, conv_attrs(c));
    return;
  }
  compare("QLinearConv", in, 1, kVnni,
          [c](onnx::NodeProto& n) {
            conv_attrs(c)(n);
            testing::add_attr(n, "channels_last", int64_t{1});
          },
          "ai.kestrel");
}

TEST(FastInt8, QLinearConvPerTensor) { q_linear_conv({{1, 5, 9, 11}, {7, 5, 3, 3}, kU8, kS8, 1, {1, 1, 1, 1}}, kU8, false, false); }
TEST(FastInt8, QLinearConvPerChannelWithBias) {
  q_linear_conv({{2, 6, 12, 9}, {17, 6, 3, 3}, kU8, kS8, 1, {1, 0, 1, 2}, {2, 2}}, kU8, true, true);
}
TEST(FastInt8, QLinearConvSignedDepthwise) {
  q_linear_conv({{1, 24, 10, 10}, {24, 1, 3, 3}, kS8, kS8, 24, {1, 1, 1, 1}}, kS8, true, true);
}
TEST(FastInt8, QLinearConvConstantInputZeroPoint) {
  q_linear_conv({{1, 5, 9, 11}, {7, 5, 3, 3}, kU8, kS8, 1, {1, 1, 1, 1}}, kU8, true, true, false, true);
  q_linear_conv({{1, 24, 10, 7}, {24, 1, 3, 3}, kS8, kS8, 24, {1, 1, 1, 1}}, kS8, true, true, false, true);
  q_linear_conv({{2, 24, 12, 9}, {24, 1, 5, 5}, kS8, kS8, 24, {2, 1, 2, 3}}, kU8, true, true, true, true);
  q_linear_conv({{3, 19, 5, 11}, {13, 19, 1, 1}, kU8, kS8, 1, {0, 0, 0, 0}, {2, 1}}, kS8, false, true, true, true);
}
TEST(FastInt8, QLinearConvRuntimeScales) {
  // Scales fed at run time: requantized after the convolution instead of inside it.
  const ConvCase c{{1, 6, 7, 7}, {5, 6, 3, 3}, kU8, kS8, 1, {1, 1, 1, 1}};
  Tensor b(ElementType::kInt32, {5});
  for (int64_t m = 0; m < 5; ++m) b.data<int32_t>()[m] = static_cast<int32_t>(m * 300) - 700;
  compare("QLinearConv",
          {{"X", random_of(kU8, c.x, 1)}, {"x_scale", scalar_of(kF, 0.05)}, {"x_zp", scalar_of(kU8, 120)},
           {"W", random_of(kS8, c.w, 2), true}, {"w_scale", positive_scales({5}, 3), true},
           {"w_zp", scalar_of(kS8, 0), true}, {"y_scale", scalar_of(kF, 0.7)}, {"y_zp", scalar_of(kU8, 90)},
           {"B", b, true}},
          10, kVnni, conv_attrs(c));
}
// Channels-last (made by the layout_nhwc rule): padded inputs are copied into the zero-point-padded buffer (s8
// ones flipped to u8 on the way), unpadded u8 ones are read in place.
TEST(FastInt8, QLinearConvChannelsLastPadded) {
  q_linear_conv({{2, 6, 12, 9}, {17, 6, 3, 3}, kU8, kS8, 1, {1, 0, 1, 2}, {2, 2}}, kU8, true, true, true);
}
// Only the padding of the buffer gets the zero point: a buffer left full of another convolution's values
// must not show through.
TEST(FastInt8, QLinearConvChannelsLastPaddingAfterOtherInput) {
  q_linear_conv({{2, 24, 15, 13}, {5, 24, 1, 1}, kS8, kS8}, kS8, false, false, true);
  q_linear_conv({{2, 24, 12, 9}, {24, 1, 5, 5}, kS8, kS8, 24, {2, 1, 2, 3}}, kS8, true, true, true);
}
TEST(FastInt8, QLinearConvChannelsLastSignedDepthwise) {
  q_linear_conv({{1, 24, 10, 7}, {24, 1, 3, 3}, kS8, kS8, 24, {1, 1, 1, 1}}, kS8, true, true, true);
}
// Channels-last depthwise convolutions: channel counts past a multiple of 64, 3x3, 2x2, 5x5 split over threads,
// strides, dilations, asymmetric pads, u8 and s8 in and out, a batch.
TEST(FastInt8, QLinearConvChannelsLastDepthwiseKernel) {
  q_linear_conv({{2, 97, 13, 11}, {97, 1, 3, 3}, kU8, kS8, 97, {1, 2, 0, 1}, {2, 1}, {2, 2}}, kU8, true, true, true);
  q_linear_conv({{1, 64, 9, 9}, {64, 1, 2, 2}, kU8, kS8, 64}, kS8, false, false, true);
  q_linear_conv({{1, 130, 40, 40}, {130, 1, 5, 5}, kS8, kS8, 130, {2, 2, 2, 2}}, kS8, true, true, true);
  q_linear_conv({{1, 7, 6, 5}, {7, 1, 3, 3}, kS8, kS8, 7, {1, 1, 1, 1}, {2, 2}}, kU8, true, false, true);
}
// Padded inputs large enough that the copy into the padded buffer splits its rows over the threads, across
// the images of a batch.
TEST(FastInt8, QLinearConvChannelsLastPaddedCopySplitOverThreads) {
  q_linear_conv({{2, 67, 50, 45}, {67, 1, 3, 3}, kU8, kS8, 67, {1, 1, 1, 1}}, kU8, true, true, true, true);
  q_linear_conv({{2, 19, 61, 59}, {7, 19, 3, 3}, kS8, kS8, 1, {2, 1, 0, 1}}, kS8, false, true, true, true);
}
// Depthwise 3x3 windows over maps of 2048 outputs or more take oneDNN's direct kernel instead of its first
// choice: odd channel counts, u8 and s8 in and out, stride 1 and 2, a batch, split over threads.
TEST(FastInt8, QLinearConvChannelsLastDepthwiseLargeMaps) {
  q_linear_conv({{1, 21, 47, 53}, {21, 1, 3, 3}, kU8, kS8, 21, {1, 1, 1, 1}}, kS8, true, true, true, true);
  q_linear_conv({{2, 37, 97, 91}, {37, 1, 3, 3}, kS8, kS8, 37, {1, 0, 1, 1}, {2, 2}}, kU8, true, true, true,
                true);
}
// ai.kestrel QLinearConv's x_table: the convolution reads table[X]; the fast kernel looks X up while copying it
// into the padded buffer (never in place), u8/s8 X and table, padded or not, large enough to split the copy.
void q_linear_conv_table(const ConvCase& c, ElementType table_type) {
  const Shape x_shape{c.x[0], c.x[2], c.x[3], c.x[1]};
  const int64_t M = c.w[0];
  Tensor b(ElementType::kInt32, {M});
  for (int64_t m = 0; m < M; ++m) b.data<int32_t>()[m] = static_cast<int32_t>(m * 331 % 2001) - 1000;
  compare("QLinearConv",
          {{"X", random_of(c.xt, x_shape, 1)},
           {"x_scale", scalar_of(kF, 0.05), true},
           {"x_zp", scalar_of(table_type, table_type == kU8 ? 117 : -9), true},
           {"W", random_of(c.wt, c.w, 2), true},
           {"w_scale", positive_scales({M}, 3), true},
           {"w_zp", scalar_of(kS8, 0), true},
           {"y_scale", scalar_of(kF, 0.9), true},
           {"y_zp", scalar_of(kU8, 100), true},
           {"B", b, true},
           {"x_table", random_of(table_type, {256}, 4), true}},
          1, kVnni,
          [c](onnx::NodeProto& n) {
            conv_attrs(c)(n);
            testing::add_attr(n, "channels_last", int64_t{1});
          },
          "ai.kestrel");
}
TEST(FastInt8, QLinearConvInputTable) {
  q_linear_conv_table({{1, 24, 10, 7}, {24, 1, 3, 3}, kU8, kS8, 24, {1, 1, 1, 1}}, kS8);
  q_linear_conv_table({{2, 19, 9, 11}, {19, 1, 5, 5}, kS8, kS8, 19, {2, 2, 2, 2}, {2, 1}}, kU8);
  q_linear_conv_table({{1, 13, 5, 11}, {7, 13, 1, 1}, kU8, kS8}, kU8);  // no padding: still looked up
  q_linear_conv_table({{2, 67, 50, 45}, {67, 1, 3, 3}, kS8, kS8, 67, {1, 1, 1, 1}}, kS8);  // copy split over threads
}
TEST(FastInt8, QLinearConvChannelsLastPointwiseInPlace) {
  q_linear_conv({{1, 19, 5, 11}, {13, 19, 1, 1}, kU8, kS8}, kU8, true, true, true);
  q_linear_conv({{3, 19, 5, 11}, {13, 19, 1, 1}, kS8, kS8, 1, {0, 0, 0, 0}, {2, 1}}, kS8, false, false, true);
}
TEST(FastInt8, QLinearConvU8Weights) { q_linear_conv({{1, 4, 6, 6}, {3, 4, 1, 1}, kU8, kU8}, kU8, true, true); }

// ---- QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear ----

// Values that hit the saturation and rounding ties too: x / scale spans well beyond the 8-bit range, and
// some land exactly on .5.
Tensor quantize_input(const Shape& shape) {
  Tensor t = random_of(kF, shape, 9, -20, 20);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); i += 7) p[i] = static_cast<float>(i % 11) * 0.125f - 0.625f;  // ties at scale 0.25
  if (t.size() > 3) p[3] = std::numeric_limits<float>::quiet_NaN();
  return t;
}

TEST(FastInt8, QuantizeLinearPerTensorU8) {
  compare("QuantizeLinear", {{"x", quantize_input({3, 37})}, {"s", scalar_of(kF, 0.25)}, {"z", scalar_of(kU8, 128)}}, 13);
}
TEST(FastInt8, QuantizeLinearPerTensorS8) {
  compare("QuantizeLinear", {{"x", quantize_input({1001})}, {"s", scalar_of(kF, 0.25)}, {"z", scalar_of(kS8, -3)}}, 10);
}
TEST(FastInt8, QuantizeLinearWithoutZeroPoint) {
  compare("QuantizeLinear", {{"x", quantize_input({17})}, {"s", scalar_of(kF, 0.1)}}, 13);
}
TEST(FastInt8, QuantizeLinearPerAxis) {
  compare("QuantizeLinear",
          {{"x", quantize_input({2, 5, 3, 7})}, {"s", positive_scales({5}, 1)}, {"z", random_of(kS8, {5}, 2)}}, 13);
}
TEST(FastInt8, QuantizeLinearLargeSplitsOverThreads) {
  compare("QuantizeLinear", {{"x", quantize_input({3, 40001})}, {"s", scalar_of(kF, 0.25)}, {"z", scalar_of(kU8, 10)}}, 13);
}
// x / scale next to every half-integer of the 8-bit range and a little beyond, for scales whose reciprocal is
// inexact (a loop multiplying by the reciprocal instead of dividing would round some to the other integer);
// also values far past saturation and a scale with no normal reciprocal.
TEST(FastInt8, QuantizeLinearNearRoundingTies) {
  for (float scale : {0.037f, 0.1f, 0.0071f, 3.3f}) {
    std::vector<float> x;
    for (int k = -300; k <= 300; ++k) {
      const float tie = (static_cast<float>(k) + 0.5f) * scale;
      float below = tie, above = tie;
      x.push_back(tie);
      for (int u = 0; u < 4; ++u) {
        below = std::nextafter(below, -1e30f);
        above = std::nextafter(above, 1e30f);
        x.push_back(below);
        x.push_back(above);
      }
    }
    for (float big : {4095.5f, 4096.5f, 5000.5f, -4200.5f}) x.push_back(big * scale);
    SCOPED_TRACE(scale);
    const Tensor t = Tensor::from_vector<float>(x);
    compare("QuantizeLinear", {{"x", t}, {"s", scalar_of(kF, scale)}, {"z", scalar_of(kU8, 3)}}, 13);
    compare("QuantizeLinear", {{"x", t}, {"s", scalar_of(kF, scale)}, {"z", scalar_of(kS8, -5)}}, 13);
  }
  compare("QuantizeLinear", {{"x", quantize_input({77})}, {"s", scalar_of(kF, 1e-39)}, {"z", scalar_of(kU8, 9)}}, 13);
}
TEST(FastInt8, QuantizeLinearEmpty) {
  compare("QuantizeLinear", {{"x", quantize_input({0, 5})}, {"s", scalar_of(kF, 0.25)}, {"z", scalar_of(kU8, 10)}}, 13);
}
TEST(FastInt8, DequantizeLinearPerTensor) {
  compare("DequantizeLinear", {{"x", random_of(kU8, {5, 33}, 1)}, {"s", scalar_of(kF, 0.037)}, {"z", scalar_of(kU8, 77)}}, 13);
  compare("DequantizeLinear", {{"x", random_of(kS8, {41}, 1)}, {"s", scalar_of(kF, 0.5)}}, 10);
}
TEST(FastInt8, DequantizeLinearPerAxis) {
  compare("DequantizeLinear",
          {{"x", random_of(kS8, {3, 4, 19}, 1)}, {"s", positive_scales({4}, 2)}, {"z", random_of(kS8, {4}, 3)}}, 13);
  compare("DequantizeLinear",
          {{"x", random_of(kU8, {6, 20}, 1)}, {"s", positive_scales({6}, 2)}, {"z", random_of(kU8, {6}, 3)}},
          13, true, [](onnx::NodeProto& n) { testing::add_attr(n, "axis", int64_t{0}); });
}
TEST(FastInt8, DynamicQuantizeLinear) {
  compare("DynamicQuantizeLinear", {{"x", random_of(kF, {3, 77}, 4, -2.5f, 7.0f)}}, 11, true, nullptr, "", {"s", "z"});
  compare("DynamicQuantizeLinear", {{"x", random_of(kF, {100003}, 5, 0.5f, 3.0f)}}, 11, true, nullptr, "", {"s", "z"});
  compare("DynamicQuantizeLinear", {{"x", random_of(kF, {9}, 6, -4.0f, -1.0f)}}, 11, true, nullptr, "", {"s", "z"});
  compare("DynamicQuantizeLinear", {{"x", Tensor(kF, {2, 8})}}, 11, true, nullptr, "", {"s", "z"});
}
TEST(FastInt8, DynamicQuantizeLinearSplitOverThreads) {
  // From 2^15 elements the range and the quantization split over the threads in one region: the extremes sit
  // in the last thread's part (after a NaN), and the size leaves a tail that is not a whole vector.
  Tensor x = random_of(kF, {3, 13337}, 7, -1.0f, 1.0f);
  float* p = x.data<float>();
  p[30001] = std::numeric_limits<float>::quiet_NaN();
  p[35000] = -6.5f;
  p[x.size() - 1] = 9.25f;
  compare("DynamicQuantizeLinear", {{"x", x}}, 11, true, nullptr, "", {"s", "z"});
  // All zeros: scale 0.
  compare("DynamicQuantizeLinear", {{"x", Tensor(kF, {40001})}}, 11, true, nullptr, "", {"s", "z"});
}

}  // namespace
}  // namespace kestrel
