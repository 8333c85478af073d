// The executor's buffer rules: shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) share their
// input's buffer inside the graph, the shared buffer lives as long as any reader needs it even when the arena
// recycles memory, and graph outputs never alias a caller's input or a constant.
#include <gtest/gtest.h>

#include "optimizer/optimizer_test_util.h"

namespace kestrel {
namespace {

using optimizer_test::ModelBuilder;
using optimizer_test::random_tensor;

Session session_of(const std::string& bytes, bool arena) {
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;  // keep every node as written
  o.enable_cpu_mem_arena = arena;
  return Session(bytes.data(), bytes.size(), o);
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

}  // namespace
}  // namespace kestrel
