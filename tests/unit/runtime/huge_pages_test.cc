// allocate_on_huge_pages, the recycling of freed huge pages while a HugePageRecycling scope is alive, and the
// move to small pages once a fresh huge page is slow to touch.
#include "runtime/huge_pages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace kestrel::runtime {
namespace {

// Writes a pattern over the whole buffer and checks it reads back: every byte is mapped and writable.
void fill_and_check(void* p, size_t bytes, uint8_t seed) {
  auto* b = static_cast<uint8_t*>(p);
  for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(seed + i * 131);
  for (size_t i = 0; i < bytes; i += 4093) ASSERT_EQ(b[i], static_cast<uint8_t>(seed + i * 131)) << i;
  ASSERT_EQ(b[bytes - 1], static_cast<uint8_t>(seed + (bytes - 1) * 131));
}

TEST(HugePages, BuffersOfOddSizesAreAlignedAndWritable) {
  for (size_t bytes : {size_t{1}, size_t{4095}, size_t{4097}, kHugePageBytes - 1, kHugePageBytes,
                       kHugePageBytes + 1, 3 * kHugePageBytes + 12345}) {
    auto p = allocate_on_huge_pages(bytes);
    ASSERT_NE(p, nullptr);
    if (bytes >= kHugePageBytes) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % kHugePageBytes, 0u) << bytes;
    }
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % 64, 0u) << bytes;
    fill_and_check(p.get(), bytes, static_cast<uint8_t>(bytes));
  }
}

TEST(HugePages, UninitializedWeightsOfEverySize) {
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{3, 5}, Shape{7, 1000}, Shape{513, 1024}, Shape{3, 700, 700}}) {
    Tensor t = uninitialized_weights(ElementType::kFloat, shape);
    ASSERT_EQ(t.shape(), shape);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << shape_to_string(shape);
    if (t.bytes() > 0) fill_and_check(t.raw_data(), t.bytes(), 3);
  }
  Tensor strings = uninitialized_weights(ElementType::kString, {2});
  EXPECT_EQ(strings.data<std::string>()[1], "");
}

TEST(HugePages, NothingIsKeptWithoutAScope) {
  auto p = allocate_on_huge_pages(3 * kHugePageBytes);
  std::memset(p.get(), 1, 3 * kHugePageBytes);
  p.reset();
  EXPECT_EQ(recycled_huge_pages(), 0u);
}

TEST(HugePages, FreedPagesMoveIntoTheNextBufferWhileAScopeIsAlive) {
  HugePageRecycling recycling;
  const size_t bytes = 2 * kHugePageBytes + 100;  // two whole pages and a small-page tail
  auto first = allocate_on_huge_pages(bytes);
  fill_and_check(first.get(), bytes, 7);
  first.reset();
  EXPECT_EQ(recycled_huge_pages(), 2u);  // the whole pages only
  // A buffer of another size takes what there is; its pages hold the old bytes (the memory was not zeroed
  // again), and its part past them is fresh.
  const size_t next_bytes = 3 * kHugePageBytes;
  auto next = allocate_on_huge_pages(next_bytes);
  EXPECT_EQ(recycled_huge_pages(), 0u);
  const auto* b = static_cast<const uint8_t*>(next.get());
  // fill_and_check's pattern repeats every huge page (2 MiB * 131 is a multiple of 256).
  auto holds_old_bytes = [b](size_t page) {
    for (size_t j : {size_t{0}, size_t{12345}, kHugePageBytes - 1})
      if (b[page * kHugePageBytes + j] != static_cast<uint8_t>(7 + j * 131)) return false;
    return true;
  };
  size_t old_pages = 0;
  for (size_t page = 0; page < 3; ++page) {
    if (holds_old_bytes(page)) {
      ++old_pages;
    } else {
      EXPECT_EQ(b[page * kHugePageBytes + 12345], 0) << "a fresh page reads zero";
    }
  }
  EXPECT_EQ(old_pages, 2u);
  fill_and_check(next.get(), next_bytes, 9);
}

TEST(HugePages, KeptPagesGoBackWhenTheLastScopeEnds) {
  {
    HugePageRecycling outer;
    {
      HugePageRecycling inner;
      auto p = allocate_on_huge_pages(4 * kHugePageBytes);
      std::memset(p.get(), 3, 4 * kHugePageBytes);
    }
    EXPECT_EQ(recycled_huge_pages(), 4u);  // the outer scope still keeps them
  }
  EXPECT_EQ(recycled_huge_pages(), 0u);
}

