// KernelInfo's attribute access and KernelContext's shared helpers; every error names the node.
#include "runtime/kernel.h"

#include "runtime/unaligned_constants.h"

namespace kestrel::runtime {
namespace {
const TypeInfo kUnknownType;
}

const Tensor* KernelInfo::constant_input(size_t i) const {
  if (!has_input(i)) return nullptr;
  return aligned_initializer(*node_.inputs[i]);
}

const TypeInfo& KernelInfo::input_type(size_t i) const {
  return has_input(i) ? node_.inputs[i]->type : kUnknownType;
}

const TypeInfo& KernelInfo::output_type(size_t i) const {
  return has_output(i) ? node_.outputs[i]->type : kUnknownType;
}

const ir::Attribute& KernelInfo::attr(const std::string& name, ir::Attribute::Type type) const {
  const ir::Attribute* a = node_.attribute(name);
  if (!a) fail("required attribute '" + name + "' is missing");
  if (a->type != type)
    fail("attribute '" + name + "' should be " + ir::attribute_type_name(type) + ", got " +
         ir::attribute_type_name(a->type));
  return *a;
}

int64_t KernelInfo::attr_int(const std::string& name) const { return attr(name, ir::Attribute::Type::kInt).i; }
int64_t KernelInfo::attr_int(const std::string& name, int64_t fallback) const {
  return has_attr(name) ? attr_int(name) : fallback;
}
float KernelInfo::attr_float(const std::string& name) const { return attr(name, ir::Attribute::Type::kFloat).f; }
float KernelInfo::attr_float(const std::string& name, float fallback) const {
  return has_attr(name) ? attr_float(name) : fallback;
}
std::string KernelInfo::attr_string(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kString).s;
}
std::string KernelInfo::attr_string(const std::string& name, const std::string& fallback) const {
  return has_attr(name) ? attr_string(name) : fallback;
}
std::vector<int64_t> KernelInfo::attr_ints(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kInts).ints;
}
std::vector<int64_t> KernelInfo::attr_ints(const std::string& name, std::vector<int64_t> fallback) const {
  return has_attr(name) ? attr_ints(name) : fallback;
}
std::vector<float> KernelInfo::attr_floats(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kFloats).floats;
}
std::vector<float> KernelInfo::attr_floats(const std::string& name, std::vector<float> fallback) const {
  return has_attr(name) ? attr_floats(name) : fallback;
}
std::vector<std::string> KernelInfo::attr_strings(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kStrings).strings;
}
std::vector<std::string> KernelInfo::attr_strings(const std::string& name,
                                                  std::vector<std::string> fallback) const {
  return has_attr(name) ? attr_strings(name) : fallback;
}
const Tensor& KernelInfo::attr_tensor(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kTensor).t;
}
const std::vector<Tensor>& KernelInfo::attr_tensors(const std::string& name) const {
  return attr(name, ir::Attribute::Type::kTensors).tensors;
}

const Plan& KernelInfo::subgraph(const std::string& name) const {
  attr(name, ir::Attribute::Type::kGraph);
  const Plan* plan = compile_subgraph_ ? compile_subgraph_(name) : nullptr;
  if (!plan) fail("subgraph '" + name + "' could not be compiled");
  return *plan;
}

void KernelInfo::fail(const std::string& message) const {
  throw Error(ErrorCode::kInvalidArgument, node_.describe() + ": " + message);
}

void KernelInfo::not_implemented(const std::string& message) const {
  throw Error(ErrorCode::kNotImplemented, node_.describe() + ": " + message);
}

const Tensor& KernelContext::input(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  const Value& v = input_value(i);
  if (!v.is_tensor()) fail("input " + std::to_string(i) + " should be a tensor");
  return v.tensor();
}

const Tensor* KernelContext::optional_input(size_t i) const {
  if (!has_input(i)) return nullptr;
  const Value& v = input_value(i);
  if (v.is_none()) return nullptr;
  if (!v.is_tensor()) fail("input " + std::to_string(i) + " should be a tensor");
  return &v.tensor();
}

Tensor& KernelContext::allocate_output(size_t i, ElementType type, Shape shape) {
  if (i >= num_outputs()) fail("kernel wrote output " + std::to_string(i) + " which the node does not have");
  set_output(i, Value(Tensor(type, std::move(shape))));
  return output_value(i).tensor();
}

void KernelContext::fail(const std::string& message) const {
  throw Error(ErrorCode::kInvalidArgument, node().describe() + ": " + message);
}

}  // namespace kestrel::runtime
