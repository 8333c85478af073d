// Parsing of a model's config.json (see model_config.h for the format).
#include "server/model_config.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace kestrel::server {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error("config.json: " + message); }

void reject_unknown_keys(const json& object, const std::string& where, const std::vector<std::string>& known) {
  for (const auto& [key, value] : object.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail("unknown key '" + where + key + "'");
}

int64_t integer(const json& v, const std::string& key, int64_t min, int64_t max) {
  if (!v.is_number_integer()) fail("'" + key + "' must be an integer, got " + v.dump());
  const int64_t value = v.get<int64_t>();
  if (value < min || value > max)
    fail("'" + key + "' must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + v.dump());
  return value;
}

GraphOptimizationLevel optimization_level(const json& v) {
  if (v.is_number_integer()) {
    switch (v.get<int>()) {
      case 0: return GraphOptimizationLevel::kDisableAll;
      case 1: return GraphOptimizationLevel::kBasic;
      case 2: return GraphOptimizationLevel::kExtended;
      case 3: return GraphOptimizationLevel::kLayout;
      case 99: return GraphOptimizationLevel::kAll;
    }
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "disable") return GraphOptimizationLevel::kDisableAll;
    if (s == "basic") return GraphOptimizationLevel::kBasic;
    if (s == "extended") return GraphOptimizationLevel::kExtended;
    if (s == "layout") return GraphOptimizationLevel::kLayout;
    if (s == "all") return GraphOptimizationLevel::kAll;
  }
  fail("'session.graph_optimization_level' must be 0, 1, 2, 3, 99 or disable/basic/extended/layout/all, got " +
       v.dump());
}

void parse_session(const json& s, SessionOptions& options) {
  if (!s.is_object()) fail("'session' must be an object");
  reject_unknown_keys(s, "session.",
                      {"intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level", "execution_mode",
                       "enable_cpu_mem_arena"});
  if (s.contains("intra_op_num_threads"))
    options.intra_op_num_threads = static_cast<int>(integer(s["intra_op_num_threads"], "session.intra_op_num_threads", 0, 1024));
  if (s.contains("inter_op_num_threads"))
    options.inter_op_num_threads = static_cast<int>(integer(s["inter_op_num_threads"], "session.inter_op_num_threads", 0, 1024));
  if (s.contains("graph_optimization_level"))
    options.graph_optimization_level = optimization_level(s["graph_optimization_level"]);
  if (s.contains("execution_mode")) {
    const json& m = s["execution_mode"];
    if (m == "sequential")
      options.execution_mode = ExecutionMode::kSequential;
    else if (m == "parallel")
      options.execution_mode = ExecutionMode::kParallel;
    else
      fail("'session.execution_mode' must be \"sequential\" or \"parallel\", got " + m.dump());
  }
  if (s.contains("enable_cpu_mem_arena")) {
    if (!s["enable_cpu_mem_arena"].is_boolean()) fail("'session.enable_cpu_mem_arena' must be true or false");
    options.enable_cpu_mem_arena = s["enable_cpu_mem_arena"].get<bool>();
  }
}

}  // namespace

ModelConfig parse_model_config(const std::string& text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) fail("not valid JSON");
  if (!root.is_object()) fail("the top level must be an object");
  reject_unknown_keys(root, "", {"max_batch_size", "dynamic_batching", "instance_count", "version_policy", "session"});
  ModelConfig config;
  if (root.contains("max_batch_size"))
    config.max_batch_size = integer(root["max_batch_size"], "max_batch_size", 0, 1 << 20);
  if (root.contains("instance_count"))
    config.instance_count = static_cast<int>(integer(root["instance_count"], "instance_count", 1, 256));
  if (root.contains("version_policy")) {
    const json& p = root["version_policy"];
    if (p == "all")
      config.all_versions = true;
    else if (p != "latest")
      fail("'version_policy' must be \"latest\" or \"all\", got " + p.dump());
  }
  if (root.contains("session")) parse_session(root["session"], config.session);
  if (root.contains("dynamic_batching")) {
    const json& b = root["dynamic_batching"];
    if (!b.is_object()) fail("'dynamic_batching' must be an object");
    reject_unknown_keys(b, "dynamic_batching.", {"max_queue_delay_microseconds", "preferred_batch_size",
                                                  "delay_lone_requests"});
    DynamicBatching batching;
    if (b.contains("max_queue_delay_microseconds"))
      batching.max_queue_delay_microseconds = integer(b["max_queue_delay_microseconds"],
                                                      "dynamic_batching.max_queue_delay_microseconds", 0, 60'000'000);
    if (b.contains("preferred_batch_size")) {
      const json& p = b["preferred_batch_size"];
      if (!p.is_array()) fail("'dynamic_batching.preferred_batch_size' must be an array of integers");
      for (const json& size : p)
        batching.preferred_batch_sizes.push_back(
            integer(size, "dynamic_batching.preferred_batch_size[]", 1, 1 << 20));
      std::sort(batching.preferred_batch_sizes.begin(), batching.preferred_batch_sizes.end());
    }
    if (b.contains("delay_lone_requests")) {
      if (!b["delay_lone_requests"].is_boolean()) fail("'dynamic_batching.delay_lone_requests' must be true or false");
      batching.delay_lone_requests = b["delay_lone_requests"].get<bool>();
    }
    if (config.max_batch_size <= 0) fail("'dynamic_batching' needs 'max_batch_size' >= 1");
    for (int64_t size : batching.preferred_batch_sizes)
      if (size > config.max_batch_size)
        fail("preferred batch size " + std::to_string(size) + " exceeds max_batch_size " +
             std::to_string(config.max_batch_size));
    config.dynamic_batching = batching;
  }
  return config;
}

}  // namespace kestrel::server
