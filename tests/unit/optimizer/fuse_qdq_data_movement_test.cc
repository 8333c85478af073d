// fuse_qdq_data_movement: DequantizeLinear -> Resize(nearest) | Concat | MaxPool | Reshape -> QuantizeLinear with
// the same scale and zero point runs the op on the int8 values, with identical outputs; different parameters
// (which need a requantization), linear Resize and a float result read elsewhere stay.
#include "qdq_test_util.h"

namespace kestrel::optimizer {
int fuse_qdq_data_movement(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

constexpr float kScale = 0.05f;

// X -> Q/DQ (scale, zp 120) -> `build` -> Q/DQ (scale `out_scale`, zp `out_zp`) -> Y.
std::string qdq_around(const std::function<void(ModelBuilder&)>& build, float out_scale = kScale,
                       uint8_t out_zp = 120, bool float_output_too = false) {
  ModelBuilder m;
  m.input("X", {1, 4, 6, 5});
  fake_quantize(m, "X", "xd", kScale, 120);
  build(m);  // reads xd, writes "o"
  fake_quantize(m, "o", "Y", out_scale, out_zp);
  m.output("Y");
  if (float_output_too) m.output("o");
  return m.bytes();
}

void expect_fused(const std::string& bytes, int fired) {
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_qdq_data_movement(*model->graph), fired);
  const Feeds feeds = {{"X", Value(random_tensor({1, 4, 6, 5}, 7, -6, 6))}};
  expect_same_outputs(bytes, feeds, GraphOptimizationLevel::kLayout, 0, 0);  // exact
}

void resize(ModelBuilder& m, const std::string& mode) {
  m.initializer("roi", {0}, {});
  m.initializer("scales", {4}, {1, 1, 2, 3});
  attr(m.node("Resize", {"xd", "roi", "scales"}, {"o"}), "mode", mode);
}

TEST(FuseQdqDataMovement, NearestResize) {
  expect_fused(qdq_around([](ModelBuilder& m) { resize(m, "nearest"); }), 1);
}
TEST(FuseQdqDataMovement, ConcatOfTheSameParameters) {
  expect_fused(qdq_around([](ModelBuilder& m) { attr(m.node("Concat", {"xd", "xd"}, {"o"}), "axis", int64_t{1}); }),
               1);
}
TEST(FuseQdqDataMovement, MaxPool) {
  expect_fused(qdq_around([](ModelBuilder& m) {
                 auto& n = m.node("MaxPool", {"xd"}, {"o"});
                 attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
                 attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
               }),
               1);
}
TEST(FuseQdqDataMovement, Reshape) {
  expect_fused(qdq_around([](ModelBuilder& m) {
                 typed_initializer<int64_t>(m, "shape", {2}, onnx::TensorProto::INT64, {4, 30});
                 m.node("Reshape", {"xd", "shape"}, {"o"});
               }),
               1);
}
TEST(FuseQdqDataMovement, LeavesOtherParameters) {
  expect_fused(qdq_around([](ModelBuilder& m) { resize(m, "nearest"); }, 0.07f), 0);
  expect_fused(qdq_around([](ModelBuilder& m) { resize(m, "nearest"); }, kScale, 121), 0);
}
TEST(FuseQdqDataMovement, LeavesLinearResize) {
  expect_fused(qdq_around([](ModelBuilder& m) { resize(m, "linear"); }), 0);
}
TEST(FuseQdqDataMovement, LeavesFloatResultReadElsewhere) {
  expect_fused(qdq_around([](ModelBuilder& m) { resize(m, "nearest"); }, kScale, 120, true), 0);
}

}  // namespace
}  // namespace kestrel::optimizer_test
