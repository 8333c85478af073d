// Turns ONNX protobuf into Kestrel's IR. The only part of Kestrel (with value_io) that touches protobuf.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ir/graph.h"
#include "kestrel/value.h"

namespace onnx {
class TensorProto;
class TypeProto;
}  // namespace onnx

namespace kestrel::onnx_format {

struct LoadOptions {
  // Whether a kernel exists for (domain, op, opset). Nodes of spec ops without one are replaced by the op's
  // function body from ONNX's schemas when it has one (model-local functions are always expanded).
  std::function<bool(const std::string&, const std::string&, int)> has_kernel;
  // Fixes the dynamic dims of the main graph's inputs that carry these ONNX dimension denotations ("DATA_BATCH"):
  // ORT's add_free_dimension_override_by_denotation. A fixed dim with another value, a negative value or a
  // denotation no input dim carries is an error.
  std::map<std::string, int64_t> dimension_overrides_by_denotation;
  // When the model imports an older ai.onnx opset, ONNX's version converter rewrites it to this one first (the
  // quantizer needs 10, 11 or 13 for the ops it adds). 0 keeps the model's opset.
  int min_onnx_opset = 0;
};

// Loads a model file. External data is resolved relative to the file's folder and may not leave it.
std::unique_ptr<ir::Model> load_model_file(const std::string& path, const LoadOptions& options = {});
// Loads a model from memory. `base_dir` resolves external data ("" forbids external data).
std::unique_ptr<ir::Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir,
                                            const LoadOptions& options = {});

// A TensorProto's raw_data kept outside the message (payload_scan.h): its length, a function that copies it
// into a buffer of that size, and (for a model read from a file) one that maps it in place when its position
// suits the given alignment, else returns null (map_file_range).
struct RawSource {
  uint64_t length = 0;
  std::function<void(void*)> read;
  std::function<std::shared_ptr<void>(size_t alignment)> view;
};

// A TensorProto's data as a Tensor (typed fields, raw_data or external data). `what` names it in errors. `raw`,
// when given, stands for the proto's raw_data.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir, const std::string& what,
                         const RawSource* raw = nullptr);
// Fills a TensorProto from a Tensor (raw_data for numbers, string_data for strings).
void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto);
TypeInfo type_from_proto(const onnx::TypeProto& proto);

}  // namespace kestrel::onnx_format
