// kestrel::Session: load -> validate -> optimize -> plan at creation; feed checking and execution per run.
#include "kestrel/session.h"

#include <cpuid.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "onnx/loader.h"
#include "onnx/writer.h"
#include "optimizer/optimizer.h"
#include "runtime/custom_ops.h"
#include "runtime/executor.h"
#include "runtime/huge_pages.h"
#include "runtime/kernel_registry.h"
#include "runtime/log.h"
#include "runtime/packed_weight_memory.h"
#include "runtime/plan.h"
#include "runtime/profiler.h"
#include "runtime/tensor_limit.h"
#include "runtime/thread_scope.h"

namespace kestrel {
namespace {

// "kestrel.precision.fp32_op_types": a comma-separated list of the op types that reduced precision applies to
// (Conv, MatMul, Gemm), kept fp32 in a bf16 session. A model can be too sensitive to bf16's 8 significant
// bits in some layers (ppocr_rec's convolution backbone moves its softmax output to a cosine of 0.988) while
// others still gain.
std::set<std::string> parse_fp32_op_types(const std::string& value) {
  static const std::set<std::string> reducible{"Conv", "MatMul", "Gemm"};
  std::set<std::string> types;
  std::stringstream list(value);
  for (std::string type; std::getline(list, type, ',');) {
    if (!reducible.contains(type))
      throw Error(ErrorCode::kInvalidArgument,
                  "kestrel.precision.fp32_op_types: '" + type +
                      "' is not an op type that runs at reduced precision (Conv, "
                      "MatMul, Gemm), in '" +
                      value + "'");
    types.insert(type);
  }
  if (types.empty())
    throw Error(ErrorCode::kInvalidArgument,
                "kestrel.precision.fp32_op_types: expected a comma-separated list "
                "of Conv, MatMul, Gemm, got '" +
                    value + "'");
  return types;
}

// bf16 arithmetic needs AVX512-BF16 or AMX; without them oneDNN would emulate it, slower than fp32. Read from
// CPUID (leaf 7: subleaf 1 EAX bit 5 is AVX512_BF16, subleaf 0 EDX bit 22 is AMX-BF16) since not every compiler's
// __builtin_cpu_supports knows these names; AVX-512 itself must be enabled by the OS.
bool cpu_has_bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__builtin_cpu_supports("avx512f")) return false;
  const bool avx512_bf16 = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)) != 0;
  const bool amx_bf16 = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 22)) != 0;
  return avx512_bf16 || amx_bf16;
}

}  // namespace

struct Session::Impl {
  SessionOptions options;
  std::unique_ptr<ir::Model> model;
  std::unique_ptr<runtime::Plan> plan;
  std::vector<IoInfo> inputs;  // graph inputs that are not initializers
  std::vector<IoInfo> outputs;
  std::vector<IoInfo> overridable;
  ModelMetadata metadata;
  std::vector<std::string> providers;
  int intra_threads = 1;
  runtime::PlanOptions plan_options;
  runtime::KernelRegistry custom_kernels;  // from options.custom_op_libraries
  size_t max_tensor_bytes = 0;             // "kestrel.max_tensor_bytes"; 0: the process default
  std::unique_ptr<runtime::Arena> arena;  // when enable_cpu_mem_arena
  std::unique_ptr<runtime::Profiler> profiler;
  std::unique_ptr<runtime::InterOpPool> inter_op;  // ExecutionMode::kParallel
  std::unordered_map<std::string, size_t> input_index;  // name -> position in graph->inputs
  std::unordered_map<std::string, size_t> output_index;
  ModelSummary summary;  // of the optimized graph, taken before planning

  std::chrono::steady_clock::time_point created_at = std::chrono::steady_clock::now();

