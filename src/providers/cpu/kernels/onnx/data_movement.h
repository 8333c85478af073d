// Shared pieces of the data-movement kernels (Reshape, Transpose, Gather, Slice, Pad, Resize, ...): axis
// checks, reading shape-like integer inputs, strides, and copying elements of any type (strings included) by
// position.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "kestrel/tensor.h"
#include "providers/cpu/kernels/dispatch.h"
#include "runtime/kernel.h"

namespace kestrel::cpu::movement {

// Scalar type used for arithmetic on T: float for the 16-bit float storage types, T otherwise.
template <typename T>
using compute_t = std::conditional_t<std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>, float, T>;

// Normalises an axis in [-rank, rank) (or [-rank-1, rank] for ops that insert an axis, via `rank`) to [0,
// rank). `owner` is a KernelInfo or KernelContext, so the error names the node.
template <typename Owner>
int64_t normalize_axis(const Owner& owner, int64_t axis, int64_t rank, const std::string& what = "axis") {
  if (axis < -rank || axis >= rank)
    owner.fail(what + " " + std::to_string(axis) + " is out of range [" + std::to_string(-rank) + ", " +
               std::to_string(rank - 1) + "]");
  return axis < 0 ? axis + rank : axis;
}

// The values of an integer tensor (int32 or int64, any rank) as int64.
template <typename Owner>
std::vector<int64_t> read_ints(const Owner& owner, const Tensor& t, const std::string& what) {
  std::vector<int64_t> out(static_cast<size_t>(t.size()));
  if (t.type() == ElementType::kInt64) {
    const int64_t* p = t.data<int64_t>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else if (t.type() == ElementType::kInt32) {
    const int32_t* p = t.data<int32_t>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else {
    owner.fail(what + ": expected an int32 or int64 tensor, got " + element_type_name(t.type()));
  }
  return out;
}

// The single value of a one-element integer tensor (a scalar or shape [1]).
template <typename Owner>
int64_t read_scalar_int(const Owner& owner, const Tensor& t, const std::string& what) {
  if (t.size() != 1) owner.fail(what + ": expected a single value, got shape " + shape_to_string(t.shape()));
  return read_ints(owner, t, what)[0];
}

// The value of a one-element numeric tensor as double.
template <typename Owner>
double read_scalar_double(const Owner& owner, const Tensor& t, const std::string& what) {
  if (t.size() != 1) owner.fail(what + ": expected a single value, got shape " + shape_to_string(t.shape()));
  return dispatch<KESTREL_NUMERIC_TYPES>(
      t.type(),
      [&](auto tag) -> double {
        using T = decltype(tag);
        return static_cast<double>(static_cast<compute_t<T>>(t.data<T>()[0]));
      },
      what);
}

// Row-major strides in elements.
inline std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// dst[dst_pos + k] = src[src_pos + k] for k in [0, count). Same element type; strings are copied as strings.
inline void copy_elements(const Tensor& src, int64_t src_pos, Tensor& dst, int64_t dst_pos, int64_t count) {
  if (count <= 0) return;
  if (src.type() == ElementType::kString) {
    const std::string* s = src.data<std::string>() + src_pos;
    std::string* d = dst.data<std::string>() + dst_pos;
    for (int64_t k = 0; k < count; ++k) d[k] = s[k];
    return;
  }
  const size_t es = element_size(src.type());
  std::memcpy(static_cast<char*>(dst.raw_data()) + static_cast<size_t>(dst_pos) * es,
              static_cast<const char*>(src.raw_data()) + static_cast<size_t>(src_pos) * es,
              static_cast<size_t>(count) * es);
}

// dst[k] = src[index[k]] for every k with index[k] >= 0; positions with a negative index keep their value.
inline void take_elements(const Tensor& src, const std::vector<int64_t>& index, Tensor& dst) {
  if (src.type() == ElementType::kString) {
    const std::string* s = src.data<std::string>();
    std::string* d = dst.data<std::string>();
    for (size_t k = 0; k < index.size(); ++k)
      if (index[k] >= 0) d[k] = s[index[k]];
    return;
  }
  const size_t es = element_size(src.type());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst.raw_data());
  for (size_t k = 0; k < index.size(); ++k)
    if (index[k] >= 0) std::memcpy(d + k * es, s + static_cast<size_t>(index[k]) * es, es);
}

// A full copy of `src` into a new tensor with the given shape (same element count).
inline Tensor copy_reshaped(const Tensor& src, Shape shape) {
  Tensor out(src.type(), std::move(shape));
  copy_elements(src, 0, out, 0, src.size());
  return out;
}

// `src` with a new shape for output 0 of a shape-only op (Reshape, Flatten, Squeeze, Unsqueeze): a view of the
// same buffer where the runtime allows it (tensors share ownership of storage, so the buffer outlives both), a
// copy for graph outputs.
inline Tensor reshaped_output(const runtime::KernelContext& ctx, const Tensor& src, Shape shape) {
  if (ctx.may_alias_output(0) && src.type() != ElementType::kString) return src.reshaped(std::move(shape));
  return copy_reshaped(src, std::move(shape));
}

// Sets output 0 of a shape-only op to `src` with `shape`, as reshaped_output does, without building a Shape:
// a view, or a copy written where the runtime allocates output 0 (a caller's bound buffer, for graph outputs).
inline void set_reshaped_output(runtime::KernelContext& ctx, const Tensor& src, std::span<const int64_t> shape) {
  if (ctx.may_alias_output(0) && src.type() != ElementType::kString) {
    ctx.set_output_view(0, src, shape);
    return;
  }
  if (src.type() == ElementType::kString) {
    ctx.set_output(0, copy_reshaped(src, Shape(shape.begin(), shape.end())));
    return;
  }
  Tensor& out = ctx.allocate_uninitialized_output_dims(0, src.type(), shape);
  if (out.size() != src.size())
    ctx.fail("cannot reshape " + shape_to_string(src.shape()) + " to " + shape_to_string(out.shape()));
  if (out.bytes()) std::memcpy(out.raw_data(), src.raw_data(), out.bytes());
}

// Calls f(coords, flat) for every position of `shape` in row-major order (nothing for an empty shape).
template <typename F>
void for_each_coord(const Shape& shape, F&& f) {
  const int64_t n = shape_size(shape);
  std::vector<int64_t> coords(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(static_cast<const std::vector<int64_t>&>(coords), flat);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++coords[d] < shape[d]) break;
      coords[d] = 0;
    }
  }
}

// Broadcasts two shapes numpy-style (right-aligned; a dim of 1 stretches). Returns false when incompatible.
inline bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
  const size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else
      return false;
  }
  return true;
}

}  // namespace kestrel::cpu::movement
