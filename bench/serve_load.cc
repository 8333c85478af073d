// serve_load: a load generator for `kestrel serve` (loopback only, bounded in time). N client threads send one
// model's inputs (DIR/input_<i>.pb, named by their protos) over HTTP (binary tensor data or JSON), gRPC (raw contents), or hit /v2/health/ready, for S seconds,
// and the program prints requests/s and latency percentiles. With --direct MODEL it first times Session::run on the
// same input in-process, so the server's overhead per request can be read off.
//
//   serve_load --model NAME --inputs DIR [--host 127.0.0.1] [--http-port 8000] [--grpc-port 8001]
//              [--protocol http|json|grpc|health|paired] [--concurrency 1] [--seconds 5] [--direct MODEL.onnx]
// --protocol paired (with --direct) alternates one Session::run and one HTTP binary request and prints the median
// of their differences: the overhead, robust to the load of a shared machine. --in-process starts the server inside
// serve_load itself (serving --direct as --model), so both sides share one process and thread pool.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference_service.grpc.pb.h"
#include "kestrel/session.h"
#include "kestrel/value_file.h"
#include "server/server.h"
#include "server/tensor_codec.h"

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5))];
}

struct Options {
  std::string host = "127.0.0.1", model, inputs, protocol = "http", direct;
  int http_port = 8000, grpc_port = 8001, concurrency = 1;
  double seconds = 5;
};

