// The oneDNN FusedConv, FusedMatMul and FusedGemm (src/providers/cpu/dnnl/fused_*.cc) against the reference
// ai.kestrel kernels: every activation as a post-op, same-shape and broadcast residuals, constant and
// run-time bias, transposes and alpha; a residual whose buffer the output takes over (reuse_input_as_output).
#include <gtest/gtest.h>

#include "common/model_builder.h"
#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

struct Act {
  std::string name;
  std::vector<float> params;
};

const std::vector<Act>& activations() {
  static const std::vector<Act> acts{{"", {}},
                                     {"Relu", {}},
                                     {"LeakyRelu", {0.1f}},
                                     {"Sigmoid", {}},
                                     {"Tanh", {}},
                                     {"Clip", {0.0f, 6.0f}},
                                     {"HardSigmoid", {0.3f, 0.4f}},
                                     {"HardSwish", {}},
                                     {"Silu", {}},
                                     {"Gelu", {}},
                                     {"GeluTanh", {}}};
  return acts;
}

auto with_activation(const Act& act, std::function<void(onnx::NodeProto&)> more = nullptr) {
  return [act, more](onnx::NodeProto& n) {
    if (!act.name.empty()) add_attr(n, "activation", act.name);
    if (!act.params.empty()) add_attr(n, "activation_params", act.params);
    if (more) more(n);
  };
}

TEST(FastFusedConv, EveryActivation) {
  for (const Act& act : activations()) {
    SCOPED_TRACE("activation " + act.name);
    compare_fast_with_reference("FusedConv",
                                {{"X", pattern_tensor({1, 5, 9, 8}, 1)},
                                 {"W", pattern_tensor({7, 5, 3, 3}, 2), true},
                                 {"B", pattern_tensor({7}, 3), true}},
                                with_activation(act,
                                                [](onnx::NodeProto& n) {
                                                  add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
                                                }),
                                13, 1e-4f, "ai.kestrel");
  }
}

// activation_scale / activation_shift: an eltwise_linear post-op in oneDNN, a loop in the reference; with a
// same-shape residual (sum post-op before it), a broadcast residual (applied after the primitive), channels-last.
TEST(FastFusedConv, ActivationScaleShift) {
  auto affine = [](float scale, float shift, std::function<void(onnx::NodeProto&)> more) {
    return [=](onnx::NodeProto& n) {
      add_attr(n, "activation_scale", scale);
      add_attr(n, "activation_shift", shift);
      more(n);
    };
  };
  auto pads = [](onnx::NodeProto& n) { add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1}); };
  for (const Act& act : {Act{"HardSwish", {}}, Act{"", {}}, Act{"Relu", {}}}) {
    SCOPED_TRACE("activation " + act.name);
    compare_fast_with_reference("FusedConv",
                                {{"X", pattern_tensor({1, 5, 9, 8}, 1)},
                                 {"W", pattern_tensor({7, 5, 3, 3}, 2), true},
                                 {"B", pattern_tensor({7}, 3), true}},
                                with_activation(act, affine(0.75f, -0.3f, pads)), 13, 1e-4f, "ai.kestrel");
    for (const Shape& z : {Shape{1, 7, 9, 8}, Shape{1, 7, 1, 1}})
      compare_fast_with_reference("FusedConv",
                                  {{"X", pattern_tensor({1, 5, 9, 8}, 1)},
                                   {"W", pattern_tensor({7, 5, 3, 3}, 2), true},
                                   {"B", pattern_tensor({7}, 3), true},
                                   {"Z", pattern_tensor(z, 4)}},
                                  with_activation(act, affine(1.5f, 0.25f, pads)), 13, 1e-4f, "ai.kestrel");
    compare_fast_with_reference("FusedConv",
                                {{"X", pattern_tensor({1, 9, 8, 5}, 1)}, {"W", pattern_tensor({7, 5, 3, 3}, 2), true}},
                                with_activation(act, affine(-2.0f, 1.0f,
                                                            [&](onnx::NodeProto& n) {
                                                              pads(n);
                                                              add_attr(n, "channels_last", int64_t{1});
                                                            })),
                                13, 1e-4f, "ai.kestrel");
  }
}

