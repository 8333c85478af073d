// A custom-op library for the tests, written against include/kestrel/custom_op.h alone (as a user's library
// would be). Built three ways: the good library, one registering an op built for another ABI version
// (TEST_CUSTOM_OPS_BAD_ABI) and one that does not export KestrelRegisterCustomOps (TEST_CUSTOM_OPS_NO_SYMBOL).
//
// Ops of domain "test.kestrel" (opset 1):
//   ScaledClip(x: float) -> y = min(max(x, 0), limit) * scale       attributes: scale (float, 1), limit (float, 6)
//   RowSum(x: float [N, M]) -> y: float [N]                            the op decides its output shape
//   FailAlways(x) -> y                                                 reports an error through api->fail
//   ThrowAlways(x) -> y                                                throws a C++ exception
//   ForgetOutput(x) -> y                                               returns success without an output
#include <stdexcept>

#include "kestrel/custom_op.h"

namespace {

int scaled_clip(void*, KestrelKernelContext* ctx, const KestrelApi* api) {
  KestrelTensor x;
  if (api->input(ctx, 0, &x) != 0) return 1;
  if (x.element_type != KESTREL_ELEMENT_FLOAT) return api->fail(ctx, "ScaledClip takes float input");
  float scale = 1.0f, limit = 6.0f;
  api->attribute_float(ctx, "scale", &scale);
  api->attribute_float(ctx, "limit", &limit);
  auto* y = static_cast<float*>(api->allocate_output(ctx, 0, KESTREL_ELEMENT_FLOAT, x.shape, x.rank));
  if (!y) return 1;
  int64_t count = 1;
  for (int32_t d = 0; d < x.rank; ++d) count *= x.shape[d];
  const auto* in = static_cast<const float*>(x.data);
  for (int64_t i = 0; i < count; ++i) {
    const float v = in[i] < 0.0f ? 0.0f : (in[i] > limit ? limit : in[i]);
    y[i] = v * scale;
  }
  return 0;
}

int row_sum(void*, KestrelKernelContext* ctx, const KestrelApi* api) {
  KestrelTensor x;
  if (api->input(ctx, 0, &x) != 0) return 1;
  if (x.element_type != KESTREL_ELEMENT_FLOAT || x.rank != 2) return api->fail(ctx, "RowSum takes a float matrix");
  const int64_t rows = x.shape[0], cols = x.shape[1];
  auto* y = static_cast<float*>(api->allocate_output(ctx, 0, KESTREL_ELEMENT_FLOAT, &rows, 1));
  if (!y) return 1;
  const auto* in = static_cast<const float*>(x.data);
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) sum += in[r * cols + c];
    y[r] = sum;
  }
  return 0;
}

int fail_always(void*, KestrelKernelContext* ctx, const KestrelApi* api) {
  return api->fail(ctx, "FailAlways refuses every input");
}

int throw_always(void*, KestrelKernelContext*, const KestrelApi*) {
  throw std::runtime_error("thrown from a custom op");
}

int forget_output(void*, KestrelKernelContext*, const KestrelApi*) { return 0; }

int register_ops(KestrelRegistration* registration, const KestrelApi* api) {
#ifdef TEST_CUSTOM_OPS_BAD_ABI
  const uint32_t abi = KESTREL_CUSTOM_OP_ABI_VERSION + 41;
#else
  const uint32_t abi = KESTREL_CUSTOM_OP_ABI_VERSION;
#endif
  const KestrelCustomOp ops[] = {
      {abi, "test.kestrel", "ScaledClip", 1, 1000, scaled_clip, nullptr},
      {abi, "test.kestrel", "RowSum", 1, 1000, row_sum, nullptr},
      {abi, "test.kestrel", "FailAlways", 1, 1000, fail_always, nullptr},
      {abi, "test.kestrel", "ThrowAlways", 1, 1000, throw_always, nullptr},
      {abi, "test.kestrel", "ForgetOutput", 1, 1000, forget_output, nullptr},
  };
  for (const KestrelCustomOp& op : ops)
    if (api->register_op(registration, &op) != 0) return 1;
  return 0;
}

}  // namespace

#ifdef TEST_CUSTOM_OPS_NO_SYMBOL
// Exported under the wrong name: Kestrel must say the registration function is missing.
extern "C" __attribute__((visibility("default"))) int KestrelRegisterSomethingElse(KestrelRegistration* registration,
                                                                                     const KestrelApi* api) {
  return register_ops(registration, api);
}
#else
extern "C" __attribute__((visibility("default"))) int KestrelRegisterCustomOps(KestrelRegistration* registration,
                                                                                 const KestrelApi* api) {
  return register_ops(registration, api);
}
#endif