Options parse(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: serve_load --model NAME --inputs DIR [--protocol http|json|grpc|health] ...\n");
    std::exit(2);
  }
  const auto get = [&](const char* k, const std::string& d) { return args.count(k) ? args[k] : d; };
  o.host = get("--host", o.host);
  o.model = get("--model", "");
  o.inputs = get("--inputs", "");
  o.protocol = get("--protocol", o.protocol);
  o.direct = get("--direct", "");
  o.http_port = std::stoi(get("--http-port", "8000"));
  o.grpc_port = std::stoi(get("--grpc-port", "8001"));
  o.concurrency = std::stoi(get("--concurrency", "1"));
  o.seconds = std::stod(get("--seconds", "5"));
  if (o.seconds <= 0 || o.seconds > 600 || o.concurrency < 1 || o.concurrency > 256) {
    std::fprintf(stderr, "serve_load: --seconds must be in (0, 600], --concurrency in [1, 256]\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bool in_process = false;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--in-process") in_process = true;
    else rest.push_back(argv[i]);
  }
  const Options o = parse(static_cast<int>(rest.size()), rest.data());
  kestrel::Feeds feeds;  // DIR/input_0.pb, input_1.pb, ...
  if (o.protocol != "health") {
    for (int i = 0;; ++i) {
      const std::string file = o.inputs + "/input_" + std::to_string(i) + ".pb";
      if (!std::filesystem::exists(file)) break;
      kestrel::NamedValue v = kestrel::read_value_file(file);
      feeds.emplace_back(v.name, v.value);
    }
    if (feeds.empty()) {
      std::fprintf(stderr, "serve_load: no %s/input_0.pb\n", o.inputs.c_str());
      return 2;
    }
  }

  if (!o.direct.empty() && o.protocol != "paired") {
    kestrel::Session session(o.direct);
    for (int i = 0; i < 5; ++i) session.run(feeds);
    std::vector<double> times;
    const auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
    while (Clock::now() < end) {
      const auto t = Clock::now();
      session.run(feeds);
      times.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    }
    std::printf("%-8s %4s %8zu %10.1f %10.0f %10.0f\n", "direct", "1", times.size(),
                static_cast<double>(times.size()) / o.seconds, percentile(times, 50), percentile(times, 99));
  }

  // The request bodies, made once.
  std::string http_body, json_body, header;
  inference::ModelInferRequest grpc_request;
  if (o.protocol != "health") {
    json binary_inputs = json::array(), json_inputs = json::array();
    std::string raw_all;
    grpc_request.set_model_name(o.model);
    for (const auto& [name, value] : feeds) {
      const kestrel::Tensor& t = value.tensor();
      const char* datatype = kestrel::server::datatype_of(t.type());
      std::string raw;
      kestrel::server::append_raw(t, raw);
      binary_inputs.push_back({{"name", name}, {"datatype", datatype}, {"shape", t.shape()},
                               {"parameters", {{"binary_data_size", raw.size()}}}});
      json_inputs.push_back({{"name", name}, {"datatype", datatype}, {"shape", t.shape()},
                             {"data", kestrel::server::tensor_to_json(t)}});
      auto* in = grpc_request.add_inputs();
      in->set_name(name);
      in->set_datatype(datatype);
      for (int64_t d : t.shape()) in->add_shape(d);
      grpc_request.add_raw_input_contents(raw);
      raw_all += raw;
    }
    header = json{{"inputs", binary_inputs}, {"parameters", {{"binary_data_output", true}}}}.dump();
    http_body = header + raw_all;
    json_body = json{{"inputs", json_inputs}}.dump();
  }
  const std::string path = "/v2/models/" + o.model + "/infer";
  // --in-process: the server runs in this process on a free port, serving the --direct model, so that the direct
  // runs and the served ones share one process and one OpenMP thread pool (fairer on a loaded machine).
  std::unique_ptr<kestrel::server::Server> local;
  int http_port = o.http_port;
  if (in_process) {
    kestrel::server::ServerOptions options;
    options.models = {o.model + "=" + o.direct};
    options.host = o.host;
    options.http_port = 0;
    options.grpc_port = -1;
    options.metrics_port = -1;
    options.log_level = kestrel::LogSeverity::kWarning;
    local = std::make_unique<kestrel::server::Server>(options);
    local->start();
    http_port = local->http_port();
  }
  if (!o.direct.empty() && o.protocol == "paired") {
    // One Session::run, then the same input over HTTP binary, alternately: both see the same machine load, and the
    // median of the per-pair differences is the server's overhead per request.
    kestrel::Session session(o.direct);
    httplib::Client http(o.host, http_port);
    http.set_keep_alive(true);
    http.set_tcp_nodelay(true);
    const httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(header.size())}};
    for (int i = 0; i < 5; ++i) {
      session.run(feeds);
      http.Post(path.c_str(), headers, http_body, "application/octet-stream");
    }
    std::vector<double> direct, served, differences;
    const auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
    while (Clock::now() < end) {
      const auto t0 = Clock::now();
      session.run(feeds);
      const auto t1 = Clock::now();
      auto res = http.Post(path.c_str(), headers, http_body, "application/octet-stream");
      const auto t2 = Clock::now();
      if (!res || res->status != 200) return 1;
      direct.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      served.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      differences.push_back(served.back() - direct.back());
    }
    std::printf("pairs %zu: direct p50 %.0f us, http binary p50 %.0f us, median difference %.0f us\n", direct.size(),
                percentile(direct, 50), percentile(served, 50), percentile(differences, 50));
    return 0;
  }
  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.concurrency));
  std::atomic<long> errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.concurrency; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client http(o.host, o.http_port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);
      http.set_read_timeout(60, 0);
      auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
          o.host + ":" + std::to_string(o.grpc_port), grpc::InsecureChannelCredentials()));
      const httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(header.size())}};
      while (Clock::now() < end) {
        const auto t = Clock::now();
        bool ok = false;
        if (o.protocol == "http") {
          auto res = http.Post(path.c_str(), headers, http_body, "application/octet-stream");
          ok = res && res->status == 200;
        } else if (o.protocol == "json") {
          auto res = http.Post(path.c_str(), json_body, "application/json");
          ok = res && res->status == 200;
        } else if (o.protocol == "grpc") {
          grpc::ClientContext ctx;
          inference::ModelInferResponse response;
          ok = stub->ModelInfer(&ctx, grpc_request, &response).ok();
        } else {
          auto res = http.Get("/v2/health/ready");
          ok = res && res->status == 200;
        }
        if (!ok) ++errors;
        latencies[static_cast<size_t>(c)].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf("%-8s %4d %8zu %10.1f %10.0f %10.0f  errors %ld\n", o.protocol.c_str(), o.concurrency, all.size(),
              static_cast<double>(all.size()) / o.seconds, percentile(all, 50), percentile(all, 99), errors.load());
  return errors.load() == 0 ? 0 : 1;
}
