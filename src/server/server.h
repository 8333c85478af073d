// `kestrel serve`: the KServe v2 / Open Inference Protocol server. Server owns the model repository, the metrics
// and the endpoints (HTTP/REST, gRPC, Prometheus metrics), and implements the protocol's operations once, in
// protocol-neutral form, for every endpoint to call. Built on the public C++ API only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kestrel/session.h"
#include "server/metrics.h"
#include "server/model_repository.h"
#include "server/request_error.h"
#include "server/watchdog.h"

namespace kestrel::server {

struct ServerOptions {
  std::string model_repository;     // DIR/<model>/<version>/model.onnx; may be empty when `models` is not
  std::vector<std::string> models;  // single files: "PATH" or "NAME=PATH"
  std::string host = "0.0.0.0";
  int http_port = 8000;     // 0: any free port (see Server::http_port()); -1: no HTTP endpoint
  int grpc_port = 8001;     // likewise
  int metrics_port = 8002;  // likewise
  size_t max_request_bytes = size_t{256} << 20;  // larger bodies / messages are refused
  int max_inflight_requests = 256;               // inference requests beyond this are refused (HTTP 429)
  int http_threads = 64;                         // connections served at once
  int64_t request_timeout_ms = 0;                // default per-request timeout; 0: none
  LogSeverity log_level = LogSeverity::kInfo;    // kInfo writes one access-log line per request
  std::ostream* log = nullptr;                   // where log lines go; nullptr: std::cerr
};

// A decoded inference request. Inputs are tensors already; their element type is the one the client declared.
struct InferRequest {
  std::string model;
  std::string version;  // empty: the latest loaded
  std::string id;
  std::vector<std::pair<std::string, Tensor>> inputs;
  std::vector<std::string> outputs;        // names requested; empty: every output
  std::optional<int64_t> timeout_microseconds;
};

struct InferResponse {
  std::string model;
  int64_t version = 0;
  std::string id;
  std::vector<std::pair<std::string, Tensor>> outputs;
};

class HttpEndpoint;
class MetricsEndpoint;
class GrpcEndpoint;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the models (a failing one is reported, not fatal) and opens the ports. Throws std::runtime_error when a
  // port cannot be opened.
  void start();
  // Graceful stop: readiness turns false, the ports stop accepting, requests in flight finish, models unload.
  // Idempotent; safe from any thread but an endpoint's own request handlers.
  void shutdown();
  // Blocks until shutdown() has finished.
  void wait();

  int http_port() const { return http_port_; }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }

  // The protocol's operations.
  bool live() const { return started_ && !stopped_; }
  bool ready() const { return started_ && !draining_; }
  InferResponse infer(InferRequest request);
  ModelRepository& repository() { return *repository_; }
  Metrics& metrics() { return metrics_; }
  const ServerOptions& options() const { return options_; }
  // The extensions advertised by server metadata.
  static std::vector<std::string> extensions();

  bool logs(LogSeverity severity) const { return severity >= options_.log_level; }
  // Writes one JSON log line (a "time" and "level" are added).
  void log(LogSeverity severity, nlohmann::json line);

 private:
  ServerOptions options_;
  Metrics metrics_;
  Watchdog watchdog_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<HttpEndpoint> http_;
  std::unique_ptr<MetricsEndpoint> metrics_http_;
  std::unique_ptr<GrpcEndpoint> grpc_;
  int http_port_ = -1, grpc_port_ = -1, metrics_port_ = -1;

  std::atomic<bool> started_{false}, draining_{false}, stopped_{false};
  std::mutex stop_mutex_;
  std::condition_variable stopped_cv_;
  std::mutex log_mutex_;
};

}  // namespace kestrel::server
