// Custom-operator libraries: dlopen, the registration callback, and the kernel that adapts Kestrel's
// KernelContext to the C ABI of include/kestrel/custom_op.h.
#include "runtime/custom_ops.h"

#include <dlfcn.h>

#include <filesystem>

#include "kestrel/custom_op.h"

// The ABI's opaque types, defined on Kestrel's side.
struct KestrelRegistration {
  struct Op {
    std::string domain;
    std::string name;
    int since = 1;
    int until = 1;
    KestrelComputeFunction compute = nullptr;
    void* user_data = nullptr;
  };
  std::vector<Op> ops;
  std::string error;  // the first registration error
};

struct KestrelKernelContext {
  kestrel::runtime::KernelContext* ctx = nullptr;
  std::vector<bool> allocated;  // outputs given out by allocate_output
  std::string error;            // what api->fail (or Kestrel on the op's behalf) recorded
};

namespace kestrel {
namespace {

using runtime::KernelContext;

int record(KestrelKernelContext* c, const std::string& message) {
  if (c->error.empty()) c->error = message;
  return 1;
}

const ir::Attribute* find_attribute(const KestrelKernelContext* c, const char* name, ir::Attribute::Type type) {
  if (!name) return nullptr;
  const ir::Attribute* a = c->ctx->node().attribute(name);
  return a && a->type == type ? a : nullptr;
}

// The function table handed to libraries. Every entry checks its arguments: the caller is foreign code.
const KestrelApi& api() {
  static const KestrelApi table = [] {
    KestrelApi t{};
    t.abi_version = KESTREL_CUSTOM_OP_ABI_VERSION;
    t.register_op = [](KestrelRegistration* reg, const KestrelCustomOp* op) -> int {
      auto refuse = [reg](const std::string& message) {
        if (reg->error.empty()) reg->error = message;
        return 1;
      };
      if (!reg) return 1;
      if (!op) return refuse("register_op was given a null op");
      const std::string label = std::string(op->domain ? op->domain : "") + ":" + (op->name ? op->name : "");
      if (op->abi_version != KESTREL_CUSTOM_OP_ABI_VERSION)
        return refuse("op '" + label + "' was built for custom-op ABI version " + std::to_string(op->abi_version) +
                      "; this Kestrel supports version " + std::to_string(KESTREL_CUSTOM_OP_ABI_VERSION) +
                      " (rebuild the library against this include/kestrel/custom_op.h)");
      if (!op->name || !*op->name) return refuse("an op has no name");
      const std::string domain = op->domain ? op->domain : "";
      // Built-in ops of ai.onnx are also evaluated by the optimizer (constant folding): replacing them per
      // session would make folded and run results disagree.
      if (domain.empty() || domain == "ai.onnx")
        return refuse("op '" + label + "' is in the ai.onnx domain; custom ops need a domain of their own");
      if (!op->compute) return refuse("op '" + label + "' has no compute function");
      if (op->since_version < 1 || op->until_version < op->since_version)
        return refuse("op '" + label + "' has an invalid opset range " + std::to_string(op->since_version) + ".." +
                      std::to_string(op->until_version));
      reg->ops.push_back({domain, op->name, op->since_version, op->until_version, op->compute, op->user_data});
      return 0;
    };
    t.num_inputs = [](const KestrelKernelContext* c) -> int32_t {
      return c ? static_cast<int32_t>(c->ctx->num_inputs()) : 0;
    };
    t.num_outputs = [](const KestrelKernelContext* c) -> int32_t {
      return c ? static_cast<int32_t>(c->ctx->num_outputs()) : 0;
    };
    t.input = [](KestrelKernelContext* c, int32_t index, KestrelTensor* out) -> int {
      if (!c || !out) return 1;
      const std::string which = "input " + std::to_string(index);
      if (index < 0 || !c->ctx->has_input(static_cast<size_t>(index)))
        return record(c, which + " is absent (the node has " + std::to_string(c->ctx->num_inputs()) + " inputs)");
      const Value& v = c->ctx->input_value(static_cast<size_t>(index));
      if (!v.is_tensor()) return record(c, which + " is not a tensor");
      const Tensor& t = v.tensor();
      if (t.type() == ElementType::kString) return record(c, which + " is a string tensor, which custom ops cannot read");
      out->element_type = static_cast<int32_t>(t.type());
      out->rank = static_cast<int32_t>(t.rank());
      out->shape = t.shape().data();
      out->data = const_cast<void*>(t.raw_data());
      return 0;
    };
    t.allocate_output = [](KestrelKernelContext* c, int32_t index, int32_t element_type, const int64_t* shape,
                           int32_t rank) -> void* {
      if (!c) return nullptr;
      const std::string which = "output " + std::to_string(index);
      if (index < 0 || static_cast<size_t>(index) >= c->ctx->num_outputs()) {
        record(c, which + " does not exist (the node has " + std::to_string(c->ctx->num_outputs()) + " outputs)");
        return nullptr;
      }
      if (!is_valid_element_type(element_type) || element_type == KESTREL_ELEMENT_STRING) {
        record(c, which + ": element type " + std::to_string(element_type) + " is not a numeric ONNX type");
        return nullptr;
      }
      if (rank < 0 || (rank > 0 && !shape)) {
        record(c, which + ": invalid shape (rank " + std::to_string(rank) + ")");
        return nullptr;
      }
      try {
        Tensor& t = c->ctx->allocate_output(static_cast<size_t>(index), static_cast<ElementType>(element_type),
                                            Shape(shape, shape + rank));
        c->allocated[static_cast<size_t>(index)] = true;
        static char empty_tensor_data;  // a non-null pointer for zero-element outputs, which are never written
        return t.raw_data() ? t.raw_data() : &empty_tensor_data;
      } catch (const Error& e) {
        record(c, which + ": " + e.what());
      } catch (const std::bad_alloc&) {
        record(c, which + ": out of memory");
      }
      return nullptr;
    };
    t.attribute_int = [](const KestrelKernelContext* c, const char* name, int64_t* value) -> int {
      const ir::Attribute* a = c && value ? find_attribute(c, name, ir::Attribute::Type::kInt) : nullptr;
      if (!a) return 1;
      *value = a->i;
      return 0;
    };
    t.attribute_float = [](const KestrelKernelContext* c, const char* name, float* value) -> int {
      const ir::Attribute* a = c && value ? find_attribute(c, name, ir::Attribute::Type::kFloat) : nullptr;
      if (!a) return 1;
      *value = a->f;
      return 0;
    };
    t.attribute_string = [](const KestrelKernelContext* c, const char* name, const char** value) -> int {
      const ir::Attribute* a = c && value ? find_attribute(c, name, ir::Attribute::Type::kString) : nullptr;
      if (!a) return 1;
      *value = a->s.c_str();
      return 0;
    };
    t.fail = [](KestrelKernelContext* c, const char* message) -> int {
      if (c) record(c, message && *message ? message : "(no message)");
      return 1;
    };
    return t;
  }();
  return table;
}

class CustomKernel final : public runtime::Kernel {
 public:
  CustomKernel(const KestrelRegistration::Op& op, std::shared_ptr<void> library)
      : op_(op), library_(std::move(library)) {}