TEST(FastFusedConv, SameShapeResidual) {
  compare_fast_with_reference("FusedConv",
                              {{"X", pattern_tensor({2, 6, 7, 7}, 1)},
                               {"W", pattern_tensor({6, 6, 3, 3}, 2), true},
                               {"B", pattern_tensor({6}, 3), true},
                               {"Z", pattern_tensor({2, 6, 7, 7}, 4)}},
                              with_activation({"Relu", {}},
                                              [](onnx::NodeProto& n) {
                                                add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
                                              }),
                              13, 1e-4f, "ai.kestrel");
}

TEST(FastFusedConv, ResidualWithoutBiasDepthwise) {
  compare_fast_with_reference("FusedConv",
                              {{"X", pattern_tensor({1, 19, 6, 5}, 1)},
                               {"W", pattern_tensor({19, 1, 3, 3}, 2), true},
                               {"B", Tensor()},
                               {"Z", pattern_tensor({1, 19, 6, 5}, 4)}},
                              with_activation({"Silu", {}},
                                              [](onnx::NodeProto& n) {
                                                add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
                                                add_attr(n, "group", int64_t{19});
                                              }),
                              13, 1e-4f, "ai.kestrel");
}

// A bottleneck-like chain in either layout: a = conv(X), b = conv(a), c = conv(b) + a, Y = conv(c), where a
// dies with c's node, which then writes c over it; with `keep_a`, K = a + c is read after, so a must survive.
std::string residual_chain(bool channels_last, bool keep_a, int64_t C, int64_t H) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* ks = m.add_opset_import();
  ks->set_domain("ai.kestrel");
  ks->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("residual_chain");
  const Shape x_shape = channels_last ? Shape{1, H, H, C} : Shape{1, C, H, H};
  test_model::add_tensor_input(*g, "X", onnx::TensorProto::FLOAT, x_shape);
  auto constant = [&](const std::string& name, const Tensor& t) {
    auto* init = g->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.shape()) init->add_dims(d);
    init->set_raw_data(t.raw_data(), t.bytes());
  };
  for (int k = 1; k <= 4; ++k) {
    // Small weights keep the chain's values near 1, so the tolerance holds after four convolutions.
    Tensor w = pattern_tensor({C, C, 3, 3}, k);
    for (int64_t i = 0; i < w.size(); ++i) w.data<float>()[i] /= static_cast<float>(C * 3);
    constant("W" + std::to_string(k), w);
    constant("B" + std::to_string(k), pattern_tensor({C}, 10 + k));
  }
  auto conv = [&](const std::string& in, int k, const std::string& out, const std::string& residual) {
    std::vector<std::string> inputs{in, "W" + std::to_string(k), "B" + std::to_string(k)};
    if (!residual.empty()) inputs.push_back(residual);
    auto* n = test_model::add_node(*g, "FusedConv", inputs, {out});
    n->set_domain("ai.kestrel");
    add_attr(*n, "pads", std::vector<int64_t>{1, 1, 1, 1});
    add_attr(*n, "activation", std::string("Relu"));
    if (channels_last) add_attr(*n, "channels_last", int64_t{1});
  };
  conv("X", 1, "a", "");
  conv("a", 2, "b", "");
  conv("b", 3, "c", "a");
  conv("c", 4, "Y", "");
  test_model::add_tensor_output(*g, "Y", onnx::TensorProto::FLOAT, x_shape);
  if (keep_a) {
    test_model::add_node(*g, "Add", {"a", "c"}, {"K"});
    test_model::add_tensor_output(*g, "K", onnx::TensorProto::FLOAT, x_shape);
  }
  return m.SerializeAsString();
}

