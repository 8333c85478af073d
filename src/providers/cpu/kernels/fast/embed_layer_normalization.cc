// Fast EmbedLayerNormalization (ai.kestrel v1): each thread sums the three embedding rows of its output rows
// with whole vectors, then normalises them in place (layer_norm_rows.h) while they are still in cache.
// Inputs are checked and indices resolved once by embed_inputs.h, as the reference kernel does.
#include <cstring>

#include "providers/cpu/kernels/fast/layer_norm_rows.h"
#include "providers/cpu/kernels/kestrel/embed_inputs.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {
namespace {

// 16 floats at any byte address: the tables may be views on a model file's bytes (embed_inputs.h).
typedef float ByteAlignedVec16 __attribute__((vector_size(64), aligned(1), may_alias));

inline __attribute__((always_inline)) void load16_bytes(fast::Vec16& v, const unsigned char* p) {
  v = *reinterpret_cast<const ByteAlignedVec16*>(p);
}

inline __attribute__((always_inline)) float load_float(const unsigned char* p) {
  float v;
  std::memcpy(&v, p, sizeof(float));
  return v;
}

// y rows [begin, end) = (word + position) + segment, the exporters' order of the Adds.
inline __attribute__((always_inline)) void sum_rows_body(const EmbedInputs& in, float* y, int64_t begin,
                                                         int64_t end) {
  const int64_t E = in.E, full = E / 16 * 16;
  const size_t row_bytes = static_cast<size_t>(E) * sizeof(float);
  fast::Vec16 a, b;
  for (int64_t r = begin; r < end; ++r) {
    const size_t k = static_cast<size_t>(r);
    const unsigned char* w = in.word + static_cast<size_t>(in.word_row[k]) * row_bytes;
    const unsigned char* p = in.position + static_cast<size_t>(in.position_row[k]) * row_bytes;
    const unsigned char* s =
        in.segment ? in.segment + static_cast<size_t>(in.segment_row[k]) * row_bytes : nullptr;
    float* yr = y + r * E;
    for (int64_t i = 0; i < full; i += 16) {
      load16_bytes(a, w + i * 4);
      load16_bytes(b, p + i * 4);
      a += b;
      if (s) {
        load16_bytes(b, s + i * 4);
        a += b;
      }
      fast::store16(yr + i, a);
    }
    for (int64_t i = full; i < E; ++i)
      yr[i] = (load_float(w + i * 4) + load_float(p + i * 4)) + (s ? load_float(s + i * 4) : 0.0f);
  }
}

__attribute__((target("avx512f,fma"))) void sum_rows_avx512(const EmbedInputs& in, float* y, int64_t begin,
                                                            int64_t end) {
  sum_rows_body(in, y, begin, end);
}
__attribute__((target("avx2,fma"))) void sum_rows_avx2(const EmbedInputs& in, float* y, int64_t begin,
                                                       int64_t end) {
  sum_rows_body(in, y, begin, end);
}
void sum_rows_baseline(const EmbedInputs& in, float* y, int64_t begin, int64_t end) {
  sum_rows_body(in, y, begin, end);
}

using SumRowsFn = void (*)(const EmbedInputs&, float*, int64_t, int64_t);

SumRowsFn pick_sum_rows() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return sum_rows_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return sum_rows_avx2;
  return sum_rows_baseline;
}

const SumRowsFn kSumRows = pick_sum_rows();
const fast::NormRowsFn kNormRows = fast::pick_norm_rows();

class FastEmbedLayerNormalization final : public Kernel, public runtime::ReadsConstantBytes {
 public:
  explicit FastEmbedLayerNormalization(const KernelInfo& info) : epsilon_(info.attr_float("epsilon", 1e-12f)) {}

  bool reads_constant_bytes(size_t input) const override { return is_embed_table_input(input); }

  void compute(KernelContext& ctx) const override {
    const EmbedInputs in = read_embed_inputs(ctx);
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, in.out_shape);
    if (Y.size() == 0) return;
    fast::NormRows job;
    job.x = job.y = Y.data<float>();
    job.gamma = in.gamma;
    job.beta = in.beta;
    job.D = in.E;
    job.rows = in.rows;
    job.epsilon = epsilon_;
    auto rows = [&](int64_t begin, int64_t end) {
      kSumRows(in, job.y, begin, end);
      kNormRows(job, begin, end);
    };
    // As for the other row-wise normalisations: a fork only pays for itself beyond about 64 K values.
    const int threads = ctx.intra_op_threads();
    if (threads <= 1 || in.rows < 2 || in.rows * in.E < (int64_t{1} << 16)) return rows(0, in.rows);
#pragma omp parallel num_threads(threads)
    {
      const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t per = (in.rows + n - 1) / n;
      rows(std::min(in.rows, t * per), std::min(in.rows, (t + 1) * per));
    }
  }

 private:
  float epsilon_;
};

std::unique_ptr<Kernel> create(const KernelInfo& info) {
  // Float tables and parameters; anything else is the reference kernel's to report.
  for (size_t i : {2, 3, 5})
    if (!fast::input_is_float(info, i)) return nullptr;
  return std::make_unique<FastEmbedLayerNormalization>(info);
}

}  // namespace

KESTREL_FAST_KERNEL(EmbedLayerNormalization, "ai.kestrel", 1, 1000, "float, int32, int64", 10, &create);

}  // namespace kestrel::cpu
