// Fast float Sigmoid (exp_fast16); the kernel is FastUnaryActivation in unary_activation.h.
#include "providers/cpu/kernels/fast/unary_activation.h"

namespace kestrel::cpu {
using FastSigmoid = fast::FastUnaryActivation<fast::UnaryActivation::kSigmoid>;
KESTREL_FAST_KERNEL(Sigmoid, "", 6, 12, "float", 10, &FastSigmoid::create);
KESTREL_FAST_KERNEL(Sigmoid, "", 13, 1000, "float", 10, &FastSigmoid::create);
}  // namespace kestrel::cpu
