// EmbedLayerNormalization: the reference kernel against the sum of lookups normalised in double here, and the
// fast kernel against the reference over widths around the vector length, row counts split between threads,
// optional inputs omitted, every position_ids form, int32 and negative indices; bad indices are errors.
#include <gtest/gtest.h>

#include <cmath>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

// Indices in [-rows, rows) from a fixed pattern, as int64 or int32.
Tensor index_tensor(const Shape& shape, int64_t rows, int salt, bool int32 = false) {
  Tensor t(int32 ? ElementType::kInt32 : ElementType::kInt64, shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    const int64_t v = ((i + salt) * 7 + salt * 3) % (2 * rows) - rows;
    if (int32) t.data<int32_t>()[i] = static_cast<int32_t>(v);
    else t.data<int64_t>()[i] = v;
  }
  return t;
}

auto epsilon_attr(float epsilon) {
  return [epsilon](onnx::NodeProto& n) { add_attr(n, "epsilon", epsilon); };
}

struct Case {
  int64_t B, S, E;
  bool segment, beta;
  int positions;  // 0: default 0..S-1, 1: [B,S], 2: [1,S], 3: [S]
  bool int32;
};

std::vector<NodeInput> inputs_of(const Case& c) {
  const int64_t V = 11, P = c.S + 3, T = 3;
  const Shape ids{c.B, c.S};
  const Shape position_shape = c.positions == 1 ? ids : c.positions == 2 ? Shape{1, c.S} : Shape{c.S};
  return {{"input_ids", index_tensor(ids, V, 1, c.int32)},
          {"segment_ids", c.segment ? index_tensor(ids, T, 2) : Tensor()},
          {"word", pattern_tensor({V, c.E}, 3), true},
          {"position", pattern_tensor({P, c.E}, 4), true},
          {"segment", c.segment ? pattern_tensor({T, c.E}, 5) : Tensor(), true},
          {"gamma", pattern_tensor({c.E}, 6), true},
          {"beta", c.beta ? pattern_tensor({c.E}, 7) : Tensor(), true},
          {"position_ids", c.positions ? index_tensor(position_shape, P, 8, c.int32) : Tensor()}};
}

int64_t row_of(const Tensor& ids, int64_t i, int64_t rows) {
  const int64_t v = ids.type() == ElementType::kInt32 ? ids.data<int32_t>()[i] : ids.data<int64_t>()[i];
  return v < 0 ? v + rows : v;
}

TEST(EmbedLayerNormalization, ReferenceIsTheNormalisedSumOfLookups) {
  for (const Case& c : {Case{2, 5, 9, true, true, 0, false}, Case{1, 4, 3, false, false, 1, true}}) {
    const auto inputs = inputs_of(c);
    const std::string bytes = testing::model_with_initializers("EmbedLayerNormalization", inputs,
                                                               epsilon_attr(1e-5f), 17, "ai.kestrel");
    const Tensor got = testing::make_session(bytes, true, 1).run(testing::feeds_of(inputs)).at(0).tensor();
    ASSERT_EQ(got.shape(), (Shape{c.B, c.S, c.E}));
    const Tensor &ids = inputs[0].value, &word = inputs[2].value, &position = inputs[3].value;
    const Tensor &gamma = inputs[5].value, &beta = inputs[6].value;
    for (int64_t r = 0; r < c.B * c.S; ++r) {
      std::vector<double> x(static_cast<size_t>(c.E));
      const int64_t w = row_of(ids, r, word.dim(0));
      const int64_t p = c.positions ? row_of(inputs[7].value, r, position.dim(0)) : r % c.S;
      for (int64_t i = 0; i < c.E; ++i) {
        x[static_cast<size_t>(i)] = word.data<float>()[w * c.E + i] + position.data<float>()[p * c.E + i];
        if (c.segment) {
          const int64_t s = row_of(inputs[1].value, r, inputs[4].value.dim(0));
          x[static_cast<size_t>(i)] += inputs[4].value.data<float>()[s * c.E + i];
        }
      }
      double mean = 0, var = 0;
      for (double v : x) mean += v / static_cast<double>(c.E);
      for (double v : x) var += (v - mean) * (v - mean) / static_cast<double>(c.E);
      for (int64_t i = 0; i < c.E; ++i) {
        const double want = (x[static_cast<size_t>(i)] - mean) / std::sqrt(var + 1e-5) * gamma.data<float>()[i] +
                            (c.beta ? beta.data<float>()[i] : 0.0);
        ASSERT_NEAR(got.data<float>()[r * c.E + i], want, 1e-5 * (1 + std::fabs(want))) << "row " << r << " col " << i;
      }
    }
  }
}

TEST(FastEmbedLayerNormalization, WidthsRowsAndOptionalInputs) {
  for (int64_t E : {1, 7, 16, 33, 257}) {
    for (const auto& [B, S] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {2, 130}}) {
      for (int variant = 0; variant < 4; ++variant) {
        const Case c{B, S, E, variant != 1, variant != 2, variant, variant == 3};
        SCOPED_TRACE("E " + std::to_string(E) + ", B " + std::to_string(B) + ", S " + std::to_string(S) +
                     ", variant " + std::to_string(variant));
        compare_fast_with_reference("EmbedLayerNormalization", inputs_of(c), epsilon_attr(1e-12f), 17, 1e-4f,
                                    "ai.kestrel");
      }
    }
  }
}

TEST(FastEmbedLayerNormalization, BadIndicesAndShapesAreErrors) {
  auto expect_error = [](std::vector<NodeInput> inputs, const std::string& message) {
    const std::string bytes = testing::model_with_initializers("EmbedLayerNormalization", inputs,
                                                               epsilon_attr(1e-12f), 17, "ai.kestrel");
    for (bool reference : {true, false}) {
      try {
        testing::make_session(bytes, reference, 2).run(testing::feeds_of(inputs));
        ADD_FAILURE() << "no error; expected one saying: " << message;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      }
    }
  };
  {
    auto inputs = inputs_of({2, 4, 8, true, true, 0, false});
    inputs[0].value.data<int64_t>()[5] = 11;  // one past the word table
    expect_error(inputs, "input_ids holds 11, out of range [-11, 10]");
  }
  {
    auto inputs = inputs_of({2, 4, 8, true, true, 0, false});
    inputs[1].value.data<int64_t>()[0] = -4;  // below -rows of the segment table
    expect_error(inputs, "segment_ids holds -4");
  }
  {
    // Default positions beyond the position table's rows.
    auto inputs = inputs_of({1, 4, 8, false, true, 0, false});
    inputs[3].value = pattern_tensor({3, 8}, 4);
    expect_error(inputs, "sequence length 4 exceeds the 3 rows of position_embedding");
  }
  {
    // position_ids that do not broadcast to input_ids' shape.
    auto inputs = inputs_of({2, 4, 8, false, true, 1, false});
    inputs[7].value = index_tensor({2, 3}, 7, 8);
    expect_error(inputs, "position_ids must have shape [2,4]");
  }
  {
    // segment_ids without a segment table.
    auto inputs = inputs_of({2, 4, 8, true, true, 0, false});
    inputs[4].value = Tensor();
    expect_error(inputs, "segment_ids and segment_embedding come together");
  }
}

}  // namespace
}  // namespace kestrel
