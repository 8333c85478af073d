// HTTP/REST endpoint of the inference protocol, and the metrics endpoint, over cpp-httplib.
#include "server/http_endpoint.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "kestrel/session.h"
#include "server/http_connection.h"
#include "server/infer_request.h"
#include "server/server.h"
#include "server/tensor_codec.h"

namespace kestrel::server {
namespace {

using nlohmann::json;

const std::string kModelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";

thread_local Clock::time_point request_start;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, json{{"error", message}});
}

// Runs a route handler, turning every error into the protocol's {"error": "..."} body and status.
template <typename Handler>
httplib::Server::Handler guarded(Handler handler) {
  return [handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const RequestError& e) {
      send_error(res, http_status(e.status()), e.what());
    } catch (const Error& e) {  // tensors refused by the engine's limits while decoding
      send_error(res, e.code() == ErrorCode::kInvalidArgument ? 400 : 500, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  };
}

json shape_json(const TypeInfo& type) {
  json shape = json::array();
  if (type.shape)
    for (const Dim& d : *type.shape) shape.push_back(d.fixed() ? d.value : -1);
  return shape;
}

json io_json(const std::vector<IoInfo>& list) {
  json out = json::array();
  for (const IoInfo& io : list) {
    std::string datatype;
    try {
      datatype = io.type.kind == TypeInfo::Kind::kTensor ? datatype_of(io.type.element_type) : io.type.to_string();
    } catch (const RequestError&) {
      datatype = io.type.to_string();
    }
    out.push_back({{"name", io.name}, {"datatype", datatype}, {"shape", shape_json(io.type)}});
  }
  return out;
}

void send_infer_response(httplib::Response& res, const InferResponse& response, const ParsedInfer& parsed) {
  json root = {{"model_name", response.model}, {"model_version", std::to_string(response.version)}};
  if (!response.id.empty()) root["id"] = response.id;
  json outputs = json::array();
  std::vector<const Tensor*> binary_outputs;
  size_t binary_bytes = 0;
  for (const auto& [name, tensor] : response.outputs) {
    json out = {{"name", name}, {"datatype", datatype_of(tensor.type())}, {"shape", tensor.shape()}};
    const bool as_binary = parsed.all_binary || std::find(parsed.binary_outputs.begin(), parsed.binary_outputs.end(),
                                                          name) != parsed.binary_outputs.end();
    if (as_binary) {
      const size_t size = raw_size(tensor);
      out["parameters"] = {{"binary_data_size", size}};
      binary_outputs.push_back(&tensor);
      binary_bytes += size;
    } else {
      out["data"] = tensor_to_json(tensor);
    }
    outputs.push_back(std::move(out));
  }
  root["outputs"] = std::move(outputs);
  std::string body = root.dump(-1, ' ', false, json::error_handler_t::replace);
  res.status = 200;
  if (binary_outputs.empty() && parsed.binary_outputs.empty() && !parsed.all_binary) {
    res.set_content(std::move(body), "application/json");
    return;
  }
  // The JSON header, then each binary output's bytes, written once into the body.
  res.set_header(kHeaderLength, std::to_string(body.size()));
  body.reserve(body.size() + binary_bytes);
  for (const Tensor* tensor : binary_outputs) append_raw(*tensor, body);
  res.set_content(std::move(body), "application/octet-stream");
}

// Bodies whose bytes on the wire are not the body itself: httplib's content reader decodes them.
bool compressed(const httplib::Request& req) {
  const std::string encoding = req.get_header_value("Content-Encoding");
  return !encoding.empty() && encoding != "identity";
}
bool chunked(const httplib::Request& req) { return req.has_header("Transfer-Encoding"); }

// The body of an infer request, read into one buffer sized from Content-Length (no regrowing; straight from the
// connection unless it is chunked, else through httplib's content reader), placed so that the binary tensor data
// after the Inference-Header-Content-Length bytes of JSON starts 64-byte aligned: binary inputs then become tensors
// over this buffer, without another copy.
struct InferBody {
  std::shared_ptr<void> storage;
  std::string_view bytes;
};

std::optional<InferBody> read_infer_body(const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& content_reader, size_t max_bytes) {
  const auto too_large = [&] {
    send_error(res, 413, "the request body exceeds " + std::to_string(max_bytes) + " bytes (--max-request-bytes)");
    return std::nullopt;
  };
  if (req.is_multipart_form_data()) {  // read and dropped, so that the connection stays usable
    content_reader([](const httplib::MultipartFormData&) { return true; }, [](const char*, size_t) { return true; });
    send_error(res, 400, "multipart/form-data bodies are not part of the inference protocol");
    return std::nullopt;
  }
  const auto to_size = [](const std::string& text) -> std::optional<size_t> {
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return static_cast<size_t>(std::stoull(text));
  };
  const size_t header_length = to_size(req.get_header_value(kHeaderLength)).value_or(0);
  const size_t padding = (64 - header_length % 64) % 64;
  const auto allocate = [&](size_t size) {
    void* p = std::aligned_alloc(64, (padding + size + 63) / 64 * 64 + 64);
    if (!p) throw std::bad_alloc();
    return std::shared_ptr<void>(p, std::free);
  };
  InferBody body;
  bool read_ok = false;
  // A compressed body's Content-Length is not its decoded size: it is read like a chunked one.
  const auto length = compressed(req) ? std::nullopt : to_size(req.get_header_value("Content-Length"));
  if (length && *length <= max_bytes) {
    body.storage = allocate(*length);
    char* data = static_cast<char*>(body.storage.get()) + padding;
    size_t filled = 0;
    HttpConnection* connection = HttpConnection::of_this_thread();
    if (connection && !chunked(req)) {
      // Straight from the socket into the tensor buffer, in as few reads as the data arrives in.
      read_ok = connection->read_exact(data, *length);
      filled = read_ok ? *length : 0;
    } else {
      read_ok = content_reader([&](const char* chunk, size_t n) {
        if (n > *length - filled) return false;
        std::memcpy(data + filled, chunk, n);
        filled += n;
        return true;
      });
    }
    if (read_ok && filled != *length) read_ok = false;
    body.bytes = std::string_view(data, filled);
  } else {
    // Chunked or compressed (or an over-long Content-Length, which httplib refuses with 413 without reading it).
    std::string text;
    bool over = false;
    read_ok = content_reader([&](const char* chunk, size_t n) {
      if (n > max_bytes - text.size()) return !(over = true);
      text.append(chunk, n);
      return true;
    });
    if (over) return too_large();
    body.storage = allocate(text.size());
    char* data = static_cast<char*>(body.storage.get()) + padding;
    if (!text.empty()) std::memcpy(data, text.data(), text.size());
    body.bytes = std::string_view(data, text.size());
  }
  if (!read_ok) {
    if (res.status == 413) return too_large();
    send_error(res, 400, "the request body could not be read (it ended early or its length is wrong)");
    return std::nullopt;
  }
  return body;
}

// Infer bodies are read by the route itself (req.body stays empty): their size is the declared Content-Length.
size_t bytes_in(const httplib::Request& req) {
  if (!req.body.empty() || !req.has_header("Content-Length")) return req.body.size();
  try {
    return std::stoull(req.get_header_value("Content-Length"));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string version_of(const httplib::Request& req) {
  return req.matches.size() > 2 ? std::string(req.matches[2]) : std::string();
}

// SO_REUSEADDR only: httplib also sets SO_REUSEPORT by default, which would let a second server share a port in
// use instead of failing to start.
void exclusive_port(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

int bind_and_serve(httplib::Server& http, const std::string& host, int port, std::thread& thread,
                   const char* what) {
  auto listening = std::make_shared<socket_t>(INVALID_SOCKET);
  http.set_socket_options([listening](socket_t sock) {
    exclusive_port(sock);
    *listening = sock;
  });
  // Responses go out as header and body writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK
  // hold the second write for ~40 ms.
  http.set_tcp_nodelay(true);
  const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error(std::string("cannot open the ") + what + " port " + host + ":" + std::to_string(port));
  // httplib listens with a backlog of 5: when more clients connect at once, their connections wait for SYN
  // retransmits (a second or more). Listening again on the bound socket raises the backlog.
  if (*listening != INVALID_SOCKET) ::listen(*listening, SOMAXCONN);
  thread = std::thread([&http] { http.listen_after_bind(); });
  return bound;
}

}  // namespace

HttpEndpoint::HttpEndpoint(Server& server) : server_(server), http_(std::make_unique<HttpConnectionServer>()) {
  add_routes();
}

HttpEndpoint::~HttpEndpoint() { stop(); }

int HttpEndpoint::start(const std::string& host, int port) {
  return bind_and_serve(*http_, host, port, thread_, "HTTP");
}

void HttpEndpoint::stop() {
  if (thread_.joinable()) {
    http_->stop();
    thread_.join();
  }
}

void HttpEndpoint::add_routes() {
  httplib::Server& http = *http_;
  Server& server = server_;
  const int threads = std::max(1, server.options().http_threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(server.options().max_request_bytes);
  // An idle connection delays a graceful stop by at most this; shorter, clients of a busy machine that take longer
  // than this to send their next request find their connection closed.
  http.set_keep_alive_timeout(5);
  http.set_keep_alive_max_count(1000);  // httplib's default of 5 would make clients reconnect every 5 requests

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler([&server](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      send_error(res, 413, "the request body exceeds " + std::to_string(server.options().max_request_bytes) +
                               " bytes (--max-request-bytes)");
    else if (res.status == 404)
      send_error(res, 404, "no route for " + req.method + " " + req.path);
    else
      send_error(res, res.status, "HTTP error " + std::to_string(res.status));
  });
  http.set_logger([&server](const httplib::Request& req, const httplib::Response& res) {
    if (!server.logs(LogSeverity::kInfo)) return;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request_start).count();
    server.log(LogSeverity::kInfo, {{"event", "request"}, {"protocol", "http"}, {"remote", req.remote_addr},
                                    {"method", req.method}, {"path", req.path}, {"status", res.status},
                                    {"bytes_in", bytes_in(req)}, {"bytes_out", res.body.size()},
                                    {"duration_us", us}});
  });

  http.Get("/v2/health/live", guarded([&server](const httplib::Request&, httplib::Response& res) {
    if (server.live()) res.status = 200;
    else send_error(res, 503, "the server is stopping");
  }));
  http.Get("/v2/health/ready", guarded([&server](const httplib::Request&, httplib::Response& res) {
    if (server.ready()) res.status = 200;
    else send_error(res, 503, "the server is not ready (starting or shutting down)");
  }));
  http.Get("/v2", guarded([](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"name", "kestrel"}, {"version", kestrel::version_string()},
                         {"extensions", Server::extensions()}});
  }));
  http.Get(kModelPath, guarded([&server](const httplib::Request& req, httplib::Response& res) {
    auto model = server.repository().find(req.matches[1], version_of(req));
    json versions = json::array();
    const auto status = server.repository().status(model->name);
    if (status)
      for (int64_t v : status->versions) versions.push_back(std::to_string(v));
    send_json(res, 200, {{"name", model->name}, {"versions", versions}, {"platform", "onnx"},
                         {"inputs", io_json(model->session->inputs())}, {"outputs", io_json(model->session->outputs())}});
  }));
  http.Get(kModelPath + "/ready", guarded([&server](const httplib::Request& req, httplib::Response& res) {
    try {
      server.repository().find(req.matches[1], version_of(req));
      res.status = 200;
    } catch (const RequestError& e) {
      if (e.status() == Status::kNotFound) throw;
      send_error(res, 400, e.what());  // known but not ready: the protocol's 4xx, with the reason
    }
  }));
  http.Post(kModelPath + "/infer", [&server](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& content_reader) {
    guarded([&server, &content_reader](const httplib::Request& req, httplib::Response& res) {
      // The body is read first, whatever the answer, so that the connection can carry the next request.
      std::optional<InferBody> body = read_infer_body(req, res, content_reader, server.options().max_request_bytes);
      if (!body) return;  // the error is in `res`
      server.repository().find(req.matches[1], version_of(req));  // an unknown model is 404 whatever the body
      const std::optional<std::string> header_length =
          req.has_header(kHeaderLength) ? std::optional<std::string>(req.get_header_value(kHeaderLength))
                                        : std::nullopt;
      ParsedInfer parsed = parse_infer_request(body->bytes, header_length, body->storage);
      parsed.request.model = req.matches[1];
      parsed.request.version = version_of(req);
      const InferResponse response = server.infer(std::move(parsed.request));
      send_infer_response(res, response, parsed);
    })(req, res);
  });
  http.Post("/v2/repository/index", guarded([&server](const httplib::Request& req, httplib::Response& res) {
    bool ready_only = false;
    if (!req.body.empty()) {
      const json body = parse_request_json(req.body);
      if (body.is_object() && body.contains("ready")) ready_only = bool_parameter(body, "ready", "index request");
    }
    json out = json::array();
    for (const ModelStatus& s : server.repository().index()) {
      if (ready_only && s.state != ModelState::kReady) continue;
      json entry = {{"name", s.name}, {"state", model_state_name(s.state)}, {"reason", s.reason}};
      if (!s.versions.empty()) entry["version"] = std::to_string(s.versions.back());
      out.push_back(std::move(entry));
    }
    send_json(res, 200, out);
  }));
  http.Post(R"(/v2/repository/models/([^/]+)/load)", guarded([&server](const httplib::Request& req, httplib::Response& res) {
    server.repository().load(req.matches[1]);
    server.log(LogSeverity::kInfo, {{"event", "model_loaded"}, {"model", std::string(req.matches[1])}});
    send_json(res, 200, json::object());
  }));
  http.Post(R"(/v2/repository/models/([^/]+)/unload)", guarded([&server](const httplib::Request& req, httplib::Response& res) {
    server.repository().unload(req.matches[1]);
    server.log(LogSeverity::kInfo, {{"event", "model_unloaded"}, {"model", std::string(req.matches[1])}});
    send_json(res, 200, json::object());
  }));
}

MetricsEndpoint::MetricsEndpoint(Server& server) : server_(server), http_(std::make_unique<HttpConnectionServer>()) {
  http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  http_->set_keep_alive_timeout(2);
  Server* s = &server_;
  http_->Get("/metrics", [s](const httplib::Request&, httplib::Response& res) {
    res.set_content(s->metrics().render(), "text/plain; version=0.0.4");
  });
}

MetricsEndpoint::~MetricsEndpoint() { stop(); }

int MetricsEndpoint::start(const std::string& host, int port) {
  return bind_and_serve(*http_, host, port, thread_, "metrics");
}

void MetricsEndpoint::stop() {
  if (thread_.joinable()) {
    http_->stop();
    thread_.join();
  }
}

}  // namespace kestrel::server
