// What the rewrite rules share: reading constants and attributes off the IR, checking that a value may be
// rewired, and making/removing nodes with producer/consumer links kept consistent.
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"

namespace kestrel::optimizer {

// Domain of the fused ops the extended rules create (documented in docs/optimizer.md).
inline constexpr const char* kKestrelDomain = "ai.kestrel";

// The constant data behind `v`: an initializer that the caller cannot override (not also a graph input),
// aligned for its elements.
const Tensor* constant_of(const ir::Value* v);
// The same constant as it is: possibly a view on unaligned bytes (runtime/unaligned_constants.h), for rules
// that read only its type, its shape or its bytes (memcpy). Spares the copy of a weight such a rule only
// moves.
const Tensor* constant_view_of(const ir::Value* v);
// A constant with exactly one element, read as double (float/double/integer types); nullopt otherwise.
std::optional<double> scalar_of(const ir::Value* v);
// A constant integer tensor (int32/int64) as int64 values; nullopt otherwise.
std::optional<std::vector<int64_t>> ints_of(const ir::Value* v);

// Fully known static shape of `v` (every dim fixed), else nullopt.
std::optional<Shape> static_shape(const ir::Value* v);
// Known rank of `v`, else -1.
int known_rank(const ir::Value* v);
// The element type of `v` when it is a tensor of known type, else kUndefined.
ElementType element_type_of(const ir::Value* v);

// The node producing `v` when it is `op` (ai.onnx) in the same graph, else nullptr.
ir::Node* producer_op(const ir::Value* v, const char* op);
bool is_op(const ir::Node* n, const char* op);  // ai.onnx op of that type

// Values of `graph` read by nodes of its subgraphs (by pointer): they must keep their producer.
std::unordered_set<const ir::Value*> subgraph_reads(const ir::Graph& graph);

// True when `v` may disappear: it is not a graph output, not read by a subgraph, and has exactly `uses`
// consumer slots.
bool only_used_by(const ir::Value* v, size_t uses, const std::unordered_set<const ir::Value*>& sub_reads);

// Attribute readers with defaults.
int64_t attr_int(const ir::Node* n, const std::string& name, int64_t fallback);
float attr_float(const ir::Node* n, const std::string& name, float fallback);
std::string attr_string(const ir::Node* n, const std::string& name, const std::string& fallback);
std::optional<std::vector<int64_t>> attr_ints(const ir::Node* n, const std::string& name);

ir::Attribute make_int_attr(const std::string& name, int64_t v);
ir::Attribute make_float_attr(const std::string& name, float v);
ir::Attribute make_string_attr(const std::string& name, const std::string& v);
ir::Attribute make_ints_attr(const std::string& name, std::vector<int64_t> v);
ir::Attribute make_floats_attr(const std::string& name, std::vector<float> v);

// A value name not yet used in `graph` or any graph enclosing it, starting from `hint`.
std::string unique_name(const ir::Graph& graph, const std::string& hint);
// Adds an initializer holding `t` under a fresh name.
ir::Value* add_constant(ir::Graph& graph, const std::string& hint, Tensor t);
// Adds a fresh intermediate value, with `type` when known.
ir::Value* add_intermediate(ir::Graph& graph, const std::string& hint, const TypeInfo& type = {});

// Adds a node reading `inputs` and producing `outputs` (existing values without a producer), linking both ways.
// Domain "" gets the graph's ai.onnx version as opset; ai.kestrel gets version 1 and is added to graph.opsets.
ir::Node* add_node(ir::Graph& graph, const std::string& op, const std::string& domain,
                   const std::vector<ir::Value*>& inputs, const std::vector<ir::Value*>& outputs,
                   const std::string& name_hint = "");

// Makes every consumer slot reading `from` read `to` instead (no graph-output or subgraph handling).
void replace_uses(ir::Value* from, ir::Value* to);
// Points input slot `i` of `node` at `v`, fixing consumer lists.
void set_input(ir::Node* node, size_t i, ir::Value* v);

// Removes nodes; their outputs lose their producer and may then be given to a new node.
void remove_nodes(ir::Graph& graph, const std::vector<ir::Node*>& nodes);
// Drops the data of each constant among `values` that nothing reads any more (after remove_nodes), so that a
// rule building new weights out of old ones never holds both for the whole graph; the values themselves go
// with remove_unused_values.
void release_unread_constants(const std::vector<ir::Value*>& values,
                              const std::unordered_set<const ir::Value*>& sub_reads);

// The ai.onnx opset the graph imports (0 when none).
int onnx_opset(const ir::Graph& graph);

}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// Removes `node`, whose output 0 equals its input `input_index` in value, making the output's readers read that
// input. Refuses (returns false) when the output is a graph output or read by a subgraph, or when other outputs
// of the node are used.
bool bypass_node(ir::Graph& graph, ir::Node* node, size_t input_index,
                 const std::unordered_set<const ir::Value*>& sub_reads);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// For a Conv with constant float W [M, ...] and constant (or absent) float bias: replaces W and B by new
// initializers so that the Conv computes scale[m] * conv + shift[m] per output channel m (scale/shift of size
// M; an empty scale means 1, an empty shift 0). Returns false, changing nothing, when W/B are not such constants.
bool rescale_conv(ir::Graph& graph, ir::Node* conv, const std::vector<double>& scale,
                  const std::vector<double>& shift);
