// Fast float Pow (opset 7+) by a constant scalar exponent of 2 (x · x) or 0.5 (sqrt), the squares and roots
// of spectrogram and norm code. Both are correctly rounded in float, so they equal the reference's pow in
// double rounded once. Other exponents go to the reference kernel (declined at session creation).
#include <cmath>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

enum class PowKind { kSquare, kSqrt };

KESTREL_ISA_CLONES void square(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
}

// pow(x, 0.5) differs from sqrt at two points (C99 F.9.4.4): pow(-inf, 0.5) is +inf and pow(-0, 0.5) is +0.
KESTREL_ISA_CLONES void square_root(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v == -INFINITY ? INFINITY : (v == 0.0f ? 0.0f : std::sqrt(v));
  }
}

// The value of a one-element numeric tensor, when it is one.
bool scalar_value(const Tensor& t, double* v) {
  if (t.size() != 1) return false;
  switch (t.type()) {
    case ElementType::kFloat:
      *v = t.data<float>()[0];
      return true;
    case ElementType::kDouble:
      *v = t.data<double>()[0];
      return true;
    case ElementType::kInt32:
      *v = t.data<int32_t>()[0];
      return true;
    case ElementType::kInt64:
      *v = static_cast<double>(t.data<int64_t>()[0]);
      return true;
    default:
      return false;
  }
}

class FastPow final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    const Tensor* e = info.constant_input(1);
    double v = 0;
    if (!e || !scalar_value(*e, &v)) return nullptr;
    if (v == 2.0) return std::make_unique<FastPow>(PowKind::kSquare, e->shape());
    if (v == 0.5) return std::make_unique<FastPow>(PowKind::kSqrt, e->shape());
    return nullptr;
  }

  FastPow(PowKind kind, Shape exponent_shape) : kind_(kind), exponent_shape_(std::move(exponent_shape)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat)
      ctx.fail("expected a float base, got " + std::string(element_type_name(X.type())));
    // A one-element exponent broadcasts to X's shape, raised to the exponent's rank when that is higher.
    Shape shape = X.shape();
    if (exponent_shape_.size() > shape.size())
      shape.insert(shape.begin(), exponent_shape_.size() - shape.size(), 1);
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, shape);
    if (kind_ == PowKind::kSquare)
      square(X.data<float>(), Y.data<float>(), X.size());
    else
      square_root(X.data<float>(), Y.data<float>(), X.size());
  }

 private:
  PowKind kind_;
  Shape exponent_shape_;
};

}  // namespace

KESTREL_FAST_KERNEL(Pow, "", 7, 1000, "float", 10, &FastPow::create);

}  // namespace kestrel::cpu
