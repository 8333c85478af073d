// JSON and raw encodings of tensors for the inference protocol.
#include "server/tensor_codec.h"

#include <cstring>
#include <limits>
#include <vector>

#include "server/request_error.h"

namespace kestrel::server {
namespace {

using nlohmann::json;

struct DatatypeName {
  const char* name;
  ElementType type;
};

constexpr DatatypeName kDatatypes[] = {
    {"BOOL", ElementType::kBool},     {"UINT8", ElementType::kUInt8},     {"UINT16", ElementType::kUInt16},
    {"UINT32", ElementType::kUInt32}, {"UINT64", ElementType::kUInt64},   {"INT8", ElementType::kInt8},
    {"INT16", ElementType::kInt16},   {"INT32", ElementType::kInt32},     {"INT64", ElementType::kInt64},
    {"FP16", ElementType::kFloat16},  {"FP32", ElementType::kFloat},      {"FP64", ElementType::kDouble},
    {"BF16", ElementType::kBFloat16}, {"BYTES", ElementType::kString},
};

RequestError invalid(const std::string& message) { return RequestError(Status::kInvalidArgument, message); }

// Collects the leaves of a (possibly nested) JSON array in row-major order, stopping early once there are more
// than `limit`: a client cannot make the server copy more values than the shape allows.
void flatten(const json& node, std::vector<const json*>& leaves, size_t limit) {
  if (leaves.size() > limit) return;
  if (node.is_array()) {
    for (const json& child : node) {
      flatten(child, leaves, limit);
      if (leaves.size() > limit) return;
    }
  } else {
    leaves.push_back(&node);
  }
}

template <typename T>
T integer_from_json(const std::string& tensor, const json& v, size_t index) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max())))
      return static_cast<T>(i);
  } else {
    throw invalid("input '" + tensor + "': element " + std::to_string(index) + " is " + v.dump() +
                  ", expected an integer");
  }
  throw invalid("input '" + tensor + "': element " + std::to_string(index) + " (" + v.dump() +
                ") is out of range for its datatype");
}

double float_from_json(const std::string& tensor, const json& v, size_t index) {
  if (!v.is_number())
    throw invalid("input '" + tensor + "': element " + std::to_string(index) + " is " + v.dump() +
                  ", expected a number");
  return v.get<double>();
}

template <typename T>
void fill_integers(const std::string& tensor, const std::vector<const json*>& leaves, Tensor& out) {
  T* data = out.data<T>();
  for (size_t i = 0; i < leaves.size(); ++i) data[i] = integer_from_json<T>(tensor, *leaves[i], i);
}

template <typename T>
void integers_to_json(const Tensor& t, json& out) {
  const T* data = t.data<T>();
  for (int64_t i = 0; i < t.size(); ++i) out.push_back(data[i]);
}

}  // namespace

std::optional<ElementType> element_type_from_datatype(std::string_view datatype) {
  for (const DatatypeName& d : kDatatypes)
    if (datatype == d.name) return d.type;
  return std::nullopt;
}

const char* datatype_of(ElementType type) {
  for (const DatatypeName& d : kDatatypes)
    if (type == d.type) return d.name;
  throw RequestError(Status::kInternal,
                     std::string("element type '") + element_type_name(type) + "' has no protocol datatype");
}

int64_t element_count(const std::string& tensor, const Shape& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) throw invalid("input '" + tensor + "': shape " + shape_to_string(shape) + " has a negative dim");
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / d)
      throw invalid("input '" + tensor + "': shape " + shape_to_string(shape) + " is too large");
    count *= d;
  }
  return count;
}

