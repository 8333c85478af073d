// Constants that are views on a model file's bytes at offsets not aligned for their elements
// (runtime/unaligned_constants.h): kernels that pack them or copy rows out of them take the view as it is,
// with no copy; every other reader (a kernel reading the tensor at run time, the optimizer's constant_of)
// gets an aligned copy; results match values computed here from the weights, and saving the model keeps its
// bytes.
#include "runtime/unaligned_constants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "onnx/loader.h"
#include "onnx/payload_scan.h"
#include "onnx/writer.h"
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"
#include "providers/cpu/fast/fast_vs_reference.h"
#include "providers/cpu/kernels/fast/packed_gemm.h"
#include "runtime/kernel_registry.h"
#include "runtime/plan.h"

namespace kestrel {
namespace {

namespace fs = std::filesystem;
using testing::NodeInput;
using testing::pattern_tensor;

constexpr int64_t kK = 96, kN = 200;  // a [96, 200] float weight: 76800 bytes, above the 64 KiB mapped size

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % sizeof(float) == 0; }

// The one-node model `bytes` written to `file` with a graph name that puts initializer `name`'s payload at an
// offset that is not a multiple of 4 (the name precedes the initializers, so its length moves them).
fs::path write_unaligned(const std::string& bytes, const std::string& file, const std::string& name) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  int index = -1;
  for (int i = 0; i < m.graph().initializer_size(); ++i)
    if (m.graph().initializer(i).name() == name) index = i;
  EXPECT_GE(index, 0) << name;
  for (int pad = 1; pad <= 4 && index >= 0; ++pad) {
    m.mutable_graph()->set_name(std::string(static_cast<size_t>(pad), 'g'));
    const std::string shifted = m.SerializeAsString();
    const auto skeleton = onnx_format::split_large_payloads(reinterpret_cast<const uint8_t*>(shifted.data()),
                                                            shifted.size(), 65536);
    if (!skeleton || !skeleton->payloads[static_cast<size_t>(index)].present ||
        skeleton->payloads[static_cast<size_t>(index)].offset % sizeof(float) == 0)
      continue;
    const fs::path dir = fs::temp_directory_path() / "kestrel_unaligned_constants_test";
    fs::create_directories(dir);
    const fs::path path = dir / file;
    std::ofstream(path, std::ios::binary).write(shifted.data(), static_cast<std::streamsize>(shifted.size()));
    return path;
  }
  ADD_FAILURE() << "no graph name put '" << name << "' at an unaligned offset";
  return {};
}

Session session_of(const fs::path& path, bool reference, int threads = 1) {
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  o.intra_op_num_threads = threads;
  if (reference) o.config_entries["kestrel.reference_kernels"] = "1";
  return Session(path.string(), o);
}

// Y = X [M, K] · W [K, N], W unaligned in the file.
struct MatMulCase {
  Tensor x = pattern_tensor({5, kK}, 1);
  Tensor w = pattern_tensor({kK, kN}, 2);
  fs::path path;
  MatMulCase() {
    path =
        write_unaligned(testing::model_with_initializers("MatMul", {{"X", x}, {"W", w, true}}, nullptr, 13),
                        "matmul.onnx", "W");
  }
  void expect_product(const Tensor& y) const {
    ASSERT_EQ(y.shape(), (Shape{5, kN}));
    for (int64_t m = 0; m < 5; ++m)
      for (int64_t n = 0; n < kN; ++n) {
        double sum = 0;
        for (int64_t k = 0; k < kK; ++k)
          sum += static_cast<double>(x.data<float>()[m * kK + k]) * w.data<float>()[k * kN + n];
        ASSERT_NEAR(y.data<float>()[m * kN + n], sum, 1e-4 * (1 + std::fabs(sum))) << m << "," << n;
      }
  }
};

// The tensor the plan holds for the constant `v`, or null when it holds none (a weight packed and freed).
const Tensor* plan_constant(const runtime::Plan& plan, const ir::Value* v) {
  const int slot = plan.slot_of.at(v);
  for (const auto& [s, t] : plan.constants)
    if (s == slot) return t.get();
  return nullptr;
}

TEST(UnalignedConstants, LoaderMapsUnalignedPayloadsInPlace) {
  const MatMulCase c;
  const auto model = onnx_format::load_model_file(c.path.string());
  const ir::Value* W = model->graph->find("W");
  ASSERT_TRUE(W && W->initializer);
  EXPECT_FALSE(aligned(W->initializer->raw_data()));
  EXPECT_FALSE(runtime::is_element_aligned(*W->initializer));
  EXPECT_EQ(std::memcmp(W->initializer->raw_data(), c.w.raw_data(), c.w.bytes()), 0);
}

