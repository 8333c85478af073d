// The fast LSTM (src/providers/cpu/kernels/fast/lstm.cc) against the reference kernel: every direction, odd
// hidden and input sizes around the vector width, batch above 1, with and without bias and initial states,
// and nodes the fast kernel hands to the reference (peepholes). H 70 gives two column blocks with a tail, so
// the step is shared between threads.
#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::pattern_tensor;

TEST(FastLstm, MatchesReferenceOverDirectionsAndOddSizes) {
  for (const char* direction : {"forward", "reverse", "bidirectional"}) {
    const int64_t D = std::string(direction) == "bidirectional" ? 2 : 1;
    for (int64_t H : {3, 16, 33, 70}) {
      for (int64_t I : {5, 17}) {
        for (int64_t N : {1, 3}) {
          for (bool states : {false, true}) {
            const int64_t T = 7;
            SCOPED_TRACE(std::string(direction) + " H " + std::to_string(H) + " I " + std::to_string(I) + " N " +
                         std::to_string(N) + (states ? " with bias and states" : ""));
            std::vector<testing::NodeInput> inputs = {
                {"X", pattern_tensor({T, N, I}, 1)},
                {"W", pattern_tensor({D, 4 * H, I}, 2), true},
                {"R", pattern_tensor({D, 4 * H, H}, 3), true}};
            if (states) {
              inputs.push_back({"B", pattern_tensor({D, 8 * H}, 4), true});
              inputs.push_back({"sequence_lens", Tensor()});
              inputs.push_back({"initial_h", pattern_tensor({D, N, H}, 5)});
              inputs.push_back({"initial_c", pattern_tensor({D, N, H}, 6)});
            }
            const auto attrs = [&](onnx::NodeProto& node) {
              add_attr(node, "hidden_size", H);
              add_attr(node, "direction", std::string(direction));
            };
            compare_fast_with_reference("LSTM", inputs, attrs, 14);
          }
        }
      }
    }
  }
}

TEST(FastLstm, PeepholesTakeTheReferenceKernel) {
  const int64_t T = 4, N = 2, I = 5, H = 6;
  std::vector<testing::NodeInput> inputs = {{"X", pattern_tensor({T, N, I}, 1)},
                                            {"W", pattern_tensor({1, 4 * H, I}, 2), true},
                                            {"R", pattern_tensor({1, 4 * H, H}, 3), true},
                                            {"B", Tensor()},
                                            {"sequence_lens", Tensor()},
                                            {"initial_h", Tensor()},
                                            {"initial_c", Tensor()},
                                            {"P", pattern_tensor({1, 3 * H}, 7), true}};
  compare_fast_with_reference("LSTM", inputs, [&](onnx::NodeProto& node) { add_attr(node, "hidden_size", H); },
                              14);
}

}  // namespace
}  // namespace kestrel
