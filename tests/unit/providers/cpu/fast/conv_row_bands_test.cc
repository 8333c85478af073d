// Channels-last convolutions split into row bands (src/providers/cpu/dnnl/conv_row_bands.h): the band
// geometry against the definition of a forward window, and banded Winograd FusedConvs (teams of 2 to 4: as
// many bands per image) against the reference kernel and against the one-thread path (one band: the whole
// image) on odd heights, asymmetric pads, residuals, batches and shapes seen only at run time.
#include "providers/cpu/dnnl/conv_row_bands.h"

#include <gtest/gtest.h>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using cpu::dnnl_backend::RowBand;
using cpu::dnnl_backend::split_rows;
using testing::add_attr;
using testing::NodeInput;
using testing::pattern_tensor;

// Every tap of every output row reads, through its band, the same input row (or padding) as through the whole
// convolution; the bands tile the output rows in order with sizes at most one apart.
TEST(ConvRowBands, SplitReadsWhatTheWholeWindowReads) {
  int checked = 0;
  for (int64_t in_rows : {1, 2, 5, 7, 13, 56})
    for (int64_t kernel : {1, 3, 5})
      for (int64_t stride : {1, 2, 3})
        for (int64_t dilation : {1, 2})
          for (int64_t pad_begin : {0, 1, 2})
            for (int64_t pad_end : {0, 1, 3}) {
              const int64_t span = (kernel - 1) * dilation + 1;
              if (in_rows + pad_begin + pad_end < span) continue;
              const int64_t out_rows = (in_rows + pad_begin + pad_end - span) / stride + 1;
              for (int64_t bands : {1, 2, 3, 4, 7}) {
                SCOPED_TRACE("in " + std::to_string(in_rows) + " kernel " + std::to_string(kernel) +
                             " stride " + std::to_string(stride) + " dilation " + std::to_string(dilation) +
                             " pads " + std::to_string(pad_begin) + "," + std::to_string(pad_end) +
                             " bands " + std::to_string(bands));
                const std::vector<RowBand> split =
                    split_rows(in_rows, out_rows, kernel, stride, dilation, pad_begin, bands);
                if (split.empty()) {
                  // Only when there are fewer rows than bands, or some band would read padding alone.
                  bool padding_only = false;
                  for (int64_t b = 0; b < bands && out_rows >= bands; ++b) {
                    const int64_t o0 = out_rows * b / bands, o1 = out_rows * (b + 1) / bands;
                    const int64_t first = o0 * stride - pad_begin,
                                  last = (o1 - 1) * stride - pad_begin + span - 1;
                    padding_only |= last < 0 || first >= in_rows;
                  }
                  EXPECT_TRUE(out_rows < bands || padding_only);
                  continue;
                }
                ASSERT_EQ(static_cast<int64_t>(split.size()), bands);
                int64_t next = 0;
                for (const RowBand& r : split) {
                  ASSERT_EQ(r.out_begin, next);
                  next = r.out_end;
                  const int64_t rows = r.out_end - r.out_begin;
                  EXPECT_GE(rows, out_rows / bands);
                  EXPECT_LE(rows, out_rows / bands + 1);
                  ASSERT_GE(r.in_begin, 0);
                  ASSERT_LE(r.in_end, in_rows);
                  ASSERT_LT(r.in_begin, r.in_end);
                  ASSERT_GE(r.pad_begin, 0);
                  ASSERT_GE(r.pad_end, 0);
                  // The band as a convolution of its own: its padded input gives exactly its output rows.
                  const int64_t padded = r.pad_begin + (r.in_end - r.in_begin) + r.pad_end;
                  ASSERT_EQ(padded, (rows - 1) * stride + span);
                  for (int64_t o = r.out_begin; o < r.out_end; ++o)
                    for (int64_t j = 0; j < kernel; ++j) {
                      const int64_t whole = o * stride - pad_begin + j * dilation;  // row read, or padding
                      const int64_t local = (o - r.out_begin) * stride + j * dilation - r.pad_begin;
                      const bool whole_real = whole >= 0 && whole < in_rows;
                      const bool local_real = local >= 0 && local < r.in_end - r.in_begin;
                      ASSERT_EQ(whole_real, local_real) << "output row " << o << " tap " << j;
                      if (whole_real) {
                        ASSERT_EQ(r.in_begin + local, whole);
                      }
                    }
                }
                ASSERT_EQ(next, out_rows);
                ++checked;
              }
            }
  EXPECT_GT(checked, 1000);
}

