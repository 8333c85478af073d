// The models a server serves: folders of a repository (DIR/<model>/<version>/model.onnx, optional
// DIR/<model>/config.json) and single files given on the command line. A model that fails to load is kept as
// UNAVAILABLE with the reason, so metadata, readiness and the repository index can say why; the others serve on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/session.h"
#include "server/metrics.h"
#include "server/model_config.h"
#include "server/scheduler.h"
#include "server/watchdog.h"

namespace kestrel::server {

enum class ModelState { kLoading, kReady, kUnavailable };
// "LOADING", "READY", "UNAVAILABLE" (the repository extension's words).
const char* model_state_name(ModelState state);

// One version of a model, loaded and ready to run. Requests hold it by shared_ptr, so unloading never pulls a model
// from under a request in flight.
struct LoadedModel {
  std::string name;
  int64_t version = 0;
  ModelConfig config;
  std::shared_ptr<const Session> session;
  std::unique_ptr<Scheduler> scheduler;  // declared after the session: it stops first
};

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::kUnavailable;
  std::string reason;             // why it is unavailable ("unloaded", or the load error)
  std::vector<int64_t> versions;  // loaded versions, ascending
};

class ModelRepository {
 public:
  // `directory` may be empty; `model_files` are "PATH" (named after the file, or its folder for model.onnx) or
  // "NAME=PATH".
  ModelRepository(std::string directory, const std::vector<std::string>& model_files, Watchdog& watchdog,
                  Metrics& metrics);

  // Loads every model; failures are recorded in the model's status.
  void load_all();
  // (Re)loads one model; on failure the model is UNAVAILABLE and RequestError(kInvalidArgument) says why.
  // Unknown names: RequestError(kNotFound).
  void load(const std::string& name);
  void unload(const std::string& name);
  void unload_all();

  // The version to run: `version` empty means the highest loaded one. RequestError kNotFound / kUnavailable.
  std::shared_ptr<const LoadedModel> find(const std::string& name, const std::string& version = "") const;
  std::optional<ModelStatus> status(const std::string& name) const;
  // Every model the repository knows (its folders, and the single files), sorted by name.
  std::vector<ModelStatus> index() const;
  bool all_ready() const;

 private:
  struct Entry {
    std::string model_file;  // for single files; empty for repository folders
    ModelStatus status;
    std::map<int64_t, std::shared_ptr<const LoadedModel>> versions;
  };
  std::vector<std::string> repository_model_names() const;
  std::map<int64_t, std::shared_ptr<const LoadedModel>> load_versions(const std::string& name,
                                                                        const std::string& model_file) const;

  std::string directory_;
  Watchdog& watchdog_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace kestrel::server
