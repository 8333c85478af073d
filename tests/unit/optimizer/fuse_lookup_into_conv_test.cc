// fuse_lookup_into_conv: a QuantizedLookup (QDQ SiLU) read only by a channels-last QLinearConv becomes the
// convolution's x_table, with identical outputs; a lookup read elsewhere too stays.
#include <cstring>

#include "onnx/writer.h"
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_lookup_into_conv(ir::Graph& graph);
int layout_nhwc(ir::Graph& graph);
void propagate_shapes(ir::Graph& graph);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer_test {
namespace {

const Shape kX{1, 6, 9, 8};

// xd -> depthwise 3x3 Conv (int8 weights behind a DequantizeLinear, padded) -> out.
void depthwise(ModelBuilder& m, const std::string& x, const std::string& out, unsigned seed) {
  typed_initializer<int8_t>(m, out + "_wq", {6, 1, 3, 3}, onnx::TensorProto::INT8, seeded_int8(54, seed));
  m.initializer(out + "_ws", {}, {0.02f});
  m.node("DequantizeLinear", {out + "_wq", out + "_ws"}, {out + "_w"});
  auto& n = m.node("Conv", {x, out + "_w"}, {out});
  attr(n, "group", int64_t{6});
  attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
}

// X -> QDQ -> depthwise conv -> QDQ -> SiLU (QDQ) -> QDQ -> depthwise conv -> QDQ -> Y, and the SiLU's result
// as a second output when `silu_output`.
std::string conv_silu_conv(bool silu_output) {
  ModelBuilder m;
  m.input("X", {1, 6, 9, 8});
  fake_quantize(m, "X", "xd", 0.05f, 120);
  depthwise(m, "xd", "c1", 1);
  fake_quantize(m, "c1", "c1d", 0.04f, 128);
  m.node("Sigmoid", {"c1d"}, {"sig"});
  fake_quantize(m, "sig", "sigd", 1.0f / 255, 0);
  m.node("Mul", {"c1d", "sigd"}, {"silu"});
  fake_quantize(m, "silu", "silud", 0.03f, 10);
  depthwise(m, "silud", "c2", 2);
  fake_quantize(m, "c2", "Y", 0.05f, 128);
  m.output("Y");
  if (silu_output) m.output("silud");
  return m.bytes();
}

// The model after the extended rules and the layout pass, then after this rule (which must fire `fired`
// times): both run without further rewrites, and every output must be identical.
void expect_fused(const std::string& bytes, int fired) {
  auto model = load(bytes);
  optimizer::optimize(*model->graph, 2);
  optimizer::propagate_shapes(*model->graph);
  optimizer::layout_nhwc(*model->graph);
  ASSERT_EQ(count_ops(*model->graph, "ai.kestrel:QuantizedLookup"), 1);
  ASSERT_EQ(count_ops(*model->graph, "ai.kestrel:QLinearConv"), 2);
  const std::string before = onnx_format::serialize_model(*model);
  EXPECT_EQ(optimizer::fuse_lookup_into_conv(*model->graph), fired);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:QuantizedLookup"), 1 - fired);
  const std::string after = onnx_format::serialize_model(*model);
  const Feeds feeds = {{"X", Value(random_tensor(kX, 3, -4, 4))}};
  const auto a = run(before, feeds, GraphOptimizationLevel::kDisableAll);
  const auto b = run(after, feeds, GraphOptimizationLevel::kDisableAll);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const Tensor& x = a[k].tensor();
    const Tensor& y = b[k].tensor();
    ASSERT_EQ(x.shape(), y.shape());
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.bytes()), 0) << "output " << k;
  }
}

TEST(FuseLookupIntoConv, SiluBeforeDepthwiseConv) { expect_fused(conv_silu_conv(false), 1); }
TEST(FuseLookupIntoConv, LeavesLookupReadElsewhere) { expect_fused(conv_silu_conv(true), 0); }

}  // namespace
}  // namespace kestrel::optimizer_test
