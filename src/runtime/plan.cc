// The planner: kernel choice per node from the CPU registry, slot assignment and tensor lifetimes.
#include "runtime/plan.h"

#include <algorithm>
#include <string_view>

#include "runtime/executor.h"
#include "runtime/kernel_registry.h"
#include "runtime/memory_plan.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::runtime {
namespace {

std::string domain_label(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

// The precision a node's kernel runs in: the session's, except for the op types the session keeps fp32; the
// optimizer's fused forms (ai.kestrel FusedConv, FusedMatMul, FusedGemm) count as the op they were made from.
Precision node_precision(const ir::Node& node, const PlanOptions& options) {
  if (options.precision == Precision::kFp32 || options.fp32_op_types.empty()) return options.precision;
  std::string_view type = node.op_type;
  if (node.domain == "ai.kestrel" && type.starts_with("Fused")) type.remove_prefix(5);
  return options.fp32_op_types.contains(std::string(type)) ? Precision::kFp32 : options.precision;
}

std::unique_ptr<Kernel> create_kernel(const ir::Node& node, Plan& plan) {
  const KernelRegistry& registry = KernelRegistry::cpu();
  const KernelRegistry* custom = plan.options.custom_kernels;
  std::vector<const KernelDef*> defs;
  if (custom) defs = custom->candidates(node.domain, node.op_type, node.opset, false);
  for (const KernelDef* def :
       registry.candidates(node.domain, node.op_type, node.opset, plan.options.reference_kernels_only))
    defs.push_back(def);
  if (defs.empty()) {
    if (registry.knows(node.domain, node.op_type) || (custom && custom->knows(node.domain, node.op_type)))
      throw Error(ErrorCode::kNotImplemented, node.describe() + ": op " + node.op_type + " of domain " +
                                                  domain_label(node.domain) + " is not supported at opset " +
                                                  std::to_string(node.opset));
    throw Error(ErrorCode::kNotImplemented, node.describe() + ": unknown op " + node.op_type + " (domain " +
                                                domain_label(node.domain) + ", opset " +
                                                std::to_string(node.opset) + ")");
  }
  auto compile_subgraph = [&node, &plan](const std::string& attr_name) -> const Plan* {
    const ir::Attribute* a = node.attribute(attr_name);
    if (!a || !a->g) return nullptr;
    plan.subplans.push_back(compile_plan(*a->g, &plan, plan.options));
    return plan.subplans.back().get();
  };
  KernelInfo info(node, compile_subgraph, node_precision(node, plan.options));
  // Fast kernels first; one that declines the node (nullptr) hands it to the next, down to the reference.
  for (const KernelDef* def : defs) {
    if (auto kernel = def->factory(info)) return kernel;
  }
  throw Error(ErrorCode::kNotImplemented, node.describe() + ": no kernel accepted this node");
}

// The constants a run hands to kernels are aligned for their elements (unaligned_constants.h), but for a view
// on unaligned bytes that only kernels reading it as bytes see: every step that reads its slot reads it as a
// node input its kernel declares a byte read, and it is no graph output.
void align_run_time_constants(Plan& plan) {
  std::vector<bool> bytes_only(static_cast<size_t>(plan.num_slots), true);
  for (int s : plan.output_slots) bytes_only[static_cast<size_t>(s)] = false;
  for (const Step& step : plan.steps) {
    const auto* reader = dynamic_cast<const ReadsConstantBytes*>(step.kernel.get());
    for (int s : step.read_slots) {
      bool as_input = false, as_bytes = reader != nullptr;
      for (size_t i = 0; i < step.inputs.size(); ++i)
        if (step.inputs[i] == s) {
          as_input = true;
          as_bytes = as_bytes && reader->reads_constant_bytes(i);
        }
      if (!as_input || !as_bytes) bytes_only[static_cast<size_t>(s)] = false;
    }
  }
  for (auto& [s, tensor] : plan.constants) {
    if (is_element_aligned(*tensor) || bytes_only[static_cast<size_t>(s)]) continue;
    for (const auto& v : plan.graph->values()) {
      const auto it = plan.slot_of.find(v.get());
      if (it == plan.slot_of.end() || it->second != s || !v->initializer) continue;
      aligned_initializer(*v);
      tensor = v->initializer;
    }
  }
}

// True when every step in `others` (each before `step` in plan order) is an ancestor of `step`: it finishes
// before `step` starts in the parallel executor too. Walks back from `step` along producers, no further back
// than the earliest of `others`.
bool all_ancestors(const std::vector<std::vector<int>>& producers_of, int step, std::vector<int> others) {
  if (others.empty()) return true;
  const int earliest = *std::min_element(others.begin(), others.end());
  std::vector<char> seen(static_cast<size_t>(step - earliest + 1), 0);
  std::vector<int> todo{step};
  while (!todo.empty() && !others.empty()) {
    const int at = todo.back();
    todo.pop_back();
    for (int p : producers_of[static_cast<size_t>(at)]) {
      if (p < earliest || seen[static_cast<size_t>(p - earliest)]) continue;
      seen[static_cast<size_t>(p - earliest)] = 1;
      std::erase(others, p);
      todo.push_back(p);
    }
  }
  return others.empty();
}

// Fills Step::overwritable (plan.h) once the slots' readers and the steps' producers are known.
void mark_overwritable_inputs(Plan& plan, const std::unordered_map<int, size_t>& last_use,
                              const std::vector<std::vector<int>>& producers_of) {
  std::vector<char> excluded(static_cast<size_t>(plan.num_slots), 0);
  for (int s : plan.input_slots) excluded[static_cast<size_t>(s)] = 1;
  for (const auto& [here, there] : plan.outer) excluded[static_cast<size_t>(here)] = 1;
  std::vector<std::vector<int>> readers_of(static_cast<size_t>(plan.num_slots));
  for (size_t index = 0; index < plan.steps.size(); ++index)
    for (int s : plan.steps[index].read_slots)
      readers_of[static_cast<size_t>(s)].push_back(static_cast<int>(index));
  for (size_t index = 0; index < plan.steps.size(); ++index) {
    Step& step = plan.steps[index];
    step.overwritable.assign(step.inputs.size(), 0);
    // A control-flow node's subgraphs may read its inputs as outer-scope values while it writes its outputs.
    const bool has_subgraphs =
        std::any_of(step.node->attributes.begin(), step.node->attributes.end(),
                    [](const auto& a) { return a.second.g || !a.second.graphs.empty(); });
    if (has_subgraphs) continue;
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int s = step.inputs[i];
      if (s < 0 || excluded[static_cast<size_t>(s)] || !plan.releasable[static_cast<size_t>(s)] ||
          last_use.at(s) != index || std::count(step.inputs.begin(), step.inputs.end(), s) != 1)
        continue;
      std::vector<int> others = readers_of[static_cast<size_t>(s)];
      std::erase(others, static_cast<int>(index));
      step.overwritable[i] = all_ancestors(producers_of, static_cast<int>(index), std::move(others));
    }
  }
}

}  // namespace

