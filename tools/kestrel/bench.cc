// kestrel bench MODEL: session creation time, first run, latency percentiles over timed runs, runs/s, peak RSS.
#include <algorithm>
#include <filesystem>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.h"

namespace kestrel::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A memory figure of this process in MB from /proc/self/status ("VmHWM:" peak, "VmRSS:" current), or -1.
double status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
  }
  return -1;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

}  // namespace

int bench_main(int argc, char** argv) {
  Args args(argc, argv,
            {"--inputs", "--shape", "--threads", "--warmup", "--iterations", "--seconds", "--profile",
             "--custom-ops", "--precision", "--fp32-op-types"},
            {"--json"});
  if (args.positional().size() != 1) throw UsageError("expects one MODEL path");
  if (args.has("--iterations") && args.has("--seconds")) throw UsageError("give --iterations or --seconds, not both");
  const int threads = args.get_int("--threads", 0);
  const int warmup = args.get_int("--warmup", 5);
  const int iterations = args.get_int("--iterations", 0);
  const double seconds = args.get_double("--seconds", iterations > 0 ? 0 : 5.0);
  if (threads < 0 || warmup < 0 || iterations < 0 || seconds < 0)
    throw UsageError("--threads, --warmup, --iterations and --seconds must not be negative");
  const std::string model = args.positional()[0];

  const double baseline_rss = status_mb("VmRSS:");  // the process before any model is loaded
  SessionOptions options;
  options.intra_op_num_threads = threads;
  add_custom_ops(args, options);
  add_precision(args, options);
  const std::string profile = args.get("--profile");
  if (!profile.empty()) {
    options.enable_profiling = true;
    options.profile_file_prefix = profile;
  }
  const auto t0 = Clock::now();
  Session session(model, options);
  const double create_ms = ms_since(t0);
  Feeds feeds = args.has("--inputs") ? read_inputs(session, args.get("--inputs"))
                                     : random_inputs(session, parse_shapes(args.all("--shape")), 1);
  const auto t1 = Clock::now();
  std::vector<Value> outputs = session.run(feeds);
  const double first_ms = ms_since(t1);
  for (int i = 0; i < warmup; ++i) session.run(feeds);

  std::vector<double> times;
  const auto start = Clock::now();
  while (true) {
    if (iterations > 0 && static_cast<int>(times.size()) >= iterations) break;
    if (iterations == 0 && ms_since(start) >= seconds * 1000.0 && times.size() >= 1) break;
    const auto t = Clock::now();
    session.run(feeds);
    times.push_back(ms_since(t));
  }
  const double total_ms = ms_since(start);
  if (!profile.empty()) {
    // The session names its trace PREFIX_<time>.json; --profile promises exactly the path given.
    std::filesystem::rename(session.end_profiling(), profile);
    if (!args.has("--json")) std::cout << "profile:        " << profile << " (Chrome trace)\n";
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double t : times) mean += t;
  mean /= static_cast<double>(times.size());
  const double rss = status_mb("VmHWM:");
  const int used_threads = threads;
  // The op types a bf16 session kept fp32 (--fp32-op-types), "" when none.
  const std::string kept_fp32 = session.precision() == "bf16" ? args.get("--fp32-op-types", "") : "";

  if (args.has("--json")) {
    std::ostringstream j;
    j << std::fixed << std::setprecision(4);
    j << "{\"model\":\"" << model << "\",\"threads\":" << used_threads << ",\"precision\":\""
      << session.precision() << "\""
      << ",\"fp32_op_types\":\"" << kept_fp32 << "\""
      << ",\"session_create_ms\":" << create_ms << ",\"first_run_ms\":" << first_ms
      << ",\"iterations\":" << times.size() << ",\"p50_ms\":" << percentile(sorted, 50)
      << ",\"p90_ms\":" << percentile(sorted, 90) << ",\"p95_ms\":" << percentile(sorted, 95)
      << ",\"p99_ms\":" << percentile(sorted, 99) << ",\"min_ms\":" << sorted.front()
      << ",\"max_ms\":" << sorted.back() << ",\"mean_ms\":" << mean
      << ",\"runs_per_s\":" << (1000.0 * static_cast<double>(times.size()) / total_ms)
      << ",\"peak_rss_mb\":" << rss << ",\"baseline_rss_mb\":" << baseline_rss << "}";
    std::cout << j.str() << "\n";
    return 0;
  }
  std::cout << "model:          " << model << "\n";
  std::cout << "threads:        "
            << (used_threads == 0 ? std::string("default") : std::to_string(used_threads)) << ", precision "
            << session.precision() << (kept_fp32.empty() ? "" : " (" + kept_fp32 + " kept fp32)") << "\n";
  std::cout << "outputs:\n";
  for (size_t i = 0; i < outputs.size(); ++i)
    std::cout << "  " << session.outputs()[i].name << ": " << describe_value(outputs[i], 5) << "\n";
  std::cout << std::fixed << std::setprecision(3);
  std::cout << "session create: " << create_ms << " ms\n";
  std::cout << "first run:      " << first_ms << " ms\n";
  std::cout << "runs:           " << times.size() << " in " << total_ms / 1000.0 << " s ("
            << 1000.0 * static_cast<double>(times.size()) / total_ms << " runs/s)\n";
  std::cout << "latency ms:     p50 " << percentile(sorted, 50) << "  p90 " << percentile(sorted, 90) << "  p95 "
            << percentile(sorted, 95) << "  p99 " << percentile(sorted, 99) << "\n";
  std::cout << "                min " << sorted.front() << "  max " << sorted.back() << "  mean " << mean << "\n";
  std::cout << "peak RSS:       " << std::setprecision(1) << rss << " MB (" << rss - baseline_rss
            << " MB above the process before loading)\n";
  return 0;
}

}  // namespace kestrel::cli
