// kestrel quantize IN OUT --mode dynamic|static ...: writes an int8 model, optionally with a report comparing
// it with the float model on the calibration data (accuracy per output, file size, latency).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "accuracy.h"
#include "calibration_data.h"
#include "cli.h"
#include "kestrel/quantization.h"

namespace kestrel::cli {
namespace {

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream ss(v);
    for (std::string item; std::getline(ss, item, ',');)
      if (!item.empty()) out.push_back(item);
  }
  return out;
}

QuantType parse_type(const std::string& flag, const std::string& text) {
  if (text == "s8" || text == "int8" || text == "qint8") return QuantType::kInt8;
  if (text == "u8" || text == "uint8" || text == "quint8") return QuantType::kUInt8;
  throw UsageError(flag + " must be s8 or u8, got '" + text + "'");
}

// One line of progress on stderr, redrawn in place; ends the line when done.
void draw_progress(const char* label, int done, int total) {
  const int width = 30;
  const int filled = total > 0 ? std::min(width, width * done / total) : width;
  std::cerr << "\r" << label << " [" << std::string(static_cast<size_t>(filled), '#')
            << std::string(static_cast<size_t>(width - filled), ' ') << "] " << done << "/" << total
            << std::flush;
  if (done >= total) std::cerr << "\n";
}

double median_ms(const Session& session, const Feeds& feeds, int iterations) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) session.run(feeds);
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = Clock::now();
    session.run(feeds);
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void print_report(const std::string& in_path, const std::string& out_path, const std::vector<Feeds>& batches,
                  int iterations, const std::string& data_source) {
  Session fp32(in_path);
  Session int8(out_path);
  std::vector<OutputStats> stats(fp32.outputs().size());
  for (const Feeds& feeds : batches) {
    std::vector<Value> ref = fp32.run(feeds);
    std::vector<Value> got = int8.run(feeds);
    for (size_t i = 0; i < stats.size(); ++i) {
      if (ref[i].is_tensor() && got[i].is_tensor())
        accumulate(stats[i], ref[i].tensor(), got[i].tensor());
      else
        stats[i].classifier = false;
    }
  }
  std::cout << "report on " << batches.size() << " batch" << (batches.size() == 1 ? "" : "es") << " ("
            << data_source << "):\n";
  std::cout << "  output                          cosine    max_abs_err  max_rel_err  top1_agree\n";
  for (size_t i = 0; i < stats.size(); ++i) {
    const OutputStats& s = stats[i];
    const double cosine = s.cosine();
    std::ostringstream top1;
    if (s.classifier && s.rows > 0)
      top1 << s.top1_agree << "/" << s.rows << " (" << std::fixed << std::setprecision(1)
           << 100.0 * static_cast<double>(s.top1_agree) / static_cast<double>(s.rows) << "%"
           << (s.near_ties ? ", " + std::to_string(s.near_ties) + " near-ties" : std::string()) << ")";
    else
      top1 << "-";
    std::cout << "  " << std::left << std::setw(30) << fp32.outputs()[i].name << std::right << std::fixed
              << std::setprecision(5) << std::setw(8) << cosine << std::scientific << std::setprecision(3)
              << std::setw(13) << s.max_abs << std::setw(13) << s.max_rel()
              << "  " << top1.str() << "\n"
              << std::defaultfloat;
  }
  std::cout
      << "  (max_rel_err: the largest absolute error divided by the largest |fp32 value| of the output; a\n"
         "   near-tie is a top-1 change to a class the fp32 model scores within 1% of its logit range)\n";
  const auto in_size = std::filesystem::file_size(in_path);
  const auto out_size = std::filesystem::file_size(out_path);
  const double p50_fp32 = median_ms(fp32, batches.front(), iterations);
  const double p50_int8 = median_ms(int8, batches.front(), iterations);
  std::cout << std::fixed << std::setprecision(2) << "  size:  fp32 " << static_cast<double>(in_size) / 1e6
            << " MB   int8 " << static_cast<double>(out_size) / 1e6 << " MB   ("
            << static_cast<double>(out_size) / static_cast<double>(in_size) << "x)\n"
            << "  p50:   fp32 " << p50_fp32 << " ms   int8 " << p50_int8 << " ms   (" << p50_int8 / p50_fp32
            << "x, " << iterations << " runs each, default threads)\n"
            << std::defaultfloat;
}

}  // namespace

