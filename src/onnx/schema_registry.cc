// ONNX's op schemas made one at a time, from the table of libonnx's schema functions that the build reads
// from libonnx's opset headers (CMakeLists.txt): the functions libonnx's registry calls all at once.
#include "onnx/schema_registry.h"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "onnx/defs/operator_sets.h"
#include "onnx/defs/operator_sets_ml.h"
#include "onnx/defs/operator_sets_preview.h"
#include "onnx/defs/schema.h"

namespace kestrel::onnx_format {
namespace {

struct SchemaFunction {
  const char* domain;
  const char* op;
  int since_version;
  onnx::OpSchema (*make)();
};

constexpr const char* kDomainOnnx = onnx::ONNX_DOMAIN;
constexpr const char* kDomainOnnxML = onnx::AI_ONNX_ML_DOMAIN;
constexpr const char* kDomainOnnxPreview = onnx::AI_ONNX_PREVIEW_TRAINING_DOMAIN;

#define KESTREL_ONNX_SCHEMA(domain, version, op) \
  {kDomain##domain, #op, version,                \
   &onnx::GetOpSchema<onnx::ONNX_OPERATOR_SET_SCHEMA_CLASS_NAME(domain, version, op)>},
constexpr SchemaFunction kSchemaFunctions[] = {
#include "onnx/schema_table.inc"
};
#undef KESTREL_ONNX_SCHEMA

class LazySchemaRegistry {
 public:
  LazySchemaRegistry() {
    for (const SchemaFunction& f : kSchemaFunctions)
      versions_[{f.domain, f.op}][f.since_version].function = &f;
  }

  const onnx::OpSchema* find(const std::string& op, int max_inclusive_version, const std::string& domain) {
    auto versions = versions_.find({domain, op});
    if (versions == versions_.end()) return nullptr;
    auto it = versions->second.upper_bound(max_inclusive_version);
    if (it == versions->second.begin()) return nullptr;  // every version is newer
    Entry& entry = std::prev(it)->second;
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry.schema) {
      // What libonnx's registry does to each schema it registers (OpSchemaRegisterOnce): finalize it, and
      // leave out one that fails to.
      try {
        auto schema = std::make_unique<onnx::OpSchema>(entry.function->make());
        schema->Finalize();
        entry.schema = std::move(schema);
      } catch (const std::exception&) {
        return nullptr;
      }
    }
    return entry.schema.get();
  }

 private:
  struct Entry {
    const SchemaFunction* function = nullptr;
    std::unique_ptr<onnx::OpSchema> schema;  // made on first use
  };
  std::map<std::tuple<std::string, std::string>, std::map<int, Entry>> versions_;  // (domain, op) -> version
  std::mutex mu_;
};

}  // namespace

const onnx::OpSchema* op_schema(const std::string& op, int max_inclusive_version, const std::string& domain) {
  static LazySchemaRegistry* registry =
      new LazySchemaRegistry;  // schemas handed out live as long as the process
  return registry->find(op, max_inclusive_version, domain);
}

}  // namespace kestrel::onnx_format
