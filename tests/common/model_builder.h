// Small ONNX models built in memory with ONNX's protobuf classes, shared by the test programs: graph inputs and
// outputs, nodes, subgraph attributes, and the counting Loop that several of them run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace kestrel::test_model {

// Fills a tensor type: a negative dim becomes a symbolic one ("d0", "d1", ... in order); `ranked` false leaves the
// shape out altogether.
inline void set_tensor_type(onnx::ValueInfoProto& vi, int elem_type, const std::vector<int64_t>& dims,
                            bool ranked = true) {
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  if (!ranked) return;
  auto* shape = tt->mutable_shape();
  int symbol = 0;
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param("d" + std::to_string(symbol++));
    else
      shape->add_dim()->set_dim_value(d);
  }
}

inline onnx::ValueInfoProto* add_tensor_input(onnx::GraphProto& g, const std::string& name, int elem_type,
                                              const std::vector<int64_t>& dims = {}, bool ranked = true) {
  auto* vi = g.add_input();
  vi->set_name(name);
  set_tensor_type(*vi, elem_type, dims, ranked);
  return vi;
}

inline onnx::ValueInfoProto* add_tensor_output(onnx::GraphProto& g, const std::string& name, int elem_type,
                                               const std::vector<int64_t>& dims = {}) {
  auto* vi = g.add_output();
  vi->set_name(name);
  set_tensor_type(*vi, elem_type, dims);
  return vi;
}

// A node named `name`, or "<op>_<position>" when no name is given.
inline onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs, const std::string& name = "") {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + "_" + std::to_string(g.node_size()) : name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

inline onnx::AttributeProto* add_graph_attribute(onnx::NodeProto& n, const std::string& name,
                                                 const onnx::GraphProto& g) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g;
  return a;
}

// M INT64 [], cond BOOL [], v0 FP32 [1] -> v FP32 [1]: v = v0; Loop(M, cond) { v = v + 1 }. One iteration per
// step, so a run takes as long as its M asks: M = INT64_MAX runs until RunOptions.terminate stops it.
inline onnx::ModelProto counting_loop_model(const std::string& name = "loop") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name(name);
  add_tensor_input(*g, "M", onnx::TensorProto::INT64, {});
  add_tensor_input(*g, "cond", onnx::TensorProto::BOOL, {});
  add_tensor_input(*g, "v0", onnx::TensorProto::FLOAT, {1});
  onnx::GraphProto body;
  body.set_name("body");
  add_tensor_input(body, "i", onnx::TensorProto::INT64, {});
  add_tensor_input(body, "c_in", onnx::TensorProto::BOOL, {});
  add_tensor_input(body, "v_in", onnx::TensorProto::FLOAT, {1});
  add_node(body, "Identity", {"c_in"}, {"c_out"});
  add_node(body, "Add", {"v_in", "one"}, {"v_out"});
  auto* one = body.add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::FLOAT);
  one->add_dims(1);
  one->add_float_data(1.0f);
  body.add_output()->set_name("c_out");
  body.add_output()->set_name("v_out");
  add_graph_attribute(*add_node(*g, "Loop", {"M", "cond", "v0"}, {"v"}, "counting_loop"), "body", body);
  add_tensor_output(*g, "v", onnx::TensorProto::FLOAT, {1});
  return m;
}

}  // namespace kestrel::test_model
