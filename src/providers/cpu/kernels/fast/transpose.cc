// Fast Transpose (opsets 1+, fixed-size element types) when the last axis stays last, as in attention's
// [B, S, H, D] <-> [B, H, S, D]: whole rows of the last dim are copied with memcpy, in output order. Other
// permutations, strings and a missing perm go to the reference kernel.
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

class FastTranspose final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const TypeInfo& t = info.input_type(0);
    if (t.kind != TypeInfo::Kind::kTensor || t.element_type == ElementType::kUndefined ||
        t.element_type == ElementType::kString || !info.has_attr("perm"))
      return nullptr;
    const std::vector<int64_t> perm = info.attr_ints("perm");
    if (perm.size() < 2 || perm.back() != static_cast<int64_t>(perm.size()) - 1) return nullptr;
    return std::make_unique<FastTranspose>(info, perm);
  }

  FastTranspose(const KernelInfo& info, std::vector<int64_t> perm)
      : perm_(std::move(perm)), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const size_t rank = X.rank();
    if (rank != perm_.size() || X.type() == ElementType::kString) return reference_->compute(ctx);
    std::vector<bool> seen(rank, false);
    for (int64_t p : perm_) {
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)])
        return reference_->compute(ctx);
      seen[static_cast<size_t>(p)] = true;
    }
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) out[i] = X.dim(static_cast<size_t>(perm_[i]));
    Tensor& Y = ctx.allocate_uninitialized_output(0, X.type(), out);  // a permutation writes every element
    if (Y.size() == 0) return;
    const size_t elem = element_size(X.type());
    const size_t row_bytes = static_cast<size_t>(X.dim(rank - 1)) * elem;
    // Input strides in rows (the last dim is one row), walked in output order by an odometer over the
    // output's leading dims.
    const size_t lead = rank - 1;
    std::vector<int64_t> in_stride(lead, 1), src_stride(lead), idx(lead, 0);
    for (size_t i = lead; i-- > 1;) in_stride[i - 1] = in_stride[i] * X.dim(i);
    for (size_t i = 0; i < lead; ++i) src_stride[i] = in_stride[static_cast<size_t>(perm_[i])];
    const int64_t rows = Y.size() / X.dim(rank - 1);
    const auto* src = static_cast<const unsigned char*>(X.raw_data());
    auto* dst = static_cast<unsigned char*>(Y.raw_data());
    int64_t offset = 0;  // current source row
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(dst + static_cast<size_t>(r) * row_bytes, src + static_cast<size_t>(offset) * row_bytes,
                  row_bytes);
      for (size_t d = lead; d-- > 0;) {
        offset += src_stride[d];
        if (++idx[d] < out[d]) break;
        offset -= src_stride[d] * out[d];
        idx[d] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> perm_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Transpose, "", 1, 12, "all but string", 10, &FastTranspose::create);
KESTREL_FAST_KERNEL(Transpose, "", 13, 1000, "all but string", 10, &FastTranspose::create);

}  // namespace kestrel::cpu