namespace {

// Throws unless `bytes` holds exactly the raw encoding of a numeric tensor of `shape`.
void check_raw_size(const std::string& tensor, ElementType type, const Shape& shape, int64_t count,
                    std::string_view bytes) {
  const size_t element = element_size(type);
  if (static_cast<uint64_t>(count) > bytes.size() / element || bytes.size() != static_cast<size_t>(count) * element)
    throw invalid("input '" + tensor + "': shape " + shape_to_string(shape) + " of " + datatype_of(type) + " needs " +
                  (static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / element
                       ? std::string("more")
                       : std::to_string(static_cast<uint64_t>(count) * element)) +
                  " bytes, the data holds " + std::to_string(bytes.size()));
}

Tensor strings_from_raw(const std::string& tensor, const Shape& shape, int64_t count, std::string_view bytes) {
  // Walk the length-prefixed elements first; allocate only when they match the shape.
  std::vector<std::string_view> items;
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 4)
      throw invalid("input '" + tensor + "': BYTES data ends inside an element's 4-byte length");
    uint32_t length;
    std::memcpy(&length, bytes.data() + pos, 4);
    pos += 4;
    if (length > bytes.size() - pos)
      throw invalid("input '" + tensor + "': BYTES element " + std::to_string(items.size()) + " declares " +
                    std::to_string(length) + " bytes, only " + std::to_string(bytes.size() - pos) + " remain");
    items.emplace_back(bytes.data() + pos, length);
    pos += length;
    if (static_cast<int64_t>(items.size()) > count) break;
  }
  if (static_cast<int64_t>(items.size()) != count)
    throw invalid("input '" + tensor + "': shape " + shape_to_string(shape) + " needs " + std::to_string(count) +
                  " BYTES elements, the data holds " +
                  (static_cast<int64_t>(items.size()) > count ? "more" : std::to_string(items.size())));
  Tensor out(ElementType::kString, shape);
  std::string* data = out.data<std::string>();
  for (size_t i = 0; i < items.size(); ++i) data[i].assign(items[i]);
  return out;
}

}  // namespace

Tensor tensor_from_raw(const std::string& tensor, ElementType type, const Shape& shape, std::string_view bytes) {
  const int64_t count = element_count(tensor, shape);
  if (type == ElementType::kString) return strings_from_raw(tensor, shape, count, bytes);
  check_raw_size(tensor, type, shape, count, bytes);
  Tensor out(type, shape);
  if (type == ElementType::kBool) {
    bool* data = out.data<bool>();
    for (int64_t i = 0; i < count; ++i) data[i] = bytes[static_cast<size_t>(i)] != 0;
  } else if (!bytes.empty()) {
    std::memcpy(out.raw_data(), bytes.data(), bytes.size());
  }
  return out;
}

Tensor tensor_over_raw(const std::string& tensor, ElementType type, const Shape& shape, std::string_view bytes,
                       const std::shared_ptr<void>& owner) {
  if (type == ElementType::kString || type == ElementType::kBool || bytes.empty())
    return tensor_from_raw(tensor, type, shape, bytes);
  const int64_t count = element_count(tensor, shape);
  check_raw_size(tensor, type, shape, count, bytes);
  void* data = const_cast<char*>(bytes.data());
  if (!owner) return Tensor::borrow(type, shape, data);
  return Tensor::adopt(type, shape, std::shared_ptr<void>(owner, data));
}

Tensor tensor_from_json(const std::string& tensor, ElementType type, const Shape& shape, const json& data) {
  const int64_t count = element_count(tensor, shape);
  std::vector<const json*> leaves;
  flatten(data, leaves, static_cast<size_t>(std::min<int64_t>(count, std::numeric_limits<int32_t>::max())));
  if (static_cast<int64_t>(leaves.size()) != count)
    throw invalid("input '" + tensor + "': shape " + shape_to_string(shape) + " needs " + std::to_string(count) +
                  " elements, \"data\" holds " +
                  (static_cast<int64_t>(leaves.size()) > count ? "more" : std::to_string(leaves.size())));
  Tensor out(type, shape);
  switch (type) {
    case ElementType::kBool: {
      bool* d = out.data<bool>();
      for (size_t i = 0; i < leaves.size(); ++i) {
        if (!leaves[i]->is_boolean())
          throw invalid("input '" + tensor + "': element " + std::to_string(i) + " is " + leaves[i]->dump() +
                        ", expected true or false");
        d[i] = leaves[i]->get<bool>();
      }
      break;
    }
    case ElementType::kUInt8: fill_integers<uint8_t>(tensor, leaves, out); break;
    case ElementType::kUInt16: fill_integers<uint16_t>(tensor, leaves, out); break;
    case ElementType::kUInt32: fill_integers<uint32_t>(tensor, leaves, out); break;
    case ElementType::kUInt64: fill_integers<uint64_t>(tensor, leaves, out); break;
    case ElementType::kInt8: fill_integers<int8_t>(tensor, leaves, out); break;
    case ElementType::kInt16: fill_integers<int16_t>(tensor, leaves, out); break;
    case ElementType::kInt32: fill_integers<int32_t>(tensor, leaves, out); break;
    case ElementType::kInt64: fill_integers<int64_t>(tensor, leaves, out); break;
    case ElementType::kFloat16: {
      Float16* d = out.data<Float16>();
      for (size_t i = 0; i < leaves.size(); ++i)
        d[i] = Float16(static_cast<float>(float_from_json(tensor, *leaves[i], i)));
      break;
    }
    case ElementType::kBFloat16: {
      BFloat16* d = out.data<BFloat16>();
      for (size_t i = 0; i < leaves.size(); ++i)
        d[i] = BFloat16(static_cast<float>(float_from_json(tensor, *leaves[i], i)));
      break;
    }
    case ElementType::kFloat: {
      float* d = out.data<float>();
      for (size_t i = 0; i < leaves.size(); ++i) d[i] = static_cast<float>(float_from_json(tensor, *leaves[i], i));
      break;
    }
    case ElementType::kDouble: {
      double* d = out.data<double>();
      for (size_t i = 0; i < leaves.size(); ++i) d[i] = float_from_json(tensor, *leaves[i], i);
      break;
    }
    case ElementType::kString: {
      std::string* d = out.data<std::string>();
      for (size_t i = 0; i < leaves.size(); ++i) {
        if (!leaves[i]->is_string())
          throw invalid("input '" + tensor + "': element " + std::to_string(i) + " is " + leaves[i]->dump() +
                        ", expected a string");
        d[i] = leaves[i]->get<std::string>();
      }
      break;
    }
    default:
      throw invalid("input '" + tensor + "': datatype " + element_type_name(type) + " cannot be sent as JSON");
  }
  return out;
}

