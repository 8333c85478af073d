// QLinearConv's reference computation on an NCHW X, shared by ONNX QLinearConv and the channels-last
// ai.kestrel QLinearConv (which runs it on a permuted copy).
#pragma once

#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {

// Y (NCHW, uint8 or int8 like y_zero_point, else like X) of the node's QLinearConv over `X`; the other
// operands are the node's inputs 1-8.
Tensor q_linear_conv_nchw(const KernelContext& ctx, const Tensor& X, const WindowAttrs& attrs, int64_t group);

}  // namespace kestrel::cpu