TEST(UnalignedConstants, PackedMatMulPacksTheViewWithoutCopy) {
  const MatMulCase c;
  const auto model = onnx_format::load_model_file(c.path.string());
  const void* view = model->graph->find("W")->initializer->raw_data();
  runtime::PlanOptions options;
  const void* released = nullptr;
  options.release_constant = [&released](const ir::Value* v) {
    if (v->name == "W") released = v->initializer->raw_data();
  };
  const auto plan = runtime::compile_plan(*model->graph, nullptr, options);
  // The packed kernel exists on AVX-512 machines; elsewhere the oneDNN kernel packs from an aligned copy.
  if (cpu::fast::packed_gemm_supported()) {
    EXPECT_EQ(released, view) << "W was copied before being packed";
  }
  for (bool reference : {false, true})
    for (int threads : {1, 2}) {
      Session s = session_of(c.path, reference, threads);
      c.expect_product(s.run({{"X", Value(c.x)}}).at(0).tensor());
    }
}

// Runs the model at `path` and the same model on the reference kernels on `feeds`, at one and two threads;
// the outputs must agree.
void expect_reference_output(const fs::path& path, const Feeds& feeds) {
  const Tensor ref = session_of(path, true).run(feeds).at(0).tensor();
  for (int threads : {1, 2}) {
    const Tensor y = session_of(path, false, threads).run(feeds).at(0).tensor();
    testing::expect_close(ref, y);
  }
}

// The oneDNN Conv and Gemm kernels pack their weights from the view on the file (PackedWeights reads it slab
// by slab with memcpy): the constant they free once packed is the view itself, not an aligned copy of it.
TEST(UnalignedConstants, ConvAndGemmPackTheViewWithoutCopy) {
  const Tensor x = pattern_tensor({1, 32, 9, 9}, 13), w = pattern_tensor({64, 32, 3, 3}, 14);
  const Tensor a = pattern_tensor({3, 96}, 15), b = pattern_tensor({200, 96}, 16);  // B^T: 76800 bytes
  const auto trans_b = [](onnx::NodeProto& n) {
    auto* attr = n.add_attribute();
    attr->set_name("transB");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(1);
  };
  const fs::path conv =
      write_unaligned(testing::model_with_initializers("Conv", {{"X", x}, {"W", w, true}}, nullptr, 13),
                      "conv_packed.onnx", "W");
  const fs::path gemm =
      write_unaligned(testing::model_with_initializers("Gemm", {{"X", a}, {"W", b, true}}, trans_b, 13),
                      "gemm_packed.onnx", "W");
  for (const auto& [path, input] : {std::pair{conv, x}, std::pair{gemm, a}}) {
    SCOPED_TRACE(path.filename().string());
    const auto model = onnx_format::load_model_file(path.string());
    const void* view = model->graph->find("W")->initializer->raw_data();
    ASSERT_FALSE(aligned(view));
    runtime::PlanOptions options;
    const void* released = nullptr;
    options.release_constant = [&released](const ir::Value* v) {
      if (v->name == "W") released = v->initializer->raw_data();
    };
    const auto plan = runtime::compile_plan(*model->graph, nullptr, options);
    EXPECT_EQ(released, view) << "W was copied before being packed";
    expect_reference_output(path, {{"X", Value(input)}});
  }
}

// Whether any of this process's mappings is of `file` (views on a model file are mappings of their own, gone
// once nothing holds them).
bool file_mapped(const fs::path& file) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(fs::absolute(file).string()) != std::string::npos) return true;
  return false;
}

// A Conv whose input's spatial size is known only on a run packs its weights then, from the aligned copy the
// plan keeps for the runs: the kernel does not hold the view on the file beside it.
TEST(UnalignedConstants, ConvPackedOnARunReadsTheAlignedCopy) {
  const Tensor w = pattern_tensor({64, 32, 3, 3}, 17);
  const Tensor x = pattern_tensor({1, 32, 9, 9}, 18), wide = pattern_tensor({1, 32, 5, 12}, 19);
  const fs::path path = write_unaligned(
      testing::model_with_initializers("Conv", {{"X", x, false, true}, {"W", w, true}}, nullptr, 13),
      "conv_dynamic.onnx", "W");
  const auto model = onnx_format::load_model_file(path.string());
  ir::Value* W = model->graph->find("W");
  ASSERT_FALSE(aligned(W->initializer->raw_data()));
  const std::weak_ptr<const Tensor> view = W->initializer;
  ASSERT_TRUE(file_mapped(path));
  const auto plan = runtime::compile_plan(*model->graph, nullptr, {});
  EXPECT_TRUE(view.expired());
  EXPECT_FALSE(file_mapped(path)) << "the view on the file is held beside the aligned copy";
  const Tensor* t = plan_constant(*plan, W);
  ASSERT_TRUE(t);
  EXPECT_TRUE(aligned(t->raw_data()));
  for (const Tensor& input : {x, wide}) expect_reference_output(path, {{"X", Value(input)}});
}

