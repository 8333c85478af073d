// Fast float Relu; the kernel is FastUnaryActivation in unary_activation.h.
#include "providers/cpu/kernels/fast/unary_activation.h"

namespace kestrel::cpu {
using FastRelu = fast::FastUnaryActivation<fast::UnaryActivation::kRelu>;
KESTREL_FAST_KERNEL(Relu, "", 6, 12, "float", 10, &FastRelu::create);
KESTREL_FAST_KERNEL(Relu, "", 13, 13, "float", 10, &FastRelu::create);
KESTREL_FAST_KERNEL(Relu, "", 14, 1000, "float", 10, &FastRelu::create);
}  // namespace kestrel::cpu