TEST(HugePages, BuffersFreedAfterTheScopeAreReleased) {
  std::shared_ptr<void> kept;
  {
    HugePageRecycling recycling;
    kept = allocate_on_huge_pages(2 * kHugePageBytes);
    fill_and_check(kept.get(), 2 * kHugePageBytes, 5);
  }
  kept.reset();
  EXPECT_EQ(recycled_huge_pages(), 0u);
}

TEST(HugePages, ConcurrentScopesAndAllocations) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      HugePageRecycling recycling;
      for (int i = 0; i < 20; ++i) {
        const size_t bytes = static_cast<size_t>(1 + (i + t) % 3) * kHugePageBytes + static_cast<size_t>(i) * 999;
        auto p = allocate_on_huge_pages(bytes);
        fill_and_check(p.get(), bytes, static_cast<uint8_t>(t * 31 + i));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(recycled_huge_pages(), 0u);
}

// Without transparent huge pages in the kernel, madvise sets no huge page flags.
bool kernel_has_huge_pages() {
  return std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled");
}

// The VmFlags of the mapping holding `p` (/proc/self/smaps: "hg" advised onto huge pages, "nh" off them).
std::string vm_flags_at(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto address = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 && line.find(' ') > line.find('-')) {
      inside = start <= address && address < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

// Restores the slow-fault limit a test changes.
class SlowFaultLimit {
 public:
  explicit SlowFaultLimit(std::chrono::nanoseconds limit) : saved_(slow_huge_page_fault()) {
    set_slow_huge_page_fault(limit);
  }
  ~SlowFaultLimit() { set_slow_huge_page_fault(saved_); }

 private:
  std::chrono::nanoseconds saved_;
};

TEST(HugePages, ASlowFirstTouchPutsTheRestOfTheCreationOnSmallPages) {
  const SlowFaultLimit every_fault_is_slow(std::chrono::nanoseconds(0));
  const size_t bytes = 3 * kHugePageBytes + 777;
  std::shared_ptr<void> second;
  {
    HugePageRecycling recycling;
    EXPECT_FALSE(small_pages_only());
    auto first = allocate_on_huge_pages(bytes);
    EXPECT_TRUE(small_pages_only());
    fill_and_check(first.get(), bytes, 11);
    second = allocate_on_huge_pages(bytes);  // on small pages from the start
    EXPECT_EQ(reinterpret_cast<uintptr_t>(second.get()) % kHugePageBytes, 0u);
    if (kernel_has_huge_pages()) {
      EXPECT_NE(vm_flags_at(second.get()).find(" nh"), std::string::npos) << vm_flags_at(second.get());
    }
    fill_and_check(second.get(), bytes, 13);
    fill_and_check(first.get(), bytes, 17);
    first.reset();  // its pages are still recycled
    EXPECT_EQ(recycled_huge_pages(), 3u);
  }
  EXPECT_FALSE(small_pages_only());  // the next creation tries huge pages again
  // The buffer still alive is advised onto huge pages again, for the kernel to collapse in the background.
  for (size_t page = 0; page < 3 && kernel_has_huge_pages(); ++page) {
    const std::string flags = vm_flags_at(static_cast<char*>(second.get()) + page * kHugePageBytes);
    EXPECT_NE(flags.find(" hg"), std::string::npos) << page << ": " << flags;
    EXPECT_EQ(flags.find(" nh"), std::string::npos) << page << ": " << flags;
  }
  fill_and_check(second.get(), bytes, 29);
}

TEST(HugePages, QuickFirstTouchesKeepHugePages) {
  const SlowFaultLimit never_slow(std::chrono::hours(1));
  HugePageRecycling recycling;
  auto p = allocate_on_huge_pages(4 * kHugePageBytes);
  fill_and_check(p.get(), 4 * kHugePageBytes, 19);
  EXPECT_FALSE(small_pages_only());
}

TEST(HugePages, NoFirstTouchIsTimedWithoutAScope) {
  const SlowFaultLimit every_fault_is_slow(std::chrono::nanoseconds(0));
  auto p = allocate_on_huge_pages(2 * kHugePageBytes);
  fill_and_check(p.get(), 2 * kHugePageBytes, 23);
  EXPECT_FALSE(small_pages_only());
}

}  // namespace
}  // namespace kestrel::runtime
