// The per-session tensor size limit (session config entry kestrel.max_tensor_bytes): while a session loads or
// runs on a thread, Tensor::max_tensor_bytes() on that thread is the session's limit. The executor also puts it in
// force around every output a kernel allocates, on whichever thread the kernel allocates it.
#pragma once

#include <cstddef>

namespace kestrel::runtime {

// Puts `bytes` in force on this thread until destroyed (0 keeps the limit already in force). A Tensor a kernel
// makes for itself on a worker thread, outside KernelContext's allocation, sees the process default.
class ScopedTensorLimit {
 public:
  explicit ScopedTensorLimit(size_t bytes);
  ~ScopedTensorLimit();
  ScopedTensorLimit(const ScopedTensorLimit&) = delete;
  ScopedTensorLimit& operator=(const ScopedTensorLimit&) = delete;

 private:
  size_t previous_;
};

}  // namespace kestrel::runtime
