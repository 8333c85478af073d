// ModelProto -> ir::Model: opset imports, initializers (dense, sparse, external), graph inputs/outputs,
// value_info, nodes with typed attributes and subgraphs that read outer-scope values. Structural errors
// (missing inputs, duplicate names, bad attributes) are reported naming the node.
#include "onnx/loader.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "onnx/defs/schema.h"
#include "onnx/guarded_shape_inference.h"
#include "onnx/onnx_pb.h"
#include "onnx/payload_scan.h"
#include "onnx/schema_registry.h"
#include "onnx/version_converter/convert.h"

namespace kestrel::onnx_format {
namespace fs = std::filesystem;
namespace {

// The main graph's raw_data payloads that stay in the serialized model while protobuf parses the rest, how to
// copy one into a buffer, and (for a file) how to map one in place (RawSource::view).
struct PayloadSource {
  std::vector<RawPayload> payloads;
  std::function<void(uint64_t offset, uint64_t length, void* dst)> read;
  std::function<std::shared_ptr<void>(uint64_t offset, uint64_t length, size_t alignment)> view;
};

// Raw payloads from this size on are read straight into their tensors; smaller ones (shapes, axes: what ONNX's
// shape inference reads) stay in the parsed message.
constexpr uint64_t kMinSplitPayload = 64 * 1024;

constexpr int64_t kMinIrVersion = 1;
constexpr int64_t kMaxIrVersion = 10;
// Subgraph levels (If/Loop/Scan bodies inside one another) below the main graph. Protobuf's parser stops at a
// message nesting depth (its default, 100, allows about 30 levels); Kestrel sets it so that this many levels
// parse, and refuses deeper models with a message that says so rather than "corrupt protobuf".
constexpr int kMaxSubgraphDepth = 64;
// Each subgraph level is three messages deep (GraphProto > NodeProto > AttributeProto); the rest leaves room for
// tensors and nested types inside the deepest graph.
constexpr int kProtobufRecursionLimit = 3 * kMaxSubgraphDepth + 64;

std::string nesting_error(const std::string& depth) {
  return "the model nests subgraphs " + depth + " levels deep (If/Loop/Scan bodies inside one another); Kestrel's "
         "limit is " + std::to_string(kMaxSubgraphDepth) + " levels";
}

// How deep a serialized ModelProto nests subgraphs, found without the recursive protobuf parser (which is what
// refused the model): an iterative walk of the wire format that descends only into the fields leading to
// subgraphs. Returns -1 when the bytes are not well-formed enough to tell.
int subgraph_nesting_depth(const uint8_t* data, size_t size) {
  enum Kind { kModel, kFunction, kGraph, kNode, kAttribute };
  struct Frame {
    size_t end;
    Kind kind;
    int level;
  };
  auto child = [](Kind kind, uint64_t field) -> int {
    switch (kind) {
      case kModel: return field == 7 ? kGraph : field == 25 ? kFunction : -1;
      case kFunction: return field == 7 ? kNode : -1;
      case kGraph: return field == 1 ? kNode : -1;
      case kNode: return field == 5 ? kAttribute : -1;
      case kAttribute: return field == 6 || field == 11 ? kGraph : -1;
    }
    return -1;
  };
  size_t pos = 0;
  auto varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= size) return false;
      const uint8_t b = data[pos++];
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  std::vector<Frame> stack = {{size, kModel, 0}};
  int deepest = 0;
  while (!stack.empty()) {
    const Frame frame = stack.back();
    if (pos == frame.end) {
      stack.pop_back();
      continue;
    }
    uint64_t tag = 0, length = 0;
    if (pos > frame.end || !varint(tag)) return -1;
    switch (tag & 7) {
      case 0:
        if (!varint(length)) return -1;
        break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        if (!varint(length) || length > frame.end - pos) return -1;
        const int kind = child(frame.kind, tag >> 3);
        if (kind < 0) {
          pos += length;
          break;
        }
        // A subgraph starts one level below the graph that holds its node.
        const int level = frame.kind == kAttribute ? frame.level + 1 : frame.level;
        deepest = std::max(deepest, level);
        stack.push_back({pos + length, static_cast<Kind>(kind), level});
        break;
      }
      default:
        return -1;  // groups are not used by ONNX
    }
    if (pos > frame.end) return -1;
  }
  return deepest;
}

[[noreturn]] void invalid_graph(const std::string& message) { throw Error(ErrorCode::kInvalidGraph, message); }

std::string canonical_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

std::string node_label(const onnx::NodeProto& n) {
  return n.op_type() + " node " + (n.name().empty() ? "producing '" + (n.output_size() ? n.output(0) : "") + "'"
                                                    : "'" + n.name() + "'");
}

