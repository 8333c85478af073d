// ai.kestrel QLinearAdd and QLinearMul: the reference gives exactly what ONNX DequantizeLinear x2 -> Add|Mul
// -> QuantizeLinear gives (u8 and s8, broadcasts); the fast kernel gives the reference's bytes on same shapes
// of odd sizes and mixed types, channels-last and channels-first squeeze-excitation broadcasts, one-element
// operands on either side, other broadcasts (left to the reference) and outputs large enough to split over
// threads.
#include <gtest/gtest.h>

#include <cstring>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::make_session;
using testing::model_with_initializers;
using testing::one;
using testing::random_bytes;

constexpr ElementType kU8 = ElementType::kUInt8, kS8 = ElementType::kInt8;

struct Case {
  Shape a, b;
  ElementType at = kU8, bt = kS8, ct = kS8;
  float a_scale = 0.031f, b_scale = 0.017f, c_scale = 0.05f;
};

std::vector<testing::NodeInput> inputs(const Case& c) {
  return {{"A", random_bytes(c.at, c.a, 1)}, {"A_scale", one(c.a_scale), true},
          {"A_zp", one(c.at, 9), true},      {"B", random_bytes(c.bt, c.b, 2)},
          {"B_scale", one(c.b_scale), true}, {"B_zp", one(c.bt, 250), true},
          {"C_scale", one(c.c_scale), true}, {"C_zp", one(c.ct, 3), true}};
}

Tensor run_op(const std::string& op, const Case& c, bool reference, int threads) {
  const auto in = inputs(c);
  const std::string model = model_with_initializers(op, in, nullptr, 13, "ai.kestrel");
  return make_session(model, reference, threads)
      .run({{"A", Value(in[0].value)}, {"B", Value(in[3].value)}})
      .at(0)
      .tensor();
}

void expect_same_bytes(const Tensor& want, const Tensor& got) {
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.type(), want.type());
  for (int64_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(static_cast<const uint8_t*>(got.raw_data())[i], static_cast<const uint8_t*>(want.raw_data())[i])
        << "at " << i;
}

// The same computation as ONNX nodes, run by the reference kernels.
Tensor run_qdq(const std::string& op, const Case& c) {
  const auto in = inputs(c);
  onnx::ModelProto m;
  m.ParseFromString(model_with_initializers(op == "QLinearAdd" ? "Add" : "Mul", {}, nullptr, 13));
  auto* g = m.mutable_graph();
  g->clear_node();
  g->clear_input();
  g->clear_output();
  for (size_t i = 0; i < in.size(); ++i) {
    const Tensor& t = in[i].value;
    if (in[i].constant) {
      auto* init = g->add_initializer();
      init->set_name(in[i].name);
      init->set_data_type(t.type() == ElementType::kFloat ? onnx::TensorProto::FLOAT
                          : t.type() == kU8               ? onnx::TensorProto::UINT8
                                                          : onnx::TensorProto::INT8);
      init->set_raw_data(std::string(static_cast<const char*>(t.raw_data()), t.bytes()));
    } else {
      auto* vi = g->add_input();
      vi->set_name(in[i].name);
      auto* tt = vi->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(t.type() == kU8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8);
      for (int64_t d : t.shape()) tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
  }
  auto node = [&](const std::string& type, std::vector<std::string> ins, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    for (auto& s : ins) n->add_input(s);
    n->add_output(out);
  };
  node("DequantizeLinear", {"A", "A_scale", "A_zp"}, "a");
  node("DequantizeLinear", {"B", "B_scale", "B_zp"}, "b");
  node(op == "QLinearAdd" ? "Add" : "Mul", {"a", "b"}, "c");
  node("QuantizeLinear", {"c", "C_scale", "C_zp"}, "Y");
  g->add_output()->set_name("Y");
  const std::string bytes = m.SerializeAsString();
  return make_session(bytes, true, 1)
      .run({{"A", Value(in[0].value)}, {"B", Value(in[3].value)}})
      .at(0)
      .tensor();
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {{1}, {1}},
      {{1023}, {1023}, kS8, kS8, kU8},
      {{2, 3, 1025}, {2, 3, 1025}, kU8, kU8, kU8},
      {{2, 5, 7, 19}, {2, 1, 1, 19}},            // channels-last squeeze-excitation
      {{2, 19, 5, 7}, {2, 19, 1, 1}, kS8, kS8},  // channels-first
      {{3, 1, 1, 19}, {3, 5, 7, 19}},            // the broadcast operand on the left
      {{4, 9, 11}, {}},                          // one-element B
      {{}, {4, 9, 11}, kS8, kU8, kU8},           // one-element A
      {{3, 1, 5}, {1, 4, 1}},                    // a general broadcast (the reference's)
      {{1, 64, 64, 97}, {1, 64, 64, 97}},        // split over threads
      {{1, 64, 64, 97}, {1, 64, 64, 97}, kS8, kU8, kU8},
      {{1, 1, 1, 32}, {1, 72, 65, 32}, kS8, kS8, kS8},  // squeeze-excitation, split over threads
      {{1, 21, 97, 67}, {1, 21, 1, 1}, kU8, kU8, kS8},  // channels-first, split over threads
      {{3, 211, 251}, {}, kS8, kU8, kS8},               // one-element B, split over threads
      {{0, 4}, {1, 4}},
      // Scales whose results land on rounding ties (x.5) and beyond the output's range, in whole blocks of 64
      // and the tail after them; huge ones make infinities, which saturate.
      {{3, 7, 67}, {3, 7, 67}, kU8, kS8, kU8, 0.5f, 0.25f, 0.25f},
      {{2, 5, 9, 71}, {2, 1, 1, 71}, kS8, kU8, kS8, 0.5f, 0.75f, 0.5f},
      {{1, 3, 3, 131}, {1, 3, 3, 131}, kU8, kU8, kS8, 3e38f, 3e38f, 0.5f},
      {{5, 203}, {5, 1}, kU8, kS8, kU8, 3e38f, 1e10f, 1.0f}};
  return kCases;
}

TEST(QLinearBinary, ReferenceIsTheQdqComputation) {
  for (const char* op : {"QLinearAdd", "QLinearMul"})
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(op) + " " + shape_to_string(c.a) + " " + shape_to_string(c.b));
      expect_same_bytes(run_qdq(op, c), run_op(op, c, true, 1));
    }
}

TEST(QLinearBinary, FastMatchesReference) {
  for (const char* op : {"QLinearAdd", "QLinearMul"})
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(op) + " " + shape_to_string(c.a) + " " + shape_to_string(c.b));
      const Tensor want = run_op(op, c, true, 1);
      for (int threads : {1, 2}) expect_same_bytes(want, run_op(op, c, false, threads));
    }
}

TEST(QLinearBinary, RejectsBadOperands) {
  Case c{{2, 3}, {2, 3}};
  auto in = inputs(c);
  in[1].value = Tensor::from_vector<float>({0.1f, 0.2f});  // a per-axis A_scale
  const std::string model = model_with_initializers("QLinearAdd", in, nullptr, 13, "ai.kestrel");
  for (bool reference : {true, false})
    EXPECT_THROW(
        make_session(model, reference, 1).run({{"A", Value(in[0].value)}, {"B", Value(in[3].value)}}), Error);
  Case clash{{2, 3}, {4, 3}};
  for (bool reference : {true, false}) EXPECT_THROW(run_op("QLinearMul", clash, reference, 1), Error);
}

}  // namespace
}  // namespace kestrel
