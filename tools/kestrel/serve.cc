// kestrel serve: the KServe v2 / Open Inference Protocol server (HTTP/REST, gRPC, Prometheus metrics) over a model
// repository or single model files, until SIGTERM or SIGINT, which stop it gracefully.
#include <iostream>

#include "cli.h"
#include "server/server.h"
#include "server/shutdown_signal.h"

namespace kestrel::cli {
namespace {

LogSeverity parse_log_level(const std::string& text) {
  if (text == "verbose") return LogSeverity::kVerbose;
  if (text == "info") return LogSeverity::kInfo;
  if (text == "warning") return LogSeverity::kWarning;
  if (text == "error") return LogSeverity::kError;
  throw UsageError("--log-level must be verbose, info, warning or error, got '" + text + "'");
}

int port(const Args& args, const std::string& name, int fallback) {
  const int value = args.get_int(name, fallback);
  if (value < -1 || value > 65535) throw UsageError(name + " must be a port (0: any free one, -1: off)");
  return value;
}

}  // namespace

int serve_main(int argc, char** argv) {
  Args args(argc, argv,
            {"--model-repository", "--model", "--host", "--http-port", "--grpc-port", "--metrics-port",
             "--max-request-bytes", "--max-inflight-requests", "--http-threads", "--request-timeout-ms",
             "--log-level"},
            {});
  if (!args.positional().empty()) throw UsageError("unexpected argument '" + args.positional()[0] + "'");
  server::ServerOptions options;
  options.model_repository = args.get("--model-repository");
  options.models = args.all("--model");
  if (options.model_repository.empty() && options.models.empty())
    throw UsageError("give --model-repository DIR or --model PATH (or both)");
  options.host = args.get("--host", options.host);
  options.http_port = port(args, "--http-port", options.http_port);
  options.grpc_port = port(args, "--grpc-port", options.grpc_port);
  options.metrics_port = port(args, "--metrics-port", options.metrics_port);
  const double max_bytes = args.get_double("--max-request-bytes", static_cast<double>(options.max_request_bytes));
  if (max_bytes < 1024 || max_bytes > 4e9) throw UsageError("--max-request-bytes must be in [1024, 4e9]");
  options.max_request_bytes = static_cast<size_t>(max_bytes);
  options.max_inflight_requests = args.get_int("--max-inflight-requests", options.max_inflight_requests);
  options.http_threads = args.get_int("--http-threads", options.http_threads);
  if (options.max_inflight_requests < 1 || options.http_threads < 1)
    throw UsageError("--max-inflight-requests and --http-threads must be at least 1");
  options.request_timeout_ms = args.get_int("--request-timeout-ms", 0);
  if (options.request_timeout_ms < 0) throw UsageError("--request-timeout-ms must not be negative");
  options.log_level = parse_log_level(args.get("--log-level", "info"));

  server::Server server(options);
  server::ShutdownSignal on_signal(server);
  server.start();
  server.wait();
  return 0;
}

}  // namespace kestrel::cli