TEST(UnalignedConstants, OtherReadersGetAnAlignedCopy) {
  // Add reads W at run time through a float pointer: the plan hands it an aligned copy with the same values.
  const Tensor x = pattern_tensor({kK, kN}, 3), w = pattern_tensor({kK, kN}, 4);
  const fs::path path = write_unaligned(
      testing::model_with_initializers("Add", {{"X", x}, {"W", w, true}}, nullptr, 13), "add.onnx", "W");
  const auto model = onnx_format::load_model_file(path.string());
  ir::Value* W = model->graph->find("W");
  const void* view = W->initializer->raw_data();
  const auto plan = runtime::compile_plan(*model->graph, nullptr, {});
  const Tensor* t = plan_constant(*plan, W);
  EXPECT_TRUE(t);
  if (t) {
    EXPECT_TRUE(aligned(t->raw_data()));
    EXPECT_NE(t->raw_data(), view);
    EXPECT_EQ(std::memcmp(t->raw_data(), w.raw_data(), w.bytes()), 0);
  }
  for (bool reference : {false, true}) {
    Session s = session_of(path, reference);
    const Tensor y = s.run({{"X", Value(x)}}).at(0).tensor();
    for (int64_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(y.data<float>()[i], x.data<float>()[i] + w.data<float>()[i]);
  }
}

// A kernel that asks for W's aligned copy while it is made and notes whether the view on the file is still
// held by anything then (the plan taking its constants before making its kernels kept it, so the file's
// pages read for the copy stayed counted in memory beside it while a weight was packed).
class NotesWhetherTheViewLives final : public runtime::Kernel {
 public:
  NotesWhetherTheViewLives(const runtime::KernelInfo& info, const std::weak_ptr<const Tensor>& view,
                           bool& view_alive) {
    const Tensor* copy = info.constant_input(1);
    EXPECT_TRUE(copy && aligned(copy->raw_data()));
    view_alive = !view.expired();
  }
  void compute(runtime::KernelContext&) const override {}
};

TEST(UnalignedConstants, NothingHoldsTheViewOnceAKernelHasItsAlignedCopy) {
  const Tensor x = pattern_tensor({kK, kN}, 3), w = pattern_tensor({kK, kN}, 4);
  const fs::path path = write_unaligned(
      testing::model_with_initializers("Add", {{"X", x}, {"W", w, true}}, nullptr, 13), "add_view.onnx", "W");
  const auto model = onnx_format::load_model_file(path.string());
  ir::Value* W = model->graph->find("W");
  ASSERT_FALSE(aligned(W->initializer->raw_data()));
  const std::weak_ptr<const Tensor> view = W->initializer;
  bool view_alive = true;
  runtime::KernelRegistry kernels;
  kernels.add({"Add", "", 1, 1 << 30, "float",
               [&](const runtime::KernelInfo& info) -> std::unique_ptr<runtime::Kernel> {
                 return std::make_unique<NotesWhetherTheViewLives>(info, view, view_alive);
               }});
  runtime::PlanOptions options;
  options.custom_kernels = &kernels;
  const auto plan = runtime::compile_plan(*model->graph, nullptr, options);
  EXPECT_FALSE(view_alive);
  EXPECT_TRUE(view.expired());
  if (const Tensor* t = plan_constant(*plan, W)) {
    EXPECT_EQ(t, W->initializer.get()) << "the plan reads the kernel's aligned copy";
  }
}

TEST(UnalignedConstants, AGraphOutputIsAnAlignedCopy) {
  // The caller receives graph outputs as tensors it may read as floats: a table that is also an output is
  // copied, though Gather alone would read it as bytes.
  constexpr int64_t V = 100, E = 200;
  const Tensor table = pattern_tensor({V, E}, 10);
  const Tensor ids = Tensor::from_vector<int64_t>({4, 2}, {2});
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(
      testing::model_with_initializers("Gather", {{"T", table, true}, {"ids", ids}}, nullptr, 13)));
  m.mutable_graph()->add_output()->set_name("T");
  const fs::path path = write_unaligned(m.SerializeAsString(), "gather_output.onnx", "T");
  Session s = session_of(path, false);
  const auto outputs = s.run({{"ids", Value(ids)}});
  ASSERT_EQ(outputs.size(), 2u);
  const Tensor& t = outputs.at(1).tensor();
  EXPECT_TRUE(aligned(t.raw_data()));
  EXPECT_EQ(std::memcmp(t.raw_data(), table.raw_data(), table.bytes()), 0);
  EXPECT_EQ(std::memcmp(outputs.at(0).tensor().raw_data(), table.data<float>() + 4 * E, E * sizeof(float)),
            0);
}

