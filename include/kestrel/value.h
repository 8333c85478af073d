// What flows along a graph edge: a tensor, a sequence of tensors, or an empty optional. An optional that holds
// something is represented by what it holds. TypeInfo describes the declared type of an input or output.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/tensor.h"

namespace kestrel {

class Value {
 public:
  enum class Kind { kNone, kTensor, kSequence };

  Value() = default;  // an empty optional
  Value(Tensor tensor) : kind_(Kind::kTensor), tensor_(std::move(tensor)) {}  // NOLINT: implicit on purpose
  static Value sequence(ElementType element_type, std::vector<Tensor> items) {
    Value v;
    v.kind_ = Kind::kSequence;
    v.sequence_type_ = element_type;
    v.sequence_ = std::move(items);
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }

  const Tensor& tensor() const;
  Tensor& tensor();
  const std::vector<Tensor>& items() const;
  std::vector<Tensor>& items();
  ElementType sequence_type() const { return sequence_type_; }

  // Empties the value (an empty optional), keeping the storage of its shape and sequence for reuse.
  void clear() {
    kind_ = Kind::kNone;
    tensor_.clear();
    sequence_.clear();
  }
  // Makes the value a tensor and returns it for in-place assignment (Tensor::adopt_in_place, view_in_place, =).
  Tensor& tensor_in_place() {
    if (kind_ != Kind::kTensor) sequence_.clear();
    kind_ = Kind::kTensor;
    return tensor_;
  }

 private:
  Kind kind_ = Kind::kNone;
  Tensor tensor_;
  std::vector<Tensor> sequence_;
  ElementType sequence_type_ = ElementType::kUndefined;
};

// One dimension of a declared shape: a fixed size, a named symbol, or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when fixed
  std::string symbol;  // non-empty for a named dynamic dim
  bool fixed() const { return value >= 0; }
};

struct TypeInfo {
  enum class Kind { kUnknown, kTensor, kSequence, kOptional, kMap };
  Kind kind = Kind::kUnknown;
  ElementType element_type = ElementType::kUndefined;  // for tensors (and map values)
  ElementType key_type = ElementType::kUndefined;      // for maps
  std::optional<std::vector<Dim>> shape;               // tensors: nullopt when the rank is unknown
  std::shared_ptr<TypeInfo> element;                   // sequence/optional/map: the contained type

  static TypeInfo tensor(ElementType type, std::optional<std::vector<Dim>> shape = std::nullopt) {
    TypeInfo t;
    t.kind = Kind::kTensor;
    t.element_type = type;
    t.shape = std::move(shape);
    return t;
  }
  // ONNX Runtime's spelling: "tensor(float)", "seq(tensor(int64))", "optional(tensor(float))".
  std::string to_string() const;
  // "[1,3,'height',?]" or "?" when the rank is unknown.
  std::string shape_string() const;
};

}  // namespace kestrel
