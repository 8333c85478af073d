// The memory plan's parts (src/runtime/memory_plan.cc): packing never lets buffers that live at once share a
// byte (a property test over random lifetimes, with and without an ordering of steps), the recorder turns a
// run's allocations and releases into a plan, the block refuses a region while one sharing its bytes is still
// referenced, and the cache keeps the plans of the signatures used last.
#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace kestrel::runtime {
namespace {

size_t padded(size_t bytes) { return std::max<size_t>(64, (bytes + 63) / 64 * 64); }

bool lifetimes_overlap(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

bool bytes_overlap(const BufferLayout& layout, const std::vector<BufferLifetime>& buffers, size_t i,
                   size_t j) {
  return layout.offsets[i] < layout.offsets[j] + padded(buffers[j].bytes) &&
         layout.offsets[j] < layout.offsets[i] + padded(buffers[i].bytes);
}

std::vector<BufferLifetime> random_buffers(std::mt19937& rng, size_t n, int steps) {
  std::uniform_int_distribution<int> step(0, steps - 1);
  std::uniform_int_distribution<int> length(0, 6);
  std::uniform_int_distribution<size_t> bytes(0, 1 << 16);
  std::vector<BufferLifetime> buffers;
  for (size_t i = 0; i < n; ++i) {
    const int first = step(rng);
    buffers.push_back({bytes(rng), first, std::min(steps - 1, first + length(rng))});
  }
  return buffers;
}

TEST(PackBuffers, BuffersAliveTogetherNeverShareMemory) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    const std::vector<BufferLifetime> buffers =
        random_buffers(rng, 1 + seed % 60, 1 + static_cast<int>(seed % 25));
    const BufferLayout layout = pack_buffers(buffers);
    ASSERT_EQ(layout.offsets.size(), buffers.size());
    size_t total = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      total += padded(buffers[i].bytes);
      EXPECT_EQ(layout.offsets[i] % kPlanAlignment, 0u);
      EXPECT_LE(layout.offsets[i] + padded(buffers[i].bytes), layout.size) << "seed " << seed;
      for (size_t j = i + 1; j < buffers.size(); ++j) {
        if (!lifetimes_overlap(buffers[i], buffers[j])) continue;
        ASSERT_FALSE(bytes_overlap(layout, buffers, i, j))
            << "seed " << seed << ", buffers " << i << " " << j;
      }
    }
    // Never more than separate buffers, never less than the bytes alive at the busiest step.
    EXPECT_LE(layout.size, total);
    for (int s = 0; s < 25; ++s) {
      size_t alive = 0;
      for (const BufferLifetime& b : buffers)
        if (b.first_step <= s && s <= b.last_step) alive += padded(b.bytes);
      EXPECT_GE(layout.size, alive) << "seed " << seed << ", step " << s;
    }
  }
}

TEST(PackBuffers, ReusesMemoryOfBuffersThatAreGone) {
  // A chain a -> b -> c of equal sizes: a is gone when c is made, so c takes a's bytes.
  const std::vector<BufferLifetime> chain = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  const BufferLayout layout = pack_buffers(chain);
  EXPECT_EQ(layout.size, 2 * padded(1000));
  EXPECT_EQ(layout.offsets[0], layout.offsets[2]);
  EXPECT_TRUE(pack_buffers(std::vector<BufferLifetime>{}).offsets.empty());
}

TEST(PackBuffers, BestFitTakesTheSmallestGapThatHolds) {
  // Placed largest first: [big 0..4096) [mid 4096..6144) [small 6144..7168). The last one (1 KiB, steps 5-9)
  // lives with the big and the small one but after the mid one: it goes into the mid one's bytes, not past
  // the end.
  const std::vector<BufferLifetime> buffers = {{4096, 0, 9}, {2048, 0, 4}, {1024, 0, 9}, {1024, 5, 9}};
  const BufferLayout layout = pack_buffers(buffers);
  EXPECT_EQ(layout.offsets[3], layout.offsets[1]);
  EXPECT_EQ(layout.size, 4096u + 2048u + 1024u);
}

TEST(PackBuffers, UnorderedBuffersNeverShareMemory) {
  // With an ordering (the parallel executor's step dependencies), disjoint lifetimes share bytes only when
  // the ordering allows it. A random "finishes before" relation: buffer pairs it does not allow must not
  // overlap.
  for (unsigned seed = 1; seed <= 100; ++seed) {
    std::mt19937 rng(seed);
    const std::vector<BufferLifetime> buffers = random_buffers(rng, 40, 20);
    std::vector<std::vector<char>> allowed(buffers.size(), std::vector<char>(buffers.size()));
    std::bernoulli_distribution coin(0.5);
    for (auto& row : allowed)
      for (char& c : row) c = coin(rng);
    const BufferLayout layout =
        pack_buffers(buffers, [&](size_t earlier, size_t later) { return allowed[earlier][later] != 0; });
    for (size_t i = 0; i < buffers.size(); ++i)
      for (size_t j = 0; j < buffers.size(); ++j) {
        if (i == j || !bytes_overlap(layout, buffers, i, j)) continue;
        ASSERT_FALSE(lifetimes_overlap(buffers[i], buffers[j])) << "seed " << seed;
        const bool i_first = buffers[i].last_step < buffers[j].first_step;
        ASSERT_TRUE(i_first ? allowed[i][j] : allowed[j][i])
            << "seed " << seed << ", buffers " << i << " " << j;
      }
  }
}