Plan::Plan() : frames(std::make_unique<FramePool>()), memory_plans(std::make_unique<MemoryPlanCache>()) {}
Plan::~Plan() = default;

std::unique_ptr<Plan> compile_plan(const ir::Graph& graph, const Plan* enclosing, const PlanOptions& options) {
  auto plan = std::make_unique<Plan>();
  plan->graph = &graph;
  plan->options = options;
  auto slot = [&](const ir::Value* v) {
    auto [it, inserted] = plan->slot_of.emplace(v, plan->num_slots);
    if (inserted) ++plan->num_slots;
    return it->second;
  };
  if (enclosing) {
    for (const ir::Value* v : graph.outer_values()) {
      auto it = enclosing->slot_of.find(v);
      if (it == enclosing->slot_of.end())
        throw Error(ErrorCode::kInvalidGraph, "subgraph '" + graph.name + "' reads '" + v->name +
                                                  "', which its enclosing graph does not provide");
      plan->outer.emplace_back(slot(v), it->second);
    }
  }
  for (const ir::Value* v : graph.inputs) plan->input_slots.push_back(slot(v));
  plan->static_input_shapes = std::all_of(graph.inputs.begin(), graph.inputs.end(), [](const ir::Value* v) {
    const TypeInfo& t = v->type;
    return t.kind == TypeInfo::Kind::kTensor && t.shape &&
           std::all_of(t.shape->begin(), t.shape->end(), [](const Dim& d) { return d.fixed(); });
  });
  // The constants' tensors are taken once the kernels are made (below); their slots are numbered now.
  for (const auto& v : graph.values()) {
    if (v->initializer) slot(v.get());
  }
  const std::vector<ir::Node*> order = graph.topological_order();
  // Slots used by each step, explicit inputs and the outer reads of its subgraphs, to find last uses.
  std::unordered_map<int, size_t> last_use;
  for (const ir::Node* node : order) {
    Step step;
    step.node = node;
    for (const ir::Value* in : node->inputs) step.inputs.push_back(in ? slot(in) : -1);
    for (const ir::Value* out : node->outputs) step.outputs.push_back(out ? slot(out) : -1);
    const size_t index = plan->steps.size();
    auto read = [&step, &last_use, index](int s) {
      last_use[s] = index;
      if (std::find(step.read_slots.begin(), step.read_slots.end(), s) == step.read_slots.end())
        step.read_slots.push_back(s);
    };
    for (int s : step.inputs)
      if (s >= 0) read(s);
    for (const auto& [attr_name, attr] : node->attributes) {
      std::vector<const ir::Graph*> subs;
      if (attr.g) subs.push_back(attr.g.get());
      for (const auto& g : attr.graphs) subs.push_back(g.get());
      for (const ir::Graph* sub : subs)
        for (const ir::Value* v : sub->outer_values()) {
          auto it = plan->slot_of.find(v);
          if (it != plan->slot_of.end()) read(it->second);
        }
    }
    plan->steps.push_back(std::move(step));
  }
  for (const ir::Value* v : graph.outputs) plan->output_slots.push_back(slot(v));
  // Initializers that may be freed once their readers have packed them: read by plain node inputs only (not
  // graph inputs or outputs, not read by subgraphs), counted per reading input.
  std::unordered_map<int, std::pair<const ir::Value*, int>> releasable;  // slot -> (value, reads left)
  if (!enclosing && options.release_constant) {
    for (const auto& v : graph.values())
      if (v->initializer && !v->is_graph_input && !v->is_graph_output) releasable[plan->slot_of.at(v.get())] = {v.get(), 0};
    for (const Step& step : plan->steps) {
      for (int s : step.inputs)
        if (auto it = releasable.find(s); it != releasable.end()) ++it->second.second;
      for (const auto& [attr_name, attr] : step.node->attributes) {
        std::vector<const ir::Graph*> subs;
        if (attr.g) subs.push_back(attr.g.get());
        for (const auto& g : attr.graphs) subs.push_back(g.get());
        for (const ir::Graph* sub : subs)
          for (const ir::Value* v : sub->outer_values())
            if (auto it = plan->slot_of.find(v); it != plan->slot_of.end()) releasable.erase(it->second);
      }
    }
  }
  std::vector<bool> released(static_cast<size_t>(plan->num_slots), false);
  // Kernels are created after all slots exist so subgraph compilation can map outer reads to them.
  auto release_constants_read_by = [&](const Step& step) {
    if (releasable.empty()) return;
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      auto it = releasable.find(step.inputs[i]);
      if (it == releasable.end()) continue;
      if (!step.kernel->owns_constant_input(i)) {
        releasable.erase(it);
        continue;
      }
      if (--it->second.second > 0) continue;
      // Freed now rather than after the last kernel, so that the original and the packed weights of the
      // whole model are never alive together.
      released[static_cast<size_t>(it->first)] = true;
      options.release_constant(it->second.first);
      releasable.erase(it);
    }
  };
  // One at a time on the calling thread. Made on the session's team inside a parallel region, bf16 sessions
  // at 2 threads intermittently computed wrong outputs (squeezenet1_1, 2 to 3 runs in 20).
  for (Step& step : plan->steps) {
    step.kernel = create_kernel(*step.node, *plan);
    release_constants_read_by(step);
  }
  // The constants as the kernels left them: without the weights packed and freed, and with the aligned copy
  // a kernel asked for in place of its view on the model file. Nothing else held that view while the kernel
  // packed the copy, so the file's pages it touched did not stay counted in memory beside the copy.
  for (const auto& v : graph.values()) {
    const auto it = plan->slot_of.find(v.get());
    if (v->initializer && it != plan->slot_of.end() && !released[static_cast<size_t>(it->second)])
      plan->constants.emplace_back(it->second, v->initializer);
  }

  align_run_time_constants(*plan);

  std::vector<bool> keep(plan->num_slots, false);
  for (int s : plan->output_slots) keep[s] = true;
  // A view's buffer stays alive as long as the view: tensors share ownership of their storage.
  for (Step& step : plan->steps)
    for (int s : step.outputs) step.may_alias.push_back(s >= 0 && !keep[s]);
  plan->is_constant.assign(plan->num_slots, 0);
  for (const auto& [s, tensor] : plan->constants) plan->is_constant[s] = 1;
  for (const auto& [s, index] : last_use)
    if (!keep[s] && !plan->is_constant[s]) plan->steps[index].release.push_back(s);
  // An output nothing reads goes as soon as its step is done, not at the end of the run, so that its buffer
  // can be reused (and planned).
  for (Step& step : plan->steps)
    for (int s : step.outputs)
      if (s >= 0 && !keep[s] && !plan->is_constant[s] && !last_use.count(s) &&
          std::find(step.release.begin(), step.release.end(), s) == step.release.end())
        step.release.push_back(s);

  // Dependencies between steps, for the parallel executor: a step waits for the producers of what it reads.
  std::vector<int> producer(plan->num_slots, -1);
  plan->readers.assign(plan->num_slots, 0);
  plan->releasable.assign(plan->num_slots, 0);
  for (size_t s = 0; s < keep.size(); ++s) plan->releasable[s] = !keep[s] && !plan->is_constant[s];
  std::vector<std::vector<int>> producers_of(plan->steps.size());
  for (size_t index = 0; index < plan->steps.size(); ++index) {
    Step& step = plan->steps[index];
    std::vector<int>& from = producers_of[index];
    for (int s : step.read_slots) {
      ++plan->readers[s];
      if (producer[s] >= 0 && std::find(from.begin(), from.end(), producer[s]) == from.end())
        from.push_back(producer[s]);
    }
    step.producers = static_cast<int>(from.size());
    for (int p : from) plan->steps[p].consumers.push_back(static_cast<int>(index));
    for (int s : step.outputs)
      if (s >= 0) producer[s] = static_cast<int>(index);
  }
  mark_overwritable_inputs(*plan, last_use, producers_of);
  return plan;
}

}  // namespace kestrel::runtime
