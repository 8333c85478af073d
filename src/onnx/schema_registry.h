// ONNX's op schemas (libonnx 1.12), each constructed the first time it is asked for. libonnx's own
// OpSchemaRegistry builds all ~440 of them on its first lookup, about 5 ms: a fifth of a small model's
// session creation, for the dozen schemas a model uses.
#pragma once

#include <string>

namespace onnx {
class OpSchema;
}  // namespace onnx

namespace kestrel::onnx_format {

// As onnx::OpSchemaRegistry::Schema(op, max_inclusive_version, domain): the schema of `op` in `domain` (""
// for ai.onnx) with the highest since-version not above `max_inclusive_version`, finalized, or null when
// there is none. The schema lives as long as the process.
const onnx::OpSchema* op_schema(const std::string& op, int max_inclusive_version, const std::string& domain);

}  // namespace kestrel::onnx_format