TEST(FastFusedConv, ResidualTakenOverByTheOutput) {
  // 41x41 with 24 channels: a team of two runs channels-last ones in Winograd row bands.
  constexpr int64_t C = 24, H = 41;
  for (bool channels_last : {false, true})
    for (bool keep_a : {false, true}) {
      SCOPED_TRACE(std::string(channels_last ? "NHWC" : "NCHW") + (keep_a ? ", a read after" : ""));
      const std::string bytes = residual_chain(channels_last, keep_a, C, H);
      const Feeds feeds{
          {"X", Value(pattern_tensor(channels_last ? Shape{1, H, H, C} : Shape{1, C, H, H}, 5))}};
      const std::vector<Value> want = testing::make_session(bytes, true, 1).run(feeds);
      for (int threads : {1, 2})
        for (ExecutionMode mode : {ExecutionMode::kSequential, ExecutionMode::kParallel}) {
          SCOPED_TRACE("threads " + std::to_string(threads) +
                       (mode == ExecutionMode::kParallel ? ", parallel executor" : ""));
          SessionOptions o;
          o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
          o.intra_op_num_threads = threads;
          o.execution_mode = mode;
          o.inter_op_num_threads = 2;
          Session fast(bytes.data(), bytes.size(), o);
          for (int run = 0; run < 3; ++run) {  // the first records the memory plan, the others follow it
            const std::vector<Value> got = fast.run(feeds);
            ASSERT_EQ(got.size(), want.size());
            for (size_t k = 0; k < got.size(); ++k) testing::expect_close(want[k].tensor(), got[k].tensor());
          }
        }
    }
}

TEST(FastFusedConv, BroadcastResidual) {
  compare_fast_with_reference("FusedConv",
                              {{"X", pattern_tensor({1, 4, 5, 5}, 1)},
                               {"W", pattern_tensor({3, 4, 1, 1}, 2), true},
                               {"B", pattern_tensor({3}, 3), true},
                               {"Z", pattern_tensor({3, 1, 1}, 4)}},
                              with_activation({"Sigmoid", {}}), 13, 1e-4f, "ai.kestrel");
}

TEST(FastFusedConv, SpatialOneByOne) {  // squeeze-excitation's convolutions run on 1x1 maps
  compare_fast_with_reference("FusedConv",
                              {{"X", pattern_tensor({1, 40, 1, 1}, 1)},
                               {"W", pattern_tensor({10, 40, 1, 1}, 2), true},
                               {"B", pattern_tensor({10}, 3), true}},
                              with_activation({"Silu", {}}), 13, 1e-4f, "ai.kestrel");
}

// channels_last = 1 (the layout_nhwc rule's form): X, Z and Y are NHWC. Odd channel counts (not multiples of
// the vector width), depthwise, strides with asymmetric pads, same-shape and broadcast residuals.
void channels_last_conv(const Shape& x_nhwc, const Shape& w, const Shape& z, const Act& act, int64_t group,
                        std::vector<int64_t> strides, std::vector<int64_t> pads) {
  std::vector<NodeInput> in{{"X", pattern_tensor(x_nhwc, 1)},
                            {"W", pattern_tensor(w, 2), true},
                            {"B", pattern_tensor({w[0]}, 3), true}};
  if (!z.empty()) in.push_back({"Z", pattern_tensor(z, 4)});
  compare_fast_with_reference("FusedConv", in,
                              with_activation(act,
                                              [=](onnx::NodeProto& n) {
                                                add_attr(n, "channels_last", int64_t{1});
                                                if (group != 1) add_attr(n, "group", group);
                                                if (!strides.empty()) add_attr(n, "strides", strides);
                                                if (!pads.empty()) add_attr(n, "pads", pads);
                                              }),
                              13, 1e-4f, "ai.kestrel");
}

