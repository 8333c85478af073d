// Fast ai.kestrel FusedMatMul (v1, float) with a constant 2-D B on the packed AVX-512 GEMM: alpha and transB
// folded into the packed weights, a constant [N] bias and a Relu or Gelu applied in registers; the kernel
// itself is PackedMatMul in packed_mat_mul.h. It declines what it does not take, which then goes to the
// oneDNN FusedMatMul (priority 10).
#include "providers/cpu/kernels/fast/packed_mat_mul.h"

namespace kestrel::cpu {
namespace {

std::unique_ptr<Kernel> create_fused_mat_mul(const KernelInfo& info) {
  return PackedMatMul::create(info, true);
}

}  // namespace

KESTREL_FAST_KERNEL(FusedMatMul, "ai.kestrel", 1, 1000, "float", 20, &create_fused_mat_mul);

}  // namespace kestrel::cpu
