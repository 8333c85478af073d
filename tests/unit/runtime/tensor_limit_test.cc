// kestrel.max_tensor_bytes holds for every output a run's kernels allocate, on whichever thread they allocate it
// (a kernel's OpenMP workers are not the thread that called Session::run).
#include <gtest/gtest.h>

#include <exception>
#include <thread>

#include "kestrel/session.h"
#include "common/model_builder.h"
#include "runtime/kernel.h"
#include "runtime/kernel_registry.h"

namespace kestrel {
namespace {

// Y = X, with Y allocated on a thread of the kernel's own, as a kernel's worker thread could.
class CopyOnWorkerThread final : public runtime::Kernel {
 public:
  explicit CopyOnWorkerThread(const runtime::KernelInfo&) {}
  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::exception_ptr error;
    std::thread worker([&] {
      try {
        Tensor& y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, x.shape());
        for (int64_t i = 0; i < x.size(); ++i) y.data<float>()[i] = x.data<float>()[i];
      } catch (...) {
        error = std::current_exception();
      }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
  }
};

KESTREL_KERNEL(CopyOnWorkerThread, "test.kestrel", 1, 1000, "float",
               runtime::make_kernel<CopyOnWorkerThread>());

TEST(TensorLimit, HoldsForOutputsAllocatedOnOtherThreads) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* os = m.add_opset_import();
  os->set_domain("test.kestrel");
  os->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("copy");
  test_model::add_tensor_input(*g, "X", onnx::TensorProto::FLOAT, {-1});
  test_model::add_node(*g, "CopyOnWorkerThread", {"X"}, {"Y"})->set_domain("test.kestrel");
  test_model::add_tensor_output(*g, "Y", onnx::TensorProto::FLOAT, {-1});
  const std::string bytes = m.SerializeAsString();
  for (bool arena : {true, false}) {
    SessionOptions o;
    o.enable_cpu_mem_arena = arena;
    o.config_entries["kestrel.max_tensor_bytes"] = "4096";
    Session s(bytes.data(), bytes.size(), o);
    std::vector<float> big(2048, 1.5f);  // 8 KiB, over the session's 4 KiB
    try {
      s.run({{"X", Tensor::from_vector<float>(big, {2048})}});
      ADD_FAILURE() << "an 8 KiB output allocated on another thread passed a 4 KiB limit (arena " << arena << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find("exceeds the limit of 4096 bytes"), std::string::npos) << e.what();
    }
    // The session stays usable for runs within its limit.
    auto out = s.run({{"X", Tensor::from_vector<float>({1.0f, -2.0f, 3.0f}, {3})}});
    ASSERT_EQ(out[0].tensor().size(), 3);
    EXPECT_EQ(out[0].tensor().data<float>()[1], -2.0f);
  }
}

}  // namespace
}  // namespace kestrel
