// TensorProto <-> Tensor: typed data fields, raw little-endian bytes, and external data kept inside the model's
// folder. Every size is checked against the declared shape before any copy.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "onnx/loader.h"
#include "onnx/payload_scan.h"
#include "onnx/onnx_pb.h"
#include "runtime/huge_pages.h"

namespace kestrel::onnx_format {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& message) {
  throw Error(ErrorCode::kInvalidProtobuf, what + ": " + message);
}

// Payloads from this size on are mapped in place when aligned (map_file_range) rather than copied.
constexpr size_t kMinMappedBytes = 64 * 1024;

// The range [offset, offset+length) of an external data file that must live inside base_dir, once the file is
// known to hold `expected_bytes` there: mapped in place when `view_alignment` is non-zero and the range suits it
// (returned), else read straight into the buffer `allocate` returns (and null returned).
std::shared_ptr<void> read_external(const onnx::TensorProto& proto, const std::string& base_dir,
                                    const std::string& what, size_t expected_bytes, size_t view_alignment,
                                    const std::function<void*()>& allocate) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      bad(what, "external data field '" + kv.key() + "' is not a number: '" + kv.value() + "'");
    }
  }
  if (location.empty()) bad(what, "external data has no location");
  if (base_dir.empty()) bad(what, "external data '" + location + "' cannot be resolved for a model loaded from bytes");
  if (offset < 0 || length < -1) bad(what, "external data has a negative offset or length");
  fs::path rel(location);
  if (rel.is_absolute()) bad(what, "external data location '" + location + "' is an absolute path");
  for (const auto& part : rel) {
    if (part == "..") bad(what, "external data location '" + location + "' leaves the model's folder");
  }
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  fs::path full = fs::weakly_canonical(fs::path(base_dir) / rel, ec);
  if (ec) bad(what, "external data location '" + location + "' cannot be resolved");
  // Symlinks are resolved by weakly_canonical, so a link pointing outside fails this prefix test too.
  auto mismatch = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (mismatch.first != base.end()) bad(what, "external data location '" + location + "' leaves the model's folder");
  // A folder, FIFO or device is no weight file, and opening a FIFO would block for ever (issue #9).
  if (fs::exists(full, ec) && !fs::is_regular_file(full, ec))
    bad(what, "external data location '" + location + "' is not a regular file");
  const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kNoSuchFile, what + ": external data file '" + location + "' cannot be opened");
  struct CloseOnExit {
    int fd;
    ~CloseOnExit() { ::close(fd); }
  } close_on_exit{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) bad(what, "external data file '" + location + "' cannot be read");
  const int64_t file_size = static_cast<int64_t>(st.st_size);
  if (length < 0) length = file_size - offset;
  if (offset > file_size || length > file_size - offset)
    bad(what, "external data range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                  ") is past the end of '" + location + "' (" + std::to_string(file_size) + " bytes)");
  if (static_cast<size_t>(length) != expected_bytes)
    bad(what, "external data holds " + std::to_string(length) + " bytes, the shape needs " +
                  std::to_string(expected_bytes));
  if (view_alignment > 0) {
    if (auto mapped = map_file_range(fd, static_cast<uint64_t>(offset), static_cast<uint64_t>(length), view_alignment))
      return mapped;
  }
  auto* dst = static_cast<char*>(allocate());
  while (length > 0) {
    const ssize_t got = ::pread(fd, dst, static_cast<size_t>(length), static_cast<off_t>(offset));
    if (got <= 0) bad(what, "reading external data from '" + location + "' failed");
    dst += got;
    offset += got;
    length -= got;
  }
  return nullptr;
}

