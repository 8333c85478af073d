// The oneDNN Conv (src/providers/cpu/dnnl/conv.cc) against the reference Conv on odd shapes: primes, size 1,
// empty batch, asymmetric pads, strides, dilations, groups, depthwise, 1-D/3-D, auto_pad, dynamic shapes,
// concurrency.
#include <gtest/gtest.h>

#include <thread>

#include "providers/cpu/fast/fast_vs_reference.h"

namespace kestrel {
namespace {

using testing::add_attr;
using testing::compare_fast_with_reference;
using testing::NodeInput;
using testing::pattern_tensor;

struct ConvCase {
  ConvCase(Shape x_, Shape w_, bool bias_ = true, std::vector<int64_t> strides_ = {},
           std::vector<int64_t> dilations_ = {}, std::vector<int64_t> pads_ = {}, int64_t group_ = 1,
           std::string auto_pad_ = {})
      : x(std::move(x_)),
        w(std::move(w_)),
        bias(bias_),
        strides(std::move(strides_)),
        dilations(std::move(dilations_)),
        pads(std::move(pads_)),
        group(group_),
        auto_pad(std::move(auto_pad_)) {}
  Shape x, w;
  bool bias;
  std::vector<int64_t> strides, dilations, pads;
  int64_t group;
  std::string auto_pad;
};

Tensor run_conv(const ConvCase& c, int opset = 11, bool dynamic = false) {
  std::vector<NodeInput> in{{"X", pattern_tensor(c.x, 1), false, dynamic},
                            {"W", pattern_tensor(c.w, 2), true}};
  if (c.bias) in.push_back({"B", pattern_tensor({c.w[0]}, 3), true});
  return compare_fast_with_reference(
      "Conv", in,
      [&](onnx::NodeProto& n) {
        if (!c.strides.empty()) add_attr(n, "strides", c.strides);
        if (!c.dilations.empty()) add_attr(n, "dilations", c.dilations);
        if (!c.pads.empty()) add_attr(n, "pads", c.pads);
        if (c.group != 1) add_attr(n, "group", c.group);
        if (!c.auto_pad.empty()) add_attr(n, "auto_pad", c.auto_pad);
      },
      opset);
}

TEST(FastConv, Plain3x3) { run_conv({{1, 3, 16, 16}, {8, 3, 3, 3}, true, {}, {}, {1, 1, 1, 1}}); }
TEST(FastConv, PrimesStridesDilationsAsymmetricPads) {
  run_conv({{2, 7, 13, 11}, {5, 7, 3, 3}, true, {2, 1}, {2, 1}, {1, 0, 2, 1}});
}
TEST(FastConv, NoBias) { run_conv({{1, 5, 9, 7}, {3, 5, 2, 3}, false, {1, 2}, {}, {}}); }
TEST(FastConv, StrideLargerThanKernel) {
  run_conv({{1, 4, 17, 19}, {6, 4, 2, 2}, true, {3, 3}, {}, {0, 1, 1, 0}});
}
TEST(FastConv, Groups) { run_conv({{1, 6, 10, 9}, {9, 2, 3, 3}, true, {}, {}, {1, 1, 1, 1}, 3}); }
TEST(FastConv, Depthwise) { run_conv({{1, 13, 15, 15}, {13, 1, 3, 3}, true, {2, 2}, {}, {1, 1, 1, 1}, 13}); }
TEST(FastConv, DepthwiseMultiplier) {
  run_conv({{2, 8, 7, 9}, {16, 1, 5, 5}, true, {}, {}, {2, 2, 2, 2}, 8});
}
TEST(FastConv, Pointwise) { run_conv({{1, 32, 7, 7}, {48, 32, 1, 1}}); }
TEST(FastConv, AllSizeOne) { run_conv({{1, 1, 1, 1}, {1, 1, 1, 1}}); }
TEST(FastConv, KernelCoversInput) { run_conv({{1, 3, 5, 5}, {4, 3, 5, 5}}); }
TEST(FastConv, OneD) { run_conv({{2, 4, 17}, {6, 4, 5}, true, {3}, {2}, {2, 1}}); }
TEST(FastConv, ThreeD) {
  run_conv({{1, 3, 5, 6, 7}, {4, 3, 2, 3, 3}, true, {1, 2, 1}, {}, {0, 1, 1, 1, 0, 1}});
}
TEST(FastConv, ThreeDGroupsDilations) {
  run_conv({{1, 4, 6, 7, 5}, {4, 2, 2, 2, 2}, true, {}, {2, 1, 2}, {}, 2});
}
TEST(FastConv, SameUpper) { run_conv({{1, 3, 11, 8}, {5, 3, 3, 4}, true, {2, 2}, {}, {}, 1, "SAME_UPPER"}); }
TEST(FastConv, SameLower) { run_conv({{1, 3, 11, 8}, {5, 3, 4, 3}, true, {2, 3}, {}, {}, 1, "SAME_LOWER"}); }
TEST(FastConv, Valid) { run_conv({{1, 3, 11, 8}, {5, 3, 3, 3}, true, {2, 2}, {}, {}, 1, "VALID"}); }
TEST(FastConv, Opset1) { run_conv({{1, 3, 8, 8}, {4, 3, 3, 3}, true, {}, {}, {1, 1, 1, 1}}, 1); }
TEST(FastConv, WideChannels) { run_conv({{1, 67, 9, 9}, {37, 67, 3, 3}, true, {}, {}, {1, 1, 1, 1}}); }

TEST(FastConv, EmptyBatch) {
  const Tensor y = run_conv({{0, 3, 8, 8}, {4, 3, 3, 3}, true, {}, {}, {1, 1, 1, 1}});
  EXPECT_EQ(y.shape(), (Shape{0, 4, 8, 8}));
}

TEST(FastConv, DynamicShapesCachePerShape) {
  const ConvCase c{{1, 3, 9, 9}, {4, 3, 3, 3}, true, {2, 2}, {}, {1, 1, 1, 1}};
  run_conv(c, 11, true);
  // One session, several input shapes in turn: each gets its own primitive; results stay right on revisits.
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 3, 9, 9}, 1), false, true},
                            {"W", pattern_tensor({4, 3, 3, 3}, 2), true},
                            {"B", pattern_tensor({4}, 3), true}};
  auto attrs = [](onnx::NodeProto& n) {
    add_attr(n, "strides", std::vector<int64_t>{2, 2});
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
  };
  const std::string bytes = testing::model_with_initializers("Conv", in, attrs, 11);
  Session ref = testing::make_session(bytes, true, 1), fast = testing::make_session(bytes, false, 2);
  for (const Shape& s : {Shape{1, 3, 9, 9}, Shape{2, 3, 14, 5}, Shape{1, 3, 9, 9}, Shape{3, 3, 1, 2}}) {
    const Feeds f{{"X", Value(pattern_tensor(s, 4))}};
    testing::expect_close(ref.run(f).at(0).tensor(), fast.run(f).at(0).tensor());
  }
}

