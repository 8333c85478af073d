// Level 3 (layout): 2-D float convolutions run channels-last, and so do the ops between them, so that a chain of
// convolutions passes NHWC tensors from one to the next with no reorder in between:
//   X -> Conv/FusedConv -> Y
//   becomes   X -> Transpose(0,2,3,1) -> FusedConv(channels_last=1) -> Transpose(0,3,1,2) -> Y
// and likewise 2-D QLinearConv (int8) -> ai.kestrel QLinearConv(channels_last=1), the QDQ groups' per-tensor
// DequantizeLinear and QuantizeLinear between them (and ai.kestrel QuantizedLookup, QLinearAdd, QLinearMul)
// counting as elementwise ops and ai.kestrel QLinearGlobalAveragePool and QLinearConvTranspose taking
// `channels_last` = 1, so int8 models stay NHWC too.
// Each to-NCHW Transpose is then moved below the ops that work the same in either layout once their operands are
// permuted alike (activations; Add/Sub/Mul/Div whose other operand is another channels-last value or a constant;
// Concat on channels; GlobalAveragePool, which becomes ReduceMean over H and W; inference BatchNormalization,
// which becomes Mul and Add by per-channel constants; 2-D MaxPool, which becomes
// ai.kestrel NhwcMaxPool; Resize with constant scales or sizes, permuted), and a to-NHWC Transpose of a
// to-NCHW Transpose's output reads the NHWC value directly. What is left is one Transpose at each boundary between
// the channels-last region and the rest of the graph (graph inputs and outputs, layout-bound ops such as Reshape).
// Main graph only; nodes are visited in topological order so a producer is rewritten before its readers.
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {
namespace {

const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};

bool is_transpose(const ir::Node* n, const std::vector<int64_t>& perm) {
  if (!is_op(n, "Transpose")) return false;
  auto p = attr_ints(n, "perm");
  return p && *p == perm;
}

// The NHWC value `v` is a to-NCHW Transpose of, or null.
ir::Value* nhwc_source(const ir::Value* v) {
  if (!v || !v->producer || v->producer->owner != v->owner) return nullptr;
  return is_transpose(v->producer, kToNchw) ? v->producer->inputs[0] : nullptr;
}

TypeInfo permuted_type(const TypeInfo& t, const std::vector<int64_t>& perm) {
  TypeInfo out = TypeInfo::tensor(t.element_type);
  if (t.shape && t.shape->size() == perm.size()) {
    out.shape = std::vector<Dim>();
    for (int64_t p : perm) out.shape->push_back((*t.shape)[p]);
  } else {
    out.shape = std::vector<Dim>(perm.size());  // rank known, dims not
  }
  return out;
}

// A rank-4 float tensor value.
bool is_float_4d(const ir::Value* v) { return v && known_rank(v) == 4 && element_type_of(v) == ElementType::kFloat; }

// `v` in NHWC: the value a to-NCHW Transpose read, else a new to-NHWC Transpose of `v`.
ir::Value* to_nhwc(ir::Graph& graph, ir::Value* v) {
  if (ir::Value* src = nhwc_source(v)) return src;
  ir::Value* out = add_intermediate(graph, v->name + "_nhwc", permuted_type(v->type, kToNhwc));
  ir::Node* t = add_node(graph, "Transpose", "", {v}, {out}, v->name + "_to_nhwc");
  set_attr(t, make_ints_attr("perm", kToNhwc));
  return out;
}

// Makes `node` write a new NHWC value instead of its output `index`, and restores the old value (same name, same
// readers) as a to-NCHW Transpose of it.
ir::Value* redirect_output_to_nhwc(ir::Graph& graph, ir::Node* node, size_t index) {
  ir::Value* old = node->outputs[index];
  ir::Value* nhwc = add_intermediate(graph, old->name + "_nhwc", permuted_type(old->type, kToNhwc));
  node->outputs[index] = nhwc;
  nhwc->producer = node;
  old->producer = nullptr;
  ir::Node* t = add_node(graph, "Transpose", "", {nhwc}, {old}, old->name + "_to_nchw");
  set_attr(t, make_ints_attr("perm", kToNchw));
  return nhwc;
}

// A constant operand of a binary op whose other operand becomes NHWC: broadcast rules align trailing dims, so the
// constant is first padded to rank 4 with leading 1s, then permuted like the data. One-element constants stay.
ir::Value* nhwc_constant(ir::Graph& graph, ir::Value* v) {
  const Tensor* t = constant_of(v);
  if (!t || t->rank() > 4 || t->type() == ElementType::kString) return nullptr;
  if (t->size() == 1) return v;
  Shape s(4 - t->rank(), 1);
  s.insert(s.end(), t->shape().begin(), t->shape().end());
  Tensor out(t->type(), {s[0], s[2], s[3], s[1]});
  const size_t elem = element_size(t->type());
  const auto* src = static_cast<const char*>(t->raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w) {
          const int64_t from = ((n * s[1] + c) * s[2] + h) * s[3] + w;
          const int64_t to = ((n * s[2] + h) * s[3] + w) * s[1] + c;
          std::memcpy(dst + to * elem, src + from * elem, elem);
        }
  return add_constant(graph, v->name + "_nhwc", std::move(out));
}

// A rank-4 int8 or uint8 tensor value.
bool is_quantized_4d(const ir::Value* v) {
  if (!v || known_rank(v) != 4) return false;
  const ElementType t = element_type_of(v);
  return t == ElementType::kInt8 || t == ElementType::kUInt8;
}

// QLinearConv (ONNX, or ai.kestrel not yet channels-last) on 2-D int8 data with constant 4-D weights.
bool converts_quantized_to_nhwc(const ir::Node* n) {
  const bool conv = (n->domain.empty() && n->op_type == "QLinearConv") ||
                    (n->domain == kKestrelDomain && n->op_type == "QLinearConv" &&
                     attr_int(n, "channels_last", 0) == 0);
  if (!conv || n->inputs.size() < 8 || n->outputs.size() != 1 || !n->outputs[0]) return false;
  if (!is_quantized_4d(n->inputs[0]) || !is_quantized_4d(n->outputs[0])) return false;
  const Tensor* w = constant_view_of(n->inputs[3]);  // rank only: not copied before the kernel packs it
  return w && w->rank() == 4;
}

bool converts_to_nhwc(const ir::Node* n) {
  const bool conv = is_op(n, "Conv") ||
                    (n->domain == kKestrelDomain && n->op_type == "FusedConv" && attr_int(n, "channels_last", 0) == 0);
  if (!conv || n->inputs.size() < 2 || n->outputs.size() != 1 || !n->outputs[0]) return false;
  if (!is_float_4d(n->inputs[0]) || !is_float_4d(n->outputs[0])) return false;
  const Tensor* w = constant_view_of(n->inputs[1]);  // type and rank: not copied before the kernel packs it
  if (!w || w->rank() != 4 || w->type() != ElementType::kFloat) return false;
  if (n->inputs.size() > 2 && n->inputs[2] && !constant_of(n->inputs[2])) return false;
  if (n->inputs.size() > 3 && n->inputs[3] && !is_float_4d(n->inputs[3])) return false;  // residual Z
  return true;
}

// Conv or FusedConv -> FusedConv(channels_last=1), QLinearConv -> ai.kestrel QLinearConv(channels_last=1),
// between Transposes.
void convert_conv(ir::Graph& graph, ir::Node* conv) {
  const bool quantized = conv->op_type == "QLinearConv";
  std::vector<ir::Value*> inputs = conv->inputs;
  inputs[0] = to_nhwc(graph, inputs[0]);
  if (!quantized) {
    inputs.resize(std::max<size_t>(inputs.size(), 3), nullptr);
    if (inputs.size() > 3 && inputs[3]) inputs[3] = to_nhwc(graph, inputs[3]);
  }
  ir::Value* y = conv->outputs[0];
  auto attributes = conv->attributes;
  const std::string name = conv->name;
  remove_nodes(graph, {conv});
  ir::Value* y_nhwc = add_intermediate(graph, y->name + "_nhwc", permuted_type(y->type, kToNhwc));
  ir::Node* fused = add_node(graph, quantized ? "QLinearConv" : "FusedConv", kKestrelDomain, inputs, {y_nhwc}, name);
  fused->attributes = std::move(attributes);
  set_attr(fused, make_int_attr("channels_last", 1));
  ir::Node* t = add_node(graph, "Transpose", "", {y_nhwc}, {y}, y->name + "_to_nchw");
  set_attr(t, make_ints_attr("perm", kToNchw));
}

const std::unordered_set<std::string> kElementwiseUnary = {
    "Relu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu",
    "Selu", "Softplus", "Neg", "Abs", "Exp", "Sqrt", "Erf", "Reciprocal", "Floor", "Ceil"};
const std::unordered_set<std::string> kElementwiseBinary = {"Add", "Sub", "Mul", "Div"};

// Moves the to-NCHW Transpose(s) feeding `n` below it when `n` computes the same in NHWC. Returns whether it did.
bool push_through(ir::Graph& graph, ir::Node* n, const std::unordered_set<const ir::Value*>& reads) {
  if (n->domain == kKestrelDomain && n->op_type == "QuantizedLookup" && n->outputs.size() == 1 && n->outputs[0] &&
      !reads.count(n->outputs[0])) {  // elementwise, its table a constant
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(n->outputs[0]) != 4) return false;
    set_input(n, 0, src);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (n->domain == kKestrelDomain && (n->op_type == "QLinearAdd" || n->op_type == "QLinearMul") &&
      n->inputs.size() >= 7 && n->outputs.size() == 1 && n->outputs[0] && !reads.count(n->outputs[0])) {
    // Elementwise on A (input 0) and B (input 3), both channels-last or one a one-element constant.
    if (known_rank(n->outputs[0]) != 4) return false;
    ir::Value* srcs[2] = {nhwc_source(n->inputs[0]), nhwc_source(n->inputs[3])};
    if (!srcs[0] && !srcs[1]) return false;
    for (int i = 0; i < 2; ++i) {
      ir::Value* v = n->inputs[i * 3];
      if (!srcs[i] && !(constant_of(v) && constant_of(v)->size() == 1)) return false;
      if (!srcs[i]) srcs[i] = v;
    }
    set_input(n, 0, srcs[0]);
    set_input(n, 3, srcs[1]);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (n->domain == kKestrelDomain &&
      (n->op_type == "QLinearGlobalAveragePool" || n->op_type == "QLinearConvTranspose") &&
      attr_int(n, "channels_last", 0) == 0 && n->outputs.size() == 1 && n->outputs[0] &&
      !reads.count(n->outputs[0])) {  // the layout is an attribute
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(n->outputs[0]) != 4) return false;
    set_input(n, 0, src);
    set_attr(n, make_int_attr("channels_last", 1));
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (!n->domain.empty() || n->outputs.empty() || !n->outputs[0] || n->inputs.empty()) return false;
  if (n->op_type != "MaxPool" && n->outputs.size() != 1) return false;
  ir::Value* out = n->outputs[0];
  if (reads.count(out)) return false;
  const std::string& op = n->op_type;
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    // Per tensor only: a per-axis scale would need its axis moved.
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(out) != 4) return false;
    for (size_t i = 1; i < n->inputs.size(); ++i) {
      const Tensor* t = n->inputs[i] ? constant_of(n->inputs[i]) : nullptr;
      if (n->inputs[i] && (!t || t->size() != 1)) return false;
    }
    set_input(n, 0, src);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (kElementwiseUnary.count(op)) {
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(out) != 4) return false;
    for (size_t i = 1; i < n->inputs.size(); ++i)  // Clip's min/max: scalars
      if (n->inputs[i] && known_rank(n->inputs[i]) != 0 && !constant_of(n->inputs[i])) return false;
    set_input(n, 0, src);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (kElementwiseBinary.count(op) && n->opset >= 7 && n->inputs.size() == 2) {
    if (known_rank(out) != 4) return false;
    ir::Value* srcs[2] = {nhwc_source(n->inputs[0]), nhwc_source(n->inputs[1])};
    if (!srcs[0] && !srcs[1]) return false;
    for (int i = 0; i < 2; ++i) {
      if (srcs[i]) continue;
      srcs[i] = nhwc_constant(graph, n->inputs[i]);
      if (!srcs[i]) return false;
    }
    // A rank-4 operand from a to-NCHW Transpose and the output have rank 4, so broadcasting pairs the same dims.
    for (int i = 0; i < 2; ++i) set_input(n, i, srcs[i]);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (op == "Concat") {
    int64_t axis = attr_int(n, "axis", 1);
    if (axis != 1 && axis != -3) return false;
    std::vector<ir::Value*> srcs;
    for (ir::Value* in : n->inputs) {
      ir::Value* src = nhwc_source(in);
      if (!src) return false;
      srcs.push_back(src);
    }
    for (size_t i = 0; i < srcs.size(); ++i) set_input(n, i, srcs[i]);
    set_attr(n, make_int_attr("axis", 3));
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (op == "MaxPool") {
    ir::Value* src = nhwc_source(n->inputs[0]);
    auto kernel = attr_ints(n, "kernel_shape");
    if (!src || known_rank(out) != 4 || !kernel || kernel->size() != 2) return false;
    if (n->outputs.size() > 1 && n->outputs[1]) return false;  // Indices are NCHW positions
    auto attributes = n->attributes;
    attributes.erase("storage_order");
    const std::string name = n->name;
    remove_nodes(graph, {n});
    ir::Value* out_nhwc = add_intermediate(graph, out->name + "_nhwc", permuted_type(out->type, kToNhwc));
    ir::Node* pool = add_node(graph, "NhwcMaxPool", kKestrelDomain, {src}, {out_nhwc}, name);
    pool->attributes = std::move(attributes);
    ir::Node* t = add_node(graph, "Transpose", "", {out_nhwc}, {out}, out->name + "_to_nchw");
    set_attr(t, make_ints_attr("perm", kToNchw));
    return true;
  }
  if (op == "Resize" && n->opset >= 11 && !n->attribute("axes") &&
      attr_string(n, "coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize") {
    // X from a to-NCHW Transpose; the per-axis scales or sizes (constants) are permuted like the data.
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(out) != 4) return false;
    std::vector<ir::Value*> permuted(n->inputs.size(), nullptr);
    for (size_t i = 2; i < n->inputs.size() && i < 4; ++i) {
      ir::Value* v = n->inputs[i];
      if (!v) continue;
      const Tensor* t = constant_of(v);
      if (!t || t->rank() != 1) return false;
      if (t->size() == 0) continue;  // an empty scales input means "use sizes"
      if (t->size() != 4) return false;
      Tensor p(t->type(), {4});
      const size_t elem = element_size(t->type());
      for (size_t k = 0; k < 4; ++k)
        std::memcpy(static_cast<char*>(p.raw_data()) + k * elem,
                    static_cast<const char*>(t->raw_data()) + kToNhwc[k] * elem, elem);
      permuted[i] = add_constant(graph, v->name + "_nhwc", std::move(p));
    }
    set_input(n, 0, src);
    for (size_t i = 2; i < permuted.size(); ++i)
      if (permuted[i]) set_input(n, i, permuted[i]);
    redirect_output_to_nhwc(graph, n, 0);
    return true;
  }
  if (op == "BatchNormalization" && n->inputs.size() == 5 && attr_int(n, "training_mode", 0) == 0 &&
      (n->opset >= 9 || attr_int(n, "spatial", 1) == 1)) {
    // Inference with constant parameters: a per-channel affine y = x a + b (a = scale / sqrt(var + epsilon),
    // b = B - mean a), which runs channels-last as Mul and Add by [C] constants (they broadcast along the last
    // dim). Where a quantized model keeps one between int8 convolutions, no Transposes are left around it.
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(out) != 4 || element_type_of(src) != ElementType::kFloat) return false;
    const Tensor* p[4];
    for (size_t i = 0; i < 4; ++i) {
      p[i] = constant_of(n->inputs[i + 1]);
      if (!p[i] || p[i]->type() != ElementType::kFloat || p[i]->rank() != 1 || p[i]->size() != p[0]->size())
        return false;
    }
    const int64_t C = p[0]->size();
    const double epsilon = attr_float(n, "epsilon", 1e-5f);
    Tensor a(ElementType::kFloat, {C}), b(ElementType::kFloat, {C});
    for (int64_t c = 0; c < C; ++c) {
      const double ac = p[0]->data<float>()[c] / std::sqrt(static_cast<double>(p[3]->data<float>()[c]) + epsilon);
      a.data<float>()[c] = static_cast<float>(ac);
      b.data<float>()[c] = static_cast<float>(p[1]->data<float>()[c] - p[2]->data<float>()[c] * ac);
    }
    const std::string name = n->name;
    remove_nodes(graph, {n});
    ir::Value* scaled = add_intermediate(graph, out->name + "_scaled_nhwc", src->type);
    add_node(graph, "Mul", "", {src, add_constant(graph, name + "_scale", std::move(a))}, {scaled}, name + "_scale");
    ir::Value* out_nhwc = add_intermediate(graph, out->name + "_nhwc", permuted_type(out->type, kToNhwc));
    add_node(graph, "Add", "", {scaled, add_constant(graph, name + "_shift", std::move(b))}, {out_nhwc}, name);
    ir::Node* t = add_node(graph, "Transpose", "", {out_nhwc}, {out}, out->name + "_to_nchw");
    set_attr(t, make_ints_attr("perm", kToNchw));
    return true;
  }
  if (op == "GlobalAveragePool") {
    ir::Value* src = nhwc_source(n->inputs[0]);
    if (!src || known_rank(out) != 4) return false;
    const std::string name = n->name;
    remove_nodes(graph, {n});
    ir::Value* out_nhwc = add_intermediate(graph, out->name + "_nhwc", permuted_type(out->type, kToNhwc));
    std::vector<ir::Value*> inputs = {src};
    const bool axes_input = onnx_opset(graph) >= 18;
    if (axes_input) inputs.push_back(add_constant(graph, name + "_axes", Tensor::from_vector<int64_t>({1, 2})));
    ir::Node* mean = add_node(graph, "ReduceMean", "", inputs, {out_nhwc}, name);
    if (!axes_input) set_attr(mean, make_ints_attr("axes", {1, 2}));
    set_attr(mean, make_int_attr("keepdims", 1));
    ir::Node* t = add_node(graph, "Transpose", "", {out_nhwc}, {out}, out->name + "_to_nchw");
    set_attr(t, make_ints_attr("perm", kToNchw));
    return true;
  }
  return false;
}

}  // namespace

int layout_nhwc(ir::Graph& graph) {
  if (graph.parent()) return 0;
  const std::unordered_set<const ir::Value*> reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* n : graph.topological_order()) {
    if (converts_to_nhwc(n) || converts_quantized_to_nhwc(n)) {
      convert_conv(graph, n);
      ++fired;
    } else if (push_through(graph, n, reads)) {
      ++fired;
    }
  }
  // A to-NHWC Transpose of a to-NCHW Transpose's output reads the NHWC value directly.
  for (ir::Node* n : anchors_of(graph, {"Transpose"})) {
    if (!is_transpose(n, kToNhwc) || n->outputs.size() != 1 || !n->outputs[0]) continue;
    ir::Value* src = nhwc_source(n->inputs[0]);
    ir::Value* out = n->outputs[0];
    if (!src || out->is_graph_output || reads.count(out)) continue;
    replace_uses(out, src);
    remove_nodes(graph, {n});
    ++fired;
  }
  // To-NCHW Transposes nobody reads any more.
  bool removed = true;
  while (removed) {
    removed = false;
    for (ir::Node* n : anchors_of(graph, {"Transpose"})) {
      ir::Value* out = n->outputs.empty() ? nullptr : n->outputs[0];
      if (out && out->consumers.empty() && !out->is_graph_output && !reads.count(out)) {
        remove_nodes(graph, {n});
        removed = true;
      }
    }
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
