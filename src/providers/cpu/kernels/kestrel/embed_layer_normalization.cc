// EmbedLayerNormalization (ai.kestrel, v1): the input layer of BERT-style encoders. Each output row is
// LayerNorm(word_embedding[input_ids] + position_embedding[position_ids] + segment_embedding[segment_ids]) over
// its E values, with gamma and optional beta; position_ids default to 0..S-1. Inputs and checks in
// embed_inputs.h; made by fuse_embed_layer_norm; float tables, int32/int64 indices.
#include "providers/cpu/kernels/kestrel/embed_inputs.h"
#include "providers/cpu/kernels/kestrel/layer_norm_rows.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

class EmbedLayerNormalization final : public Kernel {
 public:
  explicit EmbedLayerNormalization(const KernelInfo& info) : epsilon_(info.attr_float("epsilon", 1e-12f)) {}

  void compute(KernelContext& ctx) const override {
    const EmbedInputs in = read_embed_inputs(ctx);
    Tensor& Y = ctx.allocate_output_dims(0, ElementType::kFloat, in.out_shape);
    std::vector<float> sum(static_cast<size_t>(in.E));
    for (int64_t r = 0; r < in.rows; ++r) {
      const size_t k = static_cast<size_t>(r);
      const float* w = in.word + in.word_row[k] * in.E;
      const float* p = in.position + in.position_row[k] * in.E;
      const float* s = in.segment ? in.segment + in.segment_row[k] * in.E : nullptr;
      // The exporters' order: (word + position) + segment.
      for (int64_t i = 0; i < in.E; ++i) sum[static_cast<size_t>(i)] = (w[i] + p[i]) + (s ? s[i] : 0.0f);
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
