// The inputs of ai.kestrel EmbedLayerNormalization, checked once for the reference and the fast kernel: shapes,
// element types, and every index resolved to a table row (negative indices count from the end, as Gather's
// do), so the row loops that follow cannot fail.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

struct EmbedInputs {
  int64_t rows = 0;  // B * S: one output row per input id
  int64_t E = 0;     // the embedding width
  int64_t out_shape[3] = {};  // [B, S, E]
  // The tables as bytes: they may be views on a model file's bytes at any offset
  // (runtime/unaligned_constants.h), so rows are read with memcpy or unaligned vector loads, never through a
  // float pointer. Row r of a table starts at r * E * sizeof(float).
  const unsigned char* word = nullptr;
  const unsigned char* position = nullptr;
  const unsigned char* segment = nullptr;  // null without segment_ids
  const float* gamma = nullptr;
  const float* beta = nullptr;  // null when omitted
  // Table row of each output row in the word, position and segment tables (per-thread storage that only grows,
  // so steady-state runs allocate nothing; valid until the thread reads another node's inputs).
  const int64_t* word_row = nullptr;
  const int64_t* position_row = nullptr;
  const int64_t* segment_row = nullptr;
};

namespace embed_detail {

inline int64_t index_at(const Tensor& ids, int64_t i) {
  return ids.type() == ElementType::kInt64 ? ids.data<int64_t>()[i] : ids.data<int32_t>()[i];
}

// rows[r] = the table row index `ids` gives output row r (r over B*S; ids of shape [B,S], or [1,S] / [S]
// repeating over the batch), checked against the table's row count.
inline void resolve(const KernelContext& ctx, const Tensor& ids, const char* what, int64_t table_rows,
                    int64_t B, int64_t S, std::vector<int64_t>& rows) {
  if (ids.type() != ElementType::kInt64 && ids.type() != ElementType::kInt32)
    ctx.fail(std::string(what) + " must be int32 or int64, got " + element_type_name(ids.type()));
  const int64_t batch_shape[] = {B, S}, one_shape[] = {1, S}, flat_shape[] = {S};
  const bool per_batch = std::ranges::equal(ids.shape(), batch_shape);
  if (!per_batch && !std::ranges::equal(ids.shape(), one_shape) && !std::ranges::equal(ids.shape(), flat_shape))
    ctx.fail(std::string(what) + " must have shape [" + std::to_string(B) + "," + std::to_string(S) + "], got " +
             shape_to_string(ids.shape()));
  if (rows.size() < static_cast<size_t>(B * S)) rows.resize(static_cast<size_t>(B * S));
  for (int64_t r = 0; r < B * S; ++r) {
    const int64_t idx = index_at(ids, per_batch ? r : r % S);
    if (idx < -table_rows || idx >= table_rows)
      ctx.fail(std::string(what) + " holds " + std::to_string(idx) + ", out of range [" +
               std::to_string(-table_rows) + ", " + std::to_string(table_rows - 1) + "]");
    rows[static_cast<size_t>(r)] = idx < 0 ? idx + table_rows : idx;
  }
}

inline const unsigned char* table(const KernelContext& ctx, const Tensor& t, const char* what, int64_t E) {
  if (t.type() != ElementType::kFloat || t.rank() != 2 || t.dim(1) != E)
    ctx.fail(std::string(what) + " must be a float [rows, " + std::to_string(E) + "] table, got tensor(" +
             element_type_name(t.type()) + ") " + shape_to_string(t.shape()));
  return static_cast<const unsigned char*>(t.raw_data());
}

}  // namespace embed_detail

// The table inputs (word, position, segment), read as bytes only (runtime::ReadsConstantBytes).
inline bool is_embed_table_input(size_t i) { return i == 2 || i == 3 || i == 4; }

// Inputs: 0 input_ids [B,S], 1 segment_ids (optional, [B,S]), 2 word_embedding [V,E], 3 position_embedding
// [P,E], 4 segment_embedding (with segment_ids), 5 gamma [E], 6 beta (optional, [E]), 7 position_ids
// (optional, [B,S], [1,S] or [S]; absent: 0..S-1).
inline EmbedInputs read_embed_inputs(const KernelContext& ctx) {
  using embed_detail::resolve;
  using embed_detail::table;
  EmbedInputs in;
  const Tensor& ids = ctx.input(0);
  const Tensor* segment_ids = ctx.optional_input(1);
  const Tensor& word = ctx.input(2);
  const Tensor& position = ctx.input(3);
  const Tensor* segment = ctx.optional_input(4);
  const Tensor& gamma = ctx.input(5);
  const Tensor* beta = ctx.optional_input(6);
  const Tensor* position_ids = ctx.optional_input(7);
  if (ids.rank() != 2) ctx.fail("input_ids must have rank 2 [batch, sequence], got " + shape_to_string(ids.shape()));
  if (!segment_ids != !segment) ctx.fail("segment_ids and segment_embedding come together");
  if (gamma.type() != ElementType::kFloat || gamma.rank() != 1)
    ctx.fail("gamma must be a 1-D float tensor, got " + shape_to_string(gamma.shape()));
  in.E = gamma.dim(0);
  if (beta && (beta->type() != ElementType::kFloat || beta->shape() != gamma.shape()))
    ctx.fail("beta must be float with gamma's shape " + shape_to_string(gamma.shape()));
  const int64_t B = ids.dim(0), S = ids.dim(1);
  in.rows = B * S;
  in.out_shape[0] = B;
  in.out_shape[1] = S;
  in.out_shape[2] = in.E;
  thread_local std::vector<int64_t> word_row, position_row, segment_row;
  in.word = table(ctx, word, "word_embedding", in.E);
  in.position = table(ctx, position, "position_embedding", in.E);
  in.gamma = gamma.data<float>();
  in.beta = beta ? beta->data<float>() : nullptr;
  resolve(ctx, ids, "input_ids", word.dim(0), B, S, word_row);
  in.word_row = word_row.data();
  if (segment) {
    in.segment = table(ctx, *segment, "segment_embedding", in.E);
    if (segment_ids->shape() != ids.shape())
      ctx.fail("segment_ids must have input_ids' shape " + shape_to_string(ids.shape()) + ", got " +
               shape_to_string(segment_ids->shape()));
    resolve(ctx, *segment_ids, "segment_ids", segment->dim(0), B, S, segment_row);
    in.segment_row = segment_row.data();
  }
  if (position_ids) {
    resolve(ctx, *position_ids, "position_ids", position.dim(0), B, S, position_row);
  } else {
    if (S > position.dim(0))
      ctx.fail("sequence length " + std::to_string(S) + " exceeds the " + std::to_string(position.dim(0)) +
               " rows of position_embedding");
    if (position_row.size() < static_cast<size_t>(in.rows)) position_row.resize(static_cast<size_t>(in.rows));
    for (int64_t r = 0; r < in.rows; ++r) position_row[static_cast<size_t>(r)] = r % S;
  }
  in.position_row = position_row.data();
  return in;
}

}  // namespace kestrel::cpu
