// Runs one node through two sessions, one forced onto the reference kernels (kestrel.reference_kernels=1) and
// one free to pick fast kernels, and compares the outputs. Inputs marked constant become initializers (so
// fast kernels can prepack them); the others are graph inputs with static or dynamic shapes.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kestrel/session.h"
#include "onnx/onnx_pb.h"

namespace kestrel::testing {

struct NodeInput {
  std::string name;
  Tensor value;                // undefined: an omitted optional input
  bool constant = false;       // an initializer
  bool dynamic = false;        // graph input declared with symbolic dims (shape known only at run time)
  bool dynamic_batch = false;  // graph input whose first dim only is symbolic (a batch)
};

// Distinct, sign-varying values in about [-1.5, 1.5].
inline Tensor pattern_tensor(Shape shape, int salt = 0) {
  Tensor t(ElementType::kFloat, shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i)
    p[i] = static_cast<float>(((i + salt) * 37 + salt * 11) % 97 - 48) / 32.0f;
  return t;
}

// Every byte drawn from a generator seeded with `seed`: uint8/int8 data for quantized ops.
inline Tensor random_bytes(ElementType type, const Shape& shape, unsigned seed) {
  Tensor t(type, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) static_cast<uint8_t*>(t.raw_data())[i] = static_cast<uint8_t>(rng());
  return t;
}

// A scalar: a float scale, or a uint8/int8 zero point.
inline Tensor one(float v) { return Tensor::from_vector<float>({v}, Shape{}); }
inline Tensor one(ElementType type, int v) {
  Tensor t(type, {});
  static_cast<uint8_t*>(t.raw_data())[0] = static_cast<uint8_t>(v);
  return t;
}

// `domain` "ai.kestrel" for Kestrel's fused ops (opset 1 there, `opset` for ai.onnx).
inline std::string model_with_initializers(const std::string& op, const std::vector<NodeInput>& inputs,
                                           const std::function<void(onnx::NodeProto&)>& set_attrs, int opset,
                                           const std::string& domain = "") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  if (!domain.empty()) {
    auto* ks = m.add_opset_import();
    ks->set_domain(domain);
    ks->set_version(1);
  }
  auto* g = m.mutable_graph();
  g->set_name("fast_vs_reference");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_domain(domain);
  n->set_name("node_under_test");
  for (const NodeInput& in : inputs) {
    if (!in.value.defined()) {
      n->add_input("");
      continue;
    }
    n->add_input(in.name);
    if (in.constant) {
      auto* init = g->add_initializer();
      init->set_name(in.name);
      init->set_data_type(static_cast<int>(in.value.type()));
      for (int64_t d : in.value.shape()) init->add_dims(d);
      init->set_raw_data(in.value.raw_data(), in.value.bytes());
      continue;
    }
    auto* vi = g->add_input();
    vi->set_name(in.name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(in.value.type()));
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < in.value.rank(); ++i) {
      auto* dim = shape->add_dim();
      if (in.dynamic || (in.dynamic_batch && i == 0))
        dim->set_dim_param(in.name + "_d" + std::to_string(i));
      else
        dim->set_dim_value(in.value.dim(i));
    }
  }
  n->add_output("Y");
  g->add_output()->set_name("Y");
  if (set_attrs) set_attrs(*n);
  return m.SerializeAsString();
}

inline Session make_session(const std::string& bytes, bool reference, int threads) {
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  o.intra_op_num_threads = threads;
  if (reference) o.config_entries["kestrel.reference_kernels"] = "1";
  return Session(bytes.data(), bytes.size(), o);
}

inline Feeds feeds_of(const std::vector<NodeInput>& inputs) {
  Feeds f;
  for (const NodeInput& in : inputs)
    if (in.value.defined() && !in.constant) f.emplace_back(in.name, Value(in.value));
  return f;
}

// Elementwise |fast - ref| <= tol * (1 + |ref|): both sum the same products, in different orders.
inline void expect_close(const Tensor& ref, const Tensor& fast, float tol = 1e-4f) {
  ASSERT_EQ(ref.shape(), fast.shape());
  ASSERT_EQ(ref.type(), fast.type());
  const float* r = ref.data<float>();
  const float* f = fast.data<float>();
  for (int64_t i = 0; i < ref.size(); ++i) {
    if (r[i] == f[i] || (std::isnan(r[i]) && std::isnan(f[i]))) continue;  // also equal infinities, both NaN
    ASSERT_LE(std::fabs(r[i] - f[i]), tol * (1.0f + std::fabs(r[i])))
        << "at flat index " << i << ": reference " << r[i] << ", fast " << f[i];
  }
}

// Runs `inputs` through the reference and the fast session (at 1 and 2 threads) and compares every output.
// Returns the reference output for extra checks.
inline Tensor compare_fast_with_reference(const std::string& op, const std::vector<NodeInput>& inputs,
                                          const std::function<void(onnx::NodeProto&)>& set_attrs, int opset,
                                          float tol = 1e-4f, const std::string& domain = "") {
  const std::string bytes = model_with_initializers(op, inputs, set_attrs, opset, domain);
  const Feeds feeds = feeds_of(inputs);
  const Tensor ref = make_session(bytes, true, 1).run(feeds).at(0).tensor();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    Session fast = make_session(bytes, false, threads);
    const Tensor first = fast.run(feeds).at(0).tensor();
    expect_close(ref, first, tol);
    // The second run goes through the cached primitive and packed weights.
    expect_close(ref, fast.run(feeds).at(0).tensor(), tol);
  }
  return ref;
}

// Node `op` of `domain` run by the reference kernel, and by the fast one at teams of 1 to 4, on each of
// `runs`; every fast output is compared with the reference and with the one-thread fast output (kernels that
// split their work over a team, such as row bands, against the same kernel unsplit).
inline void compare_teams(const std::string& op, const std::vector<NodeInput>& inputs,
                          const std::function<void(onnx::NodeProto&)>& set_attrs,
                          const std::vector<Feeds>& runs, const std::string& domain = "ai.kestrel",
                          float tol = 1e-4f) {
  const std::string bytes = model_with_initializers(op, inputs, set_attrs, 13, domain);
  Session ref = make_session(bytes, true, 1);
  std::vector<std::unique_ptr<Session>> fast;
  for (int threads : {1, 2, 3, 4}) fast.emplace_back(new Session(make_session(bytes, false, threads)));
  for (size_t r = 0; r < runs.size(); ++r) {
    SCOPED_TRACE("run " + std::to_string(r));
    const Tensor expected = ref.run(runs[r]).at(0).tensor();
    const Tensor one_thread = fast[0]->run(runs[r]).at(0).tensor();
    expect_close(expected, one_thread, tol);
    for (size_t t = 1; t < fast.size(); ++t) {
      SCOPED_TRACE("threads " + std::to_string(t + 1));
      const Tensor y = fast[t]->run(runs[r]).at(0).tensor();
      expect_close(expected, y, tol);
      expect_close(one_thread, y, tol);
    }
  }
}

}  // namespace kestrel::testing