  void check_options();
  onnx_format::LoadOptions load_options() const {
    onnx_format::LoadOptions o;
    o.dimension_overrides_by_denotation = options.free_dimension_overrides_by_denotation;
    o.has_kernel = [this](const std::string& domain, const std::string& op, int version) {
      return custom_kernels.find(domain, op, version) != nullptr ||
             runtime::KernelRegistry::cpu().find(domain, op, version) != nullptr;
    };
    return o;
  }
  void apply_free_dimension_overrides(ir::Graph& g) const;
  void build(std::unique_ptr<ir::Model> loaded);
  void check_feed(const std::string& name, const Value& value, const TypeInfo& declared) const;
};

namespace {

bool is_known_level(GraphOptimizationLevel level) {
  switch (level) {
    case GraphOptimizationLevel::kDisableAll:
    case GraphOptimizationLevel::kBasic:
    case GraphOptimizationLevel::kExtended:
    case GraphOptimizationLevel::kLayout:
    case GraphOptimizationLevel::kAll:
      return true;
  }
  return false;
}

void count_ops(const ir::Graph& g, ModelSummary& s) {
  for (const auto& node : g.nodes()) {
    ++s.node_count;
    ++s.op_counts[node->domain.empty() ? node->op_type : node->domain + ":" + node->op_type];
    for (const auto& [name, attr] : node->attributes) {
      if (attr.g) count_ops(*attr.g, s);
      for (const auto& sub : attr.graphs) count_ops(*sub, s);
    }
  }
  for (const auto& v : g.values()) {
    if (v->initializer) {
      s.parameter_count += v->initializer->size();
      s.parameter_bytes += static_cast<int64_t>(v->initializer->bytes());
    }
  }
}

}  // namespace

void Session::Impl::check_options() {
  const SessionOptions& o = options;
  if (o.intra_op_num_threads < 0)
    throw Error(ErrorCode::kInvalidArgument, "intra_op_num_threads must be >= 0, got " +
                                                 std::to_string(o.intra_op_num_threads));
  if (o.inter_op_num_threads < 0)
    throw Error(ErrorCode::kInvalidArgument, "inter_op_num_threads must be >= 0, got " +
                                                 std::to_string(o.inter_op_num_threads));
  if (o.execution_mode != ExecutionMode::kSequential && o.execution_mode != ExecutionMode::kParallel)
    throw Error(ErrorCode::kInvalidArgument, "execution_mode must be sequential (0) or parallel (1)");
  if (!is_known_level(o.graph_optimization_level))
    throw Error(ErrorCode::kInvalidArgument,
                "graph_optimization_level must be 0, 1, 2, 3 or 99, got " +
                    std::to_string(static_cast<int>(o.graph_optimization_level)));
  if (o.log_severity_level < 0 || o.log_severity_level > 4)
    throw Error(ErrorCode::kInvalidArgument,
                "log_severity_level must be 0..4, got " + std::to_string(o.log_severity_level));
  for (const auto& [key, value] : o.config_entries) {
    if (key == "kestrel.max_tensor_bytes") {
      try {
        size_t parsed = 0;
        const size_t limit = std::stoull(value, &parsed);
        if (limit == 0 || parsed != value.size() || value[0] == '-') throw std::invalid_argument("not positive");
        max_tensor_bytes = limit;
      } catch (const std::exception&) {
        throw Error(ErrorCode::kInvalidArgument, "kestrel.max_tensor_bytes must be a positive integer, got '" +
                                                     value + "'");
      }
    } else if (key == "kestrel.reference_kernels") {
      if (value != "0" && value != "1")
        throw Error(ErrorCode::kInvalidArgument, "kestrel.reference_kernels must be 0 or 1, got '" + value + "'");
      plan_options.reference_kernels_only = value == "1";
    } else if (key == "kestrel.precision") {
      if (value != "fp32" && value != "bf16")
        throw Error(ErrorCode::kInvalidArgument, "kestrel.precision must be fp32 or bf16, got '" + value + "'");
      plan_options.precision = runtime::Precision::kFp32;
      if (value == "bf16") {
        if (cpu_has_bf16()) {
          plan_options.precision = runtime::Precision::kBf16;
        } else {
          static std::once_flag told;
          std::call_once(told, [&] {
            runtime::log(2, o.log_severity_level,
                         "kestrel.precision=bf16: this CPU has neither AVX512-BF16 nor AMX, so Conv, MatMul and "
                         "Gemm run in fp32");
          });
        }
      }
    } else if (key == "kestrel.precision.fp32_op_types") {
      plan_options.fp32_op_types = parse_fp32_op_types(value);
    } else {
      throw Error(ErrorCode::kNotImplemented, "session config entry '" + key + "' is not supported");
    }
  }
  for (const auto& library : o.custom_op_libraries) {
    if (!library) throw Error(ErrorCode::kInvalidArgument, "custom_op_libraries holds a null library");
    for (const runtime::KernelDef& def : library->kernels()) custom_kernels.add(def);
  }
  if (!custom_kernels.all().empty()) plan_options.custom_kernels = &custom_kernels;
  providers.clear();
  for (const std::string& p : o.providers) {
    if (p == "CPUExecutionProvider") continue;
    runtime::log(2, o.log_severity_level,
                 "execution provider '" + p + "' is not available in this build; falling back to CPUExecutionProvider");
  }
  providers.push_back("CPUExecutionProvider");
  if (o.enable_cpu_mem_arena) arena = std::make_unique<runtime::Arena>();
  intra_threads = o.intra_op_num_threads > 0 ? o.intra_op_num_threads
                                             : std::max(1u, std::thread::hardware_concurrency());
  if (o.execution_mode == ExecutionMode::kParallel) {
    // inter_op_num_threads steps at once: the running thread plus helpers (0: one per core, as ORT).
    const int inter = o.inter_op_num_threads > 0 ? o.inter_op_num_threads
                                                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    inter_op = std::make_unique<runtime::InterOpPool>(inter - 1);
  }
}

