// Runs the real models of ../shared/zoo against their reference outputs (rtol 1e-3, atol 1e-4, the zoo's
// rule), with the default threads (three runs: the later ones on the memory plan) and with one, and again
// with ExecutionMode::kParallel, whose outputs must equal the sequential ones exactly. Models named in
// tests/zoo/required.txt must match; the others are reported. A line of the list may add session config
// entries for its model after the name ("NAME KEY=VALUE ..."). Exits 77 (skipped) when the zoo folder is
// absent.
//
// With --bf16 the sessions run at kestrel.precision=bf16 and each float output must instead keep a cosine
// similarity >= 0.999 with its reference and, for class scores ([batch, classes]), the same top-1 class.
//
//   kestrel_zoo_tests ZOO_DIR [REQUIRED_LIST] [--bf16]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "../conformance/compare.h"
#include "kestrel/session.h"
#include "kestrel/value_file.h"

namespace fs = std::filesystem;
using namespace kestrel;

namespace {

// "" when `got` keeps the direction of `want` (cosine >= 0.999) and, for class scores, the top-1 class.
std::string compare_bf16(const Value& got, const Value& want) {
  if (!got.is_tensor() || !want.is_tensor() || got.tensor().type() != ElementType::kFloat ||
      want.tensor().type() != ElementType::kFloat)
    return testing::compare_values(got, want, 1e-3, 1e-4);  // only float ops change precision
  const Tensor& g = got.tensor();
  const Tensor& w = want.tensor();
  if (g.shape() != w.shape()) return "shape " + shape_to_string(g.shape()) + ", want " + shape_to_string(w.shape());
  double dot = 0, gg = 0, ww = 0;
  for (int64_t i = 0; i < g.size(); ++i) {
    dot += static_cast<double>(g.data<float>()[i]) * w.data<float>()[i];
    gg += static_cast<double>(g.data<float>()[i]) * g.data<float>()[i];
    ww += static_cast<double>(w.data<float>()[i]) * w.data<float>()[i];
  }
  const double cosine = gg > 0 && ww > 0 ? dot / std::sqrt(gg * ww) : (gg == ww ? 1.0 : 0.0);
  if (!(cosine >= 0.999)) return "cosine similarity " + std::to_string(cosine) + " < 0.999";
  if (w.rank() == 2 && w.dim(1) >= 2) {
    const int64_t classes = w.dim(1);
    for (int64_t row = 0; row < w.dim(0); ++row) {
      const float* wr = w.data<float>() + row * classes;
      const float* gr = g.data<float>() + row * classes;
      if (std::max_element(wr, wr + classes) - wr != std::max_element(gr, gr + classes) - gr)
        return "top-1 class differs in row " + std::to_string(row);
    }
  }
  return "";
}

// The outputs of one run against the references; "" when they match.
std::string compare_with_references(const Session& session, const std::vector<Value>& got, const fs::path& set,
                                    bool bf16) {
  for (size_t i = 0; i < got.size(); ++i) {
    const fs::path ref = set / ("output_" + std::to_string(i) + ".pb");
    if (!fs::exists(ref)) return "missing reference " + ref.string();
    NamedValue want = read_value_file(ref.string(), &session.outputs()[i].type);
    std::string diff = bf16 ? compare_bf16(got[i], want.value) : testing::compare_values(got[i], want.value, 1e-3, 1e-4);
    if (!diff.empty()) return "output '" + session.outputs()[i].name + "': " + diff;
  }
  return "";
}

std::string run_model(const fs::path& dir, bool bf16, const std::map<std::string, std::string>& config) {
  SessionOptions options;
  if (bf16) options.config_entries["kestrel.precision"] = "bf16";
  for (const auto& [key, value] : config) options.config_entries[key] = value;
  Session session((dir / "model.onnx").string(), options);
  const fs::path set = dir / "test_data_set_0";
  Feeds feeds = read_input_files(session, set.string());
  std::vector<Value> got = session.run(feeds);
  if (std::string diff = compare_with_references(session, got, set, bf16); !diff.empty()) return diff;
  // Later runs of a signature take their buffers from the session's memory plan, which the first runs recorded.
  for (int run = 2; run <= 3; ++run) {
    if (std::string diff = compare_with_references(session, session.run(feeds), set, bf16); !diff.empty())
      return "run " + std::to_string(run) + ", " + diff;
  }
  // One intra-op thread picks other kernels for some ops (Winograd convolutions), so it is checked too.
  SessionOptions single = options;
  single.intra_op_num_threads = 1;
  Session single_session((dir / "model.onnx").string(), single);
  if (std::string diff = compare_with_references(single_session, single_session.run(feeds), set, bf16); !diff.empty())
    return "one thread, " + diff;
  SessionOptions parallel = options;
  parallel.execution_mode = ExecutionMode::kParallel;
  parallel.inter_op_num_threads = 2;
  Session parallel_session((dir / "model.onnx").string(), parallel);
  std::vector<Value> again = parallel_session.run(feeds);
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff = testing::compare_values(again[i], got[i], 0.0, 0.0);
    if (!diff.empty()) return "parallel execution, output '" + session.outputs()[i].name + "': " + diff;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kestrel_zoo_tests ZOO_DIR [REQUIRED_LIST] [--bf16]\n";
    return 2;
  }
  const fs::path zoo = argv[1];
  if (!fs::is_directory(zoo)) {
    std::cout << "SKIPPED: zoo folder " << zoo << " is absent\n";
    return 77;
  }
  std::map<std::string, std::map<std::string, std::string>> required;  // model -> its extra config entries
  const bool bf16 = std::string(argv[argc - 1]) == "--bf16";
  if (bf16) --argc;
  const std::string list = argc > 2 ? argv[2] : (fs::path(__FILE__).parent_path() / "required.txt").string();
  std::ifstream in(list);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    auto& config = required[name];
    for (std::string entry; fields >> entry;) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << list << ": expected KEY=VALUE after the model name, got '" << entry << "'\n";
        return 2;
      }
      config[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(zoo))
    if (fs::exists(e.path() / "model.onnx")) models.push_back(e.path());
  std::sort(models.begin(), models.end());
  int failures = 0;
  for (const fs::path& m : models) {
    const std::string name = m.filename().string();
    const auto listed = required.find(name);
    const bool must = listed != required.end();
    std::string why;
    const auto start = std::chrono::steady_clock::now();
    try {
      why = run_model(m, bf16, must ? listed->second : std::map<std::string, std::string>{});
    } catch (const std::exception& e) {
      why = e.what();
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (why.empty()) {
      std::cout << "PASS " << name << " (" << static_cast<int>(ms) << " ms)\n";
    } else if (must) {
      std::cout << "FAIL " << name << ": " << why << "\n";
      ++failures;
    } else {
      std::cout << "NOT YET " << name << " (not in " << fs::path(list).filename().string() << "): " << why << "\n";
    }
  }
  for (const auto& [name, config] : required) {
    if (!fs::exists(zoo / name / "model.onnx")) {
      std::cout << "FAIL " << name << ": listed in " << fs::path(list).filename().string()
                << " but not in the zoo\n";
      ++failures;
    }
  }
  std::cout << failures << " required model(s) failed\n";
  return failures == 0 ? 0 : 1;
}
