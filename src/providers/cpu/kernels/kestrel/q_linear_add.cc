// QLinearAdd (ai.kestrel, v1): a QDQ Add on int8 data (see q_linear_binary.h).
#include "providers/cpu/kernels/kestrel/q_linear_binary.h"

namespace kestrel::cpu {
KESTREL_KERNEL(QLinearAdd, "ai.kestrel", 1, 1000, "uint8, int8",
               make_kernel<QLinearBinary<QLinearBinaryOp::kAdd>>());
}  // namespace kestrel::cpu