void Session::Impl::build(std::unique_ptr<ir::Model> loaded) {
  model = std::move(loaded);
  ir::Graph& g = *model->graph;
  for (const auto& [name, tensor] : options.initializer_overrides) {
    ir::Value* v = g.find_local(name);
    if (!v || !v->initializer)
      throw Error(ErrorCode::kInvalidArgument, "add_initializer: '" + name + "' is not an initializer of the model");
    if (tensor.type() != v->initializer->type() || tensor.shape() != v->initializer->shape())
      throw Error(ErrorCode::kInvalidArgument,
                  "add_initializer: '" + name + "' is tensor(" + element_type_name(v->initializer->type()) + ") " +
                      shape_to_string(v->initializer->shape()) + " in the model, got tensor(" +
                      element_type_name(tensor.type()) + ") " + shape_to_string(tensor.shape()));
    v->initializer = std::make_shared<const Tensor>(tensor);
  }
  apply_free_dimension_overrides(g);
  for (const ir::Value* v : g.inputs) {
    if (v->initializer) overridable.push_back({v->name, v->type});
    else inputs.push_back({v->name, v->type});
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) input_index[g.inputs[i]->name] = i;
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    outputs.push_back({g.outputs[i]->name, g.outputs[i]->type});
    output_index.emplace(g.outputs[i]->name, i);
  }
  metadata.producer_name = model->producer_name;
  metadata.producer_version = model->producer_version;
  metadata.graph_name = model->graph_name;
  metadata.domain = model->domain;
  metadata.description = model->doc_string;
  metadata.graph_description = model->description;
  metadata.version = model->model_version;
  metadata.ir_version = model->ir_version;
  metadata.opsets = model->opsets;
  metadata.custom_metadata_map = model->metadata;

  const int level = static_cast<int>(options.graph_optimization_level);
  const std::string tag = options.logid.empty() ? "" : "[" + options.logid + "] ";
  for (const auto& report : optimizer::optimize(g, level)) {
    runtime::log(1, options.log_severity_level,
                 tag + "optimizer rule " + report.name + " fired " + std::to_string(report.fired) + " time(s)");
  }
  if (!options.optimized_model_filepath.empty()) onnx_format::save_model(*model, options.optimized_model_filepath);
  // The summary (op and parameter counts) is of the graph as optimized, before planning frees weights that
  // kernels keep packed in their own form.
  count_ops(g, summary);
  runtime::PlanOptions main_options = plan_options;
  main_options.release_constant = [&g](const ir::Value* v) {
    if (ir::Value* owned = g.find_local(v->name); owned == v) owned->initializer.reset();
  };
  plan = runtime::compile_plan(g, nullptr, main_options);
  if (options.enable_profiling) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    profiler = std::make_unique<runtime::Profiler>(
        options.profile_file_prefix + "_" +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + ".json",
        created_at);
    profiler->record_span("session_initialization", "Session", created_at);
  }
}

