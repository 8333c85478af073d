// Gather over a constant table (embeddings): the table is stored quantized, the Gather picks int8 rows and a
// DequantizeLinear after it restores floats. DequantizeLinear is elementwise with per-tensor parameters, so
// this equals gathering from the dequantized table, at a quarter of the table's size.
//
//   table (float) ─► Gather(ids) ─► y     becomes     table_q (int8) ─► Gather(ids) ─► DequantizeLinear ─► y
#include "optimizer/rewrite.h"
#include "quantization/passes.h"

namespace kestrel::quantization {

void quantize_gather(GraphEditor& editor, ir::Node* gather, const QuantizationOptions& options) {
  ir::Value* table = gather->inputs[0];
  ir::Value* output = gather->outputs[0];
  const bool symmetric = options.weight_symmetric.value_or(options.weight_type == QuantType::kInt8);
  QuantizedTensor qt = quantize_weight(*optimizer::constant_of(table), -1, options.weight_type, symmetric,
                                       options.reduce_range);
  ir::Value* data = editor.constant(table->name + "_quantized", qt.data);
  ir::Value* scale = editor.constant(table->name + "_scale", qt.scale);
  ir::Value* zero = editor.constant(table->name + "_zero_point", qt.zero_point);
  optimizer::set_input(gather, 0, data);
  ir::Value* gathered = editor.intermediate(output->name + "_quantized", qt.data.type(), output);
  // The Gather now produces the quantized rows; a DequantizeLinear takes over its output value (and name).
  output->producer = nullptr;
  gather->outputs[0] = gathered;
  gathered->producer = gather;
  editor.add("DequantizeLinear", {gathered, scale, zero}, {output}, output->name + "_DequantizeLinear");
}

}  // namespace kestrel::quantization