// Per-output-channel values of a constant broadcast against a Conv output of rank `rank` with M channels:
// shape [M,1,..], [1,M,1,..] or any single element; nullopt otherwise (e.g. spatially varying).
std::optional<std::vector<double>> per_channel(const ir::Value* v, int rank, int64_t M);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// `follower` reads `node`'s output 0 (its only reader) and is being folded into `node`: removes `follower` and
// makes `node` produce follower's output 0 instead (so graph-output names survive). The old intermediate value
// is dropped by the caller's remove_unused_values().
void absorb_follower(ir::Graph& graph, ir::Node* node, ir::Node* follower);
// The single node reading `v` (exactly one consumer slot, not a graph output, not read by a subgraph).
ir::Node* sole_consumer(const ir::Value* v, const std::unordered_set<const ir::Value*>& sub_reads);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// True when `a` is within a relative 1e-4 of `b` (constants exporters spell with a few digits).
bool near(double a, double b);
// A single-input activation node the fused ops can apply: its name for the `activation` attribute and its
// parameters (fused_activation.h order). False for anything else.
bool activation_of(const ir::Node* n, std::string& name, std::vector<float>& params);
// True when two values' declared shapes are known to be equal: same rank, every dim equal (fixed) or the same
// named symbol.
bool same_shape(const ir::Value* a, const ir::Value* b);
// Sets a node attribute.
void set_attr(ir::Node* n, ir::Attribute a);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// The graph's nodes whose op_type is one of `ops` (ai.onnx or ai.kestrel), in topological order. Rules iterate
// over this snapshot of their anchors: the followers they remove are never anchors, so no pointer dangles.
std::vector<ir::Node*> anchors_of(const ir::Graph& graph, const std::vector<std::string>& ops);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// The activation applied to `v`: a single-input activation node reading it alone (activation_of), SiLU as
// Sigmoid(v) and Mul(v, Sigmoid(v)), or HardSwish decomposed as Div(Mul(v, Clip(Add(v, 3), 0, 6)), 6). Appends
// the matched nodes, sets the fused op's activation name/params, and returns the activation's output (or null).
ir::Value* match_activation_chain(ir::Value* v, const std::unordered_set<const ir::Value*>& reads,
                                  std::vector<ir::Node*>& nodes, std::string& name, std::vector<float>& params);
}  // namespace kestrel::optimizer

namespace kestrel::optimizer {
// A DequantizeLinear (QDQ format) feeding a fused int8 op: its uint8/int8 input, constant float scale, constant
// zero point (null when omitted, meaning 0), and the axis a 1-D scale runs along (-1 for a single value).
struct Dequantized {
  ir::Node* node = nullptr;
  ir::Value* x = nullptr;
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
  int64_t axis = -1;
};
// `v` as the output of such a DequantizeLinear with constant parameters (per tensor, or per axis when
// `per_axis_ok`), of an 8-bit x whose rank is known; nullopt otherwise.
std::optional<Dequantized> dequantized(const ir::Value* v, bool per_axis_ok);
// Whether `q` is a QuantizeLinear to a single constant float scale and an optional single constant uint8/int8
// zero point (no saturate, no blocks): the requantization a fused int8 op can take over.
bool is_per_tensor_quantize(const ir::Node* q);
// `zero_point`, or a new constant 0 of `type` when it is null (QLinear* ops take their zero points as inputs).
ir::Value* zero_point_or_zero(ir::Graph& graph, ir::Value* zero_point, ElementType type);
// The eight inputs of a two-operand QLinear op (QLinearConv, QLinearMatMul, QLinearAdd, QLinearMul): x, scale and
// zero point of `a`, then of `b`, then the scale and zero point of the QuantizeLinear `q` that requantizes the
// result, with omitted zero points made explicit (q's as uint8, its default).
std::vector<ir::Value*> qlinear_inputs(ir::Graph& graph, const Dequantized& a, const Dequantized& b, const ir::Node* q);
// Whether `zp` is the lowest value of its type (0 for uint8, -128 for int8; an omitted zero point is uint8 0):
// a QuantizeLinear to it already clamps where a Relu before it would.
bool is_lowest_zero_point(const ir::Value* zp);
// How a fused int8 op's float output `y` is requantized: y [-> Relu] -> QuantizeLinear, each read by the
// next alone, the QuantizeLinear per tensor (is_per_tensor_quantize) and, after a Relu, to the lowest zero
// point, so that dropping the Relu changes nothing. nullopt for anything else.
struct Requantization {
  ir::Node* relu = nullptr;  // or null
  ir::Node* q = nullptr;
};
std::optional<Requantization> requantization_of(const ir::Value* y,
                                                const std::unordered_set<const ir::Value*>& sub_reads);
// The DequantizeLinear producing `b` when it dequantizes a constant int32 bias [M] with zero point 0 and scale
// x_scale * w_scale (per tensor, or per output channel when w_scale has M values), as QDQ quantizers write a
// convolution's bias; null otherwise.
ir::Node* quantized_bias(const ir::Value* b, float x_scale, const Tensor& w_scale, int64_t M);
// Removes `node` when none of its outputs is read, is a graph output or is read by a subgraph.
void remove_if_unused(ir::Graph& graph, ir::Node* node, const std::unordered_set<const ir::Value*>& sub_reads);
}  // namespace kestrel::optimizer
