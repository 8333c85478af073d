// ConvTranspose (opsets 1 and 11): the adjoint of Conv with groups, dilations, strides, output_padding and
// the output size given by pads, auto_pad or output_shape. The scatter loop lives in conv.h.
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

// Python-style floor division: the spec's pad split uses it, and total padding is negative when output_shape
// asks for more than the kernel covers (that surplus goes to the end, like output_padding).
int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

class ConvTranspose final : public Kernel {
 public:
  explicit ConvTranspose(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        output_padding_(info.attr_ints("output_padding", {})),
        output_shape_(info.attr_ints("output_shape", {})) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const Tensor* B = ctx.optional_input(2);
    if (W.type() != X.type())
      ctx.fail(std::string("W must have X's element type ") + element_type_name(X.type()) + ", got " +
               element_type_name(W.type()));
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, true);
    const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(1) * group_;
    if (B) {
      if (B->type() != X.type()) ctx.fail("bias B must have X's element type");
      if (B->rank() != 1 || B->dim(0) != M)
        ctx.fail("bias B must have shape [" + std::to_string(M) + "], got " + shape_to_string(B->shape()));
    }
    const Window3 g = geometry(ctx, spatial_dims(X.shape()), kernel);
    Shape ys{N, M};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    Tensor& Y = ctx.allocate_output(0, X.type(), ys);
    dispatch<float, double, Float16, BFloat16>(
        X.type(),
        [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, Acc<T>>) {
            conv_transpose_forward<T>(X.data<T>(), W.data<T>(), B ? B->data<T>() : nullptr, Y.data<T>(), N, C,
                                      M, group_, g, ctx.intra_op_threads());
          } else {
            const auto x = widen(X.data<T>(), X.size());
            const auto w = widen(W.data<T>(), W.size());
            std::vector<float> b = B ? widen(B->data<T>(), B->size()) : std::vector<float>();
            std::vector<float> y(static_cast<size_t>(Y.size()));
            conv_transpose_forward<float>(x.data(), w.data(), B ? b.data() : nullptr, y.data(), N, C, M,
                                          group_, g, ctx.intra_op_threads());
            T* out = Y.data<T>();
            for (size_t i = 0; i < y.size(); ++i) out[i] = narrow<T>(y[i]);
          }
        },
        "ConvTranspose");
  }

 private:
  // Output size and pads per the ConvTranspose spec: with output_shape (or auto_pad SAME_*, which asks for
  // in * stride) the total padding is stride * (in - 1) + output_padding + dk - out, split so that SAME_UPPER
  // puts the smaller half first and every other mode the larger half first; otherwise out = stride * (in - 1)
  // + output_padding + dk - pad_begin - pad_end.
  Window3 geometry(const KernelContext& ctx, std::span<const int64_t> in, std::span<const int64_t> kernel) const {
    const size_t nd = in.size();
    if (nd < 1 || nd > 3)
      ctx.fail("only 1, 2 or 3 spatial dimensions are supported, got " + std::to_string(nd));
    auto check_len = [&](const std::vector<int64_t>& v, size_t want, const char* name) {
      if (!v.empty() && v.size() != want)
        ctx.fail(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " +
                 std::to_string(want));
    };
    check_len(attrs_.strides, nd, "strides");
    check_len(attrs_.dilations, nd, "dilations");
    check_len(attrs_.pads, 2 * nd, "pads");
    check_len(output_padding_, nd, "output_padding");
    std::vector<int64_t> out_shape = output_shape_;
    if (out_shape.size() == nd + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    check_len(out_shape, nd, "output_shape");
    Window3 w;
    w.spatial_rank = nd;
    const size_t off = 3 - nd;
    for (size_t i = 0; i < nd; ++i) {
      const size_t j = off + i;
      w.in[j] = in[i];
      w.kernel[j] = kernel[i];
      w.stride[j] = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      w.dilation[j] = attrs_.dilations.empty() ? 1 : attrs_.dilations[i];
      const int64_t dk = (w.kernel[j] - 1) * w.dilation[j] + 1;
      const int64_t adj = output_padding_.empty() ? 0 : output_padding_[i];
      const int64_t full = w.stride[j] * (w.in[j] - 1) + adj + dk;
      const bool same = attrs_.auto_pad == "SAME_UPPER" || attrs_.auto_pad == "SAME_LOWER";
      if (!out_shape.empty() || same) {
        w.out[j] = !out_shape.empty() ? out_shape[i] : w.in[j] * w.stride[j];
        const int64_t total = full - w.out[j];
        const int64_t half = floor_div2(total);
        if (attrs_.auto_pad == "SAME_UPPER") {
          w.pad_begin[j] = half;
          w.pad_end[j] = total - half;
        } else {
          w.pad_begin[j] = total - half;
          w.pad_end[j] = half;
        }
      } else {
        if (attrs_.auto_pad == "NOTSET" && !attrs_.pads.empty()) {
          w.pad_begin[j] = attrs_.pads[i];
          w.pad_end[j] = attrs_.pads[i + nd];
        }
        w.out[j] = full - w.pad_begin[j] - w.pad_end[j];
      }
      if (w.out[j] < 0)
        ctx.fail("computed output size " + std::to_string(w.out[j]) + " is negative in spatial dim " +
                 std::to_string(i));
    }
    return w;
  }

  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> output_padding_;
  std::vector<int64_t> output_shape_;
};

}  // namespace

KESTREL_KERNEL(ConvTranspose, "", 1, 10, "float, double, float16, bfloat16", make_kernel<ConvTranspose>());
KESTREL_KERNEL(ConvTranspose, "", 11, 1000, "float, double, float16, bfloat16", make_kernel<ConvTranspose>());

}  // namespace kestrel::cpu
