// Constants whose bytes need not be aligned for their element type. The loader maps a model file's large
// payloads in place, wherever protobuf put them (tensor_proto.cc), rather than copying them: most sit at
// offsets that are not a multiple of 4, so such a view on a float weight is not a valid `const float*`.
//
// The rule: a view on unaligned bytes is seen only by code that reads its type, its shape and its bytes
// (memcpy, never through a typed pointer). Everything else gets an aligned copy, made once when first asked
// for, which replaces the view in the graph: the optimizer's constant_of, KernelInfo::constant_input and the
// constants a plan hands to its kernels at run time all go through aligned_initializer(). The doors that may
// hand out the view as it is: constant_input_view() (for kernels that pack a weight at creation, reading it
// with memcpy), the optimizer's constant_view_of(), and, at run time, kernels that say they read input i as
// bytes only (ReadsConstantBytes).
#pragma once

#include <cstddef>

#include "ir/graph.h"
#include "kestrel/tensor.h"

namespace kestrel::runtime {

class KernelInfo;

// True when t's data may be read through a typed pointer (its address is a multiple of its element size).
bool is_element_aligned(const Tensor& t);

// v's initializer, first replaced by an aligned copy when it is a view on unaligned bytes; null without one.
const Tensor* aligned_initializer(ir::Value& v);

// The initializer behind input i as it is, possibly a view on unaligned bytes (nullptr when not a constant):
// for a kernel that reads it during its creation with memcpy only (packing it), never as T*.
const Tensor* constant_input_view(const KernelInfo& info, size_t i);

// Implemented by a kernel whose compute() reads a constant input only as bytes (rows copied with memcpy): the
// plan may then hand it a view on unaligned bytes instead of an aligned copy (an embedding table stays in the
// file's pages, and only the rows looked up become resident).
class ReadsConstantBytes {
 public:
  virtual ~ReadsConstantBytes() = default;
  virtual bool reads_constant_bytes(size_t input) const = 0;
};

}  // namespace kestrel::runtime
