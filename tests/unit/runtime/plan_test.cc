// The planner (src/runtime/plan.cc): weights that every reading kernel keeps packed in its own form are freed
// once those kernels exist (PlanOptions::release_constant), and only those.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "onnx/loader.h"
#include "providers/cpu/fast/fast_vs_reference.h"
#include "runtime/plan.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

// The names of the initializers the planner released while compiling the one-node model `bytes`.
std::set<std::string> released_constants(const std::string& bytes) {
  auto model = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", {});
  runtime::PlanOptions options;
  std::set<std::string> released;
  options.release_constant = [&released](const ir::Value* v) { released.insert(v->name); };
  auto plan = runtime::compile_plan(*model->graph, nullptr, options);
  for (const auto& [slot, tensor] : plan->constants) EXPECT_TRUE(tensor) << "constant slot " << slot;
  return released;
}

TEST(Plan, ConvWithSymbolicBatchReleasesItsWeights) {
  const std::string bytes = testing::model_with_initializers(
      "Conv",
      {{"X", pattern_tensor({1, 4, 8, 8}, 1), false, false, true},
       {"W", pattern_tensor({8, 4, 3, 3}, 2), true},
       {"B", pattern_tensor({8}, 3), true}},
      [](onnx::NodeProto& n) { add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1}); }, 11);
  // The bias stays: the kernel reads it at run time.
  EXPECT_EQ(released_constants(bytes), std::set<std::string>{"W"});
}

TEST(Plan, ConvWithUnknownSpatialDimsKeepsItsWeights) {
  // Nothing to pack for before the first run: the model's copy is what the kernel packs from then.
  const std::string bytes = testing::model_with_initializers(
      "Conv", {{"X", pattern_tensor({1, 4, 8, 8}, 1), false, true}, {"W", pattern_tensor({8, 4, 3, 3}, 2), true}},
      nullptr, 11);
  EXPECT_TRUE(released_constants(bytes).empty());
}

TEST(Plan, GemmWithSymbolicRowsReleasesItsWeights) {
  const std::string bytes = testing::model_with_initializers(
      "Gemm",
      {{"A", pattern_tensor({2, 16}, 1), false, false, true},
       {"B", pattern_tensor({10, 16}, 2), true},
       {"C", pattern_tensor({10}, 3), true}},
      [](onnx::NodeProto& n) { add_attr(n, "transB", int64_t{1}); }, 13);
  EXPECT_EQ(released_constants(bytes), std::set<std::string>{"B"});
}

TEST(Plan, MatMulReleasesItsWeights) {
  const std::string bytes = testing::model_with_initializers(
      "MatMul", {{"A", pattern_tensor({3, 16}, 1), false, true}, {"B", pattern_tensor({16, 10}, 2), true}}, nullptr,
      13);
  EXPECT_EQ(released_constants(bytes), std::set<std::string>{"B"});
}

TEST(Plan, ReferenceKernelsReleaseNothing) {
  const std::string bytes = testing::model_with_initializers(
      "Gemm", {{"A", pattern_tensor({2, 16}, 1)}, {"B", pattern_tensor({16, 10}, 2), true}}, nullptr, 13);
  auto model = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", {});
  runtime::PlanOptions options;
  options.reference_kernels_only = true;
  int released = 0;
  options.release_constant = [&released](const ir::Value*) { ++released; };
  runtime::compile_plan(*model->graph, nullptr, options);
  EXPECT_EQ(released, 0);
}

}  // namespace
}  // namespace kestrel