TEST(FastConv, PackedAtCreationServesOtherBatches) {
  // A symbolic batch only: the weights are packed at creation for a batch of 1 and the model's copy freed, so
  // every other batch (its own primitive, possibly another weights layout) works from the packed copy.
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 5, 9, 7}, 1), false, false, true},
                            {"W", pattern_tensor({6, 5, 3, 3}, 2), true},
                            {"B", pattern_tensor({6}, 3), true}};
  auto attrs = [](onnx::NodeProto& n) { add_attr(n, "pads", std::vector<int64_t>{1, 0, 1, 2}); };
  const std::string bytes = testing::model_with_initializers("Conv", in, attrs, 11);
  for (int threads : {1, 2}) {
    Session ref = testing::make_session(bytes, true, 1), fast = testing::make_session(bytes, false, threads);
    for (int64_t batch : {1, 4, 1, 2}) {
      const Feeds f{{"X", Value(pattern_tensor({batch, 5, 9, 7}, 4))}};
      testing::expect_close(ref.run(f).at(0).tensor(), fast.run(f).at(0).tensor());
    }
  }
}

// 3x3 stride-1 convolutions with many output pixels or wide inputs run oneDNN's Winograd kernel on one thread and
// the direct one when split over two: both against the reference, with channel counts that are not multiples of
// the 16-float block.
TEST(FastConv, WinogradManyPixelsAsymmetricPads) {
  run_conv({{1, 20, 25, 21}, {24, 20, 3, 3}, true, {}, {}, {1, 0, 0, 1}});  // 24x20 outputs
}
TEST(FastConv, WinogradWideInputSmallMap) { run_conv({{2, 128, 7, 5}, {33, 128, 3, 3}, false, {}, {}, {1, 1, 1, 1}}); }

