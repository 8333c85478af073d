// The loader on valid and hostile models: every bad input gives a kestrel::Error with a clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "kernel_test_util.h"
#include "kestrel/session.h"
#include "onnx/onnx_pb.h"

namespace kestrel {
namespace {

namespace fs = std::filesystem;

onnx::ModelProto relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("n");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu1");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

// Expects session creation to fail with `code` and a message containing `fragment`.
void expect_load_error(const std::string& bytes, ErrorCode code, const std::string& fragment) {
  try {
    Session s(bytes.data(), bytes.size());
    FAIL() << "loading succeeded; expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("kestrel_loader_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(Loader, LoadsAndReportsMetadata) {
  const std::string bytes = relu_model().SerializeAsString();
  Session s(bytes.data(), bytes.size());
  ASSERT_EQ(s.inputs().size(), 1u);
  EXPECT_EQ(s.inputs()[0].type.to_string(), "tensor(float)");
  EXPECT_EQ(s.inputs()[0].type.shape_string(), "['n',3]");
  EXPECT_EQ(s.metadata().ir_version, 8);
}

TEST(Loader, EmptyTruncatedAndRandomBytes) {
  expect_load_error("", ErrorCode::kInvalidProtobuf, "empty");
  const std::string bytes = relu_model().SerializeAsString();
  for (size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    const std::string truncated = bytes.substr(0, cut);
    try {
      Session s(truncated.data(), truncated.size());
    } catch (const Error&) {
      // Any clean error is right; a crash is the failure this test looks for.
    }
  }
  std::mt19937 gen(7);
  for (int round = 0; round < 200; ++round) {
    std::string noise(1 + gen() % 512, '\0');
    for (char& c : noise) c = static_cast<char>(gen());
    try {
      Session s(noise.data(), noise.size());
    } catch (const Error&) {
    }
  }
}

TEST(Loader, MissingFile) {
  try {
    Session s("/nonexistent/model.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNoSuchFile);
  }
}

TEST(Loader, UnknownOpNamesTheNode) {
  auto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  expect_load_error(m.SerializeAsString(), ErrorCode::kNotImplemented, "NoSuchOp node 'relu1': unknown op");
}

TEST(Loader, MissingInputNamesTheNode) {
  auto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "ghost");
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidGraph, "Relu node 'relu1': input 0 'ghost'");
}

// libonnx 1.12's EyeLike inference (with a dtype) reads its input's type without checking it is known: the
// model must be refused by Kestrel's own check, not crash inside ONNX's shape inference first.
TEST(Loader, UndefinedInputOfEyeLikeIsReported) {
  auto m = relu_model();
  auto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("EyeLike");
  n->set_input(0, "ghost");
  auto* dtype = n->add_attribute();
  dtype->set_name("dtype");
  dtype->set_type(onnx::AttributeProto::INT);
  dtype->set_i(onnx::TensorProto::DOUBLE);
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidGraph, "EyeLike node 'relu1': input 0 'ghost'");
}

// A value ONNX cannot type (the output of an op outside its schemas) feeding the same EyeLike is a valid model.
TEST(Loader, ValueOnnxCannotTypeFeedsEyeLike) {
  auto m = relu_model();
  auto* os = m.add_opset_import();
  os->set_domain("ai.kestrel");
  os->set_version(1);
  auto* g = m.mutable_graph();
  auto* gelu = g->mutable_node(0);
  gelu->set_op_type("Gelu");
  gelu->set_domain("ai.kestrel");
  gelu->set_output(0, "g");
  auto* eye = g->add_node();
  eye->set_op_type("EyeLike");
  eye->set_name("eye");
  eye->add_input("g");
  eye->add_output("y");
  auto* dtype = eye->add_attribute();
  dtype->set_name("dtype");
  dtype->set_type(onnx::AttributeProto::INT);
  dtype->set_i(onnx::TensorProto::DOUBLE);
  const std::string bytes = m.SerializeAsString();
  Session s(bytes.data(), bytes.size());
  Tensor x(ElementType::kFloat, {2, 3});
  auto out = s.run({{"x", x}});
  const Tensor& y = out[0].tensor();
  ASSERT_EQ(y.type(), ElementType::kDouble);
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.data<double>()[r * 3 + c], r == c ? 1.0 : 0.0);
}

TEST(Loader, CycleIsReported) {
  auto m = relu_model();
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_input(0, "z");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu2");
  n->add_input("y");
  n->add_output("z");
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidGraph, "cycle");
}

