// kestrel run MODEL [--inputs DIR] [--outputs DIR]: one run; writes output_<i>.pb or prints a summary.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "kestrel/value_file.h"

namespace kestrel::cli {

int run_main(int argc, char** argv) {
  Args args(argc, argv, {"--inputs", "--outputs", "--threads", "--shape", "--custom-ops"}, {});
  if (args.positional().size() != 1) throw UsageError("expects one MODEL path");
  SessionOptions options;
  options.intra_op_num_threads = args.get_int("--threads", 0);
  add_custom_ops(args, options);
  Session session(args.positional()[0], options);
  Feeds feeds = args.has("--inputs") ? read_inputs(session, args.get("--inputs"))
                                     : random_inputs(session, parse_shapes(args.all("--shape")), 1);
  std::vector<Value> outputs = session.run(feeds);
  if (args.has("--outputs")) {
    const std::string dir = args.get("--outputs");
    std::filesystem::create_directories(dir);
    for (size_t i = 0; i < outputs.size(); ++i) {
      const IoInfo& io = session.outputs()[i];
      write_value_file((std::filesystem::path(dir) / ("output_" + std::to_string(i) + ".pb")).string(), io.name,
                       outputs[i], &io.type);
    }
    std::cout << "wrote " << outputs.size() << " output(s) to " << dir << "\n";
  } else {
    for (size_t i = 0; i < outputs.size(); ++i)
      std::cout << session.outputs()[i].name << ": " << describe_value(outputs[i], 8) << "\n";
  }
  return 0;
}

}  // namespace kestrel::cli
