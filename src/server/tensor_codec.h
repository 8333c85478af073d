// Tensors in the protocol's two encodings: JSON arrays (row-major, nested or flat) and raw bytes (the binary tensor
// data extension and gRPC's raw contents: little-endian, row-major, BYTES elements as a 4-byte little-endian length
// followed by the bytes). Every decoder checks the declared shape against the data actually present before it
// allocates anything, so a huge declared shape costs nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kestrel/tensor.h"

namespace kestrel::server {

// "FP32" -> kFloat, "BYTES" -> kString, ...; nullopt for names the protocol does not define.
std::optional<ElementType> element_type_from_datatype(std::string_view datatype);
// kFloat -> "FP32"; throws RequestError(kInternal) for types the protocol cannot carry (complex).
const char* datatype_of(ElementType type);

// Element count of a declared shape; RequestError(kInvalidArgument) naming `tensor` for negative dims or overflow.
int64_t element_count(const std::string& tensor, const Shape& shape);

// Decodes raw bytes; the byte count must match the shape exactly.
Tensor tensor_from_raw(const std::string& tensor, ElementType type, const Shape& shape, std::string_view bytes);
// Like tensor_from_raw, but a numeric tensor points into `bytes` instead of copying them: kept alive by `owner`, or,
// when `owner` is null, borrowed (the caller keeps the bytes alive while the tensor is in use). BOOL (whose bytes
// are normalised to 0/1) and BYTES are decoded into buffers of their own.
Tensor tensor_over_raw(const std::string& tensor, ElementType type, const Shape& shape, std::string_view bytes,
                       const std::shared_ptr<void>& owner);
// Decodes a JSON "data" member: a flat or nested array (or a single value for a scalar) of shape's element count.
Tensor tensor_from_json(const std::string& tensor, ElementType type, const Shape& shape, const nlohmann::json& data);

// Size of the raw encoding of `tensor`.
size_t raw_size(const Tensor& tensor);
// Appends the raw encoding of `tensor` to `out`.
void append_raw(const Tensor& tensor, std::string& out);
// The flat JSON array of `tensor`'s elements (FP16/BF16 as numbers, BYTES as strings).
nlohmann::json tensor_to_json(const Tensor& tensor);

}  // namespace kestrel::server