Tensor sparse_to_dense(const onnx::SparseTensorProto& sp, const std::string& base_dir, const std::string& what) {
  Tensor values = tensor_from_proto(sp.values(), base_dir, what + " (values)");
  Tensor indices = tensor_from_proto(sp.indices(), base_dir, what + " (indices)");
  Shape shape(sp.dims().begin(), sp.dims().end());
  Tensor dense(values.type(), shape);
  if (indices.type() != ElementType::kInt64)
    throw Error(ErrorCode::kInvalidProtobuf, what + ": sparse indices must be int64");
  const int64_t nnz = values.size();
  const int64_t* idx = indices.data<int64_t>();
  const size_t elem = element_size(values.type());
  const bool coordinate_list = indices.rank() == 2;
  if (!(indices.rank() == 1 && indices.size() == nnz) &&
      !(coordinate_list && indices.dim(0) == nnz && indices.dim(1) == static_cast<int64_t>(shape.size())))
    throw Error(ErrorCode::kInvalidProtobuf, what + ": sparse indices shape does not match the values");
  for (int64_t i = 0; i < nnz; ++i) {
    int64_t flat = 0;
    if (coordinate_list) {
      for (size_t d = 0; d < shape.size(); ++d) {
        int64_t c = idx[i * static_cast<int64_t>(shape.size()) + static_cast<int64_t>(d)];
        if (c < 0 || c >= shape[d]) throw Error(ErrorCode::kInvalidProtobuf, what + ": sparse index out of range");
        flat = flat * shape[d] + c;
      }
    } else {
      flat = idx[i];
    }
    if (flat < 0 || flat >= dense.size())
      throw Error(ErrorCode::kInvalidProtobuf, what + ": sparse index out of range");
    if (values.type() == ElementType::kString) {
      dense.data<std::string>()[flat] = values.data<std::string>()[i];
    } else {
      std::memcpy(static_cast<char*>(dense.raw_data()) + flat * elem,
                  static_cast<const char*>(values.raw_data()) + i * elem, elem);
    }
  }
  return dense;
}

// Model-local functions (ModelProto.functions) are expanded in place of each call, before anything else sees
// the graph: a call's formal inputs/outputs map to the node's actual names, body-internal names get a unique
// prefix, and attributes that refer to the call's attributes (ref_attr_name) take the call's values
// (ONNX 1.12's FunctionProto has no attribute defaults).
// Finds the function body that replaces a node, or nullptr to keep the node.
using FunctionLookup = std::function<const onnx::FunctionProto*(const onnx::NodeProto&)>;
constexpr int kMaxFunctionDepth = 32;
// Calls can fan out (a body calling another function twice, 30 deep, is 2^30 nodes): cap the expanded size.
constexpr int kMaxExpandedNodes = 1 << 18;

void inline_functions(onnx::GraphProto& graph, const FunctionLookup& functions, int depth, int& counter);

void expand_call(const onnx::NodeProto& call, const onnx::FunctionProto& fn, const FunctionLookup& functions,
                 int depth, int& counter, google::protobuf::RepeatedPtrField<onnx::NodeProto>& out) {
  if (depth > kMaxFunctionDepth)
    invalid_graph(node_label(call) + ": function '" + fn.name() + "' is nested more than " +
                  std::to_string(kMaxFunctionDepth) + " calls deep (recursive?)");
  const std::string prefix = "_kestrel_fn" + std::to_string(counter++) + "_" + fn.name() + "/";
  std::map<std::string, std::string> rename;
  for (int i = 0; i < fn.input_size(); ++i) rename[fn.input(i)] = i < call.input_size() ? call.input(i) : "";
  for (int i = 0; i < fn.output_size(); ++i) rename[fn.output(i)] = i < call.output_size() ? call.output(i) : "";
  auto mapped = [&](const std::string& name) -> std::string {
    if (name.empty()) return name;
    auto it = rename.find(name);
    return it != rename.end() ? it->second : prefix + name;
  };
  std::map<std::string, const onnx::AttributeProto*> given;
  for (const auto& a : call.attribute()) given[a.name()] = &a;
  for (const auto& body : fn.node()) {
    onnx::NodeProto node = body;
    for (int i = 0; i < node.input_size(); ++i) node.set_input(i, mapped(node.input(i)));
    for (int i = 0; i < node.output_size(); ++i) node.set_output(i, mapped(node.output(i)));
    if (!node.name().empty()) node.set_name(prefix + node.name());
    google::protobuf::RepeatedPtrField<onnx::AttributeProto> attrs;
    for (const auto& a : node.attribute()) {
      if (a.ref_attr_name().empty()) {
        *attrs.Add() = a;
        continue;
      }
      auto it = given.find(a.ref_attr_name());
      if (it == given.end()) continue;  // an unset optional attribute stays unset
      onnx::AttributeProto* copy = attrs.Add();
      *copy = *it->second;
      copy->set_name(a.name());
    }
    node.mutable_attribute()->Swap(&attrs);
    if (const onnx::FunctionProto* nested = functions(node)) expand_call(node, *nested, functions, depth + 1, counter, out);
    else *out.Add() = std::move(node);
    if (out.size() > kMaxExpandedNodes)
      invalid_graph(node_label(call) + ": expanding function '" + fn.name() + "' gives more than " +
                    std::to_string(kMaxExpandedNodes) + " nodes");
  }
}

