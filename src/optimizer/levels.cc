// Which rules run at which optimization level, and the driver that applies them.
#include <algorithm>

#include "optimizer/optimizer.h"

namespace kestrel::optimizer {

// Declared by the rule files (one rule per file, named after it).
void propagate_shapes(ir::Graph& graph);  // propagate_shapes.cc: not a rule, run before each round
int eliminate_identity(ir::Graph& graph);
int eliminate_dropout(ir::Graph& graph);
int eliminate_noop_ops(ir::Graph& graph);
int constant_folding(ir::Graph& graph);
int fold_shape(ir::Graph& graph);
int fold_reshape_shape(ir::Graph& graph);
int eliminate_common_subexpressions(ir::Graph& graph);
int transpose_to_reshape(ir::Graph& graph);
int merge_reshape_chain(ir::Graph& graph);
int fuse_conv_batchnorm(ir::Graph& graph);
int fuse_conv_add_mul(ir::Graph& graph);
int fuse_conv_transpose_affine(ir::Graph& graph);
int eliminate_dead_nodes(ir::Graph& graph);
int fuse_gelu(ir::Graph& graph);
int fuse_layer_norm(ir::Graph& graph);
int fuse_embed_layer_norm(ir::Graph& graph);
int fuse_skip_layer_norm(ir::Graph& graph);
int fuse_attention(ir::Graph& graph);
int fuse_matmul_scale(ir::Graph& graph);
int fuse_matmul_bias(ir::Graph& graph);
int fuse_matmul_activation(ir::Graph& graph);
int fuse_conv_activation(ir::Graph& graph);
int fuse_conv_output_affine(ir::Graph& graph);
int fuse_dynamic_quantize_matmul(ir::Graph& graph);
int fuse_qdq_conv(ir::Graph& graph);
int fuse_qdq_conv_transpose(ir::Graph& graph);
int fuse_qdq_matmul(ir::Graph& graph);
int fuse_qdq_gemm(ir::Graph& graph);
int eliminate_relu_before_quantize(ir::Graph& graph);
int fuse_quantized_lookup(ir::Graph& graph);
int fuse_dequantize_lookup(ir::Graph& graph);
int fuse_qdq_binary(ir::Graph& graph);
int fuse_qdq_global_average_pool(ir::Graph& graph);
int fuse_qdq_data_movement(ir::Graph& graph);
int fold_weight_dequantize(ir::Graph& graph);
int layout_nhwc(ir::Graph& graph);
int int8_activations_to_uint8(ir::Graph& graph);
int fuse_lookup_into_conv(ir::Graph& graph);
int fuse_inverted_residual(ir::Graph& graph);

const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      // Basic (1): semantics-preserving, provider-independent.
      {"eliminate_identity", 1, eliminate_identity},
      {"eliminate_dropout", 1, eliminate_dropout},
      {"constant_folding", 1, constant_folding},
      {"fold_shape", 1, fold_shape},
      {"fold_reshape_shape", 1, fold_reshape_shape},
      {"eliminate_noop_ops", 1, eliminate_noop_ops},
      {"eliminate_common_subexpressions", 1, eliminate_common_subexpressions},
      // before merge_reshape_chain, which merges its Reshape
      {"transpose_to_reshape", 1, transpose_to_reshape},
      {"merge_reshape_chain", 1, merge_reshape_chain},
      {"fuse_conv_batchnorm", 1, fuse_conv_batchnorm},
      {"fuse_conv_add_mul", 1, fuse_conv_add_mul},
      {"fuse_conv_transpose_affine", 1, fuse_conv_transpose_affine},
      {"eliminate_dead_nodes", 1, eliminate_dead_nodes},
      // Extended (2): fusions into ai.kestrel ops (docs/optimizer.md) or standard ops where they exist.
      // The QDQ groups and the dynamic-quantization chains first, before the float fusions below take their
      // Conv/MatMul apart (fuse_attention reads the DynamicQuantizeMatMul projections; fuse_matmul_scale would
      // otherwise fold the score scale first).
      {"fuse_qdq_conv", 2, fuse_qdq_conv},
      {"fuse_qdq_conv_transpose", 2, fuse_qdq_conv_transpose},
      {"fuse_qdq_matmul", 2, fuse_qdq_matmul},
      {"fuse_qdq_gemm", 2, fuse_qdq_gemm},  // before fold_weight_dequantize turns its int8 weights to float
      {"fuse_dynamic_quantize_matmul", 2, fuse_dynamic_quantize_matmul},
      {"eliminate_relu_before_quantize", 2, eliminate_relu_before_quantize},
      {"fuse_quantized_lookup", 2, fuse_quantized_lookup},  // after the int8 Conv/MatMul groups took their Qs
      {"fuse_qdq_binary", 2, fuse_qdq_binary},  // after the lookups took SiLU's Mul whole
      {"fuse_qdq_global_average_pool", 2, fuse_qdq_global_average_pool},
      {"fuse_qdq_data_movement", 2, fuse_qdq_data_movement},
      {"fuse_gelu", 2, fuse_gelu},
      {"fuse_layer_norm", 2, fuse_layer_norm},
      {"fuse_embed_layer_norm", 2, fuse_embed_layer_norm},  // before fuse_skip_layer_norm takes its last Add
      {"fuse_skip_layer_norm", 2, fuse_skip_layer_norm},
      {"fuse_attention", 2, fuse_attention},
      {"fuse_matmul_scale", 2, fuse_matmul_scale},
      {"fuse_matmul_bias", 2, fuse_matmul_bias},
      {"fuse_matmul_activation", 2, fuse_matmul_activation},
      {"fuse_conv_activation", 2, fuse_conv_activation},
      {"fold_weight_dequantize", 2, fold_weight_dequantize},
      {"fuse_conv_output_affine", 2, fuse_conv_output_affine},
      // Layout (3): run once the rules above have nothing left to do, so they match the model's own layout;
      // the rules above then run again over the rewritten graph (folding, dead nodes).
      {"layout_nhwc", 3, layout_nhwc},
      // After the layout pass has moved its Transposes through the quantized ops, so that whole int8 chains
      // change type together.
      {"int8_activations_to_uint8", 3, int8_activations_to_uint8},
      {"fuse_lookup_into_conv", 3, fuse_lookup_into_conv},  // on channels-last convolutions, with final types
      // on the channels-last FusedConvs layout_nhwc made
      {"fuse_inverted_residual", 3, fuse_inverted_residual},
      // last, so that every int8 rule above has taken its DequantizeLinears first
      {"fuse_dequantize_lookup", 3, fuse_dequantize_lookup},
  };
  return kRules;
}

