// u8 x s8 -> s32 matrix product on oneDNN with the weights packed once (see int8_mat_mul.h).
#include "providers/cpu/dnnl/int8_mat_mul.h"

namespace kestrel::cpu {

bool int8_vnni_available() {
  static const bool available = __builtin_cpu_supports("avx512vnni");
  return available;
}

std::unique_ptr<Int8PackedWeights> Int8PackedWeights::from_constants(const Tensor* b, const Tensor* zero_point) {
  if (!int8_vnni_available() || !b || b->rank() != 2 || b->size() == 0) return nullptr;
  const bool u8 = b->type() == ElementType::kUInt8;
  if (!u8 && b->type() != ElementType::kInt8) return nullptr;
  std::vector<int32_t> zp;
  if (zero_point) {
    if (zero_point->type() != b->type()) return nullptr;
    const bool scalar = zero_point->size() == 1 && zero_point->rank() <= 1;
    if (!scalar && !(zero_point->rank() == 1 && zero_point->dim(0) == b->dim(1))) return nullptr;
    for (int64_t i = 0; i < zero_point->size(); ++i)
      zp.push_back(u8 ? zero_point->data<uint8_t>()[i] : zero_point->data<int8_t>()[i]);
  }
  return std::make_unique<Int8PackedWeights>(*b, zp);
}

Int8PackedWeights::Int8PackedWeights(const Tensor& b, const std::vector<int32_t>& zero_points)
    : K_(b.dim(0)), N_(b.dim(1)) {
  const bool from_u8 = b.type() == ElementType::kUInt8;
  weights_.resize(static_cast<size_t>(b.size()));
  if (from_u8) {
    const uint8_t* p = b.data<uint8_t>();
    for (size_t i = 0; i < weights_.size(); ++i) weights_[i] = static_cast<int8_t>(p[i] - 128);
  } else {
    const int8_t* p = b.data<int8_t>();
    weights_.assign(p, p + b.size());
  }
  column_sums_.assign(static_cast<size_t>(N_), 0);
  for (int64_t k = 0; k < K_; ++k)
    for (int64_t n = 0; n < N_; ++n) column_sums_[static_cast<size_t>(n)] += weights_[static_cast<size_t>(k * N_ + n)];
  zero_points_ = zero_points.empty() ? std::vector<int32_t>{0} : zero_points;
  for (int32_t& z : zero_points_) {
    if (from_u8) z -= 128;
    any_zero_point_ = any_zero_point_ || z != 0;
  }
  using dt = dnnl::memory::data_type;
  packed_ = std::make_unique<dnnl_backend::PackedWeights>(
      dnnl::memory::desc({K_, N_}, dt::s8, dnnl::memory::format_tag::ab), weights_.data());
}

std::shared_ptr<const Int8MatMulPlan> Int8PackedWeights::plan(int64_t rows, int threads) const {
  return plans_.get({rows, threads}, [&] {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl_backend::ThreadScope scope(threads);
    const dnnl::matmul::desc desc(dnnl::memory::desc({rows, K_}, dt::u8, tag::ab),
                                  dnnl::memory::desc({K_, N_}, dt::s8, tag::any),
                                  dnnl::memory::desc({rows, N_}, dt::s32, tag::ab));
    const dnnl::matmul::primitive_desc pd(desc, dnnl_backend::user_scratchpad_attr(), dnnl_backend::engine());
    auto p = std::make_shared<Int8MatMulPlan>();
    p->matmul = dnnl_backend::Executable(dnnl::matmul(pd), pd.scratchpad_desc(),
                                         {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}},
                                         {{DNNL_ARG_WEIGHTS, packed_->get(pd.weights_desc())}});
    return std::shared_ptr<const Int8MatMulPlan>(std::move(p));
  });
}

void Int8PackedWeights::multiply(const uint8_t* a, int64_t rows, int32_t* acc, int threads) const {
  namespace dn = dnnl_backend;
  if (rows == 0 || N_ == 0) return;
  if (K_ == 0) {
    std::fill(acc, acc + rows * N_, 0);
    return;
  }
  dn::ThreadScope scope(threads);
  plan(rows, threads)->matmul.run({a, acc});
}

std::pair<int64_t, int64_t> Int8PackedWeights::column_slice(int part, int parts) const {
  // oneDNN's VNNI kernels take the weights in 64-column blocks: a slice of whole blocks has no padding.
  const auto boundary = [&](int p) { return p >= parts ? N_ : std::min(N_, N_ * p / parts / 64 * 64); };
  return {boundary(part), boundary(part + 1)};
}

void Int8PackedWeights::prepare_column_slices(int64_t rows, int parts) const {
  for (int part = 0; part < parts; ++part) slice_plan(rows, part, parts);
}