TEST(ConvRowBands, FewerRowsThanBandsIsNoSplit) {
  EXPECT_TRUE(split_rows(3, 3, 3, 1, 1, 1, 4).empty());
  EXPECT_EQ(split_rows(3, 3, 3, 1, 1, 1, 3).size(), 3u);
}

TEST(ConvRowBands, BandInPaddingAloneIsNoSplit) {
  // A 1x1 window over 2 rows padded by 3 on top: the first output rows read padding only.
  EXPECT_TRUE(split_rows(2, 5, 1, 1, 1, 3, 2).empty());
}

// A channels-last FusedConv through testing::compare_teams: at one thread the whole image runs on one
// Winograd primitive, at teams of 2 to 4 one per band.
void compare_teams(const std::vector<NodeInput>& inputs, const std::function<void(onnx::NodeProto&)>& attrs,
                   const std::vector<Feeds>& runs) {
  testing::compare_teams(
      "FusedConv", inputs,
      [&](onnx::NodeProto& n) {
        add_attr(n, "channels_last", int64_t{1});
        attrs(n);
      },
      runs);
}

std::function<void(onnx::NodeProto&)> conv_attrs(std::vector<int64_t> pads, const std::string& activation,
                                                 std::function<void(onnx::NodeProto&)> more = nullptr) {
  return [=](onnx::NodeProto& n) {
    add_attr(n, "pads", pads);
    if (!activation.empty()) add_attr(n, "activation", activation);
    if (more) more(n);
  };
}

// Shapes large enough for a team (over 2^20 multiply-adds) and for Winograd in every band of up to four (at
// least 320 outputs a band, or 128 input channels), with Relu, which oneDNN's Winograd kernels take as a
// post-op. 41 rows: bands of 20/21, 13/14/14 and 10/10/10/11 rows.
TEST(ConvRowBands, OddHeightSymmetricPads) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 41, 41, 20}, 1)},
                                  {"W", pattern_tensor({24, 20, 3, 3}, 2), true},
                                  {"B", pattern_tensor({24}, 3), true}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), {testing::feeds_of(in)});
}

TEST(ConvRowBands, AsymmetricPads) {
  // pads are [top, left, bottom, right]: only the top band pads above, only the bottom band below.
  for (const std::vector<int64_t>& pads :
       {std::vector<int64_t>{0, 1, 1, 0}, std::vector<int64_t>{1, 0, 0, 1}, std::vector<int64_t>{0, 0, 0, 0},
        std::vector<int64_t>{2, 1, 0, 2}}) {
    SCOPED_TRACE("pads " + std::to_string(pads[0]) + "," + std::to_string(pads[1]) + "," +
                 std::to_string(pads[2]) + "," + std::to_string(pads[3]));
    const std::vector<NodeInput> in{{"X", pattern_tensor({1, 37, 53, 19}, 1)},
                                    {"W", pattern_tensor({21, 19, 3, 3}, 2), true},
                                    {"B", pattern_tensor({21}, 3), true}};
    compare_teams(in, conv_attrs(pads, "Relu"), {testing::feeds_of(in)});
  }
}

TEST(ConvRowBands, NoBias) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 29, 59, 17}, 1)},
                                  {"W", pattern_tensor({19, 17, 3, 3}, 2), true}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, ""), {testing::feeds_of(in)});
}

TEST(ConvRowBands, SameShapeResidual) {  // the sum post-op reads each band's residual rows
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 33, 51, 16}, 1)},
                                  {"W", pattern_tensor({16, 16, 3, 3}, 2), true},
                                  {"B", pattern_tensor({16}, 3), true},
                                  {"Z", pattern_tensor({1, 33, 51, 16}, 4)}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), {testing::feeds_of(in)});
}

