// The planner (src/runtime/plan.cc): weights that every reading kernel keeps packed in its own form are freed
// once those kernels exist (PlanOptions::release_constant), and only those; a session with a team of threads
// releases the same weights and reports the same first error as a one-thread one. A step may write over an
// input's buffer only where that value dies with the step in either executor (Step::overwritable).
#include "runtime/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "common/model_builder.h"
#include "onnx/loader.h"
#include "providers/cpu/fast/fast_vs_reference.h"
#include "runtime/thread_scope.h"

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

// x [2, 16] through `layers` MatMuls, each with its own [16, 16] weight but for the last two, which share
// one; nodes named in `unknown` are replaced by an op no kernel implements.
std::string matmul_chain(int layers, const std::set<int>& unknown = {}) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* example = m.add_opset_import();
  example->set_domain("com.example");
  example->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  test_model::add_tensor_input(*g, "x0", onnx::TensorProto::FLOAT, {2, 16});
  for (int i = 0; i < layers; ++i) {
    const std::string w = "w" + std::to_string(std::min(i, layers - 2));
    if (i < layers - 1) {
      const Tensor t = pattern_tensor({16, 16}, i + 1);
      auto* init = g->add_initializer();
      init->set_name(w);
      init->set_data_type(onnx::TensorProto::FLOAT);
      init->add_dims(16);
      init->add_dims(16);
      init->set_raw_data(t.raw_data(), t.bytes());
    }
    const std::string in = "x" + std::to_string(i), out = "x" + std::to_string(i + 1);
    auto* n = test_model::add_node(*g, unknown.count(i) ? "NoSuchOp" : "MatMul", {in, w}, {out},
                                   "layer" + std::to_string(i));
    if (unknown.count(i)) n->set_domain("com.example");
  }
  test_model::add_tensor_output(*g, "x" + std::to_string(layers), onnx::TensorProto::FLOAT, {2, 16});
  return m.SerializeAsString();
}

std::set<std::string> released_on_team(const std::string& bytes, int threads) {
  auto model = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", {});
  runtime::PlanOptions options;
  std::set<std::string> released;
  options.release_constant = [&released](const ir::Value* v) { released.insert(v->name); };
  runtime::ThreadScope team(threads);
  auto plan = runtime::compile_plan(*model->graph, nullptr, options);
  for (const auto& step : plan->steps) EXPECT_NE(step.kernel, nullptr) << step.node->name;
  return released;
}

TEST(Plan, TwoThreadSessionReleasesWhatOneThreadReleases) {
  const std::string bytes = matmul_chain(24);
  const std::set<std::string> one = released_on_team(bytes, 1);
  EXPECT_EQ(one.size(), 23u);  // every weight, the shared one once both its readers have packed it
  for (int round = 0; round < 10; ++round) EXPECT_EQ(released_on_team(bytes, 2), one) << "round " << round;
}

TEST(Plan, TwoThreadSessionReportsTheFirstFailingStep) {
  const std::string bytes = matmul_chain(24, {9, 10, 17});
  for (int threads : {1, 2, 2, 2, 2, 2}) {
    try {
      released_on_team(bytes, threads);
      ADD_FAILURE() << "compiled a model with an unknown op";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layer9"), std::string::npos)
          << threads << " threads: " << e.what();
    }
  }
}

// Per node name, its step's Step::overwritable flags.
std::map<std::string, std::vector<char>> overwritable_inputs(const onnx::ModelProto& m) {
  const std::string bytes = m.SerializeAsString();
  auto model = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", {});
  auto plan = runtime::compile_plan(*model->graph, nullptr, {});
  std::map<std::string, std::vector<char>> flags;
  for (const runtime::Step& step : plan->steps) flags[step.node->name] = step.overwritable;
  return flags;
}

TEST(Plan, InputsAreOverwritableWhereTheirValueDies) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("lifetimes");
  test_model::add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {2, 3});
  test_model::add_node(*g, "Relu", {"x"}, {"a"}, "relu");        // x: a graph input, the caller's
  test_model::add_node(*g, "Sigmoid", {"a"}, {"b"}, "sigmoid");  // a: read again by add_ab
  test_model::add_node(*g, "Add", {"a", "b"}, {"c"}, "add_ab");  // a: its other reader runs before it
  test_model::add_node(*g, "Neg", {"c"}, {"d"}, "neg");          // c: read again by exp
  test_model::add_node(*g, "Exp", {"c"}, {"e"}, "exp");          // c: neg may still run beside it
  test_model::add_node(*g, "Add", {"d", "e"}, {"f"}, "add_de");
  test_model::add_node(*g, "Mul", {"f", "f"}, {"g"}, "square");  // f: read twice by the step itself
  test_model::add_node(*g, "Abs", {"g"}, {"y"}, "abs");
  test_model::add_node(*g, "Tanh", {"y"}, {"z"}, "tanh");  // y: a graph output
  test_model::add_tensor_output(*g, "y", onnx::TensorProto::FLOAT, {2, 3});
  test_model::add_tensor_output(*g, "z", onnx::TensorProto::FLOAT, {2, 3});
  using Flags = std::vector<char>;
  const std::map<std::string, Flags> want{{"relu", {0}},      {"sigmoid", {0}}, {"add_ab", {1, 1}},
                                          {"neg", {0}},       {"exp", {0}},     {"add_de", {1, 1}},
                                          {"square", {0, 0}}, {"abs", {1}},     {"tanh", {0}}};
  EXPECT_EQ(overwritable_inputs(m), want);
}

TEST(Plan, NoInputOfAControlFlowNodeIsOverwritable) {
  // a dies with the Loop, but its body reads a as an outer-scope value while the Loop writes its outputs.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("outer_read");
  test_model::add_tensor_input(*g, "M", onnx::TensorProto::INT64, {});
  test_model::add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {1});
  test_model::add_node(*g, "Neg", {"x"}, {"a"}, "neg");
  onnx::GraphProto body;
  body.set_name("body");
  test_model::add_tensor_input(body, "i", onnx::TensorProto::INT64, {});
  test_model::add_tensor_input(body, "c_in", onnx::TensorProto::BOOL, {});
  test_model::add_tensor_input(body, "v_in", onnx::TensorProto::FLOAT, {1});
  test_model::add_node(body, "Identity", {"c_in"}, {"c_out"});
  test_model::add_node(body, "Add", {"v_in", "a"}, {"v_out"});
  body.add_output()->set_name("c_out");
  body.add_output()->set_name("v_out");
  test_model::add_graph_attribute(*test_model::add_node(*g, "Loop", {"M", "", "a"}, {"v"}, "loop"), "body",
                                  body);
  test_model::add_tensor_output(*g, "v", onnx::TensorProto::FLOAT, {1});
  EXPECT_EQ(overwritable_inputs(m).at("loop"), (std::vector<char>{0, 0, 0}));
}

}  // namespace
}  // namespace kestrel
