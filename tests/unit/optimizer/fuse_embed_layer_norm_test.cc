// fuse_embed_layer_norm: embedding Gathers summed by Adds into a LayerNormalization become one
// EmbedLayerNormalization; positions computed as Range(0, S) along input_ids' dim 1 are left to the op.
#include "optimizer_test_util.h"

namespace kestrel::optimizer {
int fuse_embed_layer_norm(ir::Graph& graph);
}

namespace kestrel::optimizer_test {
namespace {

Tensor ids_tensor(const Shape& shape, int64_t vocab, unsigned seed) {
  Tensor t(ElementType::kInt64, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t.data<int64_t>()[i] = static_cast<int64_t>(rng() % vocab);
  return t;
}

constexpr int64_t kVocab = 50, kPositions = 40, kTypes = 2, kE = 24;

// The tables, LayerNorm parameters and the ids inputs (dims < 0 symbolic) of a BERT-style input layer.
void tables(ModelBuilder& m, const std::vector<int64_t>& ids_dims) {
  m.input("input_ids", ids_dims, onnx::TensorProto::INT64);
  m.input("token_type_ids", ids_dims, onnx::TensorProto::INT64);
  m.random_initializer("words", {kVocab, kE});
  m.random_initializer("positions", {kPositions, kE});
  m.random_initializer("types", {kTypes, kE});
  m.random_initializer("gamma", {kE});
  m.random_initializer("beta", {kE});
}

// position_ids = Unsqueeze(Range(0, Cast(Gather(Shape(input_ids), 1)), 1), [0]), as torch.arange exports.
void range_positions(ModelBuilder& m) {
  m.initializer_i64("one", {}, {1});
  m.initializer_i64("zero", {}, {0});
  m.initializer_i64("axes0", {1}, {0});
  m.node("Shape", {"input_ids"}, {"shape"});
  attr(m.node("Gather", {"shape", "one"}, {"seq"}), "axis", int64_t{0});
  attr(m.node("Cast", {"seq"}, {"seq64"}), "to", int64_t{onnx::TensorProto::INT64});
  m.node("Range", {"zero", "seq64", "one"}, {"range"});
  m.node("Unsqueeze", {"range", "axes0"}, {"position_ids"});
}

void bert_input_layer(ModelBuilder& m) {
  m.node("Gather", {"words", "input_ids"}, {"w"});
  m.node("Gather", {"positions", "position_ids"}, {"p"});
  m.node("Add", {"w", "p"}, {"wp"});
  m.node("Gather", {"types", "token_type_ids"}, {"t"});
  m.node("Add", {"wp", "t"}, {"sum"});
  attr(m.node("LayerNormalization", {"sum", "gamma", "beta"}, {"Y"}), "epsilon", 1e-12f);
  m.output("Y");
}

Feeds bert_feeds(const Shape& shape) {
  return {{"input_ids", Value(ids_tensor(shape, kVocab, 1))}, {"token_type_ids", Value(ids_tensor(shape, kTypes, 2))}};
}

TEST(FuseEmbedLayerNorm, BertInputLayerWithRangePositions) {
  ModelBuilder m(17);
  tables(m, {-1, -1});
  range_positions(m);
  bert_input_layer(m);
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 1);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:EmbedLayerNormalization"), 1);
  EXPECT_EQ(count_ops(*model->graph, "Add"), 0);
  EXPECT_EQ(count_ops(*model->graph, "LayerNormalization"), 0);
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type != "EmbedLayerNormalization") continue;
    // input_ids, token_type_ids, three tables, gamma, beta; positions left to the op.
    ASSERT_EQ(n->inputs.size(), 7u);
    EXPECT_EQ(n->inputs[0]->name, "input_ids");
    EXPECT_EQ(n->inputs[1]->name, "token_type_ids");
    EXPECT_EQ(n->inputs[2]->name, "words");
    EXPECT_EQ(n->inputs[3]->name, "positions");
    EXPECT_EQ(n->inputs[4]->name, "types");
  }
  // The Range arithmetic goes with the dead nodes at level 2.
  auto all = load(m.bytes());
  optimizer::optimize(*all->graph, 2);
  EXPECT_EQ(all->graph->nodes().size(), 1u);
  for (const Shape& shape : {Shape{1, 7}, Shape{3, 40}})
    expect_same_outputs(m.bytes(), bert_feeds(shape), GraphOptimizationLevel::kExtended);
}

