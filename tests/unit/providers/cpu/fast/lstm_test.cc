// The fast LSTM (src/providers/cpu/kernels/fast/lstm.cc) against the reference kernel, on all three outputs:
// every direction, hidden sizes below, at and across the 16-unit panel (3, 16, 33, 70) and one large enough
// to be shared between threads (130: nine panels, the last partial), odd input sizes, batch above 1, one
// step, no steps or no batch, bias and initial states, sequence_lens (zero, partial, full), peepholes, clip,
// input_forget, and weights that are graph inputs rather than constants. Nodes it does not cover (custom
// activations) must still match.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

struct LstmCase {
  std::string direction = "forward";
  int64_t T = 7, N = 1, I = 5, H = 16;
  bool bias_and_states = false;
  std::vector<int64_t> lens;  // empty: no sequence_lens
  bool lens_int64 = false;
  bool peepholes = false;
  float clip = 0;
  bool input_forget = false;
  bool constant_weights = true;
  std::vector<std::string> activations;  // empty: the defaults
};

// Runs the node on the reference and the fast kernels (1 and 2 threads, twice each) and compares Y, Y_h, Y_c.
void expect_lstm_matches_reference(const LstmCase& c) {
  const int64_t D = c.direction == "bidirectional" ? 2 : 1, T = c.T, N = c.N, I = c.I, H = c.H;
  std::vector<NodeInput> inputs = {{"X", pattern_tensor({T, N, I}, 1)},
                                   {"W", pattern_tensor({D, 4 * H, I}, 2), c.constant_weights},
                                   {"R", pattern_tensor({D, 4 * H, H}, 3), c.constant_weights}};
  const bool optional = c.bias_and_states || !c.lens.empty() || c.peepholes;
  if (optional) {
    inputs.push_back(c.bias_and_states ? NodeInput{"B", pattern_tensor({D, 8 * H}, 4), true}
                                       : NodeInput{"B", Tensor()});
    Tensor lens;
    if (!c.lens.empty()) {
      lens = Tensor(c.lens_int64 ? ElementType::kInt64 : ElementType::kInt32, {N});
      for (int64_t n = 0; n < N; ++n) {
        if (c.lens_int64)
          lens.data<int64_t>()[n] = c.lens[n];
        else
          lens.data<int32_t>()[n] = static_cast<int32_t>(c.lens[n]);
      }
    }
    inputs.push_back({"sequence_lens", lens});
    inputs.push_back({"initial_h", c.bias_and_states ? pattern_tensor({D, N, H}, 5) : Tensor()});
    inputs.push_back({"initial_c", c.bias_and_states ? pattern_tensor({D, N, H}, 6) : Tensor()});
    if (c.peepholes) inputs.push_back({"P", pattern_tensor({D, 3 * H}, 7), true});
  }
  const auto attrs = [&](onnx::NodeProto& node) {
    add_attr(node, "hidden_size", H);
    add_attr(node, "direction", c.direction);
    if (c.clip > 0) add_attr(node, "clip", c.clip);
    if (c.input_forget) add_attr(node, "input_forget", int64_t{1});
    if (!c.activations.empty()) {
      auto* a = node.add_attribute();
      a->set_name("activations");
      a->set_type(onnx::AttributeProto::STRINGS);
      for (const std::string& name : c.activations) a->add_strings(name);
    }
  };
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(testing::model_with_initializers("LSTM", inputs, attrs, 14)));
  auto* node = model.mutable_graph()->mutable_node(0);
  node->add_output("Y_h");
  node->add_output("Y_c");
  model.mutable_graph()->add_output()->set_name("Y_h");
  model.mutable_graph()->add_output()->set_name("Y_c");
  const std::string bytes = model.SerializeAsString();
  const Feeds feeds = testing::feeds_of(inputs);
  const auto ref = testing::make_session(bytes, true, 1).run(feeds);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    Session fast = testing::make_session(bytes, false, threads);
    for (int run = 0; run < 2; ++run) {
      const auto got = fast.run(feeds);
      ASSERT_EQ(got.size(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        SCOPED_TRACE("output " + std::to_string(i));
        testing::expect_close(ref.at(i).tensor(), got.at(i).tensor());
      }
    }
  }
}

