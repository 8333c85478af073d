// Argument parsing, input reading and value printing shared by the subcommands.
#include "cli.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

#include "kestrel/value_file.h"

namespace kestrel::cli {
namespace fs = std::filesystem;

Args::Args(int argc, char** argv, const std::vector<std::string>& flags_with_values,
           const std::vector<std::string>& bool_flags) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      std::string value;
      const auto eq = a.find('=');
      std::string name = a;
      bool inline_value = eq != std::string::npos;
      if (inline_value) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
      }
      if (std::find(bool_flags.begin(), bool_flags.end(), name) != bool_flags.end()) {
        values_.emplace(name, "1");
      } else if (std::find(flags_with_values.begin(), flags_with_values.end(), name) != flags_with_values.end()) {
        if (!inline_value) {
          if (i + 1 >= argc) throw UsageError("option " + name + " needs a value");
          value = argv[++i];
        }
        values_.emplace(name, value);
      } else {
        throw UsageError("unknown option " + name);
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

int Args::get_int(const std::string& name, int fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw UsageError(name + " expects an integer, got '" + v + "'");
  }
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    throw UsageError(name + " expects a number, got '" + v + "'");
  }
}

Feeds read_inputs(const Session& session, const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(ErrorCode::kNoSuchFile, "inputs folder '" + dir + "' does not exist");
  Feeds feeds = read_input_files(session, dir);
  if (feeds.empty()) throw Error(ErrorCode::kNoSuchFile, "no input_<i>.pb files in '" + dir + "'");
  return feeds;
}

void add_custom_ops(const Args& args, SessionOptions& options) {
  for (const std::string& library : args.all("--custom-ops")) options.register_custom_ops_library(library);
}

void add_precision(const Args& args, SessionOptions& options) {
  const std::string precision = args.get("--precision", "fp32");
  if (precision != "fp32" && precision != "bf16")
    throw UsageError("--precision must be fp32 or bf16, got '" + precision + "'");
  options.config_entries["kestrel.precision"] = precision;
  if (args.has("--fp32-op-types")) {
    if (precision != "bf16") throw UsageError("--fp32-op-types applies to --precision bf16 only");
    options.config_entries["kestrel.precision.fp32_op_types"] = args.get("--fp32-op-types");
  }
}

std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& specs) {
  std::map<std::string, Shape> shapes;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--shape expects NAME=D0,D1,..., got '" + spec + "'");
    Shape shape;
    std::stringstream ss(spec.substr(eq + 1));
    for (std::string d; std::getline(ss, d, ',');) {
      try {
        size_t used = 0;
        long long v = std::stoll(d, &used);
        if (used != d.size() || v < 0) throw std::invalid_argument(d);
        shape.push_back(v);
      } catch (const std::exception&) {
        throw UsageError("--shape: '" + d + "' is not a dimension in '" + spec + "'");
      }
    }
    shapes[spec.substr(0, eq)] = shape;
  }
  return shapes;
}

namespace {

template <typename T, typename Gen>
void fill(Tensor& t, Gen& gen, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = static_cast<T>(dist(gen));
}

}  // namespace