template <typename Field>
void check_count(const Field& field, int64_t count, const std::string& what, const char* field_name) {
  if (static_cast<int64_t>(field.size()) != count)
    bad(what, std::string(field_name) + " has " + std::to_string(field.size()) + " values, the shape needs " +
                  std::to_string(count));
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir, const std::string& what,
                         const RawSource* raw) {
  const int32_t dt = proto.data_type();
  if (!is_valid_element_type(dt)) bad(what, "unknown element type " + std::to_string(dt));
  const auto type = static_cast<ElementType>(dt);
  if (proto.has_segment()) throw Error(ErrorCode::kNotImplemented, what + ": segmented tensors are not supported");
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) bad(what, "negative dimension in shape " + shape_to_string(shape));
  int64_t n = 0;
  try {
    n = shape_size(shape);
  } catch (const Error& e) {
    throw Error(e.code(), what + ": " + e.what());
  }
  const size_t elem = element_size(type);
  if (static_cast<uint64_t>(n) > Tensor::max_tensor_bytes() / elem)
    throw Error(ErrorCode::kInvalidArgument, what + ": shape " + shape_to_string(shape) + " of " +
                                                 element_type_name(type) + " exceeds the limit of " +
                                                 std::to_string(Tensor::max_tensor_bytes()) + " bytes");
  const size_t bytes = static_cast<size_t>(n) * elem;
  // Every size is checked against the data actually present before anything is allocated, so a few hostile
  // bytes cannot make the loader reserve gigabytes.
  const bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  if (type == ElementType::kString) {
    check_count(proto.string_data(), n, what, "string_data");
    Tensor t(type, shape);
    std::string* out = t.data<std::string>();
    for (int64_t i = 0; i < n; ++i) out[i] = proto.string_data(static_cast<int>(i));
    return t;
  }
  if (external) {
    Tensor t;
    auto mapped = read_external(proto, base_dir, what, bytes, bytes >= kMinMappedBytes ? elem : 0, [&] {
      t = runtime::uninitialized_weights(type, shape);
      return t.raw_data();
    });
    return mapped ? Tensor::adopt(type, shape, std::move(mapped)) : t;
  }
  if (raw || proto.has_raw_data()) {
    const uint64_t raw_bytes = raw ? raw->length : proto.raw_data().size();
    if (raw_bytes != bytes)
      bad(what, "raw_data has " + std::to_string(raw_bytes) + " bytes, shape " + shape_to_string(shape) + " of " +
                    element_type_name(type) + " needs " + std::to_string(bytes));
    // Mapped in place wherever the payload lies, aligned for its elements or not: kernels pack a weight
    // straight from the file's pages, an embedding table is read a row at a time, and whatever needs an
    // aligned tensor gets a copy when it asks (runtime/unaligned_constants.h).
    if (raw && raw->view && bytes >= kMinMappedBytes) {
      if (auto mapped = raw->view(1)) return Tensor::adopt(type, shape, std::move(mapped));
    }
    Tensor t = runtime::uninitialized_weights(type, shape);
    if (n > 0) {
      if (raw) raw->read(t.raw_data());
      else std::memcpy(t.raw_data(), proto.raw_data().data(), bytes);
    }
    return t;
  }
  switch (type) {
    case ElementType::kFloat: check_count(proto.float_data(), n, what, "float_data"); break;
    case ElementType::kComplex64: check_count(proto.float_data(), n * 2, what, "float_data"); break;
    case ElementType::kDouble: check_count(proto.double_data(), n, what, "double_data"); break;
    case ElementType::kComplex128: check_count(proto.double_data(), n * 2, what, "double_data"); break;
    case ElementType::kInt64: check_count(proto.int64_data(), n, what, "int64_data"); break;
    case ElementType::kUInt32:
    case ElementType::kUInt64: check_count(proto.uint64_data(), n, what, "uint64_data"); break;
    default: check_count(proto.int32_data(), n, what, "int32_data"); break;
  }
  Tensor t(type, shape);
  auto* out = static_cast<unsigned char*>(t.raw_data());
  switch (type) {
    case ElementType::kFloat:
      check_count(proto.float_data(), n, what, "float_data");
      if (n) std::memcpy(out, proto.float_data().data(), n * 4);
      break;
    case ElementType::kComplex64:
      check_count(proto.float_data(), n * 2, what, "float_data");
      if (n) std::memcpy(out, proto.float_data().data(), n * 8);
      break;
    case ElementType::kDouble:
      check_count(proto.double_data(), n, what, "double_data");
      if (n) std::memcpy(out, proto.double_data().data(), n * 8);
      break;
    case ElementType::kComplex128:
      check_count(proto.double_data(), n * 2, what, "double_data");
      if (n) std::memcpy(out, proto.double_data().data(), n * 16);
      break;
    case ElementType::kInt64:
      check_count(proto.int64_data(), n, what, "int64_data");
      if (n) std::memcpy(out, proto.int64_data().data(), n * 8);
      break;
    case ElementType::kUInt32:
    case ElementType::kUInt64:
      check_count(proto.uint64_data(), n, what, "uint64_data");
      for (int64_t i = 0; i < n; ++i) {
        uint64_t v = proto.uint64_data(static_cast<int>(i));
        if (type == ElementType::kUInt32) {
          uint32_t v32 = static_cast<uint32_t>(v);
          std::memcpy(out + i * 4, &v32, 4);
        } else {
          std::memcpy(out + i * 8, &v, 8);
        }
      }
      break;
    default:
      // int32_data carries every type of 32 bits or less (float16/bfloat16 as their bit patterns).
      check_count(proto.int32_data(), n, what, "int32_data");
      for (int64_t i = 0; i < n; ++i) {
        int32_t v = proto.int32_data(static_cast<int>(i));
        if (elem == 4) std::memcpy(out + i * 4, &v, 4);
        else if (elem == 2) {
          uint16_t v16 = static_cast<uint16_t>(v);
          std::memcpy(out + i * 2, &v16, 2);
        } else {
          uint8_t v8 = static_cast<uint8_t>(type == ElementType::kBool ? (v != 0) : v);
          out[i] = v8;
        }
      }
      break;
  }
  return t;
}

