// Builders of the server tests' models.
#include "test_models.h"

#include "model_builder.h"
#include "onnx/onnx_pb.h"

namespace kestrel::server_test {
namespace {

using test_model::add_node;
using test_model::add_tensor_input;
using test_model::add_tensor_output;

float weight(int k, int j) { return static_cast<float>(k * kMlpOut + j) * 0.25f - 1.0f; }
float bias(int j) { return 0.5f * static_cast<float>(j) - 0.25f; }

onnx::ModelProto new_model(const std::string& name) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  m.mutable_graph()->set_name(name);
  return m;
}

}  // namespace

const std::vector<std::string> kIdentityDatatypes = {"BOOL",   "INT8",   "INT16",  "INT32", "INT64",
                                                     "UINT8",  "UINT16", "UINT32", "UINT64", "FP16",
                                                     "FP32",   "FP64",   "BYTES"};

std::string mlp_model() {
  onnx::ModelProto m = new_model("mlp");
  auto* g = m.mutable_graph();
  add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {-1, kMlpIn});
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(kMlpIn);
  w->add_dims(kMlpOut);
  for (int k = 0; k < kMlpIn; ++k)
    for (int j = 0; j < kMlpOut; ++j) w->add_float_data(weight(k, j));
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(kMlpOut);
  for (int j = 0; j < kMlpOut; ++j) b->add_float_data(bias(j));
  add_node(*g, "MatMul", {"x", "W"}, {"h"});
  add_node(*g, "Add", {"h", "b"}, {"y"});
  add_tensor_output(*g, "y", onnx::TensorProto::FLOAT, {-1, kMlpOut});
  return m.SerializeAsString();
}

std::vector<float> mlp_expected(const std::vector<float>& x, int rows) {
  std::vector<float> y(static_cast<size_t>(rows) * kMlpOut);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < kMlpOut; ++j) {
      float sum = bias(j);
      for (int k = 0; k < kMlpIn; ++k) sum += x[static_cast<size_t>(r * kMlpIn + k)] * weight(k, j);
      y[static_cast<size_t>(r * kMlpOut + j)] = sum;
    }
  return y;
}

std::string rowsum_model() {
  onnx::ModelProto m = new_model("rowsum");
  auto* g = m.mutable_graph();
  add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {-1, -1});
  auto* axes = g->add_initializer();
  axes->set_name("axes");
  axes->set_data_type(onnx::TensorProto::INT64);
  axes->add_dims(1);
  axes->add_int64_data(1);
  auto* sum = add_node(*g, "ReduceSum", {"x", "axes"}, {"y"});
  auto* keep = sum->add_attribute();
  keep->set_name("keepdims");
  keep->set_type(onnx::AttributeProto::INT);
  keep->set_i(0);
  add_tensor_output(*g, "y", onnx::TensorProto::FLOAT, {-1});
  return m.SerializeAsString();
}

std::string identity_model() {
  const std::vector<int> types = {onnx::TensorProto::BOOL,   onnx::TensorProto::INT8,   onnx::TensorProto::INT16,
                                  onnx::TensorProto::INT32,  onnx::TensorProto::INT64,  onnx::TensorProto::UINT8,
                                  onnx::TensorProto::UINT16, onnx::TensorProto::UINT32, onnx::TensorProto::UINT64,
                                  onnx::TensorProto::FLOAT16, onnx::TensorProto::FLOAT, onnx::TensorProto::DOUBLE,
                                  onnx::TensorProto::STRING};
  onnx::ModelProto m = new_model("identity");
  auto* g = m.mutable_graph();
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string& t = kIdentityDatatypes[i];
    add_tensor_input(*g, "in_" + t, types[i], {-1});
    add_node(*g, "Identity", {"in_" + t}, {"out_" + t});
    add_tensor_output(*g, "out_" + t, types[i], {-1});
  }
  return m.SerializeAsString();
}

std::string loop_model() { return test_model::counting_loop_model().SerializeAsString(); }

}  // namespace kestrel::server_test
