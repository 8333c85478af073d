// Session behaviour: options honoured or rejected, feeds checked with exact messages, concurrent runs.
#include <gtest/gtest.h>

#include <thread>

#include "kernel_test_util.h"
#include "kestrel/session.h"

namespace kestrel {
namespace {

std::string add_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  for (const char* name : {"a", "b"}) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("n");
    tt->mutable_shape()->add_dim()->set_dim_value(2);
  }
  auto* n = g->add_node();
  n->set_op_type("Add");
  n->add_input("a");
  n->add_input("b");
  n->add_output("sum");
  g->add_output()->set_name("sum");
  return m.SerializeAsString();
}

std::string run_error(const Session& s, const Feeds& feeds, const std::vector<std::string>& outputs = {}) {
  try {
    s.run(feeds, outputs);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "(no error)";
}

TEST(Session, RunsAndChecksFeeds) {
  const std::string bytes = add_model();
  Session s(bytes.data(), bytes.size());
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector<float>({10, 20, 30, 40}, {2, 2});
  auto out = s.run({{"a", a}, {"b", b}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tensor().data<float>()[3], 44.0f);

  EXPECT_EQ(run_error(s, {{"a", a}}), "missing inputs: b");
  EXPECT_NE(run_error(s, {{"a", a}, {"b", b}, {"c", b}}).find("'c' is not an input of the model"), std::string::npos);
  EXPECT_NE(run_error(s, {{"a", a}, {"a", a}, {"b", b}}).find("fed twice"), std::string::npos);
  Tensor wrong_type = Tensor::from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(run_error(s, {{"a", wrong_type}, {"b", b}}), "input 'a': expected tensor(float), got tensor(int64)");
  Tensor wrong_rank = Tensor::from_vector<float>({1, 2});
  EXPECT_NE(run_error(s, {{"a", wrong_rank}, {"b", b}}).find("expected rank 2"), std::string::npos);
  Tensor wrong_dim = Tensor::from_vector<float>({1, 2, 3}, {1, 3});
  EXPECT_NE(run_error(s, {{"a", wrong_dim}, {"b", b}}).find("dimension 1 must be 2, got 3"), std::string::npos);
  EXPECT_NE(run_error(s, {{"a", a}, {"b", b}}, {"nope"}).find("'nope' is not an output"), std::string::npos);
}

TEST(Session, OutputRequestedTwiceIsReturnedTwice) {
  const std::string bytes = add_model();
  Session s(bytes.data(), bytes.size());
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector<float>({10, 20, 30, 40}, {2, 2});
  auto out = s.run({{"a", a}, {"b", b}}, {"sum", "sum"});
  ASSERT_EQ(out.size(), 2u);
  for (const Value& v : out) {
    ASSERT_TRUE(v.is_tensor());
    ASSERT_EQ(v.tensor().shape(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(v.tensor().data<float>()[0], 11.0f);
    EXPECT_EQ(v.tensor().data<float>()[3], 44.0f);
  }
}

TEST(Session, RejectsUnimplementedOptions) {
  const std::string bytes = add_model();
  SessionOptions bad_mode;
  bad_mode.execution_mode = static_cast<ExecutionMode>(2);
  EXPECT_THROW(Session(bytes.data(), bytes.size(), bad_mode), Error);
  SessionOptions bad_level;
  bad_level.graph_optimization_level = static_cast<GraphOptimizationLevel>(5);
  EXPECT_THROW(Session(bytes.data(), bytes.size(), bad_level), Error);
  SessionOptions bad_log;
  bad_log.log_severity_level = 7;
  EXPECT_THROW(Session(bytes.data(), bytes.size(), bad_log), Error);
  SessionOptions unknown_entry;
  unknown_entry.config_entries["session.no_such_key"] = "1";
  EXPECT_THROW(Session(bytes.data(), bytes.size(), unknown_entry), Error);
  SessionOptions threads;
  threads.intra_op_num_threads = -1;
  EXPECT_THROW(Session(bytes.data(), bytes.size(), threads), Error);
}

TEST(Session, UnknownProviderFallsBackToCpu) {
  const std::string bytes = add_model();
  SessionOptions o;
  o.providers = {"CUDAExecutionProvider", "CPUExecutionProvider"};
  o.log_severity_level = 3;  // keep the fallback warning out of the test log
  Session s(bytes.data(), bytes.size(), o);
  EXPECT_EQ(s.providers(), std::vector<std::string>{"CPUExecutionProvider"});
}

TEST(Session, TerminatedRunFails) {
  const std::string bytes = add_model();
  Session s(bytes.data(), bytes.size());
  RunOptions ro;
  ro.set_terminate(true);
  Tensor a = Tensor::from_vector<float>({1, 2}, {1, 2});
  EXPECT_THROW(s.run({{"a", a}, {"b", a}}, {}, ro), Error);
  ro.set_terminate(false);
  EXPECT_NO_THROW(s.run({{"a", a}, {"b", a}}, {}, ro));
}

TEST(Session, ConcurrentRunsGiveTheirOwnResults) {
  const std::string bytes = add_model();
  Session s(bytes.data(), bytes.size());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const float v = static_cast<float>(t * 1000 + i);
        Tensor a = Tensor::from_vector<float>({v, v}, {1, 2});
        auto out = s.run({{"a", a}, {"b", a}});
        if (out[0].tensor().data<float>()[1] != 2 * v) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

TEST(Session, SavesTheOptimizedModelAndLoadsItAgain) {
  const std::string bytes = add_model();
  SessionOptions o;
  o.optimized_model_filepath = ::testing::TempDir() + "kestrel_optimized.onnx";
  Session first(bytes.data(), bytes.size(), o);
  Session second(o.optimized_model_filepath);
  Tensor a = Tensor::from_vector<float>({1, 2}, {1, 2});
  auto x = first.run({{"a", a}, {"b", a}});
  auto y = second.run({{"a", a}, {"b", a}});
  EXPECT_EQ(x[0].tensor().data<float>()[1], y[0].tensor().data<float>()[1]);
  EXPECT_EQ(second.inputs()[0].type.shape_string(), "['n',2]");
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

TEST(Session, RunIntoWritesTheCallersBufferInPlace) {
  const std::string bytes = add_model();
  Session s(bytes.data(), bytes.size());
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  float buffer[4] = {-1, -1, -1, -1};
  std::vector<Value> outputs{Value(Tensor::borrow(ElementType::kFloat, {2, 2}, buffer))};
  s.run_into({{"a", a}, {"b", a}}, {"sum"}, outputs);
  EXPECT_EQ(buffer[0], 2.0f);
  EXPECT_EQ(buffer[3], 8.0f);
  EXPECT_EQ(outputs[0].tensor().raw_data(), static_cast<void*>(buffer));
  std::vector<Value> wrong{Value(Tensor(ElementType::kFloat, {3}))};
  EXPECT_THROW(s.run_into({{"a", a}, {"b", a}}, {"sum"}, wrong), Error);
}

TEST(Session, ReferenceKernelsOption) {
  const std::string bytes = add_model();
  SessionOptions o;
  o.config_entries["kestrel.reference_kernels"] = "1";
  Session s(bytes.data(), bytes.size(), o);
  Tensor a = Tensor::from_vector<float>({1, 2}, {1, 2});
  EXPECT_EQ(s.run({{"a", a}, {"b", a}})[0].tensor().data<float>()[1], 4.0f);
  o.config_entries["kestrel.reference_kernels"] = "yes";
  EXPECT_THROW(Session(bytes.data(), bytes.size(), o), Error);
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

TEST(Session, FreeDimensionOverridesFixInputShapes) {
  const std::string bytes = add_model();
  SessionOptions o;
  o.free_dimension_overrides["n"] = 3;
  Session s(bytes.data(), bytes.size(), o);
  EXPECT_EQ(s.inputs()[0].type.shape_string(), "[3,2]");
  Tensor a = Tensor::from_vector<float>({1, 2}, {1, 2});
  EXPECT_THROW(s.run({{"a", a}, {"b", a}}), Error);  // batch 1 no longer fits the fixed dim
  o.free_dimension_overrides = {{"unknown", 1}};
  EXPECT_THROW(Session(bytes.data(), bytes.size(), o), Error);
}

TEST(Session, InitializerOverridesReplaceWeights) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_float_data(1);
  w->add_float_data(1);
  auto* n = g->add_node();
  n->set_op_type("Mul");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  g->add_output()->set_name("y");
  const std::string bytes = m.SerializeAsString();
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  o.initializer_overrides["w"] = Tensor::from_vector<float>({2, 3});
  Session s(bytes.data(), bytes.size(), o);
  auto out = s.run({{"x", Tensor::from_vector<float>({10, 10})}});
  EXPECT_EQ(out[0].tensor().data<float>()[1], 30.0f);
  o.initializer_overrides["w"] = Tensor::from_vector<float>({2, 3, 4});
  EXPECT_THROW(Session(bytes.data(), bytes.size(), o), Error);
  o.initializer_overrides = {{"nope", Tensor::from_vector<float>({1})}};
  EXPECT_THROW(Session(bytes.data(), bytes.size(), o), Error);
}

}  // namespace
}  // namespace kestrel
