// Custom-op libraries (include/kestrel/custom_op.h) loaded by SessionOptions::register_custom_ops_library: ops run
// with their attributes and their own output shapes, only in the sessions that registered them, and every way a
// library or op can go wrong is a kestrel::Error naming what went wrong.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "kestrel/session.h"
#include "onnx/onnx_pb.h"

namespace kestrel {
namespace {

const std::string kLibraryDir = KESTREL_TEST_CUSTOM_OPS_DIR;
const std::string kGoodLibrary = kLibraryDir + "/libkestrel_test_custom_ops_good.so";

// x[n, 3] -> Neg -> test.kestrel:<op> -> Relu -> y: a custom op between two built-in ones (without the Neg when
// `negate` is false).
std::string custom_op_model(const std::string& op, float scale = 0.0f, bool negate = true) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* custom = m.add_opset_import();
  custom->set_domain("test.kestrel");
  custom->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("custom");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("n");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  if (negate) {
    auto* neg = g->add_node();
    neg->set_op_type("Neg");
    neg->add_input("x");
    neg->add_output("negated");
  }
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_domain("test.kestrel");
  n->set_name("mine");
  n->add_input(negate ? "negated" : "x");
  n->add_output("custom_out");
  if (scale != 0.0f) {
    auto* a = n->add_attribute();
    a->set_name("scale");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(scale);
  }
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->add_input("custom_out");
  relu->add_output("y");
  g->add_output()->set_name("y");
  return m.SerializeAsString();
}

SessionOptions with_library(const std::string& path) {
  SessionOptions o;
  o.register_custom_ops_library(path);
  return o;
}

Error error_of(const std::function<void()>& attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no kestrel::Error was thrown";
  return Error(ErrorCode::kOk, "");
}

TEST(CustomOps, RunsWithAttributesBetweenBuiltInOps) {
  const std::string bytes = custom_op_model("ScaledClip", 0.5f);
  Session s(bytes.data(), bytes.size(), with_library(kGoodLibrary));
  // Neg, then min(max(v, 0), 6) * 0.5, then Relu.
  auto out = s.run({{"x", Tensor::from_vector<float>({-1.0f, -10.0f, 2.0f, -4.0f, 0.0f, -0.5f}, {2, 3})}});
  const Tensor& y = out[0].tensor();
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const std::vector<float> expected = {0.5f, 3.0f, 0.0f, 2.0f, 0.0f, 0.25f};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(y.data<float>()[i], expected[i]) << i;
}

TEST(CustomOps, OpDecidesItsOutputShape) {
  const std::string bytes = custom_op_model("RowSum");
  for (bool arena : {true, false}) {
    SessionOptions o = with_library(kGoodLibrary);
    o.enable_cpu_mem_arena = arena;
    Session s(bytes.data(), bytes.size(), o);
    for (int64_t rows : {1, 4, 0}) {
      std::vector<float> x(static_cast<size_t>(rows * 3));
      for (size_t i = 0; i < x.size(); ++i) x[i] = -static_cast<float>(i);
      auto out = s.run({{"x", Tensor::from_vector<float>(x, {rows, 3})}});
      const Tensor& y = out[0].tensor();
      ASSERT_EQ(y.shape(), (Shape{rows}));
      for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(y.data<float>()[r], static_cast<float>(9 * r + 3)) << r;
    }
  }
}

TEST(CustomOps, ConcurrentRunsOfOneSession) {
  const std::string bytes = custom_op_model("ScaledClip", 2.0f);
  Session s(bytes.data(), bytes.size(), with_library(kGoodLibrary));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const float v = -static_cast<float>((t + i) % 5);
        auto out = s.run({{"x", Tensor::from_vector<float>({v, v, v}, {1, 3})}});
        if (out[0].tensor().data<float>()[2] != -v * 2.0f) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(CustomOps, OnlyForTheSessionThatRegisteredThem) {
  const std::string bytes = custom_op_model("ScaledClip");
  Session with(bytes.data(), bytes.size(), with_library(kGoodLibrary));
  Error e = error_of([&] { Session without(bytes.data(), bytes.size()); });
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_NE(std::string(e.what()).find("unknown op ScaledClip (domain test.kestrel, opset 1)"), std::string::npos)
      << e.what();
}

TEST(CustomOps, LibraryErrors) {
  Error missing = error_of([] { with_library(kLibraryDir + "/no_such_library.so"); });
  EXPECT_EQ(missing.code(), ErrorCode::kNoSuchFile);
  EXPECT_NE(std::string(missing.what()).find("no_such_library.so' does not exist"), std::string::npos)
      << missing.what();

  Error no_symbol = error_of([] { with_library(kLibraryDir + "/libkestrel_test_custom_ops_no_symbol.so"); });
  EXPECT_EQ(no_symbol.code(), ErrorCode::kFail);
  EXPECT_NE(std::string(no_symbol.what()).find("does not export KestrelRegisterCustomOps"), std::string::npos)
      << no_symbol.what();

  Error bad_abi = error_of([] { with_library(kLibraryDir + "/libkestrel_test_custom_ops_bad_abi.so"); });
  EXPECT_EQ(bad_abi.code(), ErrorCode::kFail);
  EXPECT_NE(std::string(bad_abi.what())
                .find("op 'test.kestrel:ScaledClip' was built for custom-op ABI version 42; this Kestrel supports "
                      "version 1"),
            std::string::npos)
      << bad_abi.what();

  // A file that is not a shared library at all.
  Error not_a_library = error_of([] { with_library(KESTREL_TEST_CUSTOM_OPS_DIR "/../CTestTestfile.cmake"); });
  EXPECT_EQ(not_a_library.code(), ErrorCode::kFail);
  EXPECT_NE(std::string(not_a_library.what()).find("cannot be loaded"), std::string::npos) << not_a_library.what();
}

TEST(CustomOps, OpFailuresAreErrorsAndTheSessionStaysUsable) {
  const Tensor x = Tensor::from_vector<float>({1.0f, 2.0f, 3.0f}, {1, 3});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"FailAlways", "FailAlways node 'mine': custom op test.kestrel:FailAlways failed (status 1): FailAlways refuses "
                     "every input"},
      {"ThrowAlways", "ThrowAlways node 'mine': custom op test.kestrel:ThrowAlways threw an exception: thrown from a "
                      "custom op"},
      {"ForgetOutput", "ForgetOutput node 'mine': custom op test.kestrel:ForgetOutput returned success without "
                       "allocating output 0"},
  };
  for (const auto& [op, message] : cases) {
    const std::string bytes = custom_op_model(op);
    Session s(bytes.data(), bytes.size(), with_library(kGoodLibrary));
    for (int attempt = 0; attempt < 2; ++attempt) {
      Error e = error_of([&] { s.run({{"x", x}}); });
      EXPECT_EQ(e.code(), ErrorCode::kFail) << op;
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

TEST(CustomOps, OutputsRespectTheSessionTensorLimit) {
  const std::string bytes = custom_op_model("ScaledClip", 0.0f, /*negate=*/false);
  SessionOptions o = with_library(kGoodLibrary);
  o.config_entries["kestrel.max_tensor_bytes"] = "1024";
  Session s(bytes.data(), bytes.size(), o);
  std::vector<float> big(3 * 1000, 1.0f);  // 12 KB
  Error e = error_of([&] { s.run({{"x", Tensor::from_vector<float>(big, {1000, 3})}}); });
  EXPECT_EQ(e.code(), ErrorCode::kFail);
  EXPECT_NE(std::string(e.what()).find("custom op test.kestrel:ScaledClip failed (status 1): output 0: tensor of "
                                       "shape [1000,3] and type float exceeds the limit of 1024 bytes"),
            std::string::npos)
      << e.what();
  auto out = s.run({{"x", Tensor::from_vector<float>({1.0f, 2.0f, 3.0f}, {1, 3})}});
  EXPECT_EQ(out[0].tensor().data<float>()[2], 3.0f);
}

}  // namespace
}  // namespace kestrel
