// Loading, unloading and looking up the served models.
#include "server/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/request_error.h"

namespace kestrel::server {
namespace {

namespace fs = std::filesystem;

bool is_version_folder(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  return e.is_directory() && !name.empty() && name.size() < 18 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

const char* model_state_name(ModelState state) {
  switch (state) {
    case ModelState::kLoading: return "LOADING";
    case ModelState::kReady: return "READY";
    case ModelState::kUnavailable: return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

ModelRepository::ModelRepository(std::string directory, const std::vector<std::string>& model_files,
                                 Watchdog& watchdog, Metrics& metrics)
    : directory_(std::move(directory)), watchdog_(watchdog), metrics_(metrics) {
  for (const std::string& spec : model_files) {
    std::string name, path = spec;
    const size_t eq = spec.find('=');
    if (eq != std::string::npos && eq > 0) {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    } else {
      const fs::path p(spec);
      name = p.filename() == "model.onnx" && p.has_parent_path() ? fs::absolute(p).parent_path().filename().string()
                                                                  : p.stem().string();
    }
    Entry& entry = entries_[name];
    entry.model_file = path;
    entry.status.name = name;
    entry.status.reason = "not loaded yet";
  }
}

std::vector<std::string> ModelRepository::repository_model_names() const {
  std::vector<std::string> names;
  if (directory_.empty()) return names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec))
    if (e.is_directory() && e.path().filename().string()[0] != '.') names.push_back(e.path().filename().string());
  if (ec) throw std::runtime_error("model repository " + directory_ + ": " + ec.message());
  return names;
}

std::map<int64_t, std::shared_ptr<const LoadedModel>> ModelRepository::load_versions(
    const std::string& name, const std::string& model_file) const {
  ModelConfig config;
  std::vector<std::pair<int64_t, std::string>> files;  // version, path
  if (!model_file.empty()) {
    files.emplace_back(1, model_file);
  } else {
    const fs::path folder = fs::path(directory_) / name;
    if (fs::exists(folder / "config.json")) config = parse_model_config(read_text(folder / "config.json"));
    for (const auto& e : fs::directory_iterator(folder))
      if (is_version_folder(e) && fs::exists(e.path() / "model.onnx"))
        files.emplace_back(std::stoll(e.path().filename().string()), (e.path() / "model.onnx").string());
    if (files.empty())
      throw std::runtime_error("no version folder with a model.onnx in " + folder.string() +
                               " (expected " + name + "/1/model.onnx)");
    std::sort(files.begin(), files.end());
    if (!config.all_versions) files.erase(files.begin(), files.end() - 1);
  }
  std::map<int64_t, std::shared_ptr<const LoadedModel>> versions;
  for (const auto& [version, path] : files) {
    auto model = std::make_shared<LoadedModel>();
    model->name = name;
    model->version = version;
    model->config = config;
    try {
      model->session = std::make_shared<const Session>(path, config.session);
      Metrics* metrics = &metrics_;
      model->scheduler = std::make_unique<Scheduler>(
          model->session, config, watchdog_,
          [metrics, name, version](int64_t rows) { metrics->record_execution(name, version, rows); });
    } catch (const std::exception& e) {
      throw std::runtime_error("version " + std::to_string(version) + ": " + e.what());
    }
    versions.emplace(version, std::move(model));
  }
  return versions;
}

void ModelRepository::load_all() {
  for (const std::string& name : repository_model_names()) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entries_[name];
    entry.status.name = name;
  }
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, entry] : entries_) names.push_back(name);
  }
  for (const std::string& name : names) {
    try {
      load(name);
    } catch (const RequestError&) {
      // Recorded in the model's status; the other models load on.
    }
  }
}

void ModelRepository::load(const std::string& name) {
  std::string model_file;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      const auto names = repository_model_names();
      if (std::find(names.begin(), names.end(), name) == names.end())
        throw RequestError(Status::kNotFound, "no model named '" + name + "' in the repository");
      it = entries_.emplace(name, Entry{}).first;
      it->second.status.name = name;
    }
    model_file = it->second.model_file;
    it->second.status.state = ModelState::kLoading;
    it->second.status.reason.clear();
  }
  std::map<int64_t, std::shared_ptr<const LoadedModel>> versions;
  std::string error;
  try {
    versions = load_versions(name, model_file);
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::map<int64_t, std::shared_ptr<const LoadedModel>> replaced;  // released after the lock, when unused
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[name];
  replaced.swap(entry.versions);
  entry.versions = std::move(versions);
  entry.status.versions.clear();
  for (const auto& [v, model] : entry.versions) entry.status.versions.push_back(v);
  if (!error.empty()) {
    entry.status.state = ModelState::kUnavailable;
    entry.status.reason = "failed to load: " + error;
    throw RequestError(Status::kInvalidArgument, "model '" + name + "' " + entry.status.reason);
  }
  entry.status.state = ModelState::kReady;
}

void ModelRepository::unload(const std::string& name) {
  std::map<int64_t, std::shared_ptr<const LoadedModel>> released;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) throw RequestError(Status::kNotFound, "no model named '" + name + "'");
  released.swap(it->second.versions);
  it->second.status.versions.clear();
  it->second.status.state = ModelState::kUnavailable;
  it->second.status.reason = "unloaded";
}

void ModelRepository::unload_all() {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, entry] : entries_) names.push_back(name);
  }
  for (const std::string& name : names) unload(name);
}

std::shared_ptr<const LoadedModel> ModelRepository::find(const std::string& name, const std::string& version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) throw RequestError(Status::kNotFound, "unknown model '" + name + "'");
  const Entry& entry = it->second;
  if (entry.status.state != ModelState::kReady || entry.versions.empty())
    throw RequestError(Status::kUnavailable, "model '" + name + "' is not ready (" +
                                                 model_state_name(entry.status.state) +
                                                 (entry.status.reason.empty() ? "" : ": " + entry.status.reason) + ")");
  if (version.empty()) return entry.versions.rbegin()->second;
  int64_t v = -1;
  if (!version.empty() && version.size() < 18 && std::all_of(version.begin(), version.end(), ::isdigit))
    v = std::stoll(version);
  auto found = entry.versions.find(v);
  if (found == entry.versions.end())
    throw RequestError(Status::kNotFound, "model '" + name + "' has no loaded version '" + version + "'");
  return found->second;
}

std::optional<ModelStatus> ModelRepository::status(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return it->second.status;
}

std::vector<ModelStatus> ModelRepository::index() const {
  std::vector<std::string> folders = repository_model_names();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ModelStatus> out;
  for (const auto& [name, entry] : entries_) out.push_back(entry.status);
  for (const std::string& name : folders) {
    if (entries_.count(name)) continue;
    ModelStatus s;
    s.name = name;
    s.reason = "not loaded";
    out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

bool ModelRepository::all_ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::all_of(entries_.begin(), entries_.end(),
                     [](const auto& e) { return e.second.status.state == ModelState::kReady; });
}

}  // namespace kestrel::server