TEST(Loader, DuplicateOutputName) {
  auto m = relu_model();
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidGraph, "already defined");
}

TEST(Loader, UnsupportedIrVersion) {
  auto m = relu_model();
  m.set_ir_version(99);
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidGraph, "IR version 99");
}

TEST(Loader, InitializerSizeMismatch) {
  auto m = relu_model();
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(4);
  init->set_raw_data(std::string(12, '\0'));  // 3 floats for a shape of 4
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidProtobuf, "raw_data has 12 bytes");
}

TEST(Loader, AbsurdDimsAreRejected) {
  auto m = relu_model();
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(1LL << 40);
  init->add_dims(1LL << 40);
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidArgument, "too many elements");
  init->clear_dims();
  init->add_dims(-5);
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidProtobuf, "negative dimension");
}

TEST(Loader, WrongAttributeTypeNamesTheNode) {
  auto m = relu_model();
  auto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Softmax");
  auto* a = n->add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("one");
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidArgument, "attribute 'axis' should be int");
}

void add_external_initializer(onnx::ModelProto& m, const std::string& location, int64_t offset, int64_t length) {
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(2);
  init->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = init->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  kv = init->add_external_data();
  kv->set_key("offset");
  kv->set_value(std::to_string(offset));
  kv = init->add_external_data();
  kv->set_key("length");
  kv->set_value(std::to_string(length));
}

std::string write_model(const fs::path& dir, const onnx::ModelProto& m) {
  const fs::path path = dir / "model.onnx";
  std::ofstream out(path, std::ios::binary);
  m.SerializeToOstream(&out);
  return path.string();
}

