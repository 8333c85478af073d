// Runs one node's reference CPU kernel on given input values at optimization time: what a folded node or a
// precomputed table means is then exactly what running the node would compute.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "kestrel/value.h"

namespace kestrel::optimizer {

// The node's outputs (one Value per output slot, empty for absent ones) computed by its reference kernel from
// `inputs` (one per input slot; absent inputs as default Values), or nullopt when there is no reference
// kernel or it fails (the run reports such errors later, with the real inputs' context).
std::optional<std::vector<Value>> evaluate_node(const ir::Node& node, std::vector<Value> inputs);

// Every value of an 8-bit integer `type` (kUInt8: 0..255, else int8: -128..127) in storage order, as a tensor
// of shape [256]: evaluated through a chain of nodes, it tabulates the chain as a function of one byte.
Tensor every_byte_value(ElementType type);

}  // namespace kestrel::optimizer
