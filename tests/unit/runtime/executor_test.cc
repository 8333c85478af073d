// The executor's buffer rules: shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) share their
// input's buffer inside the graph, the shared buffer lives as long as any reader needs it even when the arena
// recycles memory, and graph outputs never alias a caller's input or a constant. A kernel may write its
// output over an input only where that value dies and nothing else holds its buffer (reuse_input_as_output).
#include "runtime/executor.h"

#include <gtest/gtest.h>

#include "optimizer/optimizer_test_util.h"
#include "runtime/kernel_registry.h"
#include "runtime/plan.h"
#include "unit/providers/cpu/subgraph_model.h"

namespace kestrel {
namespace {

using optimizer_test::ModelBuilder;
using optimizer_test::random_tensor;

Session session_of(const std::string& bytes, bool arena, ExecutionMode mode = ExecutionMode::kSequential) {
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;  // keep every node as written
  o.enable_cpu_mem_arena = arena;
  o.execution_mode = mode;
  o.inter_op_num_threads = 2;
  return Session(bytes.data(), bytes.size(), o);
}

void expect_equal(const std::vector<Value>& got, const std::vector<Value>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t k = 0; k < got.size(); ++k) {
    const Tensor& g = got[k].tensor();
    const Tensor& w = want[k].tensor();
    ASSERT_EQ(g.shape(), w.shape()) << what << ", output " << k;
    for (int64_t i = 0; i < g.size(); ++i)
      ASSERT_EQ(g.data<float>()[i], w.data<float>()[i]) << what << ", output " << k << " element " << i;
  }
}

// a = Relu(X) is read only by the Reshape that views it; after that step the arena could hand a's block to
// c = Sigmoid(X) (same size) if the view did not keep it alive. Y = view of a + c.
TEST(Executor, ViewKeepsItsBufferAliveAcrossArenaReuse) {
  ModelBuilder m;
  m.input("X", {4, 6});
  m.initializer_i64("to64", {2}, {6, 4});
  m.initializer_i64("to46", {2}, {4, 6});
  m.node("Relu", {"X"}, {"a"});
  m.node("Reshape", {"a", "to64"}, {"b"});
  m.node("Sigmoid", {"X"}, {"c"});
  m.node("Reshape", {"b", "to46"}, {"d"});
  m.node("Add", {"d", "c"}, {"Y"});
  m.output("Y");
  const Tensor x = random_tensor({4, 6}, 41);
  for (bool arena : {true, false}) {
    Session s = session_of(m.bytes(), arena);
    for (int run = 0; run < 3; ++run) {  // later runs take recycled blocks
      const Tensor y = s.run({{"X", Value(x)}}).at(0).tensor();
      for (int64_t i = 0; i < x.size(); ++i) {
        const float v = x.data<float>()[i];
        EXPECT_FLOAT_EQ(y.data<float>()[i], std::max(v, 0.0f) + 1.0f / (1.0f + std::exp(-v))) << i;
      }
    }
  }
}

TEST(Executor, GraphOutputsNeverAliasInputsOrConstants) {
  ModelBuilder m;
  m.input("X", {2, 3});
  m.initializer("C", {3}, {1.0f, 2.0f, 3.0f});
  m.initializer_i64("flat", {1}, {6});
  m.node("Reshape", {"X", "flat"}, {"Y"});
  m.node("Identity", {"C"}, {"Z"});
  m.node("Flatten", {"X"}, {"f"});
  m.node("Relu", {"f"}, {"R"});
  m.output("Y");
  m.output("Z");
  m.output("R");
  Session s = session_of(m.bytes(), true);
  Tensor x = random_tensor({2, 3}, 42);
  auto out = s.run({{"X", Value(x)}});
  Tensor& y = out.at(0).tensor();
  Tensor& z = out.at(1).tensor();
  EXPECT_NE(y.raw_data(), x.raw_data());
  EXPECT_EQ(y.shape(), (Shape{6}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], x.data<float>()[i]);
  // The caller may write into what it got back: the session's constant must not change.
  z.data<float>()[0] = 100.0f;
  auto again = s.run({{"X", Value(x)}});
  EXPECT_EQ(again.at(1).tensor().data<float>()[0], 1.0f);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(again.at(2).tensor().data<float>()[i], std::max(x.data<float>()[i], 0.0f));
}

// Memory planning (runtime/memory_plan.h): runs of a signature seen before take their intermediates from the
// frame's planned block. A chain on X [N, 6] whose intermediates have overlapping and disjoint lifetimes, a view
// among them, and two outputs.
std::string chain_model() {
  ModelBuilder m;
  m.input("X", {-1, 6});
  m.initializer_i64("flat", {1}, {-1});
  m.node("Relu", {"X"}, {"a"});
  m.node("Sigmoid", {"X"}, {"b"});
  m.node("Add", {"a", "b"}, {"c"});
  m.node("Reshape", {"c", "flat"}, {"c_flat"});
  m.node("Tanh", {"c_flat"}, {"d"});
  m.node("Mul", {"d", "d"}, {"e"});
  m.node("Neg", {"e"}, {"f"});
  m.node("Reshape", {"f", "flat"}, {"Y"});
  m.node("Abs", {"b"}, {"g"});
  m.node("Exp", {"g"}, {"Z"});
  m.output("Y");
  m.output("Z");
  return m.bytes();
}

TEST(MemoryPlan, RepeatedRunsWithChangingShapesMatchRunsWithoutTheArena) {
  // Without the arena nothing is planned: the reference. Batch sizes come back (their plans are reused), and
  // more come than the cache holds (plans are evicted and made again).
  const std::string bytes = chain_model();
  Session reference = session_of(bytes, false);
  for (ExecutionMode mode : {ExecutionMode::kSequential, ExecutionMode::kParallel}) {
    Session planned = session_of(bytes, true, mode);
    const int64_t batches[] = {1, 3, 3, 7, 3, 1, 7, 7, 2, 2, 2, 4, 5, 6, 8, 9, 10, 11, 12, 1, 3, 3, 0, 0, 3};
    unsigned seed = 100;
    for (int64_t n : batches) {
      const Tensor x = random_tensor({n, 6}, ++seed);
      const Feeds feeds = {{"X", Value(x)}};
      expect_equal(planned.run(feeds), reference.run(feeds), "batch " + std::to_string(n));
    }
  }
}

TEST(MemoryPlan, ReturnedOutputsStayValidAcrossLaterRuns) {
  const std::string bytes = chain_model();
  Session reference = session_of(bytes, false);
  Session planned = session_of(bytes, true);
  std::vector<std::vector<Value>> kept, expected;
  for (unsigned run = 0; run < 6; ++run) {
    const Feeds feeds = {{"X", Value(random_tensor({4, 6}, 200 + run))}};
    kept.push_back(planned.run(feeds));
    expected.push_back(reference.run(feeds));
  }
  for (size_t run = 0; run < kept.size(); ++run) expect_equal(kept[run], expected[run], "run " + std::to_string(run));
}

TEST(MemoryPlan, BoundOutputsAreWrittenInPlaceOnPlannedRuns) {
  const std::string bytes = chain_model();
  Session reference = session_of(bytes, false);
  Session planned = session_of(bytes, true);
  std::vector<Value> outputs = {Value(Tensor(ElementType::kFloat, {24})), Value(Tensor(ElementType::kFloat, {4, 6}))};
  const void* y = outputs[0].tensor().raw_data();
  const void* z = outputs[1].tensor().raw_data();
  for (unsigned run = 0; run < 5; ++run) {
    const Feeds feeds = {{"X", Value(random_tensor({4, 6}, 300 + run))}};
    planned.run_into(feeds, {"Y", "Z"}, outputs);
    EXPECT_EQ(outputs[0].tensor().raw_data(), y);
    EXPECT_EQ(outputs[1].tensor().raw_data(), z);
    expect_equal(outputs, reference.run(feeds), "run " + std::to_string(run));
  }
}

// Y = If(cond) { then: a, the outer Relu(X) as it is; else: Sigmoid(a) }, Z = Neg(a). Recorded with cond false,
// a is gone after the If and is planned; with cond true it becomes the graph output: the caller must get a copy
// that later runs do not overwrite.
std::string if_passthrough_model() {
  onnx::GraphProto then_b, else_b;
  then_b.set_name("then");
  testing::add_output(then_b, "a");
  else_b.set_name("else");
  testing::add_node(else_b, "Sigmoid", {"a"}, {"s"});
  testing::add_output(else_b, "s");
  ModelBuilder m;
  m.input("X", {4, 6});
  m.input("cond", {}, onnx::TensorProto::BOOL);
  m.node("Relu", {"X"}, {"a"});
  auto& node = m.node("If", {"cond"}, {"Y"});
  testing::add_graph_attr(node, "then_branch", then_b);
  testing::add_graph_attr(node, "else_branch", else_b);
  m.node("Neg", {"a"}, {"Z"});
  m.output("Y");
  m.output("Z");
  return m.bytes();
}

TEST(MemoryPlan, OutputsThatShareAPlannedBufferThroughASubgraphAreCopied) {
  const std::string bytes = if_passthrough_model();
  Session reference = session_of(bytes, false);
  Session planned = session_of(bytes, true);
  std::vector<std::vector<Value>> kept, expected;
  const bool conds[] = {false, false, true, true, false, true, false, false, true};
  unsigned seed = 400;
  for (bool cond : conds) {
    const Feeds feeds = {{"X", Value(random_tensor({4, 6}, ++seed))},
                         {"cond", Value(Tensor::from_vector<bool>({cond}, Shape{}))}};
    kept.push_back(planned.run(feeds));
    expected.push_back(reference.run(feeds));
  }
  for (size_t run = 0; run < kept.size(); ++run) expect_equal(kept[run], expected[run], "run " + std::to_string(run));
}

// Loop body (i, cond, x) -> (cond, x + a): a = Relu(X) read from the outer scope, M iterations (data, not shape:
// every run has the same signature but another trip count). Y = Loop(...), Z = Tanh(X) + a after the loop.
std::string loop_model() {
  onnx::GraphProto body;
  body.set_name("body");
  testing::add_input(body, "i", ElementType::kInt64, std::vector<int64_t>{});
  testing::add_input(body, "cond", ElementType::kBool, std::vector<int64_t>{});
  testing::add_input(body, "x", ElementType::kFloat);
  testing::add_node(body, "Identity", {"cond"}, {"cond_out"});
  testing::add_node(body, "Add", {"x", "a"}, {"x_next"});
  testing::add_output(body, "cond_out");
  testing::add_output(body, "x_next");
  ModelBuilder m;
  m.input("X", {4, 6});
  m.input("M", {}, onnx::TensorProto::INT64);
  m.node("Relu", {"X"}, {"a"});
  m.node("Sigmoid", {"X"}, {"x0"});
  auto& node = m.node("Loop", {"M", "", "x0"}, {"Y"});
  testing::add_graph_attr(node, "body", body);
  m.node("Tanh", {"X"}, {"t"});
  m.node("Add", {"t", "a"}, {"Z"});
  m.output("Y");
  m.output("Z");
  return m.bytes();
}

TEST(MemoryPlan, LoopsWithDataDependentTripCountsMatchRunsWithoutTheArena) {
  const std::string bytes = loop_model();
  Session reference = session_of(bytes, false);
  for (ExecutionMode mode : {ExecutionMode::kSequential, ExecutionMode::kParallel}) {
    Session planned = session_of(bytes, true, mode);
    const int64_t trips[] = {0, 3, 1, 0, 5, 2, 2};
    unsigned seed = 500;
    for (int64_t m : trips) {
      const Feeds feeds = {{"X", Value(random_tensor({4, 6}, ++seed))},
                           {"M", Value(Tensor::from_vector<int64_t>({m}, Shape{}))}};
      expect_equal(planned.run(feeds), reference.run(feeds), "M = " + std::to_string(m));
    }
  }
}

// A Neg that writes -x over x when the executor lets it, counting the times it did.
class NegOverInput final : public runtime::Kernel {
 public:
  explicit NegOverInput(int& reused) : reused_(reused) {}
  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor* y = ctx.reuse_input_as_output(0, 0, x.shape());
    if (y)
      ++reused_;
    else
      y = &ctx.allocate_uninitialized_output(0, x.type(), x.shape());
    for (int64_t i = 0; i < x.size(); ++i) y->data<float>()[i] = -x.data<float>()[i];
  }