void Session::Impl::apply_free_dimension_overrides(ir::Graph& g) const {
  // Overrides by denotation were applied by the loader, the one part that sees ONNX's dimension denotations.
  const auto& by_name = options.free_dimension_overrides;
  if (by_name.empty()) return;
  for (const auto& [symbol, value] : by_name)
    if (value < 0)
      throw Error(ErrorCode::kInvalidArgument,
                  "free dimension override '" + symbol + "' must be >= 0, got " + std::to_string(value));
  std::set<std::string> used;
  for (ir::Value* v : g.inputs) {
    if (v->type.kind != TypeInfo::Kind::kTensor || !v->type.shape) continue;
    for (Dim& d : *v->type.shape) {
      if (d.symbol.empty() || !by_name.count(d.symbol)) continue;
      used.insert(d.symbol);
      d.value = by_name.at(d.symbol);
      d.symbol.clear();
    }
  }
  for (const auto& [symbol, value] : by_name)
    if (!used.count(symbol))
      throw Error(ErrorCode::kInvalidArgument,
                  "free dimension override '" + symbol + "' names no symbolic dimension of the model's inputs");
}

void Session::Impl::check_feed(const std::string& name, const Value& value, const TypeInfo& declared) const {
  // Built only for an error message: a good feed allocates nothing.
  auto what = [&name] { return "input '" + name + "'"; };
  switch (declared.kind) {
    case TypeInfo::Kind::kTensor: {
      if (!value.is_tensor())
        throw Error(ErrorCode::kInvalidArgument, what() + ": expected " + declared.to_string() + ", got " +
                                                     (value.is_none() ? "an empty value" : "a sequence"));
      const Tensor& t = value.tensor();
      if (declared.element_type != ElementType::kUndefined && t.type() != declared.element_type)
        throw Error(ErrorCode::kInvalidArgument, what() + ": expected " + declared.to_string() + ", got tensor(" +
                                                     element_type_name(t.type()) + ")");
      if (declared.shape) {
        const auto& dims = *declared.shape;
        // A declared scalar also accepts a one-element 1-D tensor, as ONNX Runtime does; exporters often feed
        // rates and lengths that way (silero_vad's `sr`).
        if (dims.empty() && t.rank() == 1 && t.size() == 1) break;
        if (dims.size() != t.rank())
          throw Error(ErrorCode::kInvalidArgument,
                      what() + ": expected rank " + std::to_string(dims.size()) + " " + declared.shape_string() +
                          ", got rank " + std::to_string(t.rank()) + " " + shape_to_string(t.shape()));
        for (size_t i = 0; i < dims.size(); ++i) {
          if (dims[i].fixed() && dims[i].value != t.dim(i))
            throw Error(ErrorCode::kInvalidArgument,
                        what() + ": dimension " + std::to_string(i) + " must be " + std::to_string(dims[i].value) +
                            ", got " + std::to_string(t.dim(i)) + " (shape " + shape_to_string(t.shape()) +
                            ", expected " + declared.shape_string() + ")");
        }
      }
      break;
    }
    case TypeInfo::Kind::kSequence:
      if (!value.is_sequence())
        throw Error(ErrorCode::kInvalidArgument, what() + ": expected " + declared.to_string() + ", got " +
                                                     (value.is_none() ? "an empty value" : "a tensor"));
      break;
    default:
      break;
  }
}

