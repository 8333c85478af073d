// A QuantizedLookup read only by a channels-last int8 convolution becomes the convolution's input table:
//   xq -> ai.kestrel QuantizedLookup(table) -> yq -> ai.kestrel QLinearConv(yq, ..., channels_last = 1)
// becomes
//   xq -> ai.kestrel QLinearConv(xq, ..., x_table = table, channels_last = 1)
// The convolution copies its input into a zero-point-padded buffer anyway; with the table it looks each byte
// up on the way (the SiLU of efficientnet's expansion layers, before their depthwise convolutions), which
// saves the lookup's own pass over the tensor. Exact: the convolution reads table[xq], which is yq.
#include "optimizer/optimizer.h"
#include "optimizer/rewrite.h"

namespace kestrel::optimizer {

int fuse_lookup_into_conv(ir::Graph& graph) {
  const auto reads = subgraph_reads(graph);
  int fired = 0;
  for (ir::Node* lookup : anchors_of(graph, {"QuantizedLookup"})) {
    if (lookup->domain != kKestrelDomain || lookup->inputs.size() != 2 || lookup->outputs.size() != 1 ||
        !lookup->outputs[0] || !constant_of(lookup->inputs[1]))
      continue;
    ir::Node* conv = sole_consumer(lookup->outputs[0], reads);
    if (!conv || conv->domain != kKestrelDomain || conv->op_type != "QLinearConv" || conv->inputs.empty() ||
        conv->inputs[0] != lookup->outputs[0] || attr_int(conv, "channels_last", 0) != 1)
      continue;
    if (conv->inputs.size() < 8 || !conv->inputs[7] || conv->inputs.size() > 9)
      continue;  // y_zero_point; no table yet
    ir::Value* table = lookup->inputs[1];
    set_input(conv, 0, lookup->inputs[0]);
    while (conv->inputs.size() < 9) conv->inputs.push_back(nullptr);  // B omitted
    conv->inputs.push_back(nullptr);
    set_input(conv, 9, table);
    remove_nodes(graph, {lookup});
    ++fired;
  }
  if (fired) graph.remove_unused_values();
  return fired;
}

}  // namespace kestrel::optimizer
