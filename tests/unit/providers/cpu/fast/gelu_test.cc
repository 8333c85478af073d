// The fast Gelu (src/providers/cpu/kernels/fast/gelu.cc) against the reference kernels (std::erf, std::tanh):
// both forms, both domains, sizes around the vector width and above the threading threshold, values far into
// both tails, infinities and NaN.
#include <gtest/gtest.h>

#include <limits>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;

// Values from -12 to 12 in uneven steps, then (when there is room) inf, -inf and NaN.
Tensor gelu_inputs(int64_t n) {
  Tensor t(ElementType::kFloat, {n});
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = -12.0f + 24.0f * static_cast<float>((i * 7919) % 10007) / 10007.0f;
  if (n >= 20) {
    p[3] = std::numeric_limits<float>::infinity();
    p[7] = -std::numeric_limits<float>::infinity();
    p[11] = std::numeric_limits<float>::quiet_NaN();
    p[13] = 0.0f;
  }
  return t;
}

TEST(FastGelu, BothFormsBothDomainsManySizes) {
  for (int64_t n : {0, 1, 15, 16, 17, 33, 100003}) {
    for (const char* approximate : {"none", "tanh"}) {
      SCOPED_TRACE("n " + std::to_string(n) + ", approximate " + approximate);
      const auto attrs = [approximate](onnx::NodeProto& node) {
        add_attr(node, "approximate", std::string(approximate));
      };
      compare_fast_with_reference("Gelu", {{"X", gelu_inputs(n)}}, attrs, 20);
      compare_fast_with_reference("Gelu", {{"X", gelu_inputs(n)}}, attrs, 13, 1e-4f, "ai.kestrel");
    }
  }
}

TEST(FastGelu, UnknownApproximationIsAnError) {
  const std::vector<testing::NodeInput> inputs = {{"X", gelu_inputs(4)}};
  const std::string bytes = testing::model_with_initializers(
      "Gelu", inputs, [](onnx::NodeProto& n) { add_attr(n, "approximate", std::string("cubic")); }, 20);
  EXPECT_THROW(testing::make_session(bytes, false, 1).run(testing::feeds_of(inputs)), Error);
}

}  // namespace
}  // namespace kestrel
