// kestrel info MODEL: inputs/outputs with types and shapes, IR version, opsets, producer, ops, parameters.
#include <iostream>

#include "cli.h"

namespace kestrel::cli {

int info_main(int argc, char** argv) {
  Args args(argc, argv, {"--level", "--custom-ops"}, {"--optimized"});
  if (args.positional().size() != 1) throw UsageError("expects one MODEL path");
  SessionOptions options;
  options.graph_optimization_level = GraphOptimizationLevel::kDisableAll;  // describe the model as written
  add_custom_ops(args, options);
  Session session(args.positional()[0], options);
  const ModelMetadata& m = session.metadata();
  std::cout << "model:      " << args.positional()[0] << "\n";
  std::cout << "producer:   " << m.producer_name << (m.producer_version.empty() ? "" : " " + m.producer_version)
            << "\n";
  std::cout << "ir_version: " << m.ir_version << "\n";
  std::cout << "opsets:    ";
  for (const auto& [domain, version] : m.opsets) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  std::cout << "\ninputs:\n";
  for (const IoInfo& io : session.inputs())
    std::cout << "  " << io.name << ": " << io.type.to_string() << " " << io.type.shape_string() << "\n";
  if (!session.overridable_initializers().empty()) {
    std::cout << "overridable initializers:\n";
    for (const IoInfo& io : session.overridable_initializers())
      std::cout << "  " << io.name << ": " << io.type.to_string() << " " << io.type.shape_string() << "\n";
  }
  std::cout << "outputs:\n";
  for (const IoInfo& io : session.outputs())
    std::cout << "  " << io.name << ": " << io.type.to_string() << " " << io.type.shape_string() << "\n";
  const ModelSummary s = session.summary();
  if (args.has("--optimized") || args.has("--level")) {
    SessionOptions optimized_options;
    optimized_options.graph_optimization_level = parse_level(args.get("--level", "99"));
    optimized_options.custom_op_libraries = options.custom_op_libraries;
    Session optimized(args.positional()[0], optimized_options);
    const ModelSummary o = optimized.summary();
    std::cout << "nodes:      " << s.node_count << " as written, " << o.node_count << " after optimization level "
              << args.get("--level", "99") << "\n";
    std::map<std::string, std::pair<int, int>> both;
    for (const auto& [op, count] : s.op_counts) both[op].first = count;
    for (const auto& [op, count] : o.op_counts) both[op].second = count;
    for (const auto& [op, counts] : both)
      std::cout << "  " << op << ": " << counts.first << " -> " << counts.second << "\n";
  } else {
    std::cout << "nodes:      " << s.node_count << "\n";
    for (const auto& [op, count] : s.op_counts) std::cout << "  " << op << ": " << count << "\n";
  }
  std::cout << "parameters: " << s.parameter_count << " (" << s.parameter_bytes << " bytes)\n";
  return 0;
}

}  // namespace kestrel::cli
