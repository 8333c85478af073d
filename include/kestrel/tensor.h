// A dense, row-major tensor: element type, shape and a buffer that is either owned (shared between copies) or
// borrowed from the caller. Copying a Tensor is cheap and shares the buffer; clone() copies the data.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kestrel/element_type.h"
#include "kestrel/error.h"

namespace kestrel {

using Shape = std::vector<int64_t>;

// Number of elements of a shape; throws kInvalidArgument on negative dims or overflow.
int64_t shape_size(const Shape& shape);
// "[1,3,224,224]"
std::string shape_to_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled (or empty-string) buffer. Throws kInvalidArgument for negative dims, overflowing sizes
  // or sizes above max_tensor_bytes().
  Tensor(ElementType type, Shape shape);
  // Wraps a caller's buffer without copying; the caller keeps it alive and large enough.
  static Tensor borrow(ElementType type, Shape shape, void* data);
  // Takes shared ownership of a buffer from a custom allocator (not for strings): `owner` frees it when the last
  // copy of the tensor is gone. The buffer must hold at least shape_size(shape) * element_size(type) bytes.
  static Tensor adopt(ElementType type, Shape shape, std::shared_ptr<void> owner);
  // A rank-0 tensor holding one value.
  template <typename T>
  static Tensor scalar(T value) {
    Tensor t(ElementTypeOf<T>::value, {});
    *t.data<T>() = value;
    return t;
  }
  // A tensor copied from a vector, with the given shape (defaults to 1-D).
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape = {-1}) {
    if (shape.size() == 1 && shape[0] == -1) shape[0] = static_cast<int64_t>(values.size());
    Tensor t(ElementTypeOf<T>::value, std::move(shape));
    if (t.size() != static_cast<int64_t>(values.size()))
      throw Error(ErrorCode::kInvalidArgument, "Tensor::from_vector: value count does not match shape");
    T* out = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
  }

  bool defined() const { return type_ != ElementType::kUndefined; }
  ElementType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t i) const { return shape_.at(i); }
  int64_t size() const { return size_; }  // element count
  size_t bytes() const { return static_cast<size_t>(size_) * element_size(type_); }
  bool owns_data() const { return storage_ != nullptr; }
  // True when the buffer is owned and no other Tensor shares it (no copy, no view): writing it changes no
  // other tensor.
  bool owns_data_alone() const { return storage_ != nullptr && storage_.use_count() == 1; }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  // Typed access; throws kInvalidArgument if T does not match the element type.
  template <typename T>
  T* data() {
    check_type(ElementTypeOf<T>::value);
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    check_type(ElementTypeOf<T>::value);
    return static_cast<const T*>(data_);
  }

  // Same buffer, new shape with the same element count.
  Tensor reshaped(Shape shape) const;

  // In-place forms for a runtime that keeps its tensors from run to run: the shape's storage is reused when it has
  // room, so steady-state runs allocate nothing.
  // Drops the buffer and the shape (an undefined tensor), keeping the shape's storage.
  void clear();
  // Becomes adopt(type, shape, owner).
  void adopt_in_place(ElementType type, std::span<const int64_t> shape, std::shared_ptr<void> owner);
  // Becomes a view of `source`'s buffer with `shape` (same element count).
  void view_in_place(const Tensor& source, std::span<const int64_t> shape);
  // A deep copy in a new owned buffer.
  Tensor clone() const;

  // Per-tensor size limit: the kestrel.max_tensor_bytes of the session loading or running on this thread, else
  static size_t max_tensor_bytes();
  static void set_max_tensor_bytes(size_t bytes);  // the process default (16 GiB), set here

 private:
  void check_type(ElementType wanted) const;

  ElementType type_ = ElementType::kUndefined;
  Shape shape_;
  int64_t size_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

}  // namespace kestrel
