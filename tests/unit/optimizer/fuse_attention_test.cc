// fuse_attention: BERT's exported self-attention (projections, head split, scaled masked softmax, merge) becomes
// one ai.kestrel Attention.
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int fuse_attention(ir::Graph& graph);
}

namespace kestrel::optimizer_test {

namespace {
// hidden 8, 2 heads of 4; X [B, S, 8], additive mask [B, 1, 1, S].
std::string attention_model(bool with_mask, bool scale_by_mul) {
  ModelBuilder m;
  m.input("X", {-1, -1, 8});
  if (with_mask) m.input("mask", {-1, 1, 1, -1});
  m.initializer_i64("split", {4}, {0, 0, 2, 4});
  m.initializer_i64("merge", {3}, {0, 0, scale_by_mul ? -1 : 8});  // both spellings of the merged width
  for (const char* p : {"q", "k", "v"}) {
    const std::string s = p;
    m.random_initializer("W" + s, {8, 8});
    m.random_initializer("b" + s, {8});
    m.node("MatMul", {"X", "W" + s}, {s + "_mm"});
    m.node("Add", {"b" + s, s + "_mm"}, {s + "_proj"});
    m.node("Reshape", {s + "_proj", "split"}, {s + "_heads"});
    attr(m.node("Transpose", {s + "_heads"}, {s + "_t"}), "perm",
         s == "k" ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
  }
  m.node("MatMul", {"q_t", "k_t"}, {"scores"});
  m.initializer("scale", {}, {scale_by_mul ? 0.5f : 2.0f});
  m.node(scale_by_mul ? "Mul" : "Div", {"scores", "scale"}, {"scaled"});
  if (with_mask) m.node("Add", {"scaled", "mask"}, {"masked"});
  attr(m.node("Softmax", {with_mask ? "masked" : "scaled"}, {"probs"}), "axis", int64_t{-1});
  m.node("MatMul", {"probs", "v_t"}, {"ctx"});
  attr(m.node("Transpose", {"ctx"}, {"ctx_t"}), "perm", std::vector<int64_t>{0, 2, 1, 3});
  m.node("Reshape", {"ctx_t", "merge"}, {"Y"});
  m.output("Y");
  return m.bytes();
}

// The same attention with int8 projections: ai.kestrel DynamicQuantizeMatMul(X, W int8, scale, -, bias), Q per
// tensor, K per column, V with a zero point.
std::string int8_attention_model() {
  ModelBuilder m;
  m.input("X", {-1, -1, 8});
  m.input("mask", {-1, 1, 1, -1});
  m.initializer_i64("split", {4}, {0, 0, 2, 4});
  m.initializer_i64("merge", {3}, {0, 0, 8});
  auto int8_init = [&](const std::string& name, std::vector<int64_t> dims, unsigned seed) {
    auto* t = m.graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT8);
    int64_t n = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      n *= d;
    }
    std::string raw(static_cast<size_t>(n), '\0');
    for (int64_t i = 0; i < n; ++i) raw[static_cast<size_t>(i)] = static_cast<char>((i * 37 + seed * 11) % 201 - 100);
    t->set_raw_data(raw);
  };
  for (const char* p : {"q", "k", "v"}) {
    const std::string s = p;
    int8_init("W" + s, {8, 8}, static_cast<unsigned>(s[0]));
    if (s == "k")
      m.random_initializer("s" + s, {8}, 0.005f, 0.02f);
    else
      m.initializer("s" + s, {}, {0.01f});
    std::string zp;
    if (s == "v") {
      int8_init("z" + s, {8}, 5);
      zp = "z" + s;
    }
    m.random_initializer("b" + s, {8});
    m.node("DynamicQuantizeMatMul", {"X", "W" + s, "s" + s, zp, "b" + s}, {s + "_proj"}, "ai.kestrel");
    m.node("Reshape", {s + "_proj", "split"}, {s + "_heads"});
    attr(m.node("Transpose", {s + "_heads"}, {s + "_t"}), "perm",
         s == "k" ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
  }
  m.node("MatMul", {"q_t", "k_t"}, {"scores"});
  m.initializer("scale", {}, {2.0f});
  m.node("Div", {"scores", "scale"}, {"scaled"});
  m.node("Add", {"scaled", "mask"}, {"masked"});
  attr(m.node("Softmax", {"masked"}, {"probs"}), "axis", int64_t{-1});
  m.node("MatMul", {"probs", "v_t"}, {"ctx"});
  attr(m.node("Transpose", {"ctx"}, {"ctx_t"}), "perm", std::vector<int64_t>{0, 2, 1, 3});
  m.node("Reshape", {"ctx_t", "merge"}, {"Y"});
  m.output("Y");
  onnx::ModelProto proto;
  proto.ParseFromString(m.bytes());
  auto* os = proto.add_opset_import();
  os->set_domain("ai.kestrel");
  os->set_version(1);
  return proto.SerializeAsString();
}

Tensor mask_tensor(int64_t B, int64_t S) {
  Tensor t(ElementType::kFloat, {B, 1, 1, S});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) t.data<float>()[b * S + s] = s >= S - 1 - b ? -10000.0f : 0.0f;
  return t;
}
}  // namespace

TEST(FuseAttention, MaskedBertAttention) {
  auto model = load(attention_model(true, false));
  EXPECT_EQ(optimizer::fuse_attention(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 2u);  // the packed Q|K|V FusedMatMul, then Attention
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:FusedMatMul"), 1);
  const ir::Node* n = model->graph->nodes()[1].get();
  EXPECT_EQ(n->op_type, "Attention");
  EXPECT_EQ(n->attribute("num_heads")->i, 2);
  EXPECT_FLOAT_EQ(n->attribute("scale")->f, 0.5f);
  EXPECT_EQ(n->outputs[0]->name, "Y");
  expect_same_outputs(attention_model(true, false),
                      {{"X", Value(random_tensor({2, 5, 8}, 27))}, {"mask", Value(mask_tensor(2, 5))}},
                      GraphOptimizationLevel::kExtended);
}

TEST(FuseAttention, Int8ProjectionsPackIntoOneDynamicQuantizeMatMul) {
  const std::string bytes = int8_attention_model();
  auto model = load(bytes);
  EXPECT_EQ(optimizer::fuse_attention(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 2u);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:DynamicQuantizeMatMul"), 1);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:Attention"), 1);
  expect_same_outputs(bytes, {{"X", Value(random_tensor({2, 5, 8}, 27))}, {"mask", Value(mask_tensor(2, 5))}},
                      GraphOptimizationLevel::kExtended);
}

TEST(FuseAttention, UnmaskedWithMulScale) {
  auto model = load(attention_model(false, true));
  EXPECT_EQ(optimizer::fuse_attention(*model->graph), 1);
  expect_same_outputs(attention_model(false, true), {{"X", Value(random_tensor({1, 7, 8}, 28))}},
                      GraphOptimizationLevel::kExtended);
}

TEST(FuseAttention, LeavesProbabilitiesReadElsewhere) {
  ModelBuilder m;
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(attention_model(false, false)));
  proto.mutable_graph()->add_output()->set_name("probs");
  auto model = load(proto.SerializeAsString());
  EXPECT_EQ(optimizer::fuse_attention(*model->graph), 0);
}

}  // namespace kestrel::optimizer_test
