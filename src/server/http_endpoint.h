// The protocol's HTTP/REST endpoint (cpp-httplib) and the Prometheus metrics endpoint.
//   GET  /v2/health/live, /v2/health/ready, /v2
//   GET  /v2/models/{model}[/versions/{v}], .../ready
//   POST /v2/models/{model}[/versions/{v}]/infer   JSON tensors or the binary tensor data extension
//   POST /v2/repository/index, /v2/repository/models/{model}/load, .../unload
//   GET  /metrics                                   (metrics port)
#pragma once

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace kestrel::server {

class Server;

class HttpEndpoint {
 public:
  explicit HttpEndpoint(Server& server);
  ~HttpEndpoint();
  // Binds host:port (0: any free port) and serves in a thread; returns the port.
  int start(const std::string& host, int port);
  // Stops accepting and returns when the requests in flight have been answered.
  void stop();

 private:
  void add_routes();
  Server& server_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(Server& server);
  ~MetricsEndpoint();
  int start(const std::string& host, int port);
  void stop();

 private:
  Server& server_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace kestrel::server