Session::Session(const std::string& model_path, const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->check_options();
  runtime::ScopedTensorLimit limit(impl_->max_tensor_bytes);
  // Creation runs on the session's OpenMP team: the loader reads large weights with it, and kernels pack their
  // weights and make their oneDNN primitives with it, so that the primitives made now are the ones runs look up.
  runtime::ThreadScope team(impl_->intra_threads);
  // Weights freed once packed give their pages to the packed weights allocated after them (huge_pages.h), and
  // small packed weights share huge pages (packed_weight_memory.h).
  runtime::HugePageRecycling recycling;
  runtime::PackedWeightSlab slab;
  impl_->build(onnx_format::load_model_file(model_path, impl_->load_options()));
}

Session::Session(const void* model_bytes, size_t size, const SessionOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->check_options();
  if (!model_bytes && size) throw Error(ErrorCode::kInvalidArgument, "model bytes pointer is null");
  runtime::ScopedTensorLimit limit(impl_->max_tensor_bytes);
  runtime::ThreadScope team(impl_->intra_threads);  // as above
  runtime::HugePageRecycling recycling;
  runtime::PackedWeightSlab slab;
  impl_->build(onnx_format::load_model_bytes(model_bytes, size, "", impl_->load_options()));
}

Session::~Session() {
  if (impl_ && impl_->profiler) {
    try {
      impl_->profiler->finish();
    } catch (const std::exception&) {
    }
  }
}

const std::vector<IoInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<IoInfo>& Session::outputs() const { return impl_->outputs; }
const std::vector<IoInfo>& Session::overridable_initializers() const { return impl_->overridable; }
const ModelMetadata& Session::metadata() const { return impl_->metadata; }
const SessionOptions& Session::options() const { return impl_->options; }
std::vector<std::string> Session::providers() const { return impl_->providers; }

std::string Session::precision() const {
  return impl_->plan_options.precision == runtime::Precision::kBf16 ? "bf16" : "fp32";
}

ModelSummary Session::summary() const { return impl_->summary; }

std::vector<Value> Session::run(const Feeds& feeds, const std::vector<std::string>& output_names,
                                const RunOptions& run_options) const {
  std::vector<Value> outputs;
  run_into(feeds, output_names, outputs, run_options);
  return outputs;
}

