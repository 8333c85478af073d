// The public entry point: a Session loads a model once and runs it many times, from many threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kestrel/error.h"
#include "kestrel/tensor.h"
#include "kestrel/value.h"

namespace kestrel {

enum class ExecutionMode { kSequential = 0, kParallel = 1 };

// ONNX Runtime's levels and meanings.
enum class GraphOptimizationLevel { kDisableAll = 0, kBasic = 1, kExtended = 2, kLayout = 3, kAll = 99 };

// A loaded custom-operator library (include/kestrel/custom_op.h); see SessionOptions::register_custom_ops_library.
class CustomOpLibrary;

// Severity of log messages, as ONNX Runtime numbers them.
enum class LogSeverity { kVerbose = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

struct SessionOptions {
  int intra_op_num_threads = 0;  // 0: one per physical core
  int inter_op_num_threads = 0;  // used by ExecutionMode::kParallel
  ExecutionMode execution_mode = ExecutionMode::kSequential;
  GraphOptimizationLevel graph_optimization_level = GraphOptimizationLevel::kAll;
  bool enable_cpu_mem_arena = true;
  bool enable_profiling = false;
  std::string profile_file_prefix = "kestrel_profile";
  std::string optimized_model_filepath;  // when set, the optimized graph is saved there as ONNX
  int log_severity_level = 2;            // 0 verbose .. 4 fatal
  std::map<std::string, std::string> config_entries;
  std::string logid;  // prefixes this session's log lines
  // Fixes named symbolic dimensions of the graph inputs (ORT's add_free_dimension_override_by_name).
  std::map<std::string, int64_t> free_dimension_overrides;
  // Fixes the dynamic dimensions of the graph inputs that carry this ONNX dimension denotation, such as
  // "DATA_BATCH" (ORT's add_free_dimension_override_by_denotation).
  std::map<std::string, int64_t> free_dimension_overrides_by_denotation;
  // Replaces the values of the model's initializers of these names (ORT's add_initializer); the type and shape
  // must match the model's. The tensors are shared, not copied.
  std::map<std::string, Tensor> initializer_overrides;
  // Execution providers in priority order. "CPUExecutionProvider" always exists and is always last.
  std::vector<std::string> providers = {"CPUExecutionProvider"};
  // Custom-op libraries whose operators sessions made with these options may use (before the built-in kernels).
  std::vector<std::shared_ptr<const CustomOpLibrary>> custom_op_libraries;

  // Loads a custom-op library now (dlopen) and appends it to custom_op_libraries. Throws kestrel::Error when the
  // file is missing (kNoSuchFile), cannot be loaded, lacks KestrelRegisterCustomOps, registers an op built for
  // another ABI version, or reports failure (kFail).
  void register_custom_ops_library(const std::string& path);
};

class RunOptions {
 public:
  RunOptions() : terminate_(std::make_shared<std::atomic<bool>>(false)) {}
  int log_severity_level = 2;
  std::string tag;
  // Asks runs that use these options to stop as soon as possible; they fail with kRuntimeException.
  // Safe to call from another thread while run() is in flight.
  void set_terminate(bool value) const { terminate_->store(value); }
  bool terminate() const { return terminate_->load(); }
  // The flag itself, for the runtime to poll between steps.
  const std::atomic<bool>* terminate_flag() const { return terminate_.get(); }

 private:
  std::shared_ptr<std::atomic<bool>> terminate_;
};

// A graph input or output as the model declares it.
struct IoInfo {
  std::string name;
  TypeInfo type;
};

struct ModelMetadata {
  std::string producer_name;
  std::string producer_version;
  std::string graph_name;
  std::string domain;
  std::string description;
  std::string graph_description;
  int64_t version = 0;
  int64_t ir_version = 0;
  std::map<std::string, int> opsets;  // domain ("" for ai.onnx) -> version
  std::map<std::string, std::string> custom_metadata_map;
};

// What the model holds, for `kestrel info` and tools.
struct ModelSummary {
  std::map<std::string, int> op_counts;  // "Conv" or "domain:Op" -> nodes of the main graph and subgraphs
  int64_t node_count = 0;
  int64_t parameter_count = 0;  // elements of all initializers
  int64_t parameter_bytes = 0;
};

using Feeds = std::vector<std::pair<std::string, Value>>;

class Session {
 public:
  // Loads, validates, optimizes and plans a model. Throws kestrel::Error with a message naming what is wrong.
  explicit Session(const std::string& model_path, const SessionOptions& options = {});
  Session(const void* model_bytes, size_t size, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<IoInfo>& inputs() const;
  const std::vector<IoInfo>& outputs() const;
  // Initializers that are also graph inputs: a feed may replace them.
  const std::vector<IoInfo>& overridable_initializers() const;
  const ModelMetadata& metadata() const;
  ModelSummary summary() const;
  const SessionOptions& options() const;
  // Providers that are active for this session, in priority order.
  std::vector<std::string> providers() const;
  // What Conv, MatMul and Gemm run in: "bf16" when the session config asked for it ("kestrel.precision") and
  // the CPU has bf16 instructions, else "fp32".
  std::string precision() const;

  // Runs the model. Every required input must be fed; `output_names` empty means all outputs, in graph order.
  // Safe to call concurrently from several threads.
  std::vector<Value> run(const Feeds& feeds, const std::vector<std::string>& output_names = {},
                         const RunOptions& run_options = {}) const;

  // Like run(), but `outputs` (one entry per requested output) may hold preallocated tensors, for example
  // Tensor::borrow() over the caller's memory: results are written into them in place when type and shape
  // match (copied in the rare case a kernel could not write in place); a mismatch is an error. Entries that
  // hold no tensor receive the result as run() would return it.
  void run_into(const Feeds& feeds, const std::vector<std::string>& output_names, std::vector<Value>& outputs,
                const RunOptions& run_options = {}) const;

  // Stops profiling and returns the path of the Chrome-trace file ("" when profiling is off).
  std::string end_profiling();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The provider names Kestrel knows, and the ones that can run on this machine.
std::vector<std::string> all_providers();
std::vector<std::string> available_providers();
const char* version_string();

}  // namespace kestrel