void expect_file_error(const std::string& path, const std::string& fragment) {
  try {
    Session s(path);
    FAIL() << "loading succeeded; expected '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Loader, ExternalDataInsideTheFolderLoads) {
  const fs::path dir = temp_dir("ext_ok");
  {
    std::ofstream w(dir / "weights.bin", std::ios::binary);
    float data[3] = {0, 1.5f, -2};
    w.write(reinterpret_cast<const char*>(data), sizeof data);
  }
  auto m = relu_model();
  add_external_initializer(m, "weights.bin", 4, 8);
  SessionOptions as_written;  // the optimizer would drop the unused initializer
  as_written.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  Session s(write_model(dir, m), as_written);
  EXPECT_EQ(s.summary().parameter_count, 2);
}

TEST(Loader, ExternalDataThatEscapesIsRefused) {
  const fs::path dir = temp_dir("ext_escape");
  fs::create_directories(dir / "sub");
  { std::ofstream w(dir / "outside.bin", std::ios::binary); w << std::string(64, 'x'); }
  auto m = relu_model();
  add_external_initializer(m, "../outside.bin", 0, 8);
  expect_file_error(write_model(dir / "sub", m), "leaves the model's folder");

  m = relu_model();
  add_external_initializer(m, (dir / "outside.bin").string(), 0, 8);
  expect_file_error(write_model(dir / "sub", m), "absolute path");

  fs::create_symlink(dir / "outside.bin", dir / "sub" / "link.bin");
  m = relu_model();
  add_external_initializer(m, "link.bin", 0, 8);
  expect_file_error(write_model(dir / "sub", m), "leaves the model's folder");
}

TEST(Loader, ExternalDataPastTheEndIsRefused) {
  const fs::path dir = temp_dir("ext_range");
  { std::ofstream w(dir / "w.bin", std::ios::binary); w << std::string(8, 'x'); }
  auto m = relu_model();
  add_external_initializer(m, "w.bin", 4, 8);
  expect_file_error(write_model(dir, m), "past the end");
  m = relu_model();
  add_external_initializer(m, "missing.bin", 0, 8);
  expect_file_error(write_model(dir, m), "cannot be opened");
}

TEST(Loader, ExternalDataFromBytesIsRefused) {
  auto m = relu_model();
  add_external_initializer(m, "w.bin", 0, 8);
  expect_load_error(m.SerializeAsString(), ErrorCode::kInvalidProtobuf, "loaded from bytes");
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

// A model-local function `AddTwice(x, y) = (x + y) + y` with an attribute reference, called from the graph.
TEST(Loader, ExpandsModelLocalFunctions) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* local = m.add_opset_import();
  local->set_domain("my.domain");
  local->set_version(1);
  auto* fn = m.add_functions();
  fn->set_name("AddThenScale");
  fn->set_domain("my.domain");
  fn->add_input("x");
  fn->add_input("y");
  fn->add_output("z");
  fn->add_attribute("alpha");
  fn->add_opset_import()->set_version(13);
  auto* add = fn->add_node();
  add->set_op_type("Add");
  add->add_input("x");
  add->add_input("y");
  add->add_output("s");
  auto* lrelu = fn->add_node();  // LeakyRelu with alpha taken from the call: scales negative sums
  lrelu->set_op_type("LeakyRelu");
  lrelu->add_input("s");
  lrelu->add_output("z");
  auto* ref = lrelu->add_attribute();
  ref->set_name("alpha");
  ref->set_type(onnx::AttributeProto::FLOAT);
  ref->set_ref_attr_name("alpha");
  auto* g = m.mutable_graph();
  for (const char* name : {"a", "b"}) {
    auto* in = g->add_input();
    in->set_name(name);
    in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  auto* call = g->add_node();
  call->set_op_type("AddThenScale");
  call->set_domain("my.domain");
  call->add_input("a");
  call->add_input("b");
  call->add_output("out");
  testing::add_attr(*call, "alpha", 0.5f);
  g->add_output()->set_name("out");
  const std::string bytes = m.SerializeAsString();
  Session s(bytes.data(), bytes.size());
  Tensor a = Tensor::from_vector<float>({1, -4});
  Tensor b = Tensor::from_vector<float>({2, 1});
  auto out = s.run({{"a", a}, {"b", b}});
  EXPECT_EQ(out[0].tensor().data<float>()[0], 3.0f);   // 1 + 2
  EXPECT_EQ(out[0].tensor().data<float>()[1], -1.5f);  // (-4 + 1) * 0.5
}

}  // namespace
}  // namespace kestrel

#include "onnx/loader.h"

namespace kestrel {
namespace {

// HardSwish is defined as a function in the ONNX spec: without a kernel it must arrive as its function body.
TEST(Loader, SpecFunctionOpsExpandWhenNoKernelExists) {
  onnx::ModelProto m = relu_model();
  m.mutable_opset_import(0)->set_version(14);
  m.mutable_graph()->mutable_node(0)->set_op_type("HardSwish");
  const std::string bytes = m.SerializeAsString();
  onnx_format::LoadOptions no_kernel;
  no_kernel.has_kernel = [](const std::string&, const std::string& op, int) { return op != "HardSwish"; };
  auto expanded = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", no_kernel);
  bool kept_op = false;
  for (const auto& node : expanded->graph->nodes()) kept_op |= node->op_type == "HardSwish";
  EXPECT_FALSE(kept_op);
  EXPECT_GT(expanded->graph->nodes().size(), 1u);
  auto kept = onnx_format::load_model_bytes(bytes.data(), bytes.size(), "", {});
  ASSERT_EQ(kept->graph->nodes().size(), 1u);
  EXPECT_EQ(kept->graph->nodes()[0]->op_type, "HardSwish");
}

}  // namespace
}  // namespace kestrel