TEST(ConvRowBands, BroadcastResidualAndSilu) {  // applied after the bands
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 31, 60, 24}, 1)},
                                  {"W", pattern_tensor({17, 24, 3, 3}, 2), true},
                                  {"B", pattern_tensor({17}, 3), true},
                                  {"Z", pattern_tensor({1, 1, 1, 17}, 4)}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), {testing::feeds_of(in)});
  const std::vector<NodeInput> plain{in[0], in[1], in[2]};
  compare_teams(plain, conv_attrs({1, 1, 1, 1}, "Silu"), {testing::feeds_of(plain)});
}

// Post-ops a Winograd kernel does not take (Clip, an affine map after the activation): every team runs the
// direct kernel on the whole tensors instead.
TEST(ConvRowBands, PostOpsWithoutWinogradRunDirect) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 31, 60, 24}, 1)},
                                  {"W", pattern_tensor({17, 24, 3, 3}, 2), true},
                                  {"B", pattern_tensor({17}, 3), true}};
  compare_teams(in,
                conv_attrs({1, 1, 1, 1}, "Clip",
                           [](onnx::NodeProto& n) {
                             add_attr(n, "activation_params", std::vector<float>{0.0f, 6.0f});
                           }),
                {testing::feeds_of(in)});
  compare_teams(in,
                conv_attrs({1, 1, 1, 1}, "Relu",
                           [](onnx::NodeProto& n) {
                             add_attr(n, "activation_scale", 0.5f);
                             add_attr(n, "activation_shift", -0.25f);
                           }),
                {testing::feeds_of(in)});
}

// squeezenet1_1's 27x27 expand convolution: two bands of 13 and 14 rows (351 and 378 outputs) run Winograd,
// three or four bands of 9 or fewer rows the direct kernel.
TEST(ConvRowBands, SqueezenetExpandShape) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 27, 27, 32}, 1)},
                                  {"W", pattern_tensor({128, 32, 3, 3}, 2), true},
                                  {"B", pattern_tensor({128}, 3), true}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), {testing::feeds_of(in)});
}

TEST(ConvRowBands, WideInputFewRows) {  // 9 rows over 4 bands: 2, 2, 2 and 3 rows, each band mostly halo
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 9, 7, 130}, 1)},
                                  {"W", pattern_tensor({20, 130, 3, 3}, 2), true},
                                  {"B", pattern_tensor({20}, 3), true}};
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), {testing::feeds_of(in)});
}

// The weights are packed at creation for the declared batch of 1 and the model's copy freed; other batches
// then run every image's bands from that one layout.
TEST(ConvRowBands, BatchesFromWeightsPackedAtCreation) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 30, 60, 18}, 1), false, false, true},
                                  {"W", pattern_tensor({18, 18, 3, 3}, 2), true},
                                  {"B", pattern_tensor({18}, 3), true},
                                  {"Z", pattern_tensor({1, 30, 60, 18}, 4), false, false, true}};
  std::vector<Feeds> runs;
  for (int64_t batch : {1, 3, 2, 1})
    runs.push_back({{"X", Value(pattern_tensor({batch, 30, 60, 18}, 5))},
                    {"Z", Value(pattern_tensor({batch, 30, 60, 18}, 6))}});
  compare_teams(in, conv_attrs({1, 1, 1, 1}, "Relu"), runs);
}

// Shapes known only at run time: each one's bands are made then, all from the same packed weights when their
// layouts agree (else the direct kernel runs).
TEST(ConvRowBands, ShapesSeenAtRunTime) {
  const std::vector<NodeInput> in{{"X", pattern_tensor({1, 41, 41, 20}, 1), false, true},
                                  {"W", pattern_tensor({24, 20, 3, 3}, 2), true},
                                  {"B", pattern_tensor({24}, 3), true}};
  std::vector<Feeds> runs;
  for (const Shape& s :
       {Shape{1, 41, 41, 20}, Shape{1, 28, 64, 20}, Shape{2, 57, 33, 20}, Shape{1, 41, 41, 20}})
    runs.push_back({{"X", Value(pattern_tensor(s, 7))}});
  compare_teams(in, conv_attrs({1, 1, 1, 1}, ""), runs);
}

}  // namespace
}  // namespace kestrel