void inline_functions(onnx::GraphProto& graph, const FunctionLookup& functions, int depth, int& counter) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> out;
  for (auto& node : *graph.mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_g()) inline_functions(*a.mutable_g(), functions, depth + 1, counter);
      for (auto& g : *a.mutable_graphs()) inline_functions(g, functions, depth + 1, counter);
    }
    // Moved, not copied: the old list is dropped below, and a node may hold megabytes of Constant tensors.
    if (const onnx::FunctionProto* fn = functions(node)) expand_call(node, *fn, functions, depth, counter, out);
    else *out.Add() = std::move(node);
  }
  graph.mutable_node()->Swap(&out);
}

// ONNX 1.12's schemas know opsets up to 17; newer models are checked by Kestrel's kernels alone.
constexpr int kLastSchemaOpset = 17;

void check_list_lengths(const onnx::NodeProto& node, const std::map<std::string, int>& ranks) {
  // Conv/pool shape inference in libonnx indexes these lists by each other's lengths without checking.
  static const std::set<std::string> kWindowed = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool",
                                                  "AveragePool", "LpPool", "MaxUnpool"};
  if (!kWindowed.count(node.op_type())) return;
  int64_t spatial = -1;
  // Declared ranks of the data and weight inputs must leave at least one spatial dim and agree.
  const int weight_index = node.op_type() == "QLinearConv" ? 3 : 1;
  const bool has_weight = node.op_type().find("Conv") != std::string::npos;
  for (int i : {0, weight_index}) {
    if (i > 0 && !has_weight) break;
    if (i >= node.input_size()) continue;
    auto it = ranks.find(node.input(i));
    if (it == ranks.end()) continue;
    if (it->second < 3)
      invalid_graph(node_label(node) + ": input " + std::to_string(i) + " '" + node.input(i) + "' has rank " +
                    std::to_string(it->second) + ", at least 3 is needed");
    if (spatial >= 0 && spatial != it->second - 2)
      invalid_graph(node_label(node) + ": the data and weight inputs have different ranks");
    spatial = it->second - 2;
  }
  auto agree = [&](const char* name, int64_t length, int factor) {
    if (length % factor != 0 || (spatial >= 0 && length / factor != spatial && length != 0))
      invalid_graph(node_label(node) + ": attribute '" + name + "' has " + std::to_string(length) +
                    " values, inconsistent with the other window attributes");
    if (length) spatial = length / factor;
  };
  for (const auto& a : node.attribute()) {
    const std::string& n = a.name();
    if (n == "kernel_shape") {
      for (int64_t k : a.ints())
        if (k <= 0) invalid_graph(node_label(node) + ": kernel_shape values must be positive");
      agree("kernel_shape", a.ints_size(), 1);
    }
  }
  for (const auto& a : node.attribute()) {
    const std::string& n = a.name();
    // libonnx divides by strides (and multiplies by dilations) in the output size: zero would trap.
    if (n == "strides" || n == "dilations")
      for (int64_t v : a.ints())
        if (v <= 0) invalid_graph(node_label(node) + ": attribute '" + n + "' values must be positive");
    if (n == "strides" || n == "dilations" || n == "output_padding" || n == "output_shape")
      agree(n.c_str(), a.ints_size(), 1);
    else if (n == "pads")
      agree("pads", a.ints_size(), 2);
  }
}