int quantize_main(int argc, char** argv) {
  Args args(argc, argv,
            {"--mode", "--calibration", "--method", "--format", "--weight-type", "--activation-type",
             "--op-types", "--exclude-nodes", "--nodes", "--percentile", "--report-iterations",
             "--keep-accuracy", "--accuracy-batches"},
            {"--per-channel", "--report", "--progress", "--reduce-range", "--symmetric-activations",
             "--asymmetric-weights", "--keep-first-layer", "--keep-last-layer", "--matmul-const-b-only",
             "--matmul-any-b", "--no-preprocess"});
  if (args.positional().size() != 2) throw UsageError("expects IN and OUT model paths");
  const std::string in_path = args.positional()[0];
  const std::string out_path = args.positional()[1];
  const std::string mode = args.get("--mode", "");
  if (mode != "dynamic" && mode != "static") throw UsageError("--mode must be dynamic or static");
  const bool is_static = mode == "static";

  QuantizationOptions options;
  options.per_channel = args.has("--per-channel");
  options.reduce_range = args.has("--reduce-range");
  options.weight_type = parse_type("--weight-type", args.get("--weight-type", "s8"));
  if (args.has("--activation-type")) {
    if (!is_static)
      throw UsageError("--activation-type applies to --mode static (dynamic activations are u8)");
    options.activation_type = parse_type("--activation-type", args.get("--activation-type"));
  }
  if (args.has("--format")) {
    const std::string f = args.get("--format");
    if (f == "qdq")
      options.format = QuantFormat::kQDQ;
    else if (f == "qoperator")
      options.format = QuantFormat::kQOperator;
    else
      throw UsageError("--format must be qdq or qoperator, got '" + f + "'");
  }
  const std::string method = args.get("--method", "minmax");
  if (method == "minmax")
    options.calibrate_method = CalibrationMethod::kMinMax;
  else if (method == "entropy")
    options.calibrate_method = CalibrationMethod::kEntropy;
  else if (method == "percentile")
    options.calibrate_method = CalibrationMethod::kPercentile;
  else
    throw UsageError("--method must be minmax, entropy or percentile, got '" + method + "'");
  if (!is_static && args.has("--method")) throw UsageError("--method applies to --mode static");
  options.percentile = args.get_double("--percentile", options.percentile);
  options.op_types = split_list(args.all("--op-types"));
  options.nodes_to_exclude = split_list(args.all("--exclude-nodes"));
  options.nodes_to_quantize = split_list(args.all("--nodes"));
  options.activation_symmetric = args.has("--symmetric-activations");
  if (args.has("--asymmetric-weights")) options.weight_symmetric = false;
  options.keep_first_layer_fp32 = args.has("--keep-first-layer");
  options.preprocess = !args.has("--no-preprocess");
  options.keep_last_layer_fp32 = args.has("--keep-last-layer");
  if (args.has("--matmul-const-b-only") && args.has("--matmul-any-b"))
    throw UsageError("--matmul-const-b-only and --matmul-any-b exclude each other");
  if (args.has("--matmul-const-b-only")) options.matmul_const_b_only = true;
  if (args.has("--matmul-any-b")) options.matmul_const_b_only = false;
  if (args.has("--keep-accuracy")) {
    if (!is_static)
      throw UsageError("--keep-accuracy applies to --mode static (it is measured on calibration data)");
    options.accuracy_target = args.get_double("--keep-accuracy", 0);
    if (!(*options.accuracy_target > 0 && *options.accuracy_target <= 1))
      throw UsageError("--keep-accuracy takes a cosine similarity in (0, 1], got " +
                       args.get("--keep-accuracy"));
  }
  if (args.has("--accuracy-batches")) {
    if (!options.accuracy_target) throw UsageError("--accuracy-batches applies with --keep-accuracy");
    options.accuracy_batches = args.get_int("--accuracy-batches", options.accuracy_batches);
    if (options.accuracy_batches < 1) throw UsageError("--accuracy-batches must be at least 1");
  }

  // Calibration (and report) data, read against the float model's inputs.
  std::vector<Feeds> batches;
  std::string data_source;
  if (args.has("--calibration")) {
    SessionOptions plain;
    plain.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
    Session fp32(in_path, plain);
    batches = read_calibration_data(fp32, args.get("--calibration"));
    data_source = "calibration data";
  } else if (is_static) {
    throw UsageError("--mode static needs --calibration DIR");
  } else if (args.has("--report")) {
    Session fp32(in_path);
    for (unsigned seed = 0; seed < 4; ++seed) batches.push_back(random_inputs(fp32, {}, seed));
    data_source = "random inputs: give --calibration DIR to report on real data";
  }

  const bool show_progress = args.has("--progress") || isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  QuantizationSummary summary;
  if (is_static) {
    size_t next = 0;
    CalibrationReader reader = [&]() -> std::optional<Feeds> {
      if (next == batches.size()) return std::nullopt;
      return batches[next++];
    };
    if (show_progress) {
      options.progress = [&](int done) {
        draw_progress("calibrating", done, static_cast<int>(batches.size()));
      };
      options.accuracy_progress = [](int done, int planned) {
        draw_progress("measuring accuracy", done, planned);
      };
    }
    summary = quantize_static(in_path, out_path, reader, options);
  } else {
    summary = quantize_dynamic(in_path, out_path, options);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::cout << "wrote " << out_path << " (" << mode << ", " << std::fixed << std::setprecision(1) << seconds
            << " s)" << std::defaultfloat << "\n";
  if (summary.opset_after != summary.opset_before)
    std::cout << "  ai.onnx opset raised from " << summary.opset_before << " to " << summary.opset_after
              << "\n";
  if (is_static)
    std::cout << "  calibrated " << summary.calibrated_tensors << " tensors on "
              << summary.calibration_batches << " batch" << (summary.calibration_batches == 1 ? "" : "es")
              << " (" << method << ")\n";
  std::cout << "  quantized:";
  if (summary.quantized_nodes.empty()) std::cout << " nothing";
  for (const auto& [op, count] : summary.quantized_nodes) std::cout << " " << op << " x" << count << ";";
  std::cout << "\n";
  for (const std::string& s : summary.skipped) std::cout << "  left in float: " << s << "\n";
  if (options.accuracy_target) {
    const int measured = std::min(summary.calibration_batches, options.accuracy_batches);
    std::cout << std::fixed << std::setprecision(4) << "  accuracy on " << measured << " calibration batch"
              << (measured == 1 ? "" : "es") << ": output cosine " << summary.cosine_all_quantized
              << " with every node quantized, " << summary.cosine << " as written (target "
              << *options.accuracy_target << ")\n"
              << std::defaultfloat;
    if (summary.kept_for_accuracy.empty())
      std::cout << "  kept in float for accuracy: none\n";
    else
      std::cout << "  kept in float for accuracy (" << summary.kept_for_accuracy.size()
                << ", most harmful first):\n";
    for (const std::string& s : summary.kept_for_accuracy) std::cout << "    " << s << "\n";
  }
  if (args.has("--report"))
    print_report(in_path, out_path, batches, args.get_int("--report-iterations", 20), data_source);
  return 0;
}

}  // namespace kestrel::cli
