// Recycled std::shared_ptr control blocks, so that handing out a shared buffer in steady state makes no heap
// call: the arena's blocks and the planned block's regions (memory_plan.h) both take theirs from a pool.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace kestrel::runtime {

// Free control blocks of one size (the first size asked for; other sizes go to the heap). Thread-safe.
class ControlBlockPool {
 public:
  ControlBlockPool() = default;
  ControlBlockPool(const ControlBlockPool&) = delete;
  ControlBlockPool& operator=(const ControlBlockPool&) = delete;
  ~ControlBlockPool() {
    for (void* p : free_) ::operator delete(p);
  }

  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (bytes == block_bytes_ && !free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(bytes);
  }
  void give_back(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (block_bytes_ == 0) block_bytes_ = bytes;
      if (bytes == block_bytes_) {
        free_.push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }

 private:
  std::mutex mutex_;
  size_t block_bytes_ = 0;
  std::vector<void*> free_;
};

// The allocator std::shared_ptr's constructor takes to place its control block in a pool. Each allocator (and
// so each control block made with it) holds the pool alive.
template <typename T>
struct PooledAllocator {
  using value_type = T;
  std::shared_ptr<ControlBlockPool> pool;

  explicit PooledAllocator(std::shared_ptr<ControlBlockPool> p) : pool(std::move(p)) {}
  template <typename U>
  PooledAllocator(const PooledAllocator<U>& other) : pool(other.pool) {}  // NOLINT: rebinding

  T* allocate(size_t n) { return static_cast<T*>(pool->take(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { pool->give_back(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PooledAllocator<U>& other) const {
    return pool == other.pool;
  }
};

}  // namespace kestrel::runtime