void check_scan(const onnx::NodeProto& node, int opset) {
  if (node.op_type() != "Scan") return;
  int64_t num_scan_inputs = -1;
  const onnx::GraphProto* body = nullptr;
  for (const auto& a : node.attribute()) {
    if (a.name() == "num_scan_inputs") num_scan_inputs = a.i();
    if (a.name() == "body" && a.has_g()) body = &a.g();
  }
  const int64_t data_inputs = node.input_size() - (opset < 9 ? 1 : 0);  // opset 8 starts with sequence_lens
  if (num_scan_inputs < 1 || num_scan_inputs > data_inputs)
    invalid_graph(node_label(node) + ": num_scan_inputs must be 1.." + std::to_string(data_inputs));
  const int64_t state = data_inputs - num_scan_inputs;
  if (!body) invalid_graph(node_label(node) + ": attribute 'body' (a graph) is required");
  if (body->input_size() != state + num_scan_inputs || body->output_size() < state ||
      node.output_size() > body->output_size())
    invalid_graph(node_label(node) + ": the body's inputs and outputs do not match the node's");
  for (const auto& a : node.attribute()) {
    if (a.name() == "scan_input_axes" || a.name() == "scan_input_directions") {
      if (a.ints_size() != num_scan_inputs)
        invalid_graph(node_label(node) + ": '" + a.name() + "' must have num_scan_inputs values");
    } else if (a.name() == "scan_output_axes" || a.name() == "scan_output_directions") {
      if (a.ints_size() != body->output_size() - state)
        invalid_graph(node_label(node) + ": '" + a.name() + "' must have one value per scan output");
    }
  }
}

// Checks nodes against ONNX's schemas where they apply (input and output counts), and the attribute lists that
// libonnx's shape inference trusts, before that inference runs on the model.
void validate_nodes(const onnx::GraphProto& graph, const std::map<std::string, int>& opsets, int depth) {
  if (depth > kMaxSubgraphDepth) invalid_graph(nesting_error("more than " + std::to_string(kMaxSubgraphDepth)));
  std::map<std::string, int> ranks;  // declared ranks, for the window checks
  auto note_rank = [&](const onnx::ValueInfoProto& vi) {
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
      ranks[vi.name()] = vi.type().tensor_type().shape().dim_size();
  };
  for (const auto& vi : graph.input()) note_rank(vi);
  for (const auto& vi : graph.value_info()) note_rank(vi);
  for (const auto& vi : graph.output()) note_rank(vi);
  for (const auto& t : graph.initializer()) ranks[t.name()] = t.dims_size();
  for (const auto& node : graph.node()) {
    const std::string domain = canonical_domain(node.domain());
    auto os = opsets.find(domain);
    if (os != opsets.end() && (domain.empty() || domain == "ai.onnx.ml") && os->second <= kLastSchemaOpset) {
      if (const onnx::OpSchema* schema = op_schema(node.op_type(), os->second, domain)) {
        if (node.input_size() < schema->min_input() || node.input_size() > schema->max_input())
          invalid_graph(node_label(node) + ": has " + std::to_string(node.input_size()) + " inputs, opset " +
                        std::to_string(os->second) + " allows " + std::to_string(schema->min_input()) + ".." +
                        std::to_string(schema->max_input()));
        if (node.output_size() < schema->min_output() || node.output_size() > schema->max_output())
          invalid_graph(node_label(node) + ": has " + std::to_string(node.output_size()) + " outputs, opset " +
                        std::to_string(os->second) + " allows " + std::to_string(schema->min_output()) + ".." +
                        std::to_string(schema->max_output()));
      }
      check_list_lengths(node, ranks);
      check_scan(node, os->second);
    }
    for (const auto& a : node.attribute()) {
      if (a.has_g()) validate_nodes(a.g(), opsets, depth + 1);
      for (const auto& g : a.graphs()) validate_nodes(g, opsets, depth + 1);
    }
  }
}

class GraphBuilder {
 public:
  GraphBuilder(const std::string& base_dir, const std::map<std::string, int>& opsets,
               const std::map<std::string, int64_t>& overrides_by_denotation, const PayloadSource* payloads)
      : base_dir_(base_dir),
        opsets_(opsets),
        overrides_by_denotation_(overrides_by_denotation),
        payloads_(payloads) {}

  // Every denotation override must have matched a dim of the main graph's inputs.
  void check_denotations_used() const {
    for (const auto& [denotation, value] : overrides_by_denotation_)
      if (!used_denotations_.count(denotation))
        throw Error(ErrorCode::kInvalidArgument, "free dimension override by denotation '" + denotation +
                                                     "': no dimension of the model's inputs has this denotation");
  }

