// The protocol's gRPC endpoint: inference.GRPCInferenceService (inference_service.proto) over Debian's gRPC C++
// library, with raw_input_contents / raw_output_contents and the typed contents fields.
#pragma once

#include <memory>
#include <string>

namespace grpc {
class Server;
}

namespace kestrel::server {

class Server;

class GrpcEndpoint {
 public:
  explicit GrpcEndpoint(Server& server);
  ~GrpcEndpoint();
  // Binds host:port (0: any free port) and serves on gRPC's threads; returns the port.
  int start(const std::string& host, int port);
  // Stops accepting and returns when the calls in flight have been answered.
  void stop();

 private:
  class Service;
  Server& server_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> grpc_;
};

}  // namespace kestrel::server
