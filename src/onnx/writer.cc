// ir::Model -> ModelProto: the inverse of loader.cc, keeping names, types, attributes and subgraphs.
#include "onnx/writer.h"

#include <filesystem>
#include <fstream>

#include "onnx/loader.h"
#include "onnx/onnx_pb.h"

namespace kestrel::onnx_format {
namespace fs = std::filesystem;
namespace {

void type_to_proto(const TypeInfo& t, onnx::TypeProto& p) {
  switch (t.kind) {
    case TypeInfo::Kind::kTensor: {
      auto* tt = p.mutable_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.element_type));
      if (t.shape) {
        auto* shape = tt->mutable_shape();
        for (const Dim& d : *t.shape) {
          auto* dim = shape->add_dim();
          if (d.fixed()) dim->set_dim_value(d.value);
          else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
        }
      }
      break;
    }
    case TypeInfo::Kind::kSequence:
      if (t.element) type_to_proto(*t.element, *p.mutable_sequence_type()->mutable_elem_type());
      else p.mutable_sequence_type();
      break;
    case TypeInfo::Kind::kOptional:
      if (t.element) type_to_proto(*t.element, *p.mutable_optional_type()->mutable_elem_type());
      else p.mutable_optional_type();
      break;
    case TypeInfo::Kind::kMap:
      p.mutable_map_type()->set_key_type(static_cast<int32_t>(t.key_type));
      if (t.element) type_to_proto(*t.element, *p.mutable_map_type()->mutable_value_type());
      break;
    case TypeInfo::Kind::kUnknown:
      break;
  }
}

void value_info(const ir::Value& v, onnx::ValueInfoProto& p) {
  p.set_name(v.name);
  if (v.type.kind != TypeInfo::Kind::kUnknown) type_to_proto(v.type, *p.mutable_type());
}

void graph_to_proto(const ir::Graph& g, onnx::GraphProto& p);

void attribute_to_proto(const ir::Attribute& a, onnx::AttributeProto& p) {
  using T = ir::Attribute::Type;
  p.set_name(a.name);
  switch (a.type) {
    case T::kFloat: p.set_type(onnx::AttributeProto::FLOAT); p.set_f(a.f); break;
    case T::kInt: p.set_type(onnx::AttributeProto::INT); p.set_i(a.i); break;
    case T::kString: p.set_type(onnx::AttributeProto::STRING); p.set_s(a.s); break;
    case T::kTensor: p.set_type(onnx::AttributeProto::TENSOR); tensor_to_proto(a.t, *p.mutable_t()); break;
    case T::kGraph: p.set_type(onnx::AttributeProto::GRAPH); graph_to_proto(*a.g, *p.mutable_g()); break;
    case T::kFloats:
      p.set_type(onnx::AttributeProto::FLOATS);
      for (float f : a.floats) p.add_floats(f);
      break;
    case T::kInts:
      p.set_type(onnx::AttributeProto::INTS);
      for (int64_t i : a.ints) p.add_ints(i);
      break;
    case T::kStrings:
      p.set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : a.strings) p.add_strings(s);
      break;
    case T::kTensors:
      p.set_type(onnx::AttributeProto::TENSORS);
      for (const auto& t : a.tensors) tensor_to_proto(t, *p.add_tensors());
      break;
    case T::kGraphs:
      p.set_type(onnx::AttributeProto::GRAPHS);
      for (const auto& sg : a.graphs) graph_to_proto(*sg, *p.add_graphs());
      break;
    case T::kTypeProto:
      p.set_type(onnx::AttributeProto::TYPE_PROTO);
      type_to_proto(a.type_proto, *p.mutable_tp());
      break;
  }
}

void graph_to_proto(const ir::Graph& g, onnx::GraphProto& p) {
  p.set_name(g.name);
  if (!g.doc_string.empty()) p.set_doc_string(g.doc_string);
  for (const ir::Value* v : g.inputs) value_info(*v, *p.add_input());
  for (const ir::Value* v : g.outputs) value_info(*v, *p.add_output());
  for (const auto& v : g.values()) {
    if (v->initializer) {
      auto* t = p.add_initializer();
      tensor_to_proto(*v->initializer, *t);
      t->set_name(v->name);
    } else if (!v->is_graph_input && !v->is_graph_output && v->type.kind != TypeInfo::Kind::kUnknown) {
      value_info(*v, *p.add_value_info());
    }
  }
  for (const ir::Node* n : g.topological_order()) {
    auto* np = p.add_node();
    np->set_op_type(n->op_type);
    if (!n->name.empty()) np->set_name(n->name);
    if (!n->domain.empty()) np->set_domain(n->domain);
    for (const ir::Value* in : n->inputs) np->add_input(in ? in->name : "");
    for (const ir::Value* out : n->outputs) np->add_output(out ? out->name : "");
    for (const auto& [name, attr] : n->attributes) attribute_to_proto(attr, *np->add_attribute());
  }
}

}  // namespace

std::string serialize_model(const ir::Model& model) {
  onnx::ModelProto m;
  m.set_ir_version(model.ir_version);
  m.set_producer_name(model.producer_name);
  m.set_producer_version(model.producer_version);
  if (!model.domain.empty()) m.set_domain(model.domain);
  m.set_model_version(model.model_version);
  if (!model.doc_string.empty()) m.set_doc_string(model.doc_string);
  for (const auto& [key, value] : model.metadata) {
    auto* kv = m.add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }
  // The graph's imports are authoritative: optimizer rules add the domains of the fused ops they create.
  for (const auto& [domain, version] : model.graph->opsets) {
    auto* os = m.add_opset_import();
    os->set_domain(domain);
    os->set_version(version);
  }
  graph_to_proto(*model.graph, *m.mutable_graph());
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw Error(ErrorCode::kFail, "the model is too large to serialize as one protobuf (over 2 GB)");
  return bytes;
}

void save_model(const ir::Model& model, const std::string& path) {
  const std::string bytes = serialize_model(model);
  auto write = [&bytes, &path](const std::string& to) {
    std::ofstream out(to, std::ios::binary);
    if (!out) throw Error(ErrorCode::kNoSuchFile, "cannot write the optimized model to '" + path + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw Error(ErrorCode::kFail, "writing the optimized model to '" + path + "' failed");
  };
  // An existing file is replaced (written beside it, then renamed over it), never rewritten in place: it may be
  // the very model a session has weights mapped from (the loader maps aligned payloads), which must keep its
  // bytes. Anything else (a new file, a device) is written as it is.
  std::error_code ec;
  const fs::path target = fs::is_regular_file(path, ec) ? fs::canonical(path, ec) : fs::path();
  if (target.empty() || ec) return write(path);
  const std::string temporary = target.string() + ".kestrel-tmp";
  try {
    write(temporary);
  } catch (const Error&) {
    fs::remove(temporary, ec);
    throw;
  }
  fs::rename(temporary, target, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(ErrorCode::kFail, "writing the optimized model to '" + path + "' failed");
  }
}

}  // namespace kestrel::onnx_format
