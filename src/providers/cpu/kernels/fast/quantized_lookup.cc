// Fast ai.kestrel QuantizedLookup: 64 lookups per step with AVX-512 VBMI byte permutes (byte_lookup.h); large
// tensors split over the threads. CPUs without VBMI keep the reference loop.
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/byte_lookup.h"
#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

class FastQuantizedLookup final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::has_vbmi()) return nullptr;
    return std::make_unique<FastQuantizedLookup>(info);
  }
  explicit FastQuantizedLookup(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& table = ctx.input(1);
    const bool bytes = (X.type() == ElementType::kUInt8 || X.type() == ElementType::kInt8) &&
                       (table.type() == ElementType::kUInt8 || table.type() == ElementType::kInt8);
    if (!bytes || table.rank() != 1 || table.size() != 256) return reference_->compute(ctx);  // it reports
    Tensor& Y = ctx.allocate_uninitialized_output(0, table.type(), X.shape());                // all written
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    const auto* t = static_cast<const uint8_t*>(table.raw_data());
    auto* y = static_cast<uint8_t*>(Y.raw_data());
    const uint8_t flip = X.type() == ElementType::kInt8 ? 0x80 : 0;
    const int64_t n = X.size();
    constexpr int64_t kChunk = int64_t{1} << 16;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const int team = static_cast<int>(std::min<int64_t>(ctx.intra_op_threads(), chunks));
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1 && n >= (int64_t{1} << 20))
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
      fast::lookup_bytes(x + begin, y + begin, end - begin, t, flip);
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(QuantizedLookup, "ai.kestrel", 1, 1000, "uint8, int8", 10, &FastQuantizedLookup::create);

}  // namespace kestrel::cpu
