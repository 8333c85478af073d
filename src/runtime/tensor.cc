// Tensor storage: aligned owned buffers (strings as std::string arrays), borrowing, reshaping and size limits.
#include "kestrel/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "runtime/tensor_limit.h"

namespace kestrel {
namespace {

std::atomic<size_t> g_default_max_tensor_bytes{size_t{16} << 30};
// The limit of the session whose load or run is in progress on this thread (0: none, the default applies).
// Thread-local rather than passed down, so every allocation of a run (kernel outputs, kernel temporaries,
// subgraph runs) sees its session's limit at the cost of one thread-local read.
thread_local size_t t_session_max_tensor_bytes = 0;

// `zero`: fill with zeros (callers that write every byte next pass false).
std::shared_ptr<void> allocate(ElementType type, int64_t count, bool zero = true) {
  if (type == ElementType::kString) {
    auto* strings = new std::string[static_cast<size_t>(count) + 1];
    return std::shared_ptr<void>(strings, [](void* p) { delete[] static_cast<std::string*>(p); });
  }
  size_t bytes = static_cast<size_t>(count) * element_size(type);
  // 64-byte alignment suits AVX-512 loads; round up as aligned_alloc requires, and never ask for 0 bytes.
  size_t padded = (bytes + 63) / 64 * 64;
  if (padded == 0) padded = 64;
  void* p = std::aligned_alloc(64, padded);
  if (!p) {
    throw Error(ErrorCode::kRuntimeException, "out of memory allocating a tensor of " + std::to_string(bytes) + " bytes");
  }
  if (zero) std::memset(p, 0, padded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

void check_size_limit(ElementType type, const Shape& shape, int64_t count) {
  if (static_cast<uint64_t>(count) > Tensor::max_tensor_bytes() / element_size(type))
    throw Error(ErrorCode::kInvalidArgument, "tensor of shape " + shape_to_string(shape) + " and type " +
                                                 element_type_name(type) + " exceeds the limit of " +
                                                 std::to_string(Tensor::max_tensor_bytes()) +
                                                 " bytes (session config entry kestrel.max_tensor_bytes)");
}

}  // namespace

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorCode::kInvalidArgument, "negative dimension in shape " + shape_to_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error(ErrorCode::kInvalidArgument, "shape " + shape_to_string(shape) + " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(ElementType type, Shape shape) : type_(type), shape_(std::move(shape)) {
  if (!is_valid_element_type(static_cast<int32_t>(type)))
    throw Error(ErrorCode::kInvalidArgument, "cannot create a tensor of undefined element type");
  size_ = shape_size(shape_);
  check_size_limit(type, shape_, size_);
  storage_ = allocate(type, size_);
  data_ = storage_.get();
}

Tensor Tensor::borrow(ElementType type, Shape shape, void* data) {
  Tensor t;
  if (!is_valid_element_type(static_cast<int32_t>(type)))
    throw Error(ErrorCode::kInvalidArgument, "cannot wrap a buffer of undefined element type");
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.data_ = data;
  return t;
}

Tensor Tensor::adopt(ElementType type, Shape shape, std::shared_ptr<void> owner) {
  if (type == ElementType::kString || !is_valid_element_type(static_cast<int32_t>(type)))
    throw Error(ErrorCode::kInvalidArgument, "Tensor::adopt needs a numeric element type");
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.storage_ = std::move(owner);
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_size(shape) != size_)
    throw Error(ErrorCode::kInvalidArgument,
                "cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

void Tensor::clear() {
  type_ = ElementType::kUndefined;
  shape_.clear();
  size_ = 0;
  storage_.reset();
  data_ = nullptr;
}

namespace {

int64_t span_size(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > std::numeric_limits<int64_t>::max() / d))
      return shape_size(Shape(shape.begin(), shape.end()));  // throws the usual message
    n *= d;
  }
  return n;
}

}  // namespace

void Tensor::adopt_in_place(ElementType type, std::span<const int64_t> shape, std::shared_ptr<void> owner) {
  if (type == ElementType::kString || !is_valid_element_type(static_cast<int32_t>(type)))
    throw Error(ErrorCode::kInvalidArgument, "Tensor::adopt_in_place needs a numeric element type");
  size_ = span_size(shape);
  type_ = type;
  shape_.assign(shape.begin(), shape.end());
  storage_ = std::move(owner);
  data_ = storage_.get();
}

void Tensor::view_in_place(const Tensor& source, std::span<const int64_t> shape) {
  if (span_size(shape) != source.size_)
    throw Error(ErrorCode::kInvalidArgument, "cannot view " + shape_to_string(source.shape_) + " as " +
                                                 shape_to_string(Shape(shape.begin(), shape.end())));
  if (this != &source) {
    type_ = source.type_;
    size_ = source.size_;
    storage_ = source.storage_;
    data_ = source.data_;
  }
  if (shape.data() != shape_.data()) shape_.assign(shape.begin(), shape.end());
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  if (type_ != ElementType::kString) {
    // Not zero-filled first: the copy writes every byte.
    check_size_limit(type_, shape_, size_);
    Tensor t = adopt(type_, shape_, allocate(type_, size_, false));
    if (bytes() > 0) std::memcpy(t.data_, data_, bytes());
    return t;
  }
  Tensor t(type_, shape_);
  const auto* src = static_cast<const std::string*>(data_);
  auto* dst = static_cast<std::string*>(t.data_);
  for (int64_t i = 0; i < size_; ++i) dst[i] = src[i];
  return t;
}

void Tensor::check_type(ElementType wanted) const {
  if (wanted != type_)
    throw Error(ErrorCode::kInvalidArgument, std::string("tensor holds ") + element_type_name(type_) +
                                                 ", accessed as " + element_type_name(wanted));
}

size_t Tensor::max_tensor_bytes() {
  const size_t session_limit = t_session_max_tensor_bytes;
  return session_limit ? session_limit : g_default_max_tensor_bytes.load(std::memory_order_relaxed);
}
void Tensor::set_max_tensor_bytes(size_t bytes) {
  g_default_max_tensor_bytes.store(bytes, std::memory_order_relaxed);
}

namespace runtime {

ScopedTensorLimit::ScopedTensorLimit(size_t bytes) : previous_(t_session_max_tensor_bytes) {
  if (bytes) t_session_max_tensor_bytes = bytes;
}
ScopedTensorLimit::~ScopedTensorLimit() { t_session_max_tensor_bytes = previous_; }

}  // namespace runtime

}  // namespace kestrel
