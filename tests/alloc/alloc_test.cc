// Steady-state runs allocate nothing: after warm-up, a run_into with preallocated outputs (what Python's IOBinding
// does) on a static-shape model makes no heap allocation in the engine or its kernels. alloc_counter.h counts
// every allocation of the process while a run is in flight and sorts it: Kestrel's count (and any other, outside
// oneDNN) must be 0; what oneDNN allocates inside its primitive executions is printed.
//   kestrel_alloc_tests [ZOO_DIR]   (zoo models are skipped, saying so, when ZOO_DIR is absent)
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "alloc/alloc_counter.h"
#include "common/model_builder.h"
#include "kestrel/session.h"
#include "kestrel/value_file.h"
#include "onnx/onnx_pb.h"

namespace {

using namespace kestrel;

const char* zoo_dir = nullptr;

// y = Relu(x), x and y float [1, 1000]: the one-node model of the Python overhead figure.
std::string relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("relu");
  test_model::add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {1, 1000});
  test_model::add_tensor_output(*g, "y", onnx::TensorProto::FLOAT, {1, 1000});
  test_model::add_node(*g, "Relu", {"x"}, {"y"});
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

struct Counts {
  long kestrel = 0, dnnl = 0, other = 0;
};

// Counts the allocations of f().
template <typename F>
Counts count_allocations(F&& f) {
  kestrel_alloc_counter_start();
  f();
  long c[3];
  kestrel_alloc_counter_stop(c);
  return {c[0], c[1], c[2]};
}

// Allocations of each of `runs` calls of run_into after `warmup` calls, every output bound to a preallocated
// buffer of the shape a plain run gave it.
std::vector<Counts> allocations_per_run(const Session& session, const Feeds& feeds, int warmup, int runs) {
  std::vector<std::string> names;
  std::vector<Value> outputs;
  for (const IoInfo& io : session.outputs()) names.push_back(io.name);
  for (const Value& v : session.run(feeds)) outputs.emplace_back(Tensor(v.tensor().type(), v.tensor().shape()));
  std::vector<const void*> buffers;
  for (const Value& v : outputs) buffers.push_back(v.tensor().raw_data());
  const RunOptions run_options;
  for (int i = 0; i < warmup; ++i) session.run_into(feeds, names, outputs, run_options);
  std::vector<Counts> counts;
  for (int i = 0; i < runs; ++i)
    counts.push_back(count_allocations([&] { session.run_into(feeds, names, outputs, run_options); }));
  // The results were written into the bound buffers, not somewhere else.
  for (size_t k = 0; k < outputs.size(); ++k) EXPECT_EQ(outputs[k].tensor().raw_data(), buffers[k]);
  return counts;
}

TEST(Allocations, CounterSeesTheEngine) {
  // The counter itself works: a plain run() returns fresh output tensors, which are allocated.
  const std::string model = relu_model();
  Session session(model.data(), model.size());
  Feeds feeds = {{"x", Tensor(ElementType::kFloat, {1, 1000})}};
  session.run(feeds);
  std::vector<Value> out;
  EXPECT_GT(count_allocations([&] { out = session.run(feeds); }).kestrel, 0);
}

TEST(Allocations, CounterFindsOneDnnExecute) {
  // The split relies on finding dnnl_primitive_execute's code; without it every allocation would be Kestrel's.
  count_allocations([] {});
  EXPECT_EQ(kestrel_alloc_counter_sees_dnnl_execute(), 1);
}

TEST(Allocations, OneNodeModelRunsWithoutAllocating) {
  const std::string model = relu_model();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("intra_op_num_threads " + std::to_string(threads));
    SessionOptions options;
    options.intra_op_num_threads = threads;
    Session session(model.data(), model.size(), options);
    const Feeds feeds = {{"x", Tensor(ElementType::kFloat, {1, 1000})}};
    const std::vector<Counts> counts = allocations_per_run(session, feeds, 3, 5);
    for (size_t i = 0; i < counts.size(); ++i)
      EXPECT_EQ(counts[i].kestrel + counts[i].dnnl + counts[i].other, 0) << "run " << i << " after warm-up";
  }
}

// A zoo model on its reference inputs: allocations outside oneDNN's primitive executions are 0 on every counted
// run, at 1 and 2 threads; oneDNN's are printed.
void zoo_model_runs_without_allocating(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(zoo_dir ? zoo_dir : "") / name;
  if (!zoo_dir || !std::filesystem::exists(dir / "model.onnx")) GTEST_SKIP() << dir << " is absent";
  for (int threads : {1, 2}) {
    SCOPED_TRACE("intra_op_num_threads " + std::to_string(threads));
    SessionOptions options;
    options.intra_op_num_threads = threads;
    Session session((dir / "model.onnx").string(), options);
    const Feeds feeds = read_input_files(session, (dir / "test_data_set_0").string());
    ASSERT_FALSE(feeds.empty());
    const std::vector<Counts> counts = allocations_per_run(session, feeds, 2, 3);
    for (size_t i = 0; i < counts.size(); ++i) {
      EXPECT_EQ(counts[i].kestrel + counts[i].other, 0) << "run " << i << " after warm-up";
      std::printf("%s, %d thread(s), run %zu: %ld allocations by Kestrel, %ld other outside oneDNN, %ld inside "
                  "oneDNN's primitive executions\n",
                  name.c_str(), threads, i, counts[i].kestrel, counts[i].other, counts[i].dnnl);
    }
  }
}

TEST(Allocations, Squeezenet) { zoo_model_runs_without_allocating("squeezenet1_1"); }
TEST(Allocations, Resnet18) { zoo_model_runs_without_allocating("resnet18"); }
TEST(Allocations, MobilenetV2) { zoo_model_runs_without_allocating("mobilenet_v2"); }
TEST(Allocations, EfficientnetB0) { zoo_model_runs_without_allocating("efficientnet_b0"); }
TEST(Allocations, PpocrDet) { zoo_model_runs_without_allocating("ppocr_det"); }
TEST(Allocations, BertMini) { zoo_model_runs_without_allocating("bert_mini"); }

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) zoo_dir = argv[1];
  return RUN_ALL_TESTS();
}
