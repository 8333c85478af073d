// Builders of the server tests' models.
#include "test_models.h"

#include "onnx/onnx_pb.h"

namespace kestrel::server_test {
namespace {

float weight(int k, int j) { return static_cast<float>(k * kMlpOut + j) * 0.25f - 1.0f; }
float bias(int j) { return 0.5f * static_cast<float>(j) - 0.25f; }

void add_input(onnx::GraphProto& g, const std::string& name, int type, const std::vector<int64_t>& dims) {
  auto* vi = g.add_input();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  auto* shape = tt->mutable_shape();
  int symbol = 0;
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param("d" + std::to_string(symbol++));
    else
      shape->add_dim()->set_dim_value(d);
  }
}

void add_output(onnx::GraphProto& g, const std::string& name, int type, const std::vector<int64_t>& dims) {
  add_input(g, name, type, dims);
  *g.add_output() = g.input(g.input_size() - 1);
  g.mutable_input()->RemoveLast();
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(op + std::to_string(g.node_size()));
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

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
  add_input(*g, "x", onnx::TensorProto::FLOAT, {-1, kMlpIn});
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
  add_output(*g, "y", onnx::TensorProto::FLOAT, {-1, kMlpOut});
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
  add_input(*g, "x", onnx::TensorProto::FLOAT, {-1, -1});
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
  add_output(*g, "y", onnx::TensorProto::FLOAT, {-1});
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
    add_input(*g, "in_" + t, types[i], {-1});
    add_node(*g, "Identity", {"in_" + t}, {"out_" + t});
    add_output(*g, "out_" + t, types[i], {-1});
  }
  return m.SerializeAsString();
}

std::string loop_model() {
  onnx::ModelProto m = new_model("loop");
  auto* g = m.mutable_graph();
  add_input(*g, "M", onnx::TensorProto::INT64, {});
  add_input(*g, "cond", onnx::TensorProto::BOOL, {});
  add_input(*g, "v0", onnx::TensorProto::FLOAT, {1});
  onnx::GraphProto body;
  body.set_name("body");
  add_input(body, "i", onnx::TensorProto::INT64, {});
  add_input(body, "c_in", onnx::TensorProto::BOOL, {});
  add_input(body, "v_in", onnx::TensorProto::FLOAT, {1});
  add_node(body, "Identity", {"c_in"}, {"c_out"});
  add_node(body, "Add", {"v_in", "one"}, {"v_out"});
  auto* one = body.add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::FLOAT);
  one->add_dims(1);
  one->add_float_data(1.0f);
  body.add_output()->set_name("c_out");
  body.add_output()->set_name("v_out");
  auto* loop = add_node(*g, "Loop", {"M", "cond", "v0"}, {"v"});
  auto* a = loop->add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = body;
  add_output(*g, "v", onnx::TensorProto::FLOAT, {1});
  return m.SerializeAsString();
}

}  // namespace kestrel::server_test