// Records a run of three steps: step 0 makes a (gone after step 1) and an output kept past the run, step 1
// makes b (gone after step 2), step 2 makes c (gone after step 2).
std::shared_ptr<const MemoryPlan> recorded_plan() {
  auto recorder = std::make_shared<MemoryRecorder>();
  auto block = [](size_t bytes) { return std::shared_ptr<void>(std::malloc(bytes), std::free); };
  recorder->set_step(0);
  auto a = recorder->record(0, 4000, block(4000));
  auto out = recorder->record(0, 100, block(100));
  recorder->set_step(1);
  auto b = recorder->record(1, 4000, block(4000));
  a.reset();
  recorder->set_step(2);
  auto c = recorder->record(2, 3000, block(3000));
  b.reset();
  c.reset();
  auto plan = recorder->finish(3);
  out.reset();  // after the recording: not the plan's
  return plan;
}

TEST(MemoryRecorder, MakesThePlanOfTheRun) {
  const auto plan = recorded_plan();
  ASSERT_EQ(plan->step_requests, (std::vector<int>{0, 2, 3, 4}));
  // Step 0's second request (the kept output) is the arena's.
  EXPECT_EQ(plan->request_buffer[1], -1);
  ASSERT_EQ(plan->buffers.size(), 3u);
  const int a = plan->request_buffer[0], b = plan->request_buffer[2], c = plan->request_buffer[3];
  EXPECT_EQ(plan->offset[a], plan->offset[c]);  // a is gone (after step 1) before c is made (step 2)
  EXPECT_NE(plan->offset[a], plan->offset[b]);
  EXPECT_EQ(plan->block_bytes, 2 * padded(4000));
  EXPECT_EQ(plan->tensor_bytes, 2 * padded(4000) + padded(3000));
}

TEST(PlannedBlock, HandsOutRegionsOnlyWhenTheirBytesAreFree) {
  const auto plan = recorded_plan();
  auto block = std::make_shared<PlannedBlock>(plan->block_bytes, plan->buffers.size());
  auto a = block->take(*plan, 0, 0, 4000, true);
  ASSERT_TRUE(a);
  for (size_t i = 0; i < 4000; ++i) ASSERT_EQ(static_cast<const char*>(a.get())[i], 0);
  std::memset(a.get(), 7, 4000);
  EXPECT_FALSE(block->take(*plan, 0, 1, 100, true)) << "the arena serves step 0's second request";
  auto b = block->take(*plan, 1, 0, 4000, false);
  ASSERT_TRUE(b);
  EXPECT_NE(a.get(), b.get());
  // c shares a's bytes: refused while a is referenced (a run that kept a longer than the recorded one did).
  EXPECT_FALSE(block->take(*plan, 2, 0, 3000, false));
  EXPECT_TRUE(block->in_use());
  void* where = a.get();
  a.reset();
  auto c = block->take(*plan, 2, 0, 3000, false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c.get(), where);
  EXPECT_FALSE(block->take(*plan, 2, 0, 3000, false)) << "the same region twice";
  EXPECT_FALSE(block->take(*plan, 1, 0, 5000, false)) << "more bytes than planned";
  EXPECT_FALSE(block->take(*plan, 1, 1, 10, false)) << "a request the plan never saw";
  EXPECT_FALSE(block->take(*plan, 7, 0, 10, false)) << "a step past the plan";
  b.reset();
  c.reset();
  EXPECT_FALSE(block->in_use());
}

TEST(PlannedBlock, RegionsOutliveTheirFrame) {
  const auto plan = recorded_plan();
  auto block = std::make_shared<PlannedBlock>(plan->block_bytes, plan->buffers.size());
  auto a = block->take(*plan, 0, 0, 4000, false);
  block.reset();  // the frame lets go: the tensor keeps the memory
  std::memset(a.get(), 1, 4000);
}

TEST(MemoryPlanCache, KeepsTheMostRecentlyUsedSignatures) {
  MemoryPlanCache cache;
  auto plan = std::make_shared<MemoryPlan>();
  for (int64_t n = 0; n < static_cast<int64_t>(MemoryPlanCache::kCapacity); ++n) {
    const std::vector<int64_t> signature = {1, 2, n};
    cache.insert(signature, plan);
  }
  const std::vector<int64_t> first = {1, 2, 0}, second = {1, 2, 1}, fresh = {3};
  EXPECT_EQ(cache.find(first), plan);  // now the most recently used
  cache.insert(fresh, plan);
  EXPECT_EQ(cache.size(), MemoryPlanCache::kCapacity);
  EXPECT_EQ(cache.find(first), plan);
  EXPECT_EQ(cache.find(second), nullptr);  // the least recently used went
  EXPECT_EQ(cache.find(fresh), plan);
  EXPECT_EQ(cache.find(std::vector<int64_t>{1, 2}), nullptr);  // a prefix is another signature
}

TEST(MemoryPlanCache, PlansOnlySignaturesSeenBefore) {
  MemoryPlanCache cache;
  const std::vector<int64_t> a = {1, 2, 3}, b = {1, 2, 4};
  EXPECT_FALSE(cache.seen_before(a));
  EXPECT_FALSE(cache.seen_before(b));
  EXPECT_TRUE(cache.seen_before(a));
  // Forgotten after kSeenCapacity other signatures.
  for (int64_t n = 0; n < static_cast<int64_t>(MemoryPlanCache::kSeenCapacity); ++n)
    EXPECT_FALSE(cache.seen_before(std::vector<int64_t>{7, n}));
  EXPECT_FALSE(cache.seen_before(b));
}

}  // namespace
}  // namespace kestrel::runtime