TEST(FastFusedConv, ChannelsLastEveryActivation) {
  for (const Act& act : activations()) {
    SCOPED_TRACE("activation " + act.name);
    channels_last_conv({1, 9, 8, 5}, {7, 5, 3, 3}, {}, act, 1, {}, {1, 1, 1, 1});
  }
}
TEST(FastFusedConv, ChannelsLastDepthwiseStrided) {
  channels_last_conv({2, 11, 7, 19}, {19, 1, 3, 3}, {}, {"Clip", {0.0f, 6.0f}}, 19, {2, 2}, {1, 0, 1, 1});
}
TEST(FastFusedConv, ChannelsLastGroups) {
  channels_last_conv({1, 6, 7, 6}, {9, 2, 3, 3}, {}, {"Relu", {}}, 3, {1, 2}, {1, 1, 0, 1});
}
TEST(FastFusedConv, ChannelsLastPointwiseResidual) {
  channels_last_conv({1, 5, 6, 13}, {13, 13, 1, 1}, {1, 5, 6, 13}, {"", {}}, 1, {}, {});
}
TEST(FastFusedConv, ChannelsLastBroadcastResidual) {  // Z [1,1,1,M] in NHWC is a per-channel term
  channels_last_conv({1, 4, 4, 3}, {5, 3, 3, 3}, {1, 1, 1, 5}, {"Silu", {}}, 1, {}, {1, 1, 1, 1});
}
TEST(FastFusedConv, ChannelsLastFirstLayer) {  // 3 input channels, stride 2, as image models start
  channels_last_conv({1, 17, 15, 3}, {8, 3, 3, 3}, {}, {"HardSwish", {}}, 1, {2, 2}, {1, 1, 1, 1});
}
TEST(FastFusedConv, ChannelsLastWinogradResidual) {  // a residual block's second convolution, 23x19 outputs
  channels_last_conv({1, 23, 19, 16}, {16, 16, 3, 3}, {1, 23, 19, 16}, {"Relu", {}}, 1, {}, {1, 1, 1, 1});
}
TEST(FastFusedConv, ChannelsLastWinogradWideInput) {
  channels_last_conv({1, 6, 7, 130}, {20, 130, 3, 3}, {}, {"Clip", {0.0f, 6.0f}}, 1, {}, {1, 1, 1, 1});
}
TEST(FastFusedConv, ChannelsLastEmptyBatch) {
  channels_last_conv({0, 5, 5, 4}, {3, 4, 3, 3}, {}, {"Relu", {}}, 1, {}, {1, 1, 1, 1});
}

// The reference channels-last FusedConv is the NCHW Conv seen through transposes.
TEST(FusedConvReference, ChannelsLastIsConvOnTransposedTensors) {
  const Shape nchw{2, 5, 7, 6};
  const Tensor x = pattern_tensor(nchw, 1);
  Tensor x_nhwc(ElementType::kFloat, {2, 7, 6, 5});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c)
      for (int64_t h = 0; h < 7; ++h)
        for (int64_t w = 0; w < 6; ++w)
          x_nhwc.data<float>()[((n * 7 + h) * 6 + w) * 5 + c] = x.data<float>()[((n * 5 + c) * 7 + h) * 6 + w];
  const Tensor w = pattern_tensor({4, 5, 3, 3}, 2);
  const auto pads = [](onnx::NodeProto& n) { add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1}); };
  const std::string conv_model = testing::model_with_initializers(
      "Conv", {{"X", x}, {"W", w, true}}, pads, 13);
  const std::string nhwc_model = testing::model_with_initializers(
      "FusedConv", {{"X", x_nhwc}, {"W", w, true}},
      [&](onnx::NodeProto& n) {
        pads(n);
        add_attr(n, "channels_last", int64_t{1});
      },
      13, "ai.kestrel");
  const Tensor y = testing::make_session(conv_model, true, 1).run({{"X", Value(x)}}).at(0).tensor();
  const Tensor y_nhwc = testing::make_session(nhwc_model, true, 1).run({{"X", Value(x_nhwc)}}).at(0).tensor();
  ASSERT_EQ(y_nhwc.shape(), (Shape{2, 7, 6, 4}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t m = 0; m < 4; ++m)
      for (int64_t h = 0; h < 7; ++h)
        for (int64_t v = 0; v < 6; ++v)
          ASSERT_EQ(y_nhwc.data<float>()[((n * 7 + h) * 6 + v) * 4 + m], y.data<float>()[((n * 4 + m) * 7 + h) * 6 + v]);
}