std::shared_ptr<const Int8MatMulPlan> Int8PackedWeights::slice_plan(int64_t rows, int part, int parts) const {
  return slice_plans_.get({rows, parts, part}, [&] {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const auto slices = slices_.get(parts, [&] {
      auto s = std::make_shared<ColumnSlices>();
      for (int p = 0; p < parts; ++p) {
        const auto [first, end] = column_slice(p, parts);
        // The slice as a view of the plain [K, N] weights (row stride N).
        s->packed.push_back(std::make_unique<dnnl_backend::PackedWeights>(
            dnnl::memory::desc({K_, end - first}, dt::s8, dnnl::memory::dims{N_, 1}),
            weights_.data() + first));
      }
      return std::shared_ptr<const ColumnSlices>(std::move(s));
    });
    const auto [first, end] = column_slice(part, parts);
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul matmul;
    {
      // The primitive runs on one thread; packing its slice (below) may take the caller's team.
      dnnl_backend::ThreadScope scope(1);
      const dnnl::matmul::desc desc(dnnl::memory::desc({rows, K_}, dt::u8, tag::ab),
                                    dnnl::memory::desc({K_, end - first}, dt::s8, tag::any),
                                    dnnl::memory::desc({rows, end - first}, dt::s32, tag::ab));
      pd = dnnl::matmul::primitive_desc(desc, dnnl_backend::user_scratchpad_attr(), dnnl_backend::engine());
      matmul = dnnl::matmul(pd);
    }
    auto p = std::make_shared<Int8MatMulPlan>();
    p->matmul = dnnl_backend::Executable(
        matmul, pd.scratchpad_desc(), {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}},
        {{DNNL_ARG_WEIGHTS, slices->packed[static_cast<size_t>(part)]->get(pd.weights_desc())}});
    return std::shared_ptr<const Int8MatMulPlan>(std::move(p));
  });
}

void Int8PackedWeights::multiply_column_slice(const uint8_t* a, int64_t rows, int part, int parts,
                                              int32_t* acc) const {
  const auto [first, end] = column_slice(part, parts);
  if (rows == 0 || first == end) return;
  if (K_ == 0) {
    std::fill(acc, acc + rows * (end - first), 0);
    return;
  }
  dnnl_backend::ThreadScope scope(1);
  slice_plan(rows, part, parts)->matmul.run({a, acc});
}

void Int8PackedWeights::remove_zero_points(int32_t* acc, int64_t rows, const std::function<int32_t(int64_t)>& za,
                                         const int32_t* row_sums) const {
  remove_zero_points(acc, rows, za, row_sums, 0, N_);
}

void Int8PackedWeights::remove_zero_points(int32_t* acc, int64_t rows,
                                           const std::function<int32_t(int64_t)>& za, const int32_t* row_sums,
                                           int64_t n0, int64_t n1) const {
  // In uint32, wrapping: the result is exact modulo 2^32, so exact wherever the true value fits int32, and
  // the loops vectorise. The activation's share per column is made once while the zero point stays the same.
  const int64_t width = n1 - n0;
  std::vector<uint32_t> column_share(static_cast<size_t>(width));
  int64_t share_of = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t z = za(r);
    uint32_t* y = reinterpret_cast<uint32_t*>(acc + r * width);
    if (z != 0) {
      if (r == 0 || z != share_of) {
        for (int64_t n = 0; n < width; ++n)
          column_share[static_cast<size_t>(n)] =
              static_cast<uint32_t>(z * column_sums_[static_cast<size_t>(n0 + n)]);
        share_of = z;
      }
      const uint32_t* c = column_share.data();
#pragma omp simd
      for (int64_t n = 0; n < width; ++n) y[n] -= c[n];
    }
    if (any_zero_point_) {
      const uint32_t f = static_cast<uint32_t>(K_ * z - row_sums[r]);
      const uint32_t* zb = reinterpret_cast<const uint32_t*>(zero_points_.data());
      if (zero_points_.size() == 1) {
        const uint32_t add = zb[0] * f;
#pragma omp simd
        for (int64_t n = 0; n < width; ++n) y[n] += add;
      } else {
        zb += n0;
#pragma omp simd
        for (int64_t n = 0; n < width; ++n) y[n] += zb[n] * f;
      }
    }
  }
}

bool prepare_activations(const Tensor& A, const Tensor* zero_point, const Int8PackedWeights& weights,
                         Int8Activations& out) {
  const bool s8 = A.type() == ElementType::kInt8;
  if ((!s8 && A.type() != ElementType::kUInt8) || A.rank() == 0 || A.dim(A.rank() - 1) != weights.K())
    return false;
  const int64_t K = weights.K();
  out.M = A.rank() >= 2 ? A.dim(A.rank() - 2) : 1;
  out.rows = dims_product(A.shape(), 0, A.rank() - 1);
  const int32_t shift = s8 ? 128 : 0;
  if (!zero_point) {
    out.zero_points = {shift};
  } else {
    if (zero_point->type() != A.type()) return false;
    const bool scalar = zero_point->size() == 1 && zero_point->rank() <= 1;
    const bool per_row = A.rank() >= 2 && zero_point->rank() == 1 && zero_point->dim(0) == out.M;
    if (!scalar && !per_row) return false;
    out.zero_points.resize(static_cast<size_t>(zero_point->size()));
    for (size_t i = 0; i < out.zero_points.size(); ++i)
      out.zero_points[i] = (s8 ? zero_point->data<int8_t>()[i] : zero_point->data<uint8_t>()[i]) + shift;
  }
  const int64_t n = out.rows * K;
  if (s8) {
    uint8_t* flipped = static_cast<uint8_t*>(dnnl_backend::thread_scratch(0, static_cast<size_t>(n)));
    const int8_t* a = A.data<int8_t>();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) flipped[i] = static_cast<uint8_t>(a[i]) ^ 0x80u;  // a + 128
    out.data = flipped;
  } else {
    out.data = A.data<uint8_t>();
  }
  if (weights.has_zero_points()) out.row_sums = row_sums_u8(out.data, out.rows, K);
  return true;
}

const int32_t* row_sums_u8(const uint8_t* a, int64_t rows, int64_t K) {
  int32_t* sums = static_cast<int32_t*>(dnnl_backend::thread_scratch(1, static_cast<size_t>(rows) * 4 + 4));
  for (int64_t r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += a[r * K + k];
    sums[r] = s;
  }
  return sums;
}

}  // namespace kestrel::cpu