std::vector<RuleReport> optimize(ir::Graph& graph, int level) {
  std::vector<RuleReport> reports;
  for (const Rule& rule : rules()) reports.push_back({rule.name, 0});
  if (level <= 0) return reports;
  constexpr int kLayoutLevel = 3;
  // A few rounds let one rule's rewrite expose another's pattern; each round that changes nothing ends it.
  auto run_rounds = [&](int max_level) {
    for (int round = 0; round < 6; ++round) {
      int changed = 0;
      propagate_shapes(graph);
      for (size_t i = 0; i < rules().size(); ++i) {
        const Rule& rule = rules()[i];
        if (rule.min_level > max_level) continue;
        int fired = rule.apply(graph);
        reports[i].fired += fired;
        changed += fired;
      }
      if (changed == 0) break;
    }
  };
  run_rounds(std::min(level, kLayoutLevel - 1));
  if (level < kLayoutLevel) return reports;
  int changed = 0;
  propagate_shapes(graph);
  for (size_t i = 0; i < rules().size(); ++i) {
    if (rules()[i].min_level < kLayoutLevel || rules()[i].min_level > level) continue;
    const int fired = rules()[i].apply(graph);
    reports[i].fired += fired;
    changed += fired;
  }
  if (changed) run_rounds(kLayoutLevel - 1);
  return reports;
}

}  // namespace kestrel::optimizer