void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto) {
  proto.set_data_type(static_cast<int32_t>(tensor.type()));
  proto.clear_dims();
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.type() == ElementType::kString) {
    const std::string* s = tensor.data<std::string>();
    for (int64_t i = 0; i < tensor.size(); ++i) proto.add_string_data(s[i]);
  } else {
    proto.set_raw_data(std::string(static_cast<const char*>(tensor.raw_data()), tensor.bytes()));
  }
}

TypeInfo type_from_proto(const onnx::TypeProto& proto) {
  TypeInfo t;
  switch (proto.value_case()) {
    case onnx::TypeProto::kTensorType: {
      t.kind = TypeInfo::Kind::kTensor;
      const auto& tt = proto.tensor_type();
      if (is_valid_element_type(tt.elem_type())) t.element_type = static_cast<ElementType>(tt.elem_type());
      if (tt.has_shape()) {
        std::vector<Dim> dims;
        for (const auto& d : tt.shape().dim()) {
          Dim dim;
          if (d.has_dim_value()) dim.value = d.dim_value();
          else if (d.has_dim_param()) dim.symbol = d.dim_param();
          dims.push_back(dim);
        }
        t.shape = dims;
      }
      break;
    }
    case onnx::TypeProto::kSparseTensorType:
      t.kind = TypeInfo::Kind::kTensor;
      if (is_valid_element_type(proto.sparse_tensor_type().elem_type()))
        t.element_type = static_cast<ElementType>(proto.sparse_tensor_type().elem_type());
      break;
    case onnx::TypeProto::kSequenceType:
      t.kind = TypeInfo::Kind::kSequence;
      if (proto.sequence_type().has_elem_type())
        t.element = std::make_shared<TypeInfo>(type_from_proto(proto.sequence_type().elem_type()));
      break;
    case onnx::TypeProto::kOptionalType:
      t.kind = TypeInfo::Kind::kOptional;
      if (proto.optional_type().has_elem_type())
        t.element = std::make_shared<TypeInfo>(type_from_proto(proto.optional_type().elem_type()));
      break;
    case onnx::TypeProto::kMapType:
      t.kind = TypeInfo::Kind::kMap;
      if (is_valid_element_type(proto.map_type().key_type()))
        t.key_type = static_cast<ElementType>(proto.map_type().key_type());
      if (proto.map_type().has_value_type())
        t.element = std::make_shared<TypeInfo>(type_from_proto(proto.map_type().value_type()));
      break;
    default:
      break;
  }
  return t;
}

}  // namespace kestrel::onnx_format
