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

}  // namespace kestrel::optimizer
