// The activations the ai.kestrel fused ops apply after their main computation (FusedConv, FusedGemm,
// FusedMatMul): attribute `activation` names an ONNX activation and `activation_params` holds its parameters
// in the order documented in docs/optimizer.md. Shared by those kernels and nothing else.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

struct FusedActivation {
  enum class Kind { kNone, kRelu, kLeakyRelu, kSigmoid, kTanh, kClip, kHardSigmoid, kHardSwish, kSilu, kGelu,
                    kGeluTanh };
  Kind kind = Kind::kNone;
  float a = 0, b = 0;  // LeakyRelu alpha; Clip min, max; HardSigmoid alpha, beta

  // Reads attributes `<prefix>activation` and `<prefix>activation_params` (a fused op with several
  // activations, such as InvertedResidual, names each by a prefix).
  static FusedActivation parse(const KernelInfo& info, const std::string& prefix = "") {
    FusedActivation act;
    const std::string name = info.attr_string(prefix + "activation", "");
    const std::vector<float> p = info.attr_floats(prefix + "activation_params", {});
    auto param = [&](size_t i, float fallback) { return i < p.size() ? p[i] : fallback; };
    if (name.empty() || name == "Identity") {
      act.kind = Kind::kNone;
    } else if (name == "Relu") {
      act.kind = Kind::kRelu;
    } else if (name == "LeakyRelu") {
      act.kind = Kind::kLeakyRelu;
      act.a = param(0, 0.01f);
    } else if (name == "Sigmoid") {
      act.kind = Kind::kSigmoid;
    } else if (name == "Tanh") {
      act.kind = Kind::kTanh;
    } else if (name == "Clip") {
      act.kind = Kind::kClip;
      act.a = param(0, -INFINITY);
      act.b = param(1, INFINITY);
    } else if (name == "HardSigmoid") {
      act.kind = Kind::kHardSigmoid;
      act.a = param(0, 0.2f);
      act.b = param(1, 0.5f);
    } else if (name == "HardSwish") {
      act.kind = Kind::kHardSwish;
    } else if (name == "Silu") {
      act.kind = Kind::kSilu;
    } else if (name == "Gelu") {
      act.kind = Kind::kGelu;
    } else if (name == "GeluTanh") {
      act.kind = Kind::kGeluTanh;
    } else {
      info.fail(
          "unknown fused " + prefix + "activation '" + name +
          "' (expected Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish, Silu, Gelu, GeluTanh)");
    }
    return act;
  }

  float apply(float x) const {
    switch (kind) {
      case Kind::kNone: return x;
      case Kind::kRelu: return x > 0 ? x : 0.0f;
      case Kind::kLeakyRelu: return x >= 0 ? x : a * x;
      case Kind::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
      case Kind::kTanh: return std::tanh(x);
      case Kind::kClip: return std::min(std::max(x, a), b);
      case Kind::kHardSigmoid: return std::max(0.0f, std::min(1.0f, a * x + b));
      case Kind::kHardSwish: return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
      case Kind::kSilu: return x / (1.0f + std::exp(-x));
      case Kind::kGelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
      case Kind::kGeluTanh:
        return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    }
    return x;
  }

  void apply(float* p, int64_t n) const {
    if (kind == Kind::kNone) return;
    for (int64_t i = 0; i < n; ++i) p[i] = apply(p[i]);
  }
};

// Adds `z` to `y` (shape `ys`), broadcasting z unidirectionally (numpy rules, z's dims 1 or equal). Fails when
// z does not broadcast to y.
inline void add_broadcast_into(const KernelContext& ctx, float* y, const Shape& ys, const float* z,
                               const Shape& zs) {
  if (zs == ys) {
    const int64_t n = shape_size(ys);
    for (int64_t i = 0; i < n; ++i) y[i] += z[i];
    return;
  }
  if (zs.size() > ys.size())
    ctx.fail("residual input of shape " + shape_to_string(zs) + " does not broadcast to the output shape " +
             shape_to_string(ys));
  const size_t off = ys.size() - zs.size();
  std::vector<int64_t> zstride(ys.size(), 0);
  int64_t s = 1;
  for (size_t d = zs.size(); d-- > 0;) {
    if (zs[d] != 1 && zs[d] != ys[off + d])
      ctx.fail("residual input of shape " + shape_to_string(zs) + " does not broadcast to the output shape " +
               shape_to_string(ys));
    zstride[off + d] = zs[d] == 1 ? 0 : s;
    s *= zs[d];
  }
  const int64_t n = shape_size(ys);
  std::vector<int64_t> idx(ys.size(), 0);
  int64_t zi = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] += z[zi];
    for (size_t d = ys.size(); d-- > 0;) {
      zi += zstride[d];
      if (++idx[d] < ys[d]) break;
      zi -= zstride[d] * ys[d];
      idx[d] = 0;
    }
  }
}

}  // namespace kestrel::cpu
