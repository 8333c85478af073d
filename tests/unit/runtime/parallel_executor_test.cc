// ExecutionMode::kParallel: independent branches run at once on inter_op_num_threads threads. Outputs equal the
// sequential executor's exactly, concurrent runs of one session stay correct, errors and RunOptions.terminate
// reach the caller, and profiling records every node.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "optimizer/optimizer_test_util.h"
#include "runtime/executor.h"

namespace kestrel {
namespace {

using optimizer_test::ModelBuilder;
using optimizer_test::random_tensor;

// X [8, 16] feeds six branches of different lengths (MatMul, Relu, Sigmoid, Tanh chains) that meet in a Concat
// and a Sum; one branch's intermediate is also a graph output, and one branch reads another's middle.
std::string branchy_model(bool broken = false) {
  ModelBuilder m;
  m.input("X", {8, 16});
  m.random_initializer("W", {16, 16});
  m.initializer_i64("bad_shape", {2}, {7, 7});
  m.output("Y");
  m.output("mid");
  m.node("MatMul", {"X", "W"}, {"a1"});
  m.node("Relu", {"a1"}, {"a2"});
  m.node("MatMul", {"a2", "W"}, {"a3"});
  m.node("Sigmoid", {"X"}, {"b1"});
  m.node("Tanh", {"b1"}, {"b2"});
  m.node("Relu", {"X"}, {"c1"});
  m.node("Mul", {"c1", "b1"}, {"mid"});
  m.node("Neg", {"X"}, {"d1"});
  m.node("Abs", {"d1"}, {"d2"});
  m.node("Exp", {"b2"}, {"e1"});
  if (broken) m.node("Reshape", {"d2", "bad_shape"}, {"d3"});
  else m.node("Identity", {"d2"}, {"d3"});
  m.node("Sum", {"a3", "b2", "mid", "d3", "e1"}, {"s"});
  auto& concat = m.node("Concat", {"s", "a2", "c1", "e1"}, {"Y"});
  optimizer_test::attr(concat, "axis", int64_t{1});
  return m.bytes();
}

Session make_session(const std::string& bytes, ExecutionMode mode, int inter, bool profile = false) {
  SessionOptions o;
  o.execution_mode = mode;
  o.inter_op_num_threads = inter;
  o.intra_op_num_threads = 1;
  o.enable_profiling = profile;
  o.profile_file_prefix = ::testing::TempDir() + "parallel_executor";
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;  // keep the branches as written
  return Session(bytes.data(), bytes.size(), o);
}

void expect_equal(const std::vector<Value>& got, const std::vector<Value>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    const Tensor& g = got[k].tensor();
    const Tensor& w = want[k].tensor();
    ASSERT_EQ(g.shape(), w.shape()) << k;
    for (int64_t i = 0; i < g.size(); ++i) ASSERT_EQ(g.data<float>()[i], w.data<float>()[i]) << k << " " << i;
  }
}

TEST(ParallelExecutor, MatchesSequentialExactly) {
  const std::string bytes = branchy_model();
  Session sequential = make_session(bytes, ExecutionMode::kSequential, 0);
  for (int inter : {1, 2, 4}) {
    SCOPED_TRACE("inter_op_num_threads " + std::to_string(inter));
    Session parallel = make_session(bytes, ExecutionMode::kParallel, inter);
    for (int run = 0; run < 20; ++run) {
      const Feeds feeds = {{"X", random_tensor({8, 16}, 100 + run)}};
      expect_equal(parallel.run(feeds), sequential.run(feeds));
    }
  }
}

// The memory plan of a parallel session lets two buffers share bytes only when every step that may hold the
// first finishes before the step that makes the second starts: steps that may run at once never share memory.
TEST(ParallelExecutor, StepsThatMayRunAtOnceNeverShareMemory) {
  const std::string bytes = branchy_model();
  auto model = optimizer_test::load(bytes);
  auto plan = runtime::compile_plan(*model->graph, nullptr);
  runtime::Arena arena;
  runtime::InterOpPool pool(2);
  runtime::RunContext run;
  run.arena = &arena;
  run.inter_op = &pool;
  run.plan_memory = true;
  for (int i = 0; i < 3; ++i) {
    runtime::PlanRun plan_run(*plan);
    plan_run.feed(0, Value(random_tensor({8, 16}, 60 + i)));
    plan_run.execute(run);
  }
  // The signature of X: float (1), rank 2, [8, 16].
  const std::vector<int64_t> signature = {1, 2, 8, 16};
  const auto memory_plan = plan->memory_plans->find(signature);
  ASSERT_TRUE(memory_plan);
  ASSERT_GT(memory_plan->buffers.size(), 4u);
  // Which steps finish before each step starts, from the steps' consumers (breadth-first).
  const size_t n = plan->steps.size();
  std::vector<std::vector<char>> before(n, std::vector<char>(n, 0));
  for (size_t s = 0; s < n; ++s) {
    std::vector<int> queue = plan->steps[s].consumers;
    while (!queue.empty()) {
      const int c = queue.back();
      queue.pop_back();
      if (before[c][s]) continue;
      before[c][s] = 1;
      for (int next : plan->steps[c].consumers) queue.push_back(next);
    }
  }
  int shared = 0;
  const auto& buffers = memory_plan->buffers;
  for (size_t i = 0; i < buffers.size(); ++i)
    for (size_t j = 0; j < buffers.size(); ++j) {
      const size_t bi = memory_plan->offset[i], ei = bi + buffers[i].bytes;
      const size_t bj = memory_plan->offset[j], ej = bj + buffers[j].bytes;
      if (i == j || !(bi < ej && bj < ei) || buffers[i].first_step > buffers[j].first_step) continue;
      ++shared;
      ASSERT_LT(buffers[i].last_step, buffers[j].first_step) << i << " " << j;
      for (int s = buffers[i].first_step; s <= buffers[i].last_step; ++s)
        EXPECT_TRUE(before[buffers[j].first_step][s]) << "buffer " << j << " made by step " << buffers[j].first_step
                                                      << " shares bytes with buffer " << i << ", held by step " << s;
    }
  EXPECT_GT(shared, 0) << "the plan reuses some memory";
}

TEST(ParallelExecutor, ConcurrentRunsOfOneSession) {
  const std::string bytes = branchy_model();
  Session sequential = make_session(bytes, ExecutionMode::kSequential, 0);
  Session parallel = make_session(bytes, ExecutionMode::kParallel, 3);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int run = 0; run < 30; ++run) {
        const Feeds feeds = {{"X", random_tensor({8, 16}, 1000 * t + run)}};
        const std::vector<Value> got = parallel.run(feeds), want = sequential.run(feeds);
        for (size_t k = 0; k < got.size(); ++k)
          for (int64_t i = 0; i < got[k].tensor().size(); ++i)
            if (got[k].tensor().data<float>()[i] != want[k].tensor().data<float>()[i]) ++failures[t];
      }
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(ParallelExecutor, ErrorsReachTheCallerAndTheSessionStaysUsable) {
  Session broken = make_session(branchy_model(true), ExecutionMode::kParallel, 2);
  const Feeds feeds = {{"X", random_tensor({8, 16}, 7)}};
  for (int run = 0; run < 5; ++run) {
    try {
      broken.run(feeds);
      FAIL() << "the Reshape to [7,7] should fail";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("Reshape"), std::string::npos) << e.what();
    }
  }
  Session good = make_session(branchy_model(), ExecutionMode::kParallel, 2);
  Session sequential = make_session(branchy_model(), ExecutionMode::kSequential, 0);
  expect_equal(good.run(feeds), sequential.run(feeds));
}

TEST(ParallelExecutor, TerminateIsHonoured) {
  Session parallel = make_session(branchy_model(), ExecutionMode::kParallel, 2);
  RunOptions stop;
  stop.set_terminate(true);
  try {
    parallel.run({{"X", random_tensor({8, 16}, 8)}}, {}, stop);
    FAIL() << "a terminated run should fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRuntimeException);
    EXPECT_NE(std::string(e.what()).find("terminate"), std::string::npos) << e.what();
  }
}

TEST(ParallelExecutor, ProfilingRecordsEveryNode) {
  Session parallel = make_session(branchy_model(), ExecutionMode::kParallel, 2, true);
  parallel.run({{"X", random_tensor({8, 16}, 9)}});
  const std::string path = parallel.end_profiling();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string trace = text.str();
  for (const char* node : {"MatMul_1", "Relu_2", "MatMul_3", "Sigmoid_4", "Tanh_5", "Relu_6", "Mul_7", "Neg_8",
                           "Abs_9", "Exp_10", "Identity_11", "Sum_12", "Concat_13"})
    EXPECT_NE(trace.find(node), std::string::npos) << node;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kestrel
