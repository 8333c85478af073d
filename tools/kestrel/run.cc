// kestrel run MODEL [--inputs DIR] [--outputs DIR] [--compare DIR]: one run; writes output_<i>.pb or prints a
// summary, and with --compare measures each output against DIR/output_<i>.pb (cosine, errors, top-1).
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "accuracy.h"
#include "cli.h"
#include "kestrel/value_file.h"

namespace kestrel::cli {
namespace {

// One line per output: "compare NAME: cosine C max_abs_err A max_rel_err R [top1 a/b]".
void print_comparison(const Session& session, const std::vector<Value>& outputs, const std::string& dir) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const IoInfo& io = session.outputs()[i];
    const std::string path = (std::filesystem::path(dir) / ("output_" + std::to_string(i) + ".pb")).string();
    if (!std::filesystem::exists(path)) throw UsageError("--compare: no reference " + path);
    const NamedValue want = read_value_file(path, &io.type);
    std::cout << "compare " << io.name << ": ";
    if (!want.value.is_tensor() || !outputs[i].is_tensor()) {
      std::cout << "not a tensor, not compared\n";
      continue;
    }
    OutputStats s;
    accumulate(s, want.value.tensor(), outputs[i].tensor());
    if (std::isnan(s.max_abs)) {
      std::cout << "not float or shapes differ, not compared\n";
      continue;
    }
    std::cout << std::setprecision(6) << "cosine " << s.cosine() << " max_abs_err " << s.max_abs
              << " max_rel_err " << s.max_rel();
    if (s.classifier && s.rows > 0) std::cout << " top1 " << s.top1_agree << "/" << s.rows;
    std::cout << "\n";
  }
}

}  // namespace

int run_main(int argc, char** argv) {
  Args args(argc, argv,
            {"--inputs", "--outputs", "--compare", "--threads", "--shape", "--custom-ops", "--precision",
             "--fp32-op-types"},
            {});
  if (args.positional().size() != 1) throw UsageError("expects one MODEL path");
  SessionOptions options;
  options.intra_op_num_threads = args.get_int("--threads", 0);
  add_custom_ops(args, options);
  add_precision(args, options);
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
  if (args.has("--compare")) print_comparison(session, outputs, args.get("--compare"));
  return 0;
}

}  // namespace kestrel::cli