Tensor fused_matmul(const Shape& a, const Shape& b, bool b_constant, const Shape& bias, bool bias_constant,
                    bool ta, bool tb, float alpha, const Act& act) {
  std::vector<NodeInput> in{{"A", pattern_tensor(a, 1)}, {"B", pattern_tensor(b, 2), b_constant}};
  if (!bias.empty()) in.push_back({"bias", pattern_tensor(bias, 3), bias_constant});
  return compare_fast_with_reference("FusedMatMul", in,
                                     with_activation(act,
                                                     [=](onnx::NodeProto& n) {
                                                       if (ta) add_attr(n, "transA", int64_t{1});
                                                       if (tb) add_attr(n, "transB", int64_t{1});
                                                       if (alpha != 1.0f) add_attr(n, "alpha", alpha);
                                                     }),
                                     13, 1e-4f, "ai.kestrel");
}

TEST(FastFusedMatMul, LinearLayerEveryActivation) {
  for (const Act& act : activations()) {
    SCOPED_TRACE("activation " + act.name);
    fused_matmul({2, 7, 24}, {24, 17}, true, {17}, true, false, false, 1.0f, act);
  }
}
TEST(FastFusedMatMul, TransposedPackedBAlpha) {
  fused_matmul({5, 24}, {17, 24}, true, {17}, true, false, true, 0.125f, {"Gelu", {}});
}
TEST(FastFusedMatMul, TransposedABroadcastBias) {
  fused_matmul({2, 24, 5}, {24, 17}, true, {5, 1}, true, true, false, 2.0f, {"Relu", {}});
}
TEST(FastFusedMatMul, AttentionScores) {  // Q @ K^T * scale, K at run time
  fused_matmul({1, 4, 13, 16}, {1, 4, 13, 16}, false, {}, false, false, true, 0.25f, {"", {}});
}
TEST(FastFusedMatMul, RuntimeBiasAndActivation) {
  fused_matmul({3, 6, 8}, {3, 8, 5}, false, {1, 6, 5}, false, false, false, 1.5f, {"Tanh", {}});
}
TEST(FastFusedMatMul, RuntimeBNoBiasActivation) {
  fused_matmul({4, 9}, {9, 3}, false, {}, false, false, false, 1.0f, {"Sigmoid", {}});
}
TEST(FastFusedMatMul, EmptyK) {
  fused_matmul({3, 0}, {0, 4}, false, {4}, true, false, false, 1.0f, {"Sigmoid", {}});
}

Tensor fused_gemm(const Shape& a, const Shape& b, const Shape& c, bool c_constant, bool ta, bool tb,
                  float alpha, float beta, const Act& act) {
  std::vector<NodeInput> in{{"A", pattern_tensor(a, 1)}, {"B", pattern_tensor(b, 2), true}};
  if (!c.empty()) in.push_back({"C", pattern_tensor(c, 3), c_constant});
  return compare_fast_with_reference("FusedGemm", in,
                                     with_activation(act,
                                                     [=](onnx::NodeProto& n) {
                                                       if (ta) add_attr(n, "transA", int64_t{1});
                                                       if (tb) add_attr(n, "transB", int64_t{1});
                                                       if (alpha != 1.0f) add_attr(n, "alpha", alpha);
                                                       if (beta != 1.0f) add_attr(n, "beta", beta);
                                                     }),
                                     13, 1e-4f, "ai.kestrel");
}

TEST(FastFusedGemm, EveryActivation) {
  for (const Act& act : activations()) {
    SCOPED_TRACE("activation " + act.name);
    fused_gemm({3, 20}, {11, 20}, {11}, true, false, true, 1.0f, 1.0f, act);
  }
}
TEST(FastFusedGemm, FullRuntimeC) {
  fused_gemm({20, 3}, {20, 11}, {3, 11}, false, true, false, 0.5f, 2.0f, {"Relu", {}});
}
TEST(FastFusedGemm, BetaZeroSkipsC) {
  fused_gemm({3, 20}, {20, 11}, {11}, true, false, false, 1.0f, 0.0f, {"Tanh", {}});
}

}  // namespace
}  // namespace kestrel