 private:
  int& reused_;
};

// Runs `m` on x [2, 3] with NegOverInput for Neg; returns its output Y and how often Neg reused its input.
std::pair<Tensor, int> run_neg_over_input(ModelBuilder& m, const Tensor& x) {
  m.output("Y");
  const std::string bytes = m.bytes();
  auto model = optimizer_test::load(bytes);
  int reused = 0;
  runtime::KernelRegistry kernels;
  kernels.add({"Neg", "", 1, 1 << 30, "float",
               [&reused](const runtime::KernelInfo&) -> std::unique_ptr<runtime::Kernel> {
                 return std::make_unique<NegOverInput>(reused);
               }});
  runtime::PlanOptions options;
  options.custom_kernels = &kernels;
  auto plan = runtime::compile_plan(*model->graph, nullptr, options);
  runtime::RunContext run;
  std::vector<Value> out = runtime::execute(*plan, {Value(x)}, nullptr, run);
  return {out.at(0).tensor(), reused};
}

TEST(Executor, KernelWritesOverAnInputThatDiesWithIt) {
  ModelBuilder m;
  m.input("X", {2, 3});
  m.node("Relu", {"X"}, {"a"});
  m.node("Neg", {"a"}, {"b"});
  m.node("Abs", {"b"}, {"Y"});
  const Tensor x = random_tensor({2, 3}, 43);
  const auto [y, reused] = run_neg_over_input(m, x);
  EXPECT_EQ(reused, 1);
  for (int64_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(y.data<float>()[i], std::max(x.data<float>()[i], 0.0f)) << i;
}

TEST(Executor, KernelKeepsAnInputReadLater) {
  ModelBuilder m;
  m.input("X", {2, 3});
  m.node("Relu", {"X"}, {"a"});
  m.node("Neg", {"a"}, {"b"});
  m.node("Add", {"b", "a"}, {"Y"});
  const auto [y, reused] = run_neg_over_input(m, random_tensor({2, 3}, 44));
  EXPECT_EQ(reused, 0);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(y.data<float>()[i], 0.0f) << i;
}

TEST(Executor, KernelKeepsAnInputWhoseBufferAViewStillHolds) {
  // a2 dies with Neg, but its buffer is a's, which the view v keeps for w, read after Neg.
  ModelBuilder m;
  m.input("X", {2, 3});
  m.initializer_i64("flat", {1}, {6});
  m.initializer_i64("back", {2}, {2, 3});
  m.node("Relu", {"X"}, {"a"});
  m.node("Reshape", {"a", "flat"}, {"v"});
  m.node("Reshape", {"v", "back"}, {"a2"});
  m.node("Neg", {"a2"}, {"b"});
  m.node("Reshape", {"v", "back"}, {"w"});
  m.node("Add", {"b", "w"}, {"Y"});
  const auto [y, reused] = run_neg_over_input(m, random_tensor({2, 3}, 45));
  EXPECT_EQ(reused, 0);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(y.data<float>()[i], 0.0f) << i;
}

TEST(Executor, KernelNeverWritesOverAGraphInput) {
  ModelBuilder m;
  m.input("X", {2, 3});
  m.node("Neg", {"X"}, {"b"});
  m.node("Abs", {"b"}, {"Y"});
  const Tensor x = random_tensor({2, 3}, 46);
  const Tensor before = x.clone();
  const auto [y, reused] = run_neg_over_input(m, x);
  EXPECT_EQ(reused, 0);
  for (int64_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x.data<float>()[i], before.data<float>()[i]) << i;
    EXPECT_EQ(y.data<float>()[i], std::fabs(before.data<float>()[i])) << i;
  }
}

}  // namespace
}  // namespace kestrel