  std::unique_ptr<ir::Graph> build(const onnx::GraphProto& gp, ir::Graph* parent) {
    if (parent && parent->depth() >= kMaxSubgraphDepth)
      invalid_graph(nesting_error("more than " + std::to_string(kMaxSubgraphDepth)));
    auto graph = std::make_unique<ir::Graph>(parent);
    ir::Graph& g = *graph;
    g.name = gp.name();
    g.doc_string = gp.doc_string();
    g.opsets = opsets_;
    const std::string where = parent ? "subgraph '" + gp.name() + "'" : "graph '" + gp.name() + "'";

    // Pass 1: every name this graph defines, so nodes may appear in any order and subgraphs may read any of them.
    for (int i = 0; i < gp.initializer_size(); ++i) {
      const onnx::TensorProto& init = gp.initializer(i);
      if (init.name().empty()) invalid_graph(where + ": an initializer has no name");
      ir::Value* v = g.add_value(init.name());
      // The main graph's large raw_data payloads were left out of the parsed message (payload_scan.h).
      RawSource raw;
      const RawSource* raw_source = nullptr;
      if (!parent && payloads_ && static_cast<size_t>(i) < payloads_->payloads.size() &&
          payloads_->payloads[static_cast<size_t>(i)].present) {
        const RawPayload& p = payloads_->payloads[static_cast<size_t>(i)];
        raw = {p.length, [this, p](void* dst) { payloads_->read(p.offset, p.length, dst); }, nullptr};
        if (payloads_->view)
          raw.view = [this, p](size_t alignment) { return payloads_->view(p.offset, p.length, alignment); };
        raw_source = &raw;
      }
      auto t = std::make_shared<Tensor>(
          tensor_from_proto(init, base_dir_, "initializer '" + init.name() + "'", raw_source));
      v->type = TypeInfo::tensor(t->type(), dims_of(*t));
      v->initializer = std::move(t);
    }
    for (const auto& sp : gp.sparse_initializer()) {
      const std::string& name = sp.values().name();
      if (name.empty()) invalid_graph(where + ": a sparse initializer has no name");
      ir::Value* v = g.add_value(name);
      auto t = std::make_shared<Tensor>(sparse_to_dense(sp, base_dir_, "sparse initializer '" + name + "'"));
      v->type = TypeInfo::tensor(t->type(), dims_of(*t));
      v->initializer = std::move(t);
    }
    for (const auto& in : gp.input()) {
      ir::Value* v = g.find_local(in.name());
      if (!v) v = g.add_value(in.name());  // an input with an initializer is overridable
      if (v->is_graph_input) invalid_graph(where + ": input '" + in.name() + "' is declared twice");
      v->is_graph_input = true;
      if (in.has_type()) {
        TypeInfo declared = type_from_proto(in.type());
        if (v->initializer && declared.kind == TypeInfo::Kind::kTensor &&
            declared.element_type != ElementType::kUndefined && declared.element_type != v->type.element_type)
          invalid_graph(where + ": input '" + in.name() + "' is declared " + declared.to_string() +
                        " but its initializer is " + v->type.to_string());
        if (!v->initializer) v->type = declared;
        if (!parent && !v->initializer) override_by_denotation(in, *v);
      }
      g.inputs.push_back(v);
    }
    for (const auto& np : gp.node()) {
      for (const auto& out : np.output()) {
        if (out.empty()) continue;
        if (g.find_local(out))
          invalid_graph(node_label(np) + ": output '" + out + "' is already defined in " + where);
        g.add_value(out);
      }
    }
    for (const auto& vi : gp.value_info()) {
      if (ir::Value* v = g.find_local(vi.name()); v && !v->initializer && vi.has_type())
        v->type = type_from_proto(vi.type());
    }

    // Pass 2: nodes, their attributes (subgraphs built now can see every name above) and their edges.
    for (const auto& np : gp.node()) {
      auto node = std::make_unique<ir::Node>();
      node->name = np.name();
      node->op_type = np.op_type();
      node->domain = canonical_domain(np.domain());
      auto os = opsets_.find(node->domain);
      if (os == opsets_.end())
        invalid_graph(node_label(np) + ": domain '" + np.domain() + "' is not imported by the model");
      node->opset = os->second;
      for (int i = 0; i < np.input_size(); ++i) {
        const std::string& name = np.input(i);
        if (name.empty()) {
          node->inputs.push_back(nullptr);
          continue;
        }
        ir::Value* v = g.find(name);
        if (!v)
          invalid_graph(node_label(np) + ": input " + std::to_string(i) + " '" + name +
                        "' is not a graph input, an initializer or the output of any node");
        node->inputs.push_back(v);
      }
      for (const auto& out : np.output()) node->outputs.push_back(out.empty() ? nullptr : g.find_local(out));
      for (const auto& ap : np.attribute()) {
        if (ap.name().empty()) invalid_graph(node_label(np) + ": an attribute has no name");
        if (node->attributes.count(ap.name()))
          invalid_graph(node_label(np) + ": attribute '" + ap.name() + "' is given twice");
        node->attributes[ap.name()] = attribute(ap, g, node_label(np));
      }
      ir::Node* raw = g.add_node(std::move(node));
      for (ir::Value* in : raw->inputs)
        if (in) in->consumers.push_back(raw);
      for (ir::Value* out : raw->outputs)
        if (out) out->producer = raw;
    }

    for (const auto& out : gp.output()) {
      ir::Value* v = g.find(out.name());
      if (!v) invalid_graph(where + ": output '" + out.name() + "' is not produced by any node or input");
      if (v->owner == &g) v->is_graph_output = true;
      if (out.has_type() && v->type.kind == TypeInfo::Kind::kUnknown) v->type = type_from_proto(out.type());
      // Declared output types are kept for metadata even where inference knew less.
      if (out.has_type() && v->owner == &g && !v->initializer) {
        TypeInfo declared = type_from_proto(out.type());
        if (declared.kind != TypeInfo::Kind::kUnknown) v->type = declared;
      }
      g.outputs.push_back(v);
    }
    return graph;
  }