TEST(UnalignedConstants, OptimizerReadsElementsThroughAnAlignedCopy) {
  const MatMulCase c;
  const auto model = onnx_format::load_model_file(c.path.string());
  const ir::Value* W = model->graph->find("W");
  const Tensor* view = optimizer::constant_view_of(W);
  ASSERT_TRUE(view);
  EXPECT_FALSE(aligned(view->raw_data()));
  const Tensor* copy = optimizer::constant_of(W);
  ASSERT_TRUE(copy);
  EXPECT_TRUE(aligned(copy->raw_data()));
  EXPECT_EQ(std::memcmp(copy->raw_data(), c.w.raw_data(), c.w.bytes()), 0);
  EXPECT_EQ(W->initializer.get(), copy) << "the copy replaces the view, once";
  EXPECT_EQ(optimizer::constant_of(W), copy);
}

// Every optimization level's rules read a Conv weight's type and shape only (layout_nhwc, fuse_conv_add_mul,
// fuse_inverted_residual): the weight reaches the convolution kernel as the view on the file, with no aligned
// copy made on the way (100 MB and tens of milliseconds of session creation on resnet50).
TEST(UnalignedConstants, OptimizerLeavesConvWeightsAsViews) {
  // W: 73728 bytes, above the size the loader maps in place.
  const Tensor x = pattern_tensor({1, 32, 9, 9}, 11), w = pattern_tensor({64, 32, 3, 3}, 12);
  const fs::path path = write_unaligned(
      testing::model_with_initializers("Conv", {{"X", x}, {"W", w, true}}, nullptr, 13), "conv.onnx", "W");
  const auto model = onnx_format::load_model_file(path.string());
  const ir::Value* W = model->graph->find("W");
  ASSERT_TRUE(W && W->initializer);
  const Tensor* view = W->initializer.get();
  ASSERT_FALSE(aligned(view->raw_data()));
  optimizer::optimize(*model->graph, static_cast<int>(GraphOptimizationLevel::kAll));
  const ir::Value* read = nullptr;
  for (const auto& node : model->graph->nodes())
    if (node->inputs.size() > 1 && node->inputs[1] && node->inputs[1]->name == "W") read = node->inputs[1];
  ASSERT_TRUE(read) << "no node reads W after optimization";
  EXPECT_EQ(read->initializer.get(), view) << "the optimizer replaced W's view with a copy";
  // And the session at that level computes the same convolution as the reference kernel.
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kAll;
  const Tensor y = Session(path.string(), o).run({{"X", Value(x)}}).at(0).tensor();
  const Tensor ref = session_of(path, true).run({{"X", Value(x)}}).at(0).tensor();
  ASSERT_EQ(y.shape(), ref.shape());
  for (int64_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y.data<float>()[i], ref.data<float>()[i], 1e-4f * (1 + std::fabs(ref.data<float>()[i]))) << i;
}

TEST(UnalignedConstants, SavedModelKeepsTheViewsBytes) {
  const MatMulCase c;
  const auto model = onnx_format::load_model_file(c.path.string());
  const fs::path saved = c.path.parent_path() / "saved.onnx";
  onnx_format::save_model(*model, saved.string());
  const auto reloaded = onnx_format::load_model_file(saved.string());
  const ir::Value* W = reloaded->graph->find("W");
  ASSERT_TRUE(W && W->initializer);
  EXPECT_EQ(std::memcmp(W->initializer->raw_data(), c.w.raw_data(), c.w.bytes()), 0);
}

