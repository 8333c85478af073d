// ONNX's own shape inference (libonnx 1.12), run so that a model it cannot type never reaches the op functions
// that assume it can.
#pragma once

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace kestrel::onnx_format {

// Fills the model's value_info with what ONNX's shape inference finds. Errors are not reported: ONNX knows
// opsets up to 17 only, and Kestrel's own shape functions are the authority at run time.
void infer_onnx_shapes(onnx::ModelProto& model);

}  // namespace kestrel::onnx_format
