// Determinism (what SessionOptions.use_deterministic_compute promises in the Python API): the same inputs and the
// same thread count give bit-identical outputs run after run, with the arena on and off. The models use the ops
// whose kernels split work between threads, at sizes past their thresholds for doing so. Results at different
// thread counts may differ for the ops README.md lists; the test prints which did here.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include "kestrel/session.h"
#include "optimizer/optimizer_test_util.h"

namespace kestrel {
namespace {

using optimizer_test::attr;
using optimizer_test::ModelBuilder;
using optimizer_test::random_tensor;

struct Case {
  std::string name;
  std::string bytes;
  Shape input;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  {  // ReduceMean over a long middle axis: the fast kernel sums slices of it per thread
    ModelBuilder m;
    m.input("X", {1, 4096, 48});
    attr(m.node("ReduceMean", {"X"}, {"Y"}), "axes", std::vector<int64_t>{1});
    m.output("Y");
    out.push_back({"ReduceMean", m.bytes(), {1, 4096, 48}});
  }
  {  // MatMul with a constant weight (oneDNN)
    ModelBuilder m;
    m.input("X", {96, 384});
    m.random_initializer("W", {384, 320});
    m.node("MatMul", {"X", "W"}, {"Y"});
    m.output("Y");
    out.push_back({"MatMul", m.bytes(), {96, 384}});
  }
  {  // Conv + Relu (oneDNN, fused)
    ModelBuilder m;
    m.input("X", {1, 32, 40, 40});
    m.random_initializer("W", {32, 32, 3, 3});
    auto& conv = m.node("Conv", {"X", "W"}, {"c"});
    attr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
    m.node("Relu", {"c"}, {"Y"});
    m.output("Y");
    out.push_back({"Conv", m.bytes(), {1, 32, 40, 40}});
  }
  {  // Softmax and LayerNormalization over rows
    ModelBuilder m(17);
    m.input("X", {256, 512});
    m.random_initializer("scale", {512});
    m.random_initializer("bias", {512});
    m.node("Softmax", {"X"}, {"s"});
    m.node("LayerNormalization", {"s", "scale", "bias"}, {"Y"});
    m.output("Y");
    out.push_back({"Softmax+LayerNormalization", m.bytes(), {256, 512}});
  }
  {  // GlobalAveragePool over many planes
    ModelBuilder m;
    m.input("X", {2, 64, 32, 32});
    m.node("GlobalAveragePool", {"X"}, {"Y"});
    m.output("Y");
    out.push_back({"GlobalAveragePool", m.bytes(), {2, 64, 32, 32}});
  }
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.bytes()) == 0;
}

TEST(Determinism, SameThreadCountGivesBitIdenticalOutputs) {
  for (const Case& c : cases()) {
    const Tensor x = random_tensor(c.input, 17);
    Tensor first_at_one_thread;
    for (int threads : {1, 2}) {
      for (bool arena : {true, false}) {
        SessionOptions o;
        o.intra_op_num_threads = threads;
        o.enable_cpu_mem_arena = arena;
        Session s(c.bytes.data(), c.bytes.size(), o);
        const Tensor first = s.run({{"X", Value(x)}}).at(0).tensor();
        for (int run = 0; run < 4; ++run)
          EXPECT_TRUE(same_bits(first, s.run({{"X", Value(x)}}).at(0).tensor()))
              << c.name << ": run " << run + 1 << " at " << threads << " threads (arena " << arena
              << ") differs from the first";
        if (threads == 1) first_at_one_thread = first;
        else
          std::cout << c.name << ": 2 threads " << (same_bits(first, first_at_one_thread) ? "same as" : "differ from")
                    << " 1 thread (arena " << arena << ")\n";
      }
    }
  }
}

}  // namespace
}  // namespace kestrel
