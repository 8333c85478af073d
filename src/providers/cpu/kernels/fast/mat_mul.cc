// Fast MatMul (opsets 1, 9, 13; float) with a constant 2-D B on the packed AVX-512 GEMM; the kernel itself is
// PackedMatMul in packed_mat_mul.h (shared with FusedMatMul). It declines what it does not take, which then
// goes to the oneDNN MatMul (priority 10).
#include "providers/cpu/kernels/fast/packed_mat_mul.h"

namespace kestrel::cpu {
namespace {

std::unique_ptr<Kernel> create_mat_mul(const KernelInfo& info) { return PackedMatMul::create(info, false); }

}  // namespace

KESTREL_FAST_KERNEL(MatMul, "", 1, 8, "float", 20, &create_mat_mul);
KESTREL_FAST_KERNEL(MatMul, "", 9, 12, "float", 20, &create_mat_mul);
KESTREL_FAST_KERNEL(MatMul, "", 13, 1000, "float", 20, &create_mat_mul);

}  // namespace kestrel::cpu