 private:
  static std::optional<std::vector<Dim>> dims_of(const Tensor& t) {
    std::vector<Dim> dims;
    for (int64_t d : t.shape()) dims.push_back(Dim{d, ""});
    return dims;
  }

  ir::Attribute attribute(const onnx::AttributeProto& ap, ir::Graph& g, const std::string& label) {
    ir::Attribute a;
    a.name = ap.name();
    using T = ir::Attribute::Type;
    auto type = ap.type();
    if (type == onnx::AttributeProto::UNDEFINED) {
      // Very old models omit the type; infer it from the one field that is set.
      if (ap.has_f()) type = onnx::AttributeProto::FLOAT;
      else if (ap.has_i()) type = onnx::AttributeProto::INT;
      else if (ap.has_s()) type = onnx::AttributeProto::STRING;
      else if (ap.has_t()) type = onnx::AttributeProto::TENSOR;
      else if (ap.has_g()) type = onnx::AttributeProto::GRAPH;
      else if (ap.floats_size()) type = onnx::AttributeProto::FLOATS;
      else if (ap.ints_size()) type = onnx::AttributeProto::INTS;
      else if (ap.strings_size()) type = onnx::AttributeProto::STRINGS;
      else if (ap.tensors_size()) type = onnx::AttributeProto::TENSORS;
      else if (ap.graphs_size()) type = onnx::AttributeProto::GRAPHS;
      else type = onnx::AttributeProto::INTS;  // an empty list
    }
    const std::string what = label + ", attribute '" + ap.name() + "'";
    switch (type) {
      case onnx::AttributeProto::FLOAT: a.type = T::kFloat; a.f = ap.f(); break;
      case onnx::AttributeProto::INT: a.type = T::kInt; a.i = ap.i(); break;
      case onnx::AttributeProto::STRING: a.type = T::kString; a.s = ap.s(); break;
      case onnx::AttributeProto::TENSOR:
        a.type = T::kTensor;
        a.t = tensor_from_proto(ap.t(), base_dir_, what);
        break;
      case onnx::AttributeProto::SPARSE_TENSOR:
        a.type = T::kTensor;
        a.t = sparse_to_dense(ap.sparse_tensor(), base_dir_, what);
        break;
      case onnx::AttributeProto::GRAPH:
        a.type = T::kGraph;
        a.g = build(ap.g(), &g);
        break;
      case onnx::AttributeProto::FLOATS:
        a.type = T::kFloats;
        a.floats.assign(ap.floats().begin(), ap.floats().end());
        break;
      case onnx::AttributeProto::INTS:
        a.type = T::kInts;
        a.ints.assign(ap.ints().begin(), ap.ints().end());
        break;
      case onnx::AttributeProto::STRINGS:
        a.type = T::kStrings;
        a.strings.assign(ap.strings().begin(), ap.strings().end());
        break;
      case onnx::AttributeProto::TENSORS:
        a.type = T::kTensors;
        for (const auto& t : ap.tensors()) a.tensors.push_back(tensor_from_proto(t, base_dir_, what));
        break;
      case onnx::AttributeProto::GRAPHS:
        a.type = T::kGraphs;
        for (const auto& sg : ap.graphs()) a.graphs.push_back(build(sg, &g));
        break;
      case onnx::AttributeProto::TYPE_PROTO:
        a.type = T::kTypeProto;
        a.type_proto = type_from_proto(ap.tp());
        break;
      default:
        throw Error(ErrorCode::kNotImplemented, what + ": attribute type " + std::to_string(type) + " is not supported");
    }
    return a;
  }