Feeds random_inputs(const Session& session, const std::map<std::string, Shape>& shapes, unsigned seed) {
  std::mt19937 gen(seed);
  Feeds feeds;
  for (const IoInfo& io : session.inputs()) {
    if (io.type.kind != TypeInfo::Kind::kTensor)
      throw Error(ErrorCode::kNotImplemented,
                  "input '" + io.name + "' is " + io.type.to_string() + "; give --inputs for non-tensor inputs");
    Shape shape;
    auto it = shapes.find(io.name);
    if (it != shapes.end()) {
      shape = it->second;
    } else if (io.type.shape) {
      for (const Dim& d : *io.type.shape) shape.push_back(d.fixed() ? d.value : 1);
    }
    Tensor t(io.type.element_type, shape);
    switch (t.type()) {
      case ElementType::kFloat: fill<float>(t, gen, -1, 1); break;
      case ElementType::kDouble: fill<double>(t, gen, -1, 1); break;
      case ElementType::kInt64: fill<int64_t>(t, gen, 0, 100); break;
      case ElementType::kInt32: fill<int32_t>(t, gen, 0, 100); break;
      case ElementType::kUInt8: fill<uint8_t>(t, gen, 0, 255); break;
      case ElementType::kInt8: fill<int8_t>(t, gen, -100, 100); break;
      case ElementType::kBool: {
        bool* p = t.data<bool>();
        for (int64_t i = 0; i < t.size(); ++i) p[i] = (gen() & 1) != 0;
        break;
      }
      case ElementType::kFloat16: {
        std::uniform_real_distribution<float> dist(-1, 1);
        for (int64_t i = 0; i < t.size(); ++i) t.data<Float16>()[i] = Float16(dist(gen));
        break;
      }
      default:
        throw Error(ErrorCode::kNotImplemented, std::string("random inputs of type ") +
                                                    element_type_name(t.type()) + " are not supported; use --inputs");
    }
    // Integer inputs named like attention masks get all ones, token types zeros, and a sample rate 16 kHz, so
    // transformer and audio models see inputs they were trained on.
    if (t.type() == ElementType::kInt64 || t.type() == ElementType::kInt32) {
      const bool mask = io.name.find("mask") != std::string::npos;
      const bool token_type = io.name.find("token_type") != std::string::npos;
      const bool rate = io.name == "sr" || io.name.find("sample_rate") != std::string::npos;
      for (int64_t i = 0; i < t.size(); ++i) {
        const int64_t v = mask ? 1 : token_type ? 0 : rate ? 16000 : -1;
        if (v < 0) break;
        if (t.type() == ElementType::kInt64) t.data<int64_t>()[i] = v;
        else t.data<int32_t>()[i] = static_cast<int32_t>(v);
      }
    }
    feeds.emplace_back(io.name, Value(std::move(t)));
  }
  return feeds;
}

std::string describe_value(const Value& value, int count) {
  std::ostringstream s;
  if (value.is_none()) return "empty optional";
  if (value.is_sequence()) {
    s << "sequence of " << value.items().size() << " tensor(s)";
    return s.str();
  }
  const Tensor& t = value.tensor();
  s << element_type_name(t.type()) << " " << shape_to_string(t.shape());
  const int64_t n = std::min<int64_t>(t.size(), count);
  for (int64_t i = 0; i < n; ++i) {
    s << " ";
    switch (t.type()) {
      case ElementType::kFloat: s << t.data<float>()[i]; break;
      case ElementType::kDouble: s << t.data<double>()[i]; break;
      case ElementType::kFloat16: s << static_cast<float>(t.data<Float16>()[i]); break;
      case ElementType::kBFloat16: s << static_cast<float>(t.data<BFloat16>()[i]); break;
      case ElementType::kInt64: s << t.data<int64_t>()[i]; break;
      case ElementType::kInt32: s << t.data<int32_t>()[i]; break;
      case ElementType::kInt16: s << t.data<int16_t>()[i]; break;
      case ElementType::kInt8: s << static_cast<int>(t.data<int8_t>()[i]); break;
      case ElementType::kUInt8: s << static_cast<int>(t.data<uint8_t>()[i]); break;
      case ElementType::kUInt16: s << t.data<uint16_t>()[i]; break;
      case ElementType::kUInt32: s << t.data<uint32_t>()[i]; break;
      case ElementType::kUInt64: s << t.data<uint64_t>()[i]; break;
      case ElementType::kBool: s << (t.data<bool>()[i] ? "true" : "false"); break;
      case ElementType::kString: s << '"' << t.data<std::string>()[i] << '"'; break;
      default: s << "?"; break;
    }
  }
  if (t.size() > n) s << " ...";
  return s.str();
}

}  // namespace kestrel::cli
