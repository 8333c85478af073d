// Many of libonnx 1.12's op inference functions read a required input's type without checking that it is known:
// EyeLike with a dtype hands a null type to propagateShape, a SEGV. An input's type is unknown when its name is
// defined nowhere, when it is a graph input declared without a type, or when it comes from a node ONNX cannot
// infer (a custom op, an op whose inference failed). Such models are legal or refused later with a clear message,
// so the crash must not happen first: every inference function is wrapped to skip a node whose required inputs
// have no known type, as ONNX already skips nodes it has no schema for.
#include "onnx/guarded_shape_inference.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "onnx/defs/schema.h"
#include "onnx/defs/shape_inference.h"
#include "onnx/onnx_pb.h"
#include "onnx/schema_registry.h"
#include "onnx/shape_inference/implementation.h"

namespace kestrel::onnx_format {
namespace {

// Gemm's inference (opsets 6-10) indexes dims 0 and 1 of A and B without checking their rank: a 1-D input reads
// past the shape (a SEGV found by fuzzing). Such a node is refused later by the kernel with a clear message.
bool gemm_input_not_2d(const onnx::InferenceContext& ctx) {
  for (size_t i = 0; i < 2 && i < ctx.getNumInputs(); ++i) {
    const onnx::TypeProto* type = ctx.getInputType(i);
    if (type && type->has_tensor_type() && type->tensor_type().has_shape() &&
        type->tensor_type().shape().dim_size() != 2)
      return true;
  }
  return false;
}

// LayerNormalization's inference (opset 17) indexes X's dims with its axis attribute unchecked: an axis outside
// [-rank, rank) reads past the shape (also found by fuzzing). The kernel refuses such a node with a clear message.
bool layer_norm_axis_out_of_range(const onnx::InferenceContext& ctx) {
  const onnx::TypeProto* type = ctx.getNumInputs() > 0 ? ctx.getInputType(0) : nullptr;
  if (!type || !type->has_tensor_type() || !type->tensor_type().has_shape()) return false;
  const int64_t rank = type->tensor_type().shape().dim_size();
  const onnx::AttributeProto* axis = ctx.getAttribute("axis");
  const int64_t a = axis ? axis->i() : -1;
  return a < -rank || a >= rank;
}

onnx::InferenceFunction skip_untyped_inputs(const onnx::OpSchema& schema) {
  const bool is_gemm = schema.Name() == "Gemm" && schema.domain().empty();
  const bool is_layer_norm = schema.Name() == "LayerNormalization" && schema.domain().empty();
  return [inner = schema.GetTypeAndShapeInferenceFunction(), formals = schema.inputs(), is_gemm,
          is_layer_norm](onnx::InferenceContext& ctx) {
    if (is_gemm && gemm_input_not_2d(ctx)) fail_shape_inference("Gemm inputs A and B must be 2-D");
    if (is_layer_norm && layer_norm_axis_out_of_range(ctx)) fail_shape_inference("LayerNormalization axis out of range");
    for (size_t i = 0; i < ctx.getNumInputs() && !formals.empty(); ++i) {
      // A variadic formal parameter is the last one and covers every input from its index on.
      const auto& formal = formals[std::min(i, formals.size() - 1)];
      if (formal.GetOption() == onnx::OpSchema::Optional) continue;
      const onnx::TypeProto* type = ctx.getInputType(i);
      if (!type || type->value_case() == onnx::TypeProto::VALUE_NOT_SET)
        fail_type_inference("input ", i, " has no known type");
    }
    inner(ctx);
  };
}

// ONNX's schemas (schema_registry.h), each with its inference function wrapped. Copies are made on first use
// and kept for the life of the process (one per op version asked for).
class GuardedSchemaRegistry final : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int max_inclusive_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* schema = op_schema(key, max_inclusive_version, domain);
    if (!schema || !schema->has_type_and_shape_inference_function()) return schema;
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, fresh] = guarded_.try_emplace(schema);
    if (fresh) {
      it->second = std::make_unique<onnx::OpSchema>(*schema);
      it->second->TypeAndShapeInferenceFunction(skip_untyped_inputs(*schema));
    }
    return it->second.get();
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> guarded_;
};

}  // namespace

void infer_onnx_shapes(onnx::ModelProto& model) {
  static const GuardedSchemaRegistry* registry = new GuardedSchemaRegistry;  // lives as long as its schemas
  try {
    onnx::ShapeInferenceOptions options{false, 0, false};
    onnx::shape_inference::InferShapes(model, registry, options);
  } catch (const std::exception&) {
  }
}

}  // namespace kestrel::onnx_format