size_t raw_size(const Tensor& tensor) {
  if (tensor.type() != ElementType::kString) return tensor.bytes();
  size_t size = 0;
  const std::string* data = tensor.data<std::string>();
  for (int64_t i = 0; i < tensor.size(); ++i) size += 4 + data[i].size();
  return size;
}

void append_raw(const Tensor& tensor, std::string& out) {
  if (tensor.type() == ElementType::kString) {
    const std::string* data = tensor.data<std::string>();
    for (int64_t i = 0; i < tensor.size(); ++i) {
      const uint32_t length = static_cast<uint32_t>(data[i].size());
      out.append(reinterpret_cast<const char*>(&length), 4);
      out.append(data[i]);
    }
  } else if (tensor.type() == ElementType::kBool) {
    const bool* data = tensor.data<bool>();
    for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(data[i] ? 1 : 0);
  } else {
    out.append(static_cast<const char*>(tensor.raw_data()), tensor.bytes());
  }
}

json tensor_to_json(const Tensor& tensor) {
  json out = json::array();
  switch (tensor.type()) {
    case ElementType::kBool: {
      const bool* d = tensor.data<bool>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(d[i]);
      break;
    }
    case ElementType::kUInt8: integers_to_json<uint8_t>(tensor, out); break;
    case ElementType::kUInt16: integers_to_json<uint16_t>(tensor, out); break;
    case ElementType::kUInt32: integers_to_json<uint32_t>(tensor, out); break;
    case ElementType::kUInt64: integers_to_json<uint64_t>(tensor, out); break;
    case ElementType::kInt8: integers_to_json<int8_t>(tensor, out); break;
    case ElementType::kInt16: integers_to_json<int16_t>(tensor, out); break;
    case ElementType::kInt32: integers_to_json<int32_t>(tensor, out); break;
    case ElementType::kInt64: integers_to_json<int64_t>(tensor, out); break;
    case ElementType::kFloat16: {
      const Float16* d = tensor.data<Float16>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(static_cast<float>(d[i]));
      break;
    }
    case ElementType::kBFloat16: {
      const BFloat16* d = tensor.data<BFloat16>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(static_cast<float>(d[i]));
      break;
    }
    case ElementType::kFloat: {
      const float* d = tensor.data<float>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(d[i]);
      break;
    }
    case ElementType::kDouble: {
      const double* d = tensor.data<double>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(d[i]);
      break;
    }
    case ElementType::kString: {
      const std::string* d = tensor.data<std::string>();
      for (int64_t i = 0; i < tensor.size(); ++i) out.push_back(d[i]);
      break;
    }
    default:
      throw RequestError(Status::kInternal, std::string("an output of type ") + element_type_name(tensor.type()) +
                                                " cannot be sent as JSON");
  }
  return out;
}

}  // namespace kestrel::server
