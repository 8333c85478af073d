// Aligned copies of constants that are views on unaligned bytes (unaligned_constants.h).
#include "runtime/unaligned_constants.h"

#include <cstdint>
#include <cstring>

#include "runtime/huge_pages.h"
#include "runtime/kernel.h"

namespace kestrel::runtime {

bool is_element_aligned(const Tensor& t) {
  if (!t.defined() || t.type() == ElementType::kString) return true;
  return reinterpret_cast<uintptr_t>(t.raw_data()) % element_size(t.type()) == 0;
}

const Tensor* aligned_initializer(ir::Value& v) {
  if (!v.initializer || is_element_aligned(*v.initializer)) return v.initializer.get();
  // Weights memory, as the loader would have used for a copy: on huge pages when large, not zero-filled
  // first.
  Tensor copy = uninitialized_weights(v.initializer->type(), v.initializer->shape());
  if (copy.bytes() > 0) std::memcpy(copy.raw_data(), v.initializer->raw_data(), copy.bytes());
  v.initializer = std::make_shared<const Tensor>(std::move(copy));
  return v.initializer.get();
}

const Tensor* constant_input_view(const KernelInfo& info, size_t i) {
  if (!info.has_input(i)) return nullptr;
  return info.node().inputs[i]->initializer.get();
}

}  // namespace kestrel::runtime
