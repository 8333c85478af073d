// The ai.kestrel fused activations (kernels/kestrel/fused_activation.h) as oneDNN eltwise post-ops, so a
// fused op's activation runs inside the primitive while its output is still in cache.
#pragma once

#include "oneapi/dnnl/dnnl.hpp"
#include "providers/cpu/kernels/kestrel/fused_activation.h"

namespace kestrel::cpu::dnnl_backend {

inline void append_activation(dnnl::post_ops& po, const FusedActivation& act) {
  using K = FusedActivation::Kind;
  using alg = dnnl::algorithm;
  switch (act.kind) {
    case K::kNone:
      return;
    case K::kRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
      return;
    case K::kLeakyRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, act.a, 0.0f);
      return;  // x >= 0 ? x : a*x
    case K::kSigmoid:
      po.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
      return;
    case K::kTanh:
      po.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
      return;
    case K::kClip:
      po.append_eltwise(1.0f, alg::eltwise_clip, act.a, act.b);
      return;
    case K::kHardSigmoid:  // max(0, min(1, a*x + b)); oneDNN 2.6 has no hardsigmoid
      po.append_eltwise(1.0f, alg::eltwise_linear, act.a, act.b);
      po.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
      return;
    case K::kHardSwish:
      po.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f);
      return;  // x*relu6(x+3)/6
    case K::kSilu:
      po.append_eltwise(1.0f, alg::eltwise_swish, 1.0f, 0.0f);
      return;
    case K::kGelu:
      po.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
      return;
    case K::kGeluTanh:
      po.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
      return;
  }
}

// The activation as one oneDNN eltwise algorithm with its alpha and beta (for a standalone eltwise
// primitive); false for those that need two (HardSigmoid) or none.
inline bool single_eltwise(const FusedActivation& act, dnnl::algorithm& alg, float& alpha, float& beta) {
  using K = FusedActivation::Kind;
  using A = dnnl::algorithm;
  alpha = 0.0f;
  beta = 0.0f;
  switch (act.kind) {
    case K::kRelu: alg = A::eltwise_relu; return true;
    case K::kLeakyRelu: alg = A::eltwise_relu; alpha = act.a; return true;
    case K::kSigmoid: alg = A::eltwise_logistic; return true;
    case K::kTanh: alg = A::eltwise_tanh; return true;
    case K::kClip: alg = A::eltwise_clip; alpha = act.a; beta = act.b; return true;
    case K::kHardSwish: alg = A::eltwise_hardswish; return true;
    case K::kSilu: alg = A::eltwise_swish; alpha = 1.0f; return true;
    case K::kGelu: alg = A::eltwise_gelu_erf; return true;
    case K::kGeluTanh: alg = A::eltwise_gelu_tanh; return true;
    case K::kNone:
    case K::kHardSigmoid:
      return false;
  }
  return false;
}

}  // namespace kestrel::cpu::dnnl_backend