  void override_by_denotation(const onnx::ValueInfoProto& in, ir::Value& v) {
    if (overrides_by_denotation_.empty() || !in.type().has_tensor_type() || !v.type.shape) return;
    const auto& dims = in.type().tensor_type().shape().dim();
    for (int i = 0; i < dims.size() && i < static_cast<int>(v.type.shape->size()); ++i) {
      auto it = overrides_by_denotation_.find(dims[i].denotation());
      if (dims[i].denotation().empty() || it == overrides_by_denotation_.end()) continue;
      const std::string what = "free dimension override by denotation '" + it->first + "'";
      if (it->second < 0)
        throw Error(ErrorCode::kInvalidArgument, what + " must be >= 0, got " + std::to_string(it->second));
      Dim& d = (*v.type.shape)[i];
      if (d.fixed() && d.value != it->second)
        throw Error(ErrorCode::kInvalidArgument, what + ": dimension " + std::to_string(i) + " of input '" +
                                                     v.name + "' is fixed at " + std::to_string(d.value) + ", not " +
                                                     std::to_string(it->second));
      d.value = it->second;
      d.symbol.clear();
      used_denotations_.insert(it->first);
    }
  }

  std::string base_dir_;
  std::map<std::string, int> opsets_;
  const std::map<std::string, int64_t>& overrides_by_denotation_;
  const PayloadSource* payloads_;
  std::set<std::string> used_denotations_;
};

std::unique_ptr<ir::Model> convert(onnx::ModelProto& mp, const std::string& base_dir, const LoadOptions& options,
                                   const PayloadSource* payloads) {
  if (mp.ir_version() < kMinIrVersion || mp.ir_version() > kMaxIrVersion)
    throw Error(ErrorCode::kInvalidGraph, "model IR version " + std::to_string(mp.ir_version()) +
                                              " is not supported (supported: " + std::to_string(kMinIrVersion) +
                                              ".." + std::to_string(kMaxIrVersion) + ")");
  if (!mp.has_graph()) throw Error(ErrorCode::kInvalidGraph, "model has no graph");
  auto model = std::make_unique<ir::Model>();
  model->ir_version = mp.ir_version();
  model->producer_name = mp.producer_name();
  model->producer_version = mp.producer_version();
  model->domain = mp.domain();
  model->model_version = mp.model_version();
  model->doc_string = mp.doc_string();
  model->graph_name = mp.graph().name();
  model->description = mp.graph().doc_string();
  for (const auto& kv : mp.metadata_props()) model->metadata[kv.key()] = kv.value();
  for (const auto& os : mp.opset_import()) {
    if (os.version() < 1)
      throw Error(ErrorCode::kInvalidGraph, "opset import of domain '" + os.domain() + "' has version " +
                                                std::to_string(os.version()));
    model->opsets[canonical_domain(os.domain())] = static_cast<int>(os.version());
  }
  if (!model->opsets.count("")) {
    if (mp.opset_import_size() == 0) model->opsets[""] = 1;  // IR < 3 models import ai.onnx version 1 implicitly
  }
  // Model-local functions always expand; a spec op defined as a function expands only where no kernel exists.
  std::map<std::pair<std::string, std::string>, const onnx::FunctionProto*> local;
  for (const auto& fn : mp.functions()) local[{canonical_domain(fn.domain()), fn.name()}] = &fn;
  const auto& opsets = model->opsets;
  FunctionLookup lookup = [&](const onnx::NodeProto& node) -> const onnx::FunctionProto* {
    const std::string domain = canonical_domain(node.domain());
    auto it = local.find({domain, node.op_type()});
    if (it != local.end()) return it->second;
    if (!options.has_kernel) return nullptr;
    auto os = opsets.find(domain);
    if (os == opsets.end() || options.has_kernel(domain, node.op_type(), os->second)) return nullptr;
    const onnx::OpSchema* schema = op_schema(node.op_type(), os->second, domain);
    return schema && schema->HasFunction() ? schema->GetFunction() : nullptr;
  };
  int counter = 0;
  inline_functions(*mp.mutable_graph(), lookup, 0, counter);
  for (const auto& fn : mp.functions())
    for (const auto& os : fn.opset_import())
      if (!model->opsets.count(canonical_domain(os.domain())))
        model->opsets[canonical_domain(os.domain())] = static_cast<int>(os.version());
  validate_nodes(mp.graph(), model->opsets, 0);
  // ONNX's own inference fills value_info where the inputs allow.
  infer_onnx_shapes(mp);
  GraphBuilder builder(base_dir, model->opsets, options.dimension_overrides_by_denotation, payloads);
  model->graph = builder.build(mp.graph(), nullptr);
  builder.check_denotations_used();
  return model;
}

