// The schemas made one at a time are libonnx's registry's schemas: every one it holds, found at every opset.
#include "onnx/schema_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "onnx/defs/schema.h"

namespace kestrel::onnx_format {
namespace {

void expect_same_schema(const onnx::OpSchema& lazy, const onnx::OpSchema& full, const std::string& what) {
  EXPECT_EQ(lazy.Name(), full.Name()) << what;
  EXPECT_EQ(lazy.domain(), full.domain()) << what;
  EXPECT_EQ(lazy.SinceVersion(), full.SinceVersion()) << what;
  EXPECT_EQ(lazy.Deprecated(), full.Deprecated()) << what;
  EXPECT_EQ(lazy.min_input(), full.min_input()) << what;
  EXPECT_EQ(lazy.max_input(), full.max_input()) << what;
  EXPECT_EQ(lazy.min_output(), full.min_output()) << what;
  EXPECT_EQ(lazy.max_output(), full.max_output()) << what;
  EXPECT_EQ(lazy.inputs().size(), full.inputs().size()) << what;
  EXPECT_EQ(lazy.outputs().size(), full.outputs().size()) << what;
  EXPECT_EQ(lazy.attributes().size(), full.attributes().size()) << what;
  EXPECT_EQ(lazy.typeConstraintParams().size(), full.typeConstraintParams().size()) << what;
  EXPECT_EQ(lazy.has_type_and_shape_inference_function(), full.has_type_and_shape_inference_function())
      << what;
  EXPECT_EQ(lazy.HasFunction(), full.HasFunction()) << what;
  EXPECT_EQ(lazy.HasContextDependentFunction(), full.HasContextDependentFunction()) << what;
  if (lazy.HasFunction() && full.HasFunction()) {
    EXPECT_EQ(lazy.GetFunction()->SerializeAsString(), full.GetFunction()->SerializeAsString()) << what;
  }
}

TEST(SchemaRegistry, FindsWhatLibonnxsRegistryFindsAtEveryOpset) {
  std::map<std::pair<std::string, std::string>, int> newest;  // (domain, op) -> highest since-version
  const std::vector<onnx::OpSchema> all = onnx::OpSchemaRegistry::get_all_schemas_with_history();
  ASSERT_GT(all.size(), 400u);
  for (const onnx::OpSchema& s : all) {
    int& v = newest[{s.domain(), s.Name()}];
    v = std::max(v, s.SinceVersion());
  }
  int compared = 0;
  for (const auto& [key, highest] : newest) {
    const auto& [domain, op] = key;
    // Below the first version, at every version and past the last.
    for (int version = 0; version <= highest + 2; ++version) {
      const std::string what = "'" + domain + "' " + op + " at opset " + std::to_string(version);
      const onnx::OpSchema* full = onnx::OpSchemaRegistry::Schema(op, version, domain);
      const onnx::OpSchema* lazy = op_schema(op, version, domain);
      ASSERT_EQ(lazy == nullptr, full == nullptr) << what;
      if (!full) continue;
      expect_same_schema(*lazy, *full, what);
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(SchemaRegistry, UnknownOpsAndDomainsHaveNoSchema) {
  EXPECT_EQ(op_schema("NoSuchOp", 13, ""), nullptr);
  EXPECT_EQ(op_schema("Conv", 13, "com.example"), nullptr);
  EXPECT_EQ(op_schema("Conv", 13, "ai.onnx.ml"), nullptr);
  ASSERT_NE(op_schema("Conv", 13, ""), nullptr);
  EXPECT_EQ(op_schema("Conv", 13, ""), op_schema("Conv", 11, ""));  // one object per schema
  EXPECT_EQ(op_schema("Conv", 13, "")->SinceVersion(), 11);
}

}  // namespace
}  // namespace kestrel::onnx_format
