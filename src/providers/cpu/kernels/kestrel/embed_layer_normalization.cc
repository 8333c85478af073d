// EmbedLayerNormalization (ai.kestrel, v1): the input layer of BERT-style encoders. Each output row is
// LayerNorm(word_embedding[input_ids] + position_embedding[position_ids] + segment_embedding[segment_ids]) over
// its E values, with gamma and optional beta; position_ids default to 0..S-1. Inputs and checks in
// embed_inputs.h; made by fuse_embed_layer_norm; float tables, int32/int64 indices.
#include <cstring>

#include "providers/cpu/kernels/kestrel/embed_inputs.h"
#include "providers/cpu/kernels/kestrel/layer_norm_rows.h"
#include "runtime/kernel_registry.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {
namespace {

class EmbedLayerNormalization final : public Kernel, public runtime::ReadsConstantBytes {
 public:
  explicit EmbedLayerNormalization(const KernelInfo& info) : epsilon_(info.attr_float("epsilon", 1e-12f)) {}

  bool reads_constant_bytes(size_t input) const override { return is_embed_table_input(input); }

  void compute(KernelContext& ctx) const override {
    const EmbedInputs in = read_embed_inputs(ctx);
    Tensor& Y = ctx.allocate_output_dims(0, ElementType::kFloat, in.out_shape);
    const size_t E = static_cast<size_t>(in.E), row_bytes = E * sizeof(float);
    std::vector<float> sum(E), w(E), p(E), s(E, 0.0f);
    for (int64_t r = 0; r < in.rows; ++r) {
      const size_t k = static_cast<size_t>(r);
      std::memcpy(w.data(), in.word + static_cast<size_t>(in.word_row[k]) * row_bytes, row_bytes);
      std::memcpy(p.data(), in.position + static_cast<size_t>(in.position_row[k]) * row_bytes, row_bytes);
      if (in.segment)
        std::memcpy(s.data(), in.segment + static_cast<size_t>(in.segment_row[k]) * row_bytes, row_bytes);
      // The exporters' order: (word + position) + segment.
      for (size_t i = 0; i < E; ++i) sum[i] = (w[i] + p[i]) + s[i];
      layer_norm_row(sum.data(), Y.data<float>() + r * in.E, in.E, in.gamma, in.beta, epsilon_);
    }
  }

 private:
  float epsilon_;
};

}  // namespace

KESTREL_KERNEL(EmbedLayerNormalization, "ai.kestrel", 1, 1000, "float, int32, int64",
               make_kernel<EmbedLayerNormalization>());

}  // namespace kestrel::cpu
