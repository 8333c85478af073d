// Custom-operator libraries (include/kestrel/custom_op.h): loaded with dlopen, their operators collected as
// kernel definitions that a session's planner consults before the CPU registry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kestrel/session.h"
#include "runtime/kernel_registry.h"

namespace kestrel {

class CustomOpLibrary {
 public:
  // Loads `path` and calls its KestrelRegisterCustomOps. Throws kestrel::Error (kNoSuchFile for a missing file,
  // kFail otherwise) when the library cannot be loaded, lacks the function, registers an op built for another
  // ABI version or in the ai.onnx domain, or reports failure.
  explicit CustomOpLibrary(const std::string& path);

  const std::string& path() const { return path_; }
  // One definition per registered op; each kernel keeps the library loaded while it lives.
  const std::vector<runtime::KernelDef>& kernels() const { return kernels_; }

 private:
  std::string path_;
  std::shared_ptr<void> handle_;  // dlclose'd when the last kernel and library object are gone
  std::vector<runtime::KernelDef> kernels_;
};

}  // namespace kestrel
