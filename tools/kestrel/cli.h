// Shared pieces of the kestrel CLI: argument parsing, reading inputs, printing values. Built on the public API.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kestrel/session.h"

namespace kestrel::cli {

// Usage errors: printed as one line, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "--name value" and "--flag" arguments plus positionals.
class Args {
 public:
  Args(int argc, char** argv, const std::vector<std::string>& flags_with_values,
       const std::vector<std::string>& bool_flags);
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  std::multimap<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Reads DIR/input_<i>.pb for a session's inputs: by name when the proto has one, else by position.
Feeds read_inputs(const Session& session, const std::string& dir);
// Parses "NAME=D0,D1,.." shape overrides.
std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& specs);
// Random inputs of the declared types; symbolic dims from `shapes` (by input name) or 1; token-like int inputs
// stay in [0, 100) so embedding lookups are valid.
Feeds random_inputs(const Session& session, const std::map<std::string, Shape>& shapes, unsigned seed);
// "float [1,1000] 0.12 -0.5 ..." (first `count` values).
std::string describe_value(const Value& value, int count);

int run_main(int argc, char** argv);
int info_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int optimize_main(int argc, char** argv);
int serve_main(int argc, char** argv);
int quantize_main(int argc, char** argv);

// Loads every --custom-ops LIB given (repeatable) into `options`.
void add_custom_ops(const Args& args, SessionOptions& options);

// --precision fp32|bf16 (default fp32) as the session config entry kestrel.precision, and --fp32-op-types
// A,B (the op types a bf16 session keeps fp32) as kestrel.precision.fp32_op_types.
void add_precision(const Args& args, SessionOptions& options);

// "0"/"disable", "1"/"basic", "2"/"extended", "3"/"layout", "99"/"all".
GraphOptimizationLevel parse_level(const std::string& text);

}  // namespace kestrel::cli