TEST(FuseEmbedLayerNorm, DecomposedLayerNormAtOpset13) {
  // What an opset-13 export holds: the LayerNorm as nine ops, fused first by fuse_layer_norm.
  ModelBuilder m(13);
  tables(m, {-1, -1});
  range_positions(m);
  m.node("Gather", {"words", "input_ids"}, {"w"});
  m.node("Gather", {"positions", "position_ids"}, {"p"});
  m.node("Add", {"w", "p"}, {"wp"});
  m.node("Gather", {"types", "token_type_ids"}, {"t"});
  m.node("Add", {"wp", "t"}, {"x"});
  m.initializer("two", {}, {2.0f});
  m.initializer("eps", {}, {1e-12f});
  attr(m.node("ReduceMean", {"x"}, {"mean"}), "axes", std::vector<int64_t>{-1});
  m.node("Sub", {"x", "mean"}, {"d"});
  m.node("Pow", {"d", "two"}, {"d2"});
  attr(m.node("ReduceMean", {"d2"}, {"var"}), "axes", std::vector<int64_t>{-1});
  m.node("Add", {"var", "eps"}, {"var_eps"});
  m.node("Sqrt", {"var_eps"}, {"std"});
  m.node("Div", {"d", "std"}, {"normed"});
  m.node("Mul", {"normed", "gamma"}, {"scaled"});
  m.node("Add", {"scaled", "beta"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  optimizer::optimize(*model->graph, 2);
  EXPECT_EQ(model->graph->nodes().size(), 1u);
  EXPECT_EQ(count_ops(*model->graph, "ai.kestrel:EmbedLayerNormalization"), 1);
  expect_same_outputs(m.bytes(), bert_feeds({2, 9}), GraphOptimizationLevel::kExtended);
}

TEST(FuseEmbedLayerNorm, ConstantPositionsAndNoSegments) {
  // A fixed sequence length: the positions are the constant 0..S-1, and there is no token-type table.
  ModelBuilder m(17);
  tables(m, {-1, 6});
  m.initializer_i64("position_ids", {1, 6}, {0, 1, 2, 3, 4, 5});
  m.node("Gather", {"positions", "position_ids"}, {"p"});
  m.node("Gather", {"words", "input_ids"}, {"w"});
  m.node("Add", {"p", "w"}, {"sum"});
  m.node("LayerNormalization", {"sum", "gamma"}, {"Y"});
  m.output("Y");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 1u);
  const ir::Node& n = *model->graph->nodes().front();
  ASSERT_EQ(n.inputs.size(), 6u);  // no beta, no position_ids
  EXPECT_EQ(n.inputs[1], nullptr);
  EXPECT_EQ(n.inputs[2]->name, "words");
  EXPECT_EQ(n.inputs[3]->name, "positions");
  expect_same_outputs(m.bytes(), bert_feeds({3, 6}), GraphOptimizationLevel::kExtended);
}

TEST(FuseEmbedLayerNorm, PositionIdsGivenAsAnInput) {
  ModelBuilder m(17);
  tables(m, {-1, -1});
  m.input("position_ids", {-1, -1}, onnx::TensorProto::INT64);
  bert_input_layer(m);
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 1);
  ASSERT_EQ(model->graph->nodes().size(), 1u);
  EXPECT_EQ(model->graph->nodes().front()->inputs.size(), 8u);
  // Reversed positions with a negative one (Gather counts it from the end).
  Tensor positions = ids_tensor({2, 5}, kPositions, 4);
  positions.data<int64_t>()[3] = -1;
  Feeds feeds = bert_feeds({2, 5});
  feeds.emplace_back("position_ids", Value(positions));
  expect_same_outputs(m.bytes(), feeds, GraphOptimizationLevel::kExtended);
}

TEST(FuseEmbedLayerNorm, LeavesSumReadElsewhere) {
  ModelBuilder m(17);
  tables(m, {-1, -1});
  range_positions(m);
  bert_input_layer(m);
  m.node("Relu", {"wp"}, {"Z"});  // the partial sum is read outside the pattern
  m.output("Z");
  auto model = load(m.bytes());
  EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 0);
}

TEST(FuseEmbedLayerNorm, LeavesOtherShapesAndAxes) {
  {
    // Positions along a dim other than input_ids' dim 1 are not 0..S-1 of the sequence: left alone.
    ModelBuilder m(17);
    tables(m, {-1, -1});
    m.initializer_i64("zero", {}, {0});
    m.initializer_i64("one", {}, {1});
    m.initializer_i64("axes0", {1}, {0});
    m.node("Shape", {"input_ids"}, {"shape"});
    attr(m.node("Gather", {"shape", "zero"}, {"batch"}), "axis", int64_t{0});
    m.node("Range", {"zero", "batch", "one"}, {"range"});
    m.node("Unsqueeze", {"range", "axes0"}, {"position_ids"});
    bert_input_layer(m);
    auto model = load(m.bytes());
    EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 0);
  }
  {
    // A Gather along axis 1 is no row lookup.
    ModelBuilder m(17);
    tables(m, {-1, -1});
    m.random_initializer("words_t", {kE, kVocab});
    attr(m.node("Gather", {"words_t", "input_ids"}, {"w"}), "axis", int64_t{1});
    m.node("Gather", {"types", "token_type_ids"}, {"t"});
    m.node("Add", {"w", "t"}, {"sum"});
    m.node("LayerNormalization", {"sum", "gamma", "beta"}, {"Y"});
    m.output("Y");
    auto model = load(m.bytes());
    EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 0);
  }
  {
    // A normalisation over two axes is not the op's.
    ModelBuilder m(17);
    tables(m, {-1, -1});
    range_positions(m);
    m.node("Gather", {"words", "input_ids"}, {"w"});
    m.node("Gather", {"positions", "position_ids"}, {"p"});
    m.node("Add", {"w", "p"}, {"sum"});
    m.random_initializer("gamma2", {3, kE});
    attr(m.node("LayerNormalization", {"sum", "gamma2"}, {"Y"}), "axis", int64_t{-2});
    m.output("Y");
    auto model = load(m.bytes());
    EXPECT_EQ(optimizer::fuse_embed_layer_norm(*model->graph), 0);
  }
}

}  // namespace
}  // namespace kestrel::optimizer_test
