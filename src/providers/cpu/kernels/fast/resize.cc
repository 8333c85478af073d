// Fast Resize (opsets 11-17, fixed-size element types) for nearest-neighbour upsampling by whole factors with
// the asymmetric coordinate transform and floor rounding, as paddle2onnx writes FPN upsampling (PP-OCR's
// detector: scales [1, 1, 2, 2], or [1, 2, 2, 1] channels-last): output index i along an axis reads input
// index i / scale, so each input slice is written once and repeated with memcpy. Other modes, fractional or
// run-time scales, sizes, and the opset 18+ attributes go to the reference kernel.
#include <cmath>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/small_copy.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {
namespace {

class FastNearestUpsample final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const TypeInfo& t = info.input_type(0);
    if (t.kind != TypeInfo::Kind::kTensor || t.element_type == ElementType::kUndefined ||
        t.element_type == ElementType::kString)
      return nullptr;
    if (info.attr_string("mode", "nearest") != "nearest" ||
        info.attr_string("coordinate_transformation_mode", "half_pixel") != "asymmetric" ||
        info.attr_string("nearest_mode", "round_prefer_floor") != "floor")
      return nullptr;
    if (info.has_input(3)) {  // sizes: only an empty one
      const Tensor* sizes = info.constant_input(3);
      if (!sizes || sizes->size() != 0) return nullptr;
    }
    const Tensor* scales = info.has_input(2) ? info.constant_input(2) : nullptr;
    if (!scales || scales->type() != ElementType::kFloat || scales->rank() != 1 || scales->size() == 0)
      return nullptr;
    std::vector<int64_t> factors;
    for (int64_t i = 0; i < scales->size(); ++i) {
      const float s = scales->data<float>()[i];
      if (!(s >= 1.0f && s <= 1024.0f) || s != std::floor(s)) return nullptr;
      factors.push_back(static_cast<int64_t>(s));
    }
    return std::make_unique<FastNearestUpsample>(info, std::move(factors));
  }

  FastNearestUpsample(const KernelInfo& info, std::vector<int64_t> factors)
      : factors_(std::move(factors)), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.rank() != factors_.size() || X.type() == ElementType::kString || X.size() == 0)
      return reference_->compute(ctx);
    if (X.rank() > runtime::InlineShape::kCapacity) return reference_->compute(ctx);
    runtime::InlineShape out;  // shape and strides on the stack: a run allocates nothing
    for (size_t d = 0; d < X.rank(); ++d) out.push_back(X.dim(d) * factors_[d]);
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, X.type(), out.span());  // every element is written
    const size_t elem = element_size(X.type());
    size_t in_stride[runtime::InlineShape::kCapacity], out_stride[runtime::InlineShape::kCapacity];
    in_stride[X.rank() - 1] = out_stride[X.rank() - 1] = elem;
    for (size_t d = X.rank() - 1; d-- > 0;) {
      in_stride[d] = in_stride[d + 1] * static_cast<size_t>(X.dim(d + 1));
      out_stride[d] = out_stride[d + 1] * static_cast<size_t>(out[d + 1]);
    }
    fill(0, static_cast<const char*>(X.raw_data()), static_cast<char*>(Y.raw_data()), X.shape(), in_stride,
         out_stride, elem);
  }

 private:
  // Writes the output slice of dim `d` from the input slice at `x`: each input index once, then its copies.
  void fill(size_t d, const char* x, char* y, const Shape& in, const size_t* in_stride,
            const size_t* out_stride, size_t elem) const {
    const int64_t f = factors_[d];
    if (d + 1 == in.size()) {
      if (f == 1) {
        std::memcpy(y, x, static_cast<size_t>(in[d]) * elem);
        return;
      }
      for (int64_t i = 0; i < in[d]; ++i)
        for (int64_t r = 0; r < f; ++r)
          fast::copy_block(y + static_cast<size_t>(i * f + r) * elem, x + i * elem, elem);
      return;
    }
    // Trailing dims not scaled: the whole slice is one contiguous copy.
    bool rest_unscaled = true;
    for (size_t k = d + 1; k < in.size(); ++k) rest_unscaled = rest_unscaled && factors_[k] == 1;
    for (int64_t i = 0; i < in[d]; ++i) {
      char* first = y + static_cast<size_t>(i * f) * out_stride[d];
      // (one channels-last pixel per copy when this is the width: copy_block keeps those inline)
      if (rest_unscaled)
        fast::copy_block(first, x + i * in_stride[d], out_stride[d]);
      else fill(d + 1, x + i * in_stride[d], first, in, in_stride, out_stride, elem);
      for (int64_t r = 1; r < f; ++r) fast::copy_block(first + r * out_stride[d], first, out_stride[d]);
    }
  }

  std::vector<int64_t> factors_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Resize, "", 11, 12, "all but string", 10, &FastNearestUpsample::create);
KESTREL_FAST_KERNEL(Resize, "", 13, 17, "all but string", 10, &FastNearestUpsample::create);

}  // namespace kestrel::cpu
