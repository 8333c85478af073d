// Helpers for the optimizer's rule tests: build a small ONNX model in memory, load it into the IR, apply one
// rule, count ops, and compare a Session's outputs at level 0 with another level.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kestrel/session.h"
#include "onnx/loader.h"
#include "onnx/onnx_pb.h"
#include "optimizer/optimizer.h"

namespace kestrel::optimizer_test {

class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13) {
    model_.set_ir_version(8);
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  // Declares a graph input; dims < 0 are symbolic ("d0", "d1", ...).
  void input(const std::string& name, const std::vector<int64_t>& dims, int elem = onnx::TensorProto::FLOAT) {
    declare(graph().add_input(), name, dims, elem);
  }
  void output(const std::string& name, int elem = onnx::TensorProto::FLOAT) {
    auto* o = graph().add_output();
    o->set_name(name);
    o->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
  }
  void initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  void initializer_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
  }
  // A float initializer of the given shape filled with seeded values in [lo, hi).
  void random_initializer(const std::string& name, const std::vector<int64_t>& dims, float lo = -1, float hi = 1) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>()(name)));
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    initializer(name, dims, v);
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& domain = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    if (!domain.empty()) n->set_domain(domain);
    n->set_name(op + "_" + std::to_string(graph().node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  std::string bytes() const { return model_.SerializeAsString(); }

 private:
  static void declare(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims, int elem) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      auto* d = shape->add_dim();
      if (dims[i] >= 0) d->set_dim_value(dims[i]);
      else d->set_dim_param("d" + std::to_string(i));
    }
  }
  onnx::ModelProto model_;
};

inline void attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline std::unique_ptr<ir::Model> load(const std::string& bytes) {
  return onnx_format::load_model_bytes(bytes.data(), bytes.size(), "");
}

// "Conv" for ai.onnx, "ai.kestrel:FusedConv" otherwise.
inline int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes())
    if ((node->domain.empty() ? node->op_type : node->domain + ":" + node->op_type) == op) ++n;
  return n;
}

// A seeded random float tensor.
inline Tensor random_tensor(const Shape& shape, unsigned seed, float lo = -2, float hi = 2) {
  Tensor t(ElementType::kFloat, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// `threads` 0: the session's default team.
inline std::vector<Value> run(const std::string& bytes, const Feeds& feeds, GraphOptimizationLevel level,
                              int threads = 0) {
  SessionOptions options;
  options.graph_optimization_level = level;
  options.intra_op_num_threads = threads;
  Session session(bytes.data(), bytes.size(), options);
  return session.run(feeds);
}

// Runs the model at level 0 and at `level` (on a team of `threads`, 0 for the default) and expects the same
// outputs (|a - b| <= atol + rtol |a|).
inline void expect_same_outputs(const std::string& bytes, const Feeds& feeds, GraphOptimizationLevel level,
                                float rtol = 1e-4f, float atol = 1e-5f, int threads = 0) {
  const auto ref = run(bytes, feeds, GraphOptimizationLevel::kDisableAll);
  const auto got = run(bytes, feeds, level, threads);
  ASSERT_EQ(ref.size(), got.size());
  for (size_t k = 0; k < ref.size(); ++k) {
    const Tensor& a = ref[k].tensor();
    const Tensor& b = got[k].tensor();
    ASSERT_EQ(a.shape(), b.shape()) << "output " << k;
    ASSERT_EQ(a.type(), b.type()) << "output " << k;
    if (a.type() != ElementType::kFloat) continue;
    for (int64_t i = 0; i < a.size(); ++i) {
      const float x = a.data<float>()[i], y = b.data<float>()[i];
      ASSERT_LE(std::fabs(x - y), atol + rtol * std::fabs(x)) << "output " << k << " element " << i;
    }
  }
}

}  // namespace kestrel::optimizer_test