  void compute(KernelContext& ctx) const override {
    KestrelKernelContext c;
    c.ctx = &ctx;
    c.allocated.assign(ctx.num_outputs(), false);
    int status = 0;
    try {
      status = op_.compute(op_.user_data, &c, &api());
    } catch (const std::exception& e) {
      fail(ctx, std::string("threw an exception: ") + e.what());
    } catch (...) {
      fail(ctx, "threw an exception that is not a std::exception");
    }
    if (status != 0)
      fail(ctx, "failed (status " + std::to_string(status) + "): " + (c.error.empty() ? "(no message)" : c.error));
    for (size_t i = 0; i < c.allocated.size(); ++i)
      if (!c.allocated[i] && ctx.has_output(i))
        fail(ctx, "returned success without allocating output " + std::to_string(i));
  }

 private:
  [[noreturn]] void fail(const KernelContext& ctx, const std::string& message) const {
    throw Error(ErrorCode::kFail, ctx.node().describe() + ": custom op " + op_.domain + ":" + op_.name + " " + message);
  }

  KestrelRegistration::Op op_;
  std::shared_ptr<void> library_;  // keeps the code of compute loaded
};

}  // namespace

CustomOpLibrary::CustomOpLibrary(const std::string& path) : path_(path) {
  const std::string what = "custom op library '" + path + "'";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorCode::kNoSuchFile, what + " does not exist or is not a file");
  // A path without a slash would make dlopen search the library path instead of opening this file.
  const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* reason = dlerror();
    throw Error(ErrorCode::kFail, what + " cannot be loaded: " + (reason ? reason : "unknown dlopen error"));
  }
  handle_ = std::shared_ptr<void>(handle, [](void* h) { dlclose(h); });
  dlerror();
  auto* register_ops =
      reinterpret_cast<KestrelRegisterCustomOpsFunction>(dlsym(handle, KESTREL_REGISTER_CUSTOM_OPS_SYMBOL));
  if (!register_ops)
    throw Error(ErrorCode::kFail, what + " does not export " KESTREL_REGISTER_CUSTOM_OPS_SYMBOL
                                         " (declare it extern \"C\" and give it default visibility)");
  KestrelRegistration registration;
  int status = 0;
  try {
    status = register_ops(&registration, &api());
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kFail, what + ": " KESTREL_REGISTER_CUSTOM_OPS_SYMBOL " threw: " + e.what());
  } catch (...) {
    throw Error(ErrorCode::kFail, what + ": " KESTREL_REGISTER_CUSTOM_OPS_SYMBOL " threw an exception");
  }
  if (!registration.error.empty()) throw Error(ErrorCode::kFail, what + ": " + registration.error);
  if (status != 0)
    throw Error(ErrorCode::kFail, what + ": " KESTREL_REGISTER_CUSTOM_OPS_SYMBOL " reported failure (status " +
                                      std::to_string(status) + ")");
  for (const KestrelRegistration::Op& op : registration.ops) {
    runtime::KernelDef def;
    def.op = op.name;
    def.domain = op.domain;
    def.since = op.since;
    def.until = op.until;
    def.types = "custom";
    std::shared_ptr<void> library = handle_;
    def.factory = [op, library](const runtime::KernelInfo&) -> std::unique_ptr<runtime::Kernel> {
      return std::make_unique<CustomKernel>(op, library);
    };
    kernels_.push_back(std::move(def));
  }
}

void SessionOptions::register_custom_ops_library(const std::string& path) {
  custom_op_libraries.push_back(std::make_shared<const CustomOpLibrary>(path));
}

}  // namespace kestrel