TEST(FastConv, WinogradPackedAtCreationServesOtherBatches) {
  // The Winograd weights are packed at creation for a batch of 1 and the model's copy freed; oneDNN makes no other
  // layout from them. One thread: every batch runs the one-image Winograd primitive once per image. Two threads: the
  // batch-1 convolution is too small to split (one thread, Winograd), larger batches are split, where the direct
  // kernel is preferred but cannot be made from the packed weights, so they stay Winograd.
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 16, 23, 19}, 1), false, false, true},
                            {"W", pattern_tensor({8, 16, 3, 3}, 2), true},
                            {"B", pattern_tensor({8}, 3), true}};
  auto attrs = [](onnx::NodeProto& n) { add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1}); };
  const std::string bytes = testing::model_with_initializers("Conv", in, attrs, 11);
  for (int threads : {1, 2}) {
    Session ref = testing::make_session(bytes, true, 1), fast = testing::make_session(bytes, false, threads);
    for (int64_t batch : {1, 3, 2, 1}) {
      const Feeds f{{"X", Value(pattern_tensor({batch, 16, 23, 19}, 4))}};
      testing::expect_close(ref.run(f).at(0).tensor(), fast.run(f).at(0).tensor());
    }
  }
}

TEST(FastConv, NoInputPixelsGivesTheBias) {
  // Every tap of a 1x1 kernel over a 0x0 input padded by 1 reads padding.
  const Tensor y = run_conv({{2, 3, 0, 0}, {4, 3, 1, 1}, true, {}, {}, {1, 1, 1, 1}});
  ASSERT_EQ(y.shape(), (Shape{2, 4, 2, 2}));
  const Tensor bias = pattern_tensor({4}, 3);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(y.data<float>()[i], bias.data<float>()[(i / 4) % 4]);
}

TEST(FastConv, ConcurrentRuns) {
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 8, 12, 12}, 1), false, true},
                            {"W", pattern_tensor({8, 1, 3, 3}, 2), true}};
  auto attrs = [](onnx::NodeProto& n) {
    add_attr(n, "group", int64_t{8});
    add_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
  };
  const std::string bytes = testing::model_with_initializers("Conv", in, attrs, 11);
  Session ref = testing::make_session(bytes, true, 1), fast = testing::make_session(bytes, false, 1);
  std::vector<Shape> shapes{{1, 8, 12, 12}, {2, 8, 5, 7}, {1, 8, 3, 3}, {1, 8, 12, 12}};
  std::vector<Tensor> expected;
  for (const Shape& s : shapes)
    expected.push_back(ref.run({{"X", Value(pattern_tensor(s, 5))}}).at(0).tensor());
  std::vector<std::thread> pool;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        const size_t i = static_cast<size_t>((t + rep) % 4);
        const Tensor y = fast.run({{"X", Value(pattern_tensor(shapes[i], 5))}}).at(0).tensor();
        const float* a = y.data<float>();
        const float* b = expected[i].data<float>();
        for (int64_t k = 0; k < y.size(); ++k)
          if (std::fabs(a[k] - b[k]) > 1e-4f * (1 + std::fabs(b[k]))) return;
      }
      ok[static_cast<size_t>(t)] = 1;
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

TEST(FastConv, ChannelMismatchIsAnError) {
  std::vector<NodeInput> in{{"X", pattern_tensor({1, 4, 5, 5}, 1), false, true},
                            {"W", pattern_tensor({2, 3, 3, 3}, 2), true}};
  const std::string bytes = testing::model_with_initializers("Conv", in, nullptr, 11);
  Session fast = testing::make_session(bytes, false, 1);
  EXPECT_THROW(fast.run(testing::feeds_of(in)), Error);
}

}  // namespace
}  // namespace kestrel
