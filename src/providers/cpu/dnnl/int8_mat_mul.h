// The int8 matrix product behind the fast MatMulInteger, QLinearMatMul and ai.kestrel DynamicQuantizeMatMul
// kernels: u8 activations [rows, K] times constant s8 weights [K, N] into exact int32 sums, on oneDNN's VNNI
// (vpdpbusd) path. Zero points are not given to oneDNN: the kernels remove them afterwards from row and column
// sums (sum (a - za)(b - zb) = sum ab - za colsum(b) - zb rowsum(a) + K za zb), which keeps every combination
// of u8/s8 operands, per-row and per-column zero points exact and on the one fast path:
//   - s8 activations become u8 by flipping the sign bit (a + 128), their zero point moving by +128;
//   - u8 weights become s8 once at session creation (b - 128), their zero point moving by -128.
// Only CPUs with AVX512-VNNI take it: older ISAs multiply u8 by s8 with vpmaddubsw, whose int16 pair sums
// saturate, so the result would not be exact; there the reference kernels run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

// True when the exact u8 x s8 path is available on this CPU (checked once).
bool int8_vnni_available();

struct Int8MatMulPlan {
  dnnl_backend::Executable matmul;  // run({src, dst}); the packed weights are bound
};

class Int8PackedWeights {
 public:
  // From constant weights and their (optional) constant zero point; nullptr when they are not a case this
  // path takes (not a non-empty [K, N] uint8/int8 matrix; a zero point of another type or shape; no VNNI).
  static std::unique_ptr<Int8PackedWeights> from_constants(const Tensor* b, const Tensor* zero_point);

  // `b` is a constant [K, N] uint8 or int8 tensor; `zero_points` its zero point (empty: 0; one value: per
  // tensor; N values: per column), already range-checked by the caller.
  Int8PackedWeights(const Tensor& b, const std::vector<int32_t>& zero_points);

  int64_t K() const { return K_; }
  int64_t N() const { return N_; }
  // Zero point of column n after the shift to s8.
  int32_t zero_point(int64_t n) const { return zero_points_.size() == 1 ? zero_points_[0] : zero_points_[n]; }
  bool has_zero_points() const { return any_zero_point_; }
  int32_t column_sum(int64_t n) const { return column_sums_[static_cast<size_t>(n)]; }

  // acc[rows, N] = a[rows, K] (u8) x weights (s8), exact int32; `threads` is the OpenMP team for oneDNN.
  void multiply(const uint8_t* a, int64_t rows, int32_t* acc, int threads) const;
  // Makes multiply's primitive for `rows` and `threads` (oneDNN primitives are made outside parallel
  // regions: call this before a region whose threads each multiply).
  void prepare(int64_t rows, int threads) const { plan(rows, threads); }

  // The columns are also split into `parts` slices, each packed on its own, so that each thread of a team
  // multiplies all rows by its slice alone: every thread then reads only its share of the weights (which,
  // larger than the caches, come from memory at each run) and uses each weight on all rows. Slice `part` is
  // columns [first, end), whole 64-column blocks but the last; it may be empty when N < 64 * parts.
  std::pair<int64_t, int64_t> column_slice(int part, int parts) const;
  // Packs the slices of `parts` and makes their one-thread primitives for `rows` rows. oneDNN primitives are
  // made outside parallel regions: call this before the region that runs multiply_column_slice.
  void prepare_column_slices(int64_t rows, int parts) const;
  // acc[rows, end - first] = a[rows, K] x the weights' columns of slice `part`, on the calling thread alone.
  void multiply_column_slice(const uint8_t* a, int64_t rows, int part, int parts, int32_t* acc) const;

  // Removes the zero points from acc[rows, N]: za(r) is row r's activation zero point (after any +128 shift),
  // row_sums the activations' row sums (only read when the weights have a zero point).
  void remove_zero_points(int32_t* acc, int64_t rows, const std::function<int32_t(int64_t)>& za,
                          const int32_t* row_sums) const;
  // The same for acc[rows, n1 - n0], the sums of columns [n0, n1) alone.
  void remove_zero_points(int32_t* acc, int64_t rows, const std::function<int32_t(int64_t)>& za,
                          const int32_t* row_sums, int64_t n0, int64_t n1) const;

 private:
  std::shared_ptr<const Int8MatMulPlan> plan(int64_t rows, int threads) const;
  std::shared_ptr<const Int8MatMulPlan> slice_plan(int64_t rows, int part, int parts) const;

  int64_t K_ = 0, N_ = 0;
  std::vector<int8_t> weights_;            // [K, N] row-major, s8
  std::vector<int32_t> column_sums_;       // sum over k of weights_[k, n]
  std::vector<int32_t> zero_points_;       // after the shift to s8
  bool any_zero_point_ = false;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  mutable dnnl_backend::PrimitiveCache<std::pair<int64_t, int>, Int8MatMulPlan> plans_;
  // Per slice count, the packed weights of each slice.
  struct ColumnSlices {
    std::vector<std::unique_ptr<dnnl_backend::PackedWeights>> packed;
  };
  mutable dnnl_backend::PrimitiveCache<int, ColumnSlices> slices_;
  // Keyed by rows, parts and part.
  mutable dnnl_backend::PrimitiveCache<std::tuple<int64_t, int, int>, Int8MatMulPlan> slice_plans_;
};

// The activations A [..., M, K] (or [K]) of an int8 matmul as the packed product reads them: u8 rows (A
// itself, or a sign-flipped copy in scratch slot 0), each row's zero point after any shift, and the row sums
// (scratch slot 1) when the weights have zero points.
struct Int8Activations {
  const uint8_t* data = nullptr;
  int64_t rows = 0, M = 1;
  std::vector<int32_t> zero_points;  // one value, or one per row of each [M, K] matrix
  const int32_t* row_sums = nullptr;
  int32_t zero_point(int64_t row) const {
    return zero_points.size() == 1 ? zero_points[0] : zero_points[static_cast<size_t>(row % M)];
  }
};

// False when A or its zero point is not a case the fast kernels take (type, shape, K != weights' K): the
// caller then runs the reference kernel, which reports errors.
bool prepare_activations(const Tensor& A, const Tensor* zero_point, const Int8PackedWeights& weights,
                         Int8Activations& out);

// The sum of each row of a[rows, K], in scratch slot 1.
const int32_t* row_sums_u8(const uint8_t* a, int64_t rows, int64_t K);

}  // namespace kestrel::cpu
