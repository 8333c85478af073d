// QLinearMul (ai.kestrel, v1): a QDQ Mul on int8 data (see q_linear_binary.h).
#include "providers/cpu/kernels/kestrel/q_linear_binary.h"

namespace kestrel::cpu {
KESTREL_KERNEL(QLinearMul, "ai.kestrel", 1, 1000, "uint8, int8",
               make_kernel<QLinearBinary<QLinearBinaryOp::kMul>>());
}  // namespace kestrel::cpu
