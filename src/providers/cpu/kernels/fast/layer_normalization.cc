// Fast LayerNormalization (ONNX opset 17+ and ai.kestrel v1, float) over the last dims with a Scale and B of
// exactly those dims' elements and no Mean/InvStdDev outputs: vectorised rows (layer_norm_rows.h) split over
// the session's threads. Other cases (broadcast Scale or B, statistics outputs, other types) go to the
// reference kernel.
#include "providers/cpu/kernels/fast/layer_norm_rows.h"

namespace kestrel::cpu {
namespace {

class FastLayerNormalization final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0) || info.has_output(1) || info.has_output(2)) return nullptr;
    return std::make_unique<FastLayerNormalization>(info);
  }

  explicit FastLayerNormalization(const KernelInfo& info)
      : onnx_(info.node().domain.empty()),
        axis_(info.attr_int("axis", -1)),
        epsilon_(info.attr_float("epsilon", 1e-5f)),
        reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor* B = ctx.optional_input(2);
    if (X.type() != ElementType::kFloat || scale.type() != ElementType::kFloat ||
        (B && B->type() != ElementType::kFloat) || axis_ < -static_cast<int64_t>(X.rank()) ||
        axis_ >= static_cast<int64_t>(X.rank()))
      return reference_->compute(ctx);
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + static_cast<int64_t>(X.rank()) : axis_);
    const int64_t D = dims_product(X.shape(), axis, X.rank());
    // Scale and B hold the normalised block's elements: in its shape (leading 1s aside) for ONNX's op, in any
    // shape for ai.kestrel's.
    auto block_sized = [&](const Tensor& t) {
      if (t.size() != D) return false;
      if (!onnx_) return true;
      auto strip = [](Shape s) {
        while (!s.empty() && s.front() == 1) s.erase(s.begin());
        return s;
      };
      const Shape block(X.shape().begin() + static_cast<std::ptrdiff_t>(axis), X.shape().end());
      return t.rank() <= block.size() && strip(t.shape()) == strip(block);
    };
    if (D == 0 || !block_sized(scale) || (B && !block_sized(*B))) return reference_->compute(ctx);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, X.shape());
    fast::NormRows job;
    job.x = X.data<float>();
    job.gamma = scale.data<float>();
    job.beta = B ? B->data<float>() : nullptr;
    job.y = Y.data<float>();
    job.D = D;
    job.rows = X.size() / D;
    job.epsilon = epsilon_;
    fast::norm_rows(job, ctx.intra_op_threads());
  }

 private:
  bool onnx_;
  int64_t axis_;
  float epsilon_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(LayerNormalization, "", 17, 1000, "float", 10, &FastLayerNormalization::create);
KESTREL_FAST_KERNEL(LayerNormalization, "ai.kestrel", 1, 1000, "float", 10, &FastLayerNormalization::create);

}  // namespace kestrel::cpu
