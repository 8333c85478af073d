// allocate_packed_weights: small buffers share huge pages while a PackedWeightSlab scope is alive (after the
// first huge page's worth), keep their bytes when the scope closes the page being filled, and never overlap.
#include "runtime/packed_weight_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "runtime/huge_pages.h"

namespace kestrel::runtime {
namespace {

uint8_t pattern(size_t buffer, size_t i) { return static_cast<uint8_t>(buffer * 37 + i * 131); }

struct Buffer {
  std::shared_ptr<void> memory;
  size_t bytes;
};

void fill(const std::vector<Buffer>& buffers) {
  for (size_t b = 0; b < buffers.size(); ++b) {
    auto* p = static_cast<uint8_t*>(buffers[b].memory.get());
    for (size_t i = 0; i < buffers[b].bytes; ++i) p[i] = pattern(b, i);
  }
}

// Every byte of every buffer still holds what fill() wrote: no buffer overlaps another or lost its pages.
void check(const std::vector<Buffer>& buffers) {
  for (size_t b = 0; b < buffers.size(); ++b) {
    const auto* p = static_cast<const uint8_t*>(buffers[b].memory.get());
    for (size_t i = 0; i < buffers[b].bytes; ++i)
      ASSERT_EQ(p[i], pattern(b, i)) << "buffer " << b << " byte " << i;
  }
}

std::vector<Buffer> allocate(const std::vector<size_t>& sizes) {
  std::vector<Buffer> buffers;
  for (size_t bytes : sizes) {
    buffers.push_back({allocate_packed_weights(bytes), bytes});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffers.back().memory.get()) % 64, 0u) << bytes;
  }
  return buffers;
}

// Odd sizes summing to several huge pages, with one that does not fit what is left of a page.
std::vector<size_t> odd_sizes() {
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 40; ++i) sizes.push_back(1 + i * 40961 % 300001);
  sizes.push_back(kHugePageBytes - 100);
  sizes.push_back(3);
  sizes.push_back(kHugePageBytes + 5);  // its own huge pages
  return sizes;
}

TEST(PackedWeightMemory, SmallBuffersShareHugePagesWithinAScope) {
  std::vector<Buffer> buffers;
  {
    PackedWeightSlab slab;
    buffers = allocate(odd_sizes());
    fill(buffers);
  }  // closes the page being filled: its unused tail goes back, the buffers' bytes stay
  check(buffers);
  std::set<uintptr_t> pages;
  for (const Buffer& b : buffers) pages.insert(reinterpret_cast<uintptr_t>(b.memory.get()) / kHugePageBytes);
  EXPECT_LT(pages.size(), buffers.size() / 2) << "small buffers after the first 2 MiB share huge pages";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffers.back().memory.get()) % kHugePageBytes, 0u);
}

TEST(PackedWeightMemory, BuffersOutlivingOtherBuffersOfTheirPage) {
  std::vector<Buffer> kept;
  {
    PackedWeightSlab slab;
    std::vector<Buffer> all = allocate(odd_sizes());
    fill(all);
    for (size_t i = 0; i < all.size(); i += 3) kept.push_back(all[i]);
  }  // the others are freed here; a page stays while a buffer in it does
  std::vector<Buffer> refilled = kept;
  fill(refilled);
  check(refilled);
}

TEST(PackedWeightMemory, OutsideAScopeAndInOverlappingScopes) {
  std::vector<Buffer> outside = allocate(odd_sizes());
  fill(outside);
  auto outer = std::make_unique<PackedWeightSlab>();
  std::vector<Buffer> first = allocate(odd_sizes());
  fill(first);
  {
    PackedWeightSlab inner;  // a second session created meanwhile
    std::vector<Buffer> second = allocate(odd_sizes());
    fill(second);
    check(first);
    check(second);
  }
  std::vector<Buffer> third = allocate(odd_sizes());  // the outer scope still shares pages
  fill(third);
  outer.reset();
  check(outside);
  check(first);
  check(third);
}

}  // namespace
}  // namespace kestrel::runtime