// Upgrades every node to `target` with ONNX's adapters (Squeeze/Split/ReduceSum axes to inputs, Softmax's axis
// semantics, ...), so that ops added at the new version sit in a model whose other nodes mean what they meant.
void raise_onnx_opset(onnx::ModelProto& mp, int target) {
  int current = 0;
  for (const auto& os : mp.opset_import())
    if (canonical_domain(os.domain()).empty()) current = static_cast<int>(os.version());
  if (current == 0 || current >= target) return;
  try {
    mp = onnx::version_conversion::ConvertVersion(mp, target);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInvalidGraph, "raising the model's ai.onnx opset from " + std::to_string(current) +
                                              " to " + std::to_string(target) + " failed: " + e.what());
  }
}

}  // namespace

namespace {

// Parses `data` (a whole ModelProto, or a skeleton whose large payloads `payloads` locates) and converts it.
std::unique_ptr<ir::Model> parse_and_convert(const void* data, size_t size, const std::string& base_dir,
                                             const LoadOptions& options, const PayloadSource* payloads) {
  if (size == 0) throw Error(ErrorCode::kInvalidProtobuf, "model is empty (0 bytes)");
  if (size > static_cast<size_t>(INT32_MAX))
    throw Error(ErrorCode::kInvalidProtobuf, "model protobuf is larger than 2 GB; store weights as external data");
  onnx::ModelProto mp;
  google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data), static_cast<int>(size));
  stream.SetTotalBytesLimit(INT32_MAX);
  stream.SetRecursionLimit(kProtobufRecursionLimit);
  if (!mp.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    const int depth = subgraph_nesting_depth(static_cast<const uint8_t*>(data), size);
    if (depth > kMaxSubgraphDepth) invalid_graph(nesting_error(std::to_string(depth)));
    throw Error(ErrorCode::kInvalidProtobuf,
                "model is not a valid ONNX protobuf (truncated or corrupt, or nesting messages more than " +
                    std::to_string(kProtobufRecursionLimit) + " deep)");
  }
  if (options.min_onnx_opset > 0) raise_onnx_opset(mp, options.min_onnx_opset);
  return convert(mp, base_dir, options, payloads);
}

// Loads `data`, first splitting off its large payloads when that works (and the opset converter, which would
// rewrite the whole message, is not asked for); `read` copies bytes of `data` at an offset.
std::unique_ptr<ir::Model> load_split(
    const uint8_t* data, size_t size, const std::string& base_dir, const LoadOptions& options,
    std::function<void(uint64_t, uint64_t, void*)> read,
    std::function<std::shared_ptr<void>(uint64_t, uint64_t, size_t)> view = nullptr) {
  if (options.min_onnx_opset == 0) {
    if (auto skeleton = split_large_payloads(data, size, kMinSplitPayload)) {
      PayloadSource payloads{std::move(skeleton->payloads), std::move(read), std::move(view)};
      return parse_and_convert(skeleton->bytes.data(), skeleton->bytes.size(), base_dir, options, &payloads);
    }
  }
  return parse_and_convert(data, size, base_dir, options, nullptr);
}

}  // namespace

std::unique_ptr<ir::Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir,
                                            const LoadOptions& options) {
  if (size == 0) throw Error(ErrorCode::kInvalidProtobuf, "model is empty (0 bytes)");
  const auto* bytes = static_cast<const uint8_t*>(data);
  return load_split(bytes, size, base_dir, options,
                    [bytes](uint64_t offset, uint64_t length, void* dst) { std::memcpy(dst, bytes + offset, length); });
}

std::unique_ptr<ir::Model> load_model_file(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::kNoSuchFile, "model file '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::kNoSuchFile, "model path '" + path + "' is a directory");
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  MappedFile file(path);
  try {
    if (file.data()) {
      // Payloads are mapped on their own where they sit aligned for their elements (kernels then pack them
      // straight from the file's pages, and the mapping goes when the weight does), else read with pread; never
      // copied from this mapping, whose pages would all count in this process's memory. The scan touches only
      // the pages holding the messages around them.
      return load_split(
          file.data(), file.size(), dir.string(), options,
          [&file](uint64_t offset, uint64_t length, void* dst) { file.read(offset, length, dst); },
          [&file](uint64_t offset, uint64_t length, size_t alignment) { return file.view(offset, length, alignment); });
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::kNoSuchFile, "model file '" + path + "' cannot be opened");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return load_model_bytes(bytes.data(), bytes.size(), dir.string(), options);
  } catch (const Error& e) {
    throw Error(e.code(), "'" + path + "': " + e.what());
  }
}

}  // namespace kestrel::onnx_format