std::string describe(const LstmCase& c) {
  std::string s = c.direction + " T " + std::to_string(c.T) + " N " + std::to_string(c.N) + " I " +
                  std::to_string(c.I) + " H " + std::to_string(c.H);
  if (c.bias_and_states) s += " with bias and states";
  return s;
}

TEST(FastLstm, MatchesReferenceOverDirectionsAndOddSizes) {
  for (const char* direction : {"forward", "reverse", "bidirectional"})
    for (int64_t H : {3, 16, 33, 70})
      for (int64_t I : {5, 17})
        for (int64_t N : {1, 3})
          for (bool states : {false, true}) {
            LstmCase c;
            c.direction = direction, c.H = H, c.I = I, c.N = N, c.bias_and_states = states;
            SCOPED_TRACE(describe(c));
            expect_lstm_matches_reference(c);
          }
}

TEST(FastLstm, OneStep) {
  for (const char* direction : {"forward", "bidirectional"}) {
    LstmCase c;
    c.direction = direction, c.T = 1, c.N = 2, c.H = 33, c.bias_and_states = true;
    SCOPED_TRACE(describe(c));
    expect_lstm_matches_reference(c);
  }
}

TEST(FastLstm, EmptySequenceAndEmptyBatch) {
  for (int64_t T : {0, 3})
    for (int64_t N : {0, 2}) {
      if (T > 0 && N > 0) continue;
      LstmCase c;
      c.direction = "bidirectional", c.T = T, c.N = N, c.H = 130, c.bias_and_states = true;
      SCOPED_TRACE(describe(c));
      expect_lstm_matches_reference(c);
    }
}

// Hidden 130 is above the size where the step is shared between threads.
TEST(FastLstm, SharedBetweenThreads) {
  for (const char* direction : {"forward", "reverse", "bidirectional"})
    for (int64_t N : {1, 2}) {
      LstmCase c;
      c.direction = direction, c.T = 4, c.N = N, c.I = 9, c.H = 130, c.bias_and_states = true;
      SCOPED_TRACE(describe(c));
      expect_lstm_matches_reference(c);
    }
}

TEST(FastLstm, SequenceLens) {
  for (const char* direction : {"forward", "reverse", "bidirectional"})
    for (int64_t H : {5, 130})
      for (bool lens_int64 : {false, true}) {
        LstmCase c;
        c.direction = direction, c.T = 6, c.N = 4, c.H = H, c.bias_and_states = true;
        c.lens = {6, 0, 3, 1}, c.lens_int64 = lens_int64;
        SCOPED_TRACE(describe(c) + (lens_int64 ? " int64 lens" : " int32 lens"));
        expect_lstm_matches_reference(c);
      }
}

TEST(FastLstm, PeepholesClipAndInputForget) {
  for (const char* direction : {"forward", "bidirectional"})
    for (bool peepholes : {false, true})
      for (float clip : {0.0f, 0.7f})
        for (bool input_forget : {false, true}) {
          LstmCase c;
          c.direction = direction, c.N = 2, c.H = 21, c.bias_and_states = true;
          c.peepholes = peepholes, c.clip = clip, c.input_forget = input_forget;
          SCOPED_TRACE(describe(c) + (peepholes ? " peepholes" : "") + " clip " + std::to_string(clip) +
                       (input_forget ? " input_forget" : ""));
          expect_lstm_matches_reference(c);
        }
}

// Weights fed at run time are packed on every run instead of at session creation.
TEST(FastLstm, WeightsAsGraphInputs) {
  for (int64_t H : {7, 130}) {
    LstmCase c;
    c.direction = "bidirectional", c.N = 2, c.H = H, c.bias_and_states = true, c.constant_weights = false;
    SCOPED_TRACE(describe(c));
    expect_lstm_matches_reference(c);
  }
}

TEST(FastLstm, CustomActivationsTakeTheReferenceKernel) {
  LstmCase c;
  c.H = 6, c.N = 2, c.activations = {"HardSigmoid", "Relu", "Tanh"};
  expect_lstm_matches_reference(c);
}

}  // namespace
}  // namespace kestrel