void Session::run_into(const Feeds& feeds, const std::vector<std::string>& output_names,
                       std::vector<Value>& outputs, const RunOptions& run_options) const {
  // Steady-state runs allocate nothing here: per-run state lives in a frame leased from the plan (PlanRun), and
  // strings are only built for error messages.
  const auto start = std::chrono::steady_clock::now();
  const runtime::ScopedTensorLimit limit(impl_->max_tensor_bytes);
  const ir::Graph& g = *impl_->model->graph;
  // Without an arena, memory freed by the run goes back to the system after the frame has let go of it.
  struct ReleaseFreeMemory {
    bool on;
    ~ReleaseFreeMemory() {
      if (on) runtime::release_free_memory();
    }
  } release_after{!impl_->arena};
  runtime::PlanRun plan_run(*impl_->plan);
  for (const auto& [name, value] : feeds) {
    auto it = impl_->input_index.find(name);
    if (it == impl_->input_index.end()) {
      std::string known;
      for (const IoInfo& io : impl_->inputs) known += (known.empty() ? "" : ", ") + io.name;
      throw Error(ErrorCode::kInvalidArgument, "'" + name + "' is not an input of the model (inputs: " + known + ")");
    }
    if (plan_run.fed(it->second)) throw Error(ErrorCode::kInvalidArgument, "input '" + name + "' is fed twice");
    impl_->check_feed(name, value, g.inputs[it->second]->type);
    plan_run.feed(it->second, value);
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const ir::Value* v = g.inputs[i];
    if (!plan_run.fed(i) && !v->initializer && v->type.kind != TypeInfo::Kind::kOptional) {
      std::string missing;
      for (size_t j = i; j < g.inputs.size(); ++j) {
        const ir::Value* w = g.inputs[j];
        if (!plan_run.fed(j) && !w->initializer && w->type.kind != TypeInfo::Kind::kOptional)
          missing += (missing.empty() ? "" : ", ") + w->name;
      }
      throw Error(ErrorCode::kInvalidArgument, "missing inputs: " + missing);
    }
  }
  // Graph output index of requested output k.
  auto wanted = [&](size_t k) {
    return output_names.empty() ? k : impl_->output_index.find(output_names[k])->second;
  };
  const size_t requested = output_names.empty() ? g.outputs.size() : output_names.size();
  for (const std::string& name : output_names)
    if (!impl_->output_index.count(name))
      throw Error(ErrorCode::kInvalidArgument, "'" + name + "' is not an output of the model");
  if (outputs.empty()) outputs.resize(requested);
  if (outputs.size() != requested)
    throw Error(ErrorCode::kInvalidArgument, std::to_string(outputs.size()) + " output buffers given for " +
                                                 std::to_string(requested) + " requested outputs");
  for (size_t k = 0; k < requested; ++k) {
    if (outputs[k].is_tensor() && outputs[k].tensor().defined()) plan_run.bind_output(wanted(k), &outputs[k].tensor());
  }
  runtime::RunContext run;
  run.intra_op_threads = impl_->intra_threads;
  run.terminate = run_options.terminate_flag();
  run.profiler = impl_->profiler.get();
  run.arena = impl_->arena.get();
  run.plan_memory = run.arena != nullptr;
  run.log_threshold = impl_->options.log_severity_level;
  run.max_tensor_bytes = impl_->max_tensor_bytes;
  run.inter_op = impl_->inter_op.get();
  plan_run.execute(run);
  for (size_t k = 0; k < requested; ++k) {
    const Value& result = plan_run.output(wanted(k));
    if (!(outputs[k].is_tensor() && outputs[k].tensor().defined())) {
      // The same output may be requested twice: each request gets the value, the buffer is shared.
      outputs[k] = result;
      continue;
    }
    Tensor& dest = outputs[k].tensor();
    const std::string& name = g.outputs[wanted(k)]->name;
    if (!result.is_tensor())
      throw Error(ErrorCode::kInvalidArgument, "output '" + name + "' is not a tensor but a buffer was bound for it");
    const Tensor& got = result.tensor();
    if (got.raw_data() == dest.raw_data()) continue;  // written in place
    if (got.type() != dest.type() || got.shape() != dest.shape())
      throw Error(ErrorCode::kInvalidArgument,
                  "output '" + name + "': the bound buffer is tensor(" + element_type_name(dest.type()) + ") " +
                      shape_to_string(dest.shape()) + ", the model produced tensor(" +
                      element_type_name(got.type()) + ") " + shape_to_string(got.shape()));
    if (got.type() == ElementType::kString) {
      for (int64_t i = 0; i < got.size(); ++i) dest.data<std::string>()[i] = got.data<std::string>()[i];
    } else if (got.bytes()) {
      std::memcpy(dest.raw_data(), got.raw_data(), got.bytes());
    }
  }
  if (run.profiler) run.profiler->record_span("model_run", "Session", start);
}

std::string Session::end_profiling() {
  if (!impl_->profiler) return "";
  std::string path = impl_->profiler->finish();
  impl_->profiler.reset();
  return path;
}

std::vector<std::string> all_providers() { return {"CPUExecutionProvider"}; }
std::vector<std::string> available_providers() { return {"CPUExecutionProvider"}; }
const char* version_string() { return "0.1.0"; }

}  // namespace kestrel