// Table [V, E] with rows that are easy to recognise, read by Gather at run time.
TEST(UnalignedConstants, GatherCopiesRowsOutOfTheView) {
  constexpr int64_t V = 100, E = 200;
  const Tensor table = pattern_tensor({V, E}, 5);
  const Tensor ids = Tensor::from_vector<int64_t>({0, 99, 42, -1, 7, 42, -100}, {7});
  const fs::path path = write_unaligned(
      testing::model_with_initializers("Gather", {{"T", table, true}, {"ids", ids}}, nullptr, 13),
      "gather.onnx", "T");
  const auto model = onnx_format::load_model_file(path.string());
  ir::Value* T = model->graph->find("T");
  const void* view = T->initializer->raw_data();
  ASSERT_FALSE(aligned(view));
  const auto plan = runtime::compile_plan(*model->graph, nullptr, {});
  if (const Tensor* t = plan_constant(*plan, T)) {
    EXPECT_EQ(t->raw_data(), view) << "the table was copied";
  }
  Session s = session_of(path, false);
  const Tensor y = s.run({{"ids", Value(ids)}}).at(0).tensor();
  ASSERT_EQ(y.shape(), (Shape{7, E}));
  for (int64_t k = 0; k < 7; ++k) {
    const int64_t row = (ids.data<int64_t>()[k] + V) % V;
    EXPECT_EQ(std::memcmp(y.data<float>() + k * E, table.data<float>() + row * E, E * sizeof(float)), 0) << k;
  }
}

TEST(UnalignedConstants, EmbedLayerNormalizationReadsRowsOfTheView) {
  constexpr int64_t V = 120, P = 16, E = 160, B = 2, S = 5;  // word table: 76800 bytes
  const Tensor word = pattern_tensor({V, E}, 6), position = pattern_tensor({P, E}, 7);
  const Tensor gamma = pattern_tensor({E}, 8), beta = pattern_tensor({E}, 9);
  const Tensor ids = Tensor::from_vector<int64_t>({3, 119, 0, 57, 3, 8, -1, 64, 100, 2}, {B, S});
  const float epsilon = 1e-5f;
  const std::string bytes = testing::model_with_initializers(
      "EmbedLayerNormalization",
      {{"ids", ids},
       {"segment_ids", Tensor()},
       {"word", word, true},
       {"position", position, true},
       {"segment", Tensor()},
       {"gamma", gamma, true},
       {"beta", beta, true}},
      [&](onnx::NodeProto& n) {
        auto* a = n.add_attribute();
        a->set_name("epsilon");
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(epsilon);
      },
      13, "ai.kestrel");
  const fs::path path = write_unaligned(bytes, "embed.onnx", "word");
  const auto model = onnx_format::load_model_file(path.string());
  ir::Value* word_value = model->graph->find("word");
  const void* view = word_value->initializer->raw_data();
  ASSERT_FALSE(aligned(view));
  const auto plan = runtime::compile_plan(*model->graph, nullptr, {});
  if (const Tensor* t = plan_constant(*plan, word_value)) {
    EXPECT_EQ(t->raw_data(), view) << "the word table was copied";
  }
  for (bool reference : {false, true})
    for (int threads : {1, 2}) {
      Session s = session_of(path, reference, threads);
      const Tensor y = s.run({{"ids", Value(ids)}}).at(0).tensor();
      ASSERT_EQ(y.shape(), (Shape{B, S, E}));
      for (int64_t r = 0; r < B * S; ++r) {
        const int64_t w_row = (ids.data<int64_t>()[r] + V) % V, p_row = r % S;
        std::vector<double> sum(static_cast<size_t>(E));
        double mean = 0, var = 0;
        for (int64_t i = 0; i < E; ++i) {
          sum[static_cast<size_t>(i)] =
              static_cast<double>(word.data<float>()[w_row * E + i]) + position.data<float>()[p_row * E + i];
          mean += sum[static_cast<size_t>(i)] / E;
        }
        for (int64_t i = 0; i < E; ++i)
          var += (sum[static_cast<size_t>(i)] - mean) * (sum[static_cast<size_t>(i)] - mean) / E;
        for (int64_t i = 0; i < E; ++i) {
          const double want =
              (sum[static_cast<size_t>(i)] - mean) / std::sqrt(var + epsilon) * gamma.data<float>()[i] +
              beta.data<float>()[i];
          ASSERT_NEAR(y.data<float>()[r * E + i], want, 1e-4)
              << "reference " << reference << " row " << r << " " << i;
        }
      }
    }
}

}  // namespace
}  // namespace kestrel
