// serve_load: a load generator for `kestrel serve` (loopback only, bounded in time). N client threads send one
// model's inputs (DIR/input_<i>.pb, named by their protos) over HTTP (binary tensor data or JSON), gRPC (raw
// contents), or hit /v2/health/ready, for S seconds after a short warm-up, and the program prints requests/s and
// latency percentiles (one line, or a JSON object with --json).
//
//   serve_load --model NAME [--inputs DIR] [--host 127.0.0.1] [--http-port 8000] [--grpc-port 8001]
//              [--protocol http|http-httplib|json|grpc|health|tcp] [--concurrency 1] [--seconds 5] [--warmup 1]
//              [--json]
//              [--direct MODEL.onnx [--paired] [--threads N]] [--in-process]
//
// --direct MODEL times Session::run on the same input in this process first. With --paired it instead alternates
// one Session::run and one request over --protocol, one client: both halves of a pair see the same machine load,
// and the server's overhead per request is the request's p50 minus Session::run's p50 (also printed: the median of
// the per-pair differences). --threads N sets the direct session's intra-op threads (0: the engine's default), to
// match the served model's config. --in-process serves --direct inside serve_load itself as --model, on free ports.
//
// --protocol http sends binary-extension requests with a minimal HTTP/1.1 client of its own (keep-alive, the request
// line, headers and body in one send, a Content-Length response read in 64 KB recvs); --protocol http-httplib sends
// the same requests with cpp-httplib's client, which costs about 100 us more per 600 KB request on this machine (a
// cost of that client, not of the server). json and health use cpp-httplib's client.
//
// --protocol tcp (with --paired) is the transport floor of that measurement, no server involved: the request is the
// HTTP binary body's bytes sent over a loopback TCP connection to a thread of serve_load that reads them (64 KB per
// recv), runs Session::run on a session of its own (as a server holds its own copy of the model), and answers with
// as many bytes as the model's outputs; paired with the client's Session::run like the other protocols. Its
// "overhead" is what moving the bytes and waking the two threads costs on this machine; what a served request costs
// above it is the server's (and its HTTP or gRPC library's) own. (The receiving thread must run the model: a reply
// sent at once would spare the client the sleep through the model's run and the wake-up after it.)
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
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

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
Clock::duration seconds_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5))];
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "serve_load: %s\nusage: serve_load --model NAME [--inputs DIR]\n"
               "  [--protocol http|http-httplib|json|grpc|health|tcp]\n"
               "  [--concurrency N] [--seconds S] [--warmup S] [--host H] [--http-port P] [--grpc-port P]\n"
               "  [--direct MODEL.onnx [--paired] [--threads N]] [--in-process] [--json]\n",
               problem.c_str());
  std::exit(2);
}

struct Options {
  std::string host = "127.0.0.1", model, inputs, protocol = "http", direct;
  int http_port = 8000, grpc_port = 8001, concurrency = 1, threads = 0;
  double seconds = 5, warmup = 1;
  bool paired = false, in_process = false, json = false;
};

Options parse(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--paired") o.paired = true;
    else if (a == "--in-process") o.in_process = true;
    else if (a == "--json") o.json = true;
    else if (a.rfind("--", 0) == 0 && i + 1 < argc) args[a] = argv[++i];
    else usage("unexpected argument '" + a + "'");
  }
  const auto take = [&](const char* k, const std::string& d) {
    auto it = args.find(k);
    if (it == args.end()) return d;
    std::string v = it->second;
    args.erase(it);
    return v;
  };
  try {
    o.host = take("--host", o.host);
    o.model = take("--model", "");
    o.inputs = take("--inputs", "");
    o.protocol = take("--protocol", o.protocol);
    o.direct = take("--direct", "");
    o.http_port = std::stoi(take("--http-port", "8000"));
    o.grpc_port = std::stoi(take("--grpc-port", "8001"));
    o.concurrency = std::stoi(take("--concurrency", "1"));
    o.threads = std::stoi(take("--threads", "0"));
    o.seconds = std::stod(take("--seconds", "5"));
    o.warmup = std::stod(take("--warmup", "1"));
  } catch (const std::exception&) {
    usage("a numeric option is not a number");
  }
  if (!args.empty()) usage("unknown option " + args.begin()->first);
  if (o.protocol != "http" && o.protocol != "http-httplib" && o.protocol != "json" && o.protocol != "grpc" &&
      o.protocol != "health" && o.protocol != "tcp")
    usage("--protocol must be http, http-httplib, json, grpc, health or tcp");
  if (o.protocol == "tcp" && !o.paired) usage("--protocol tcp needs --paired");
  if (o.model.empty() && o.protocol != "health") usage("--model is required");
  if (o.inputs.empty() && o.protocol != "health") usage("--inputs is required");
  if (o.seconds <= 0 || o.seconds > 600 || o.warmup < 0 || o.warmup > 60 || o.concurrency < 1 || o.concurrency > 256)
    usage("--seconds must be in (0, 600], --warmup in [0, 60], --concurrency in [1, 256]");
  if (o.threads < 0 || o.threads > 256) usage("--threads must be in [0, 256]");
  if ((o.paired || o.in_process) && o.direct.empty()) usage("--paired and --in-process need --direct MODEL");
  if (o.paired && o.protocol == "health") usage("--paired needs an inference protocol");
  return o;
}

// The request of each protocol, made once from the feeds. The gRPC request is kept serialized, as the HTTP body is
// kept encoded: each call sends the same bytes (the channel references them, no copy), and what is timed is the
// exchange, not the encoding of the input, which an application does once per input whatever the protocol.
struct Requests {
  std::string http_body, http_header_length, json_body;
  std::string http_message;  // the binary-extension request as sent on the wire: request line, headers, body
  inference::ModelInferRequest grpc;
  grpc::ByteBuffer grpc_bytes;
};

Requests make_requests(const std::string& model, const kestrel::Feeds& feeds) {
  Requests r;
  json binary_inputs = json::array(), json_inputs = json::array();
  std::string raw_all;
  r.grpc.set_model_name(model);
  for (const auto& [name, value] : feeds) {
    const kestrel::Tensor& t = value.tensor();
    const char* datatype = kestrel::server::datatype_of(t.type());
    std::string raw;
    kestrel::server::append_raw(t, raw);
    binary_inputs.push_back({{"name", name}, {"datatype", datatype}, {"shape", t.shape()},
                             {"parameters", {{"binary_data_size", raw.size()}}}});
    json_inputs.push_back(
        {{"name", name}, {"datatype", datatype}, {"shape", t.shape()}, {"data", kestrel::server::tensor_to_json(t)}});
    auto* in = r.grpc.add_inputs();
    in->set_name(name);
    in->set_datatype(datatype);
    for (int64_t d : t.shape()) in->add_shape(d);
    r.grpc.add_raw_input_contents(raw);
    raw_all += raw;
  }
  const std::string header = json{{"inputs", binary_inputs}, {"parameters", {{"binary_data_output", true}}}}.dump();
  bool own = false;
  if (!grpc::SerializationTraits<inference::ModelInferRequest>::Serialize(r.grpc, &r.grpc_bytes, &own).ok())
    throw std::runtime_error("cannot serialize the gRPC request");
  r.http_header_length = std::to_string(header.size());
  r.http_body = header + raw_all;
  r.http_message = "POST /v2/models/" + model + "/infer HTTP/1.1\r\nHost: kestrel\r\n"
                   "Content-Type: application/octet-stream\r\nInference-Header-Content-Length: " +
                   r.http_header_length + "\r\nContent-Length: " + std::to_string(r.http_body.size()) + "\r\n\r\n" +
                   r.http_body;
  r.json_body = json{{"inputs", json_inputs}}.dump();
  return r;
}

bool send_all(int sock, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(sock, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// The transport floor (--protocol tcp): a loopback TCP connection to a thread that reads `request_bytes`, calls
// `work` and answers `reply_bytes`, per exchange.
class TcpFloor {
 public:
  TcpFloor(size_t request_bytes, size_t reply_bytes, std::function<void()> work)
      : request_(request_bytes, '\1'), reply_(reply_bytes, '\2'), work_(std::move(work)) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("tcp floor: cannot listen on loopback");
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (client_ < 0 || ::connect(client_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("tcp floor: cannot connect");
    const int peer = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    const int yes = 1;
    ::setsockopt(client_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    ::setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    sink_ = std::thread([this, peer] {
      std::vector<char> chunk(64 << 10);
      while (true) {
        for (size_t got = 0; got < request_.size();) {
          const ssize_t n = ::recv(peer, chunk.data(), std::min(chunk.size(), request_.size() - got), 0);
          if (n <= 0) return ::close(peer);
          got += static_cast<size_t>(n);
        }
        work_();
        if (!send_all(peer, reply_)) return ::close(peer);
      }
    });
  }
  ~TcpFloor() {
    ::shutdown(client_, SHUT_RDWR);
    ::close(client_);
    sink_.join();
  }
  bool exchange() {
    if (!send_all(client_, request_)) return false;
    std::vector<char> answer(reply_.size());
    for (size_t got = 0; got < answer.size();) {
      const ssize_t n = ::recv(client_, answer.data() + got, answer.size() - got, 0);
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  std::string request_, reply_;
  std::function<void()> work_;
  int client_ = -1;
  std::thread sink_;
};

// The minimal HTTP/1.1 client of --protocol http: one keep-alive connection (reopened when the server closes it),
// each request sent whole in one send, each response read by its Content-Length (the server's infer responses always
// carry one).
class WireClient {
 public:
  WireClient(const std::string& host, int port) : host_(host), port_(std::to_string(port)) {}
  ~WireClient() {
    if (sock_ >= 0) ::close(sock_);
  }
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  // Sends `message` and reads the response; true for status 200, else `error` says why.
  bool exchange(const std::string& message, std::string& error) {
    if (sock_ < 0 && !connect(error)) return false;
    if (!send_all(sock_, message)) return fail("HTTP client error: the request could not be sent", error);
    size_t end;
    while ((end = input_.find("\r\n\r\n")) == std::string::npos)
      if (!receive()) return fail("HTTP client error: the connection closed before a response", error);
    std::string head = input_.substr(0, end + 2);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    const size_t length_at = head.find("\r\ncontent-length:");
    if (head.rfind("http/1.1 ", 0) != 0 || length_at == std::string::npos)
      return fail("HTTP client error: a response without status or Content-Length: " + input_.substr(0, 200), error);
    const int status = std::atoi(head.c_str() + 9);
    const size_t length = std::strtoull(head.c_str() + length_at + 17, nullptr, 10);
    while (input_.size() < end + 4 + length)
      if (!receive()) return fail("HTTP client error: the connection closed inside a response", error);
    if (status != 200)
      error = "HTTP " + std::to_string(status) + ": " + input_.substr(end + 4, std::min<size_t>(length, 200));
    input_.erase(0, end + 4 + length);
    if (head.find("\r\nconnection: close\r\n") != std::string::npos) close();
    return status == 200;
  }

 private:
  bool connect(std::string& error) {
    addrinfo hints{}, *found = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found) != 0 || !found)
      return fail("HTTP client error: cannot resolve " + host_, error);
    sock_ = ::socket(found->ai_family, SOCK_STREAM, 0);
    const bool connected = sock_ >= 0 && ::connect(sock_, found->ai_addr, found->ai_addrlen) == 0;
    ::freeaddrinfo(found);
    if (!connected) return fail("HTTP client error: cannot connect to " + host_ + ":" + port_, error);
    const int yes = 1;
    ::setsockopt(sock_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    return true;
  }
  bool receive() {
    char chunk[64 << 10];
    const ssize_t n = ::recv(sock_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    input_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  void close() {
    if (sock_ >= 0) ::close(sock_);
    sock_ = -1;
    input_.clear();
  }
  bool fail(const std::string& why, std::string& error) {
    close();
    error = why;
    return false;
  }

  std::string host_, port_;
  int sock_ = -1;
  std::string input_;
};

// One client connection: sends the request of its protocol and says whether the answer was a success.
class Client {
 public:
  Client(const Options& o, int http_port, int grpc_port, const Requests& requests)
      : protocol_(o.protocol), requests_(requests), path_("/v2/models/" + o.model + "/infer"),
        http_(o.host, http_port), wire_(o.host, http_port) {
    http_.set_keep_alive(true);
    http_.set_tcp_nodelay(true);
    http_.set_read_timeout(120, 0);
    headers_ = {{"Inference-Header-Content-Length", requests.http_header_length}};
    if (protocol_ == "grpc") {
      // A channel of its own per client (a distinct channel argument keeps gRPC from sharing one connection).
      grpc::ChannelArguments args;
      args.SetInt("kestrel.serve_load.client", next_id_++);
      args.SetMaxReceiveMessageSize(-1);
      stub_ = std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
          o.host + ":" + std::to_string(grpc_port), grpc::InsecureChannelCredentials(), args));
    }
  }

  ~Client() {
    completions_.Shutdown();
    void* tag;
    bool ok;
    while (completions_.Next(&tag, &ok)) {
    }
  }

  // Sends one request; on failure `error` says why.
  bool send(std::string& error) {
    if (protocol_ == "grpc") {
      grpc::ClientContext context;
      grpc::ByteBuffer reply;
      grpc::Status status;
      auto call = stub_->PrepareUnaryCall(&context, "/inference.GRPCInferenceService/ModelInfer",
                                          requests_.grpc_bytes, &completions_);
      call->StartCall();
      call->Finish(&reply, &status, this);
      void* tag = nullptr;
      bool done = false;
      if (!completions_.Next(&tag, &done) || !done) status = grpc::Status(grpc::StatusCode::UNKNOWN, "call lost");
      inference::ModelInferResponse response;  // decoded, as a client reading its outputs would
      if (status.ok() &&
          !grpc::SerializationTraits<inference::ModelInferResponse>::Deserialize(&reply, &response).ok())
        status = grpc::Status(grpc::StatusCode::INTERNAL, "the response does not parse");
      if (!status.ok()) error = "gRPC status " + std::to_string(status.error_code()) + ": " + status.error_message();
      return status.ok();
    }
    if (protocol_ == "http") return wire_.exchange(requests_.http_message, error);
    // Bodies go out through a content provider: the std::string overloads of Post copy the body into the request
    // first (600 KB per squeezenet request, a cost of this client, not of the server).
    const auto post = [&](const std::string& body, const char* type, const httplib::Headers& headers) {
      return http_.Post(
          path_.c_str(), headers, body.size(),
          [&body](size_t offset, size_t length, httplib::DataSink& sink) {
            return sink.write(body.data() + offset, length);
          },
          type);
    };
    httplib::Result res = protocol_ == "http-httplib" ? post(requests_.http_body, "application/octet-stream", headers_)
                          : protocol_ == "json"       ? post(requests_.json_body, "application/json", {})
                                                      : http_.Get("/v2/health/ready");
    if (!res) error = "HTTP client error: " + httplib::to_string(res.error());
    else if (res->status != 200) error = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
    return res && res->status == 200;
  }

 private:
  static inline std::atomic<int> next_id_{0};
  std::string protocol_;
  const Requests& requests_;
  std::string path_;
  httplib::Client http_;
  WireClient wire_;
  httplib::Headers headers_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue completions_;
};

struct Summary {
  size_t count = 0;
  double seconds = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  long errors = 0;
};

Summary summarize(std::vector<double> latencies, double seconds, long errors) {
  Summary s;
  s.count = latencies.size();
  s.seconds = seconds;
  s.p50 = percentile(latencies, 50);
  s.p90 = percentile(latencies, 90);
  s.p99 = percentile(latencies, 99);
  s.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  s.errors = errors;
  return s;
}

json summary_json(const Summary& s) {
  return {{"requests", s.count}, {"seconds", s.seconds},
          {"throughput", s.seconds > 0 ? static_cast<double>(s.count) / s.seconds : 0.0},
          {"p50_us", s.p50}, {"p90_us", s.p90}, {"p99_us", s.p99}, {"max_us", s.max}, {"errors", s.errors}};
}

// Calls `once` until `seconds` have passed (after `warmup` seconds whose calls are not kept); returns latencies.
std::vector<double> time_loop(double warmup, double seconds, const std::function<void()>& once) {
  const auto warm_end = Clock::now() + std::chrono::duration<double>(warmup);
  while (Clock::now() < warm_end) once();
  std::vector<double> times;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t = Clock::now();
    once();
    times.push_back(micros(Clock::now() - t));
  }
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  // Session::run here and in the server should see the same OpenMP wait policy: the short spin that `kestrel`
  // itself sets (see tools/kestrel/main.cc), unless the user chose one.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("GOMP_SPINCOUNT", "2000", 1);
    execv("/proc/self/exe", argv);
  }
  const Options o = parse(argc, argv);
  kestrel::Feeds feeds;  // DIR/input_0.pb, input_1.pb, ...
  if (o.protocol != "health") {
    for (int i = 0;; ++i) {
      const std::string file = o.inputs + "/input_" + std::to_string(i) + ".pb";
      if (!std::filesystem::exists(file)) break;
      kestrel::NamedValue v = kestrel::read_value_file(file);
      feeds.emplace_back(v.name, v.value);
    }
    if (feeds.empty()) usage("no " + o.inputs + "/input_0.pb");
  }
  const Requests requests = o.protocol == "health" ? Requests{} : make_requests(o.model, feeds);

  std::unique_ptr<kestrel::server::Server> local;
  int http_port = o.http_port, grpc_port = o.grpc_port;
  if (o.in_process) {
    kestrel::server::ServerOptions options;
    options.models = {o.model + "=" + o.direct};
    options.host = o.host;
    options.http_port = 0;
    options.grpc_port = 0;
    options.metrics_port = -1;
    options.log_level = kestrel::LogSeverity::kWarning;
    local = std::make_unique<kestrel::server::Server>(options);
    local->start();
    http_port = local->http_port();
    grpc_port = local->grpc_port();
  }
  kestrel::SessionOptions direct_options;
  direct_options.intra_op_num_threads = o.threads;
  json report = {{"model", o.model}, {"protocol", o.protocol}, {"concurrency", o.concurrency}};

  if (o.paired) {
    kestrel::Session session(o.direct, direct_options);
    std::unique_ptr<Client> client;
    std::unique_ptr<kestrel::Session> receiver_session;  // the floor's stand-in for the server's own session
    std::unique_ptr<TcpFloor> floor;
    if (o.protocol == "tcp") {
      size_t reply_bytes = 0;
      for (const kestrel::Value& v : session.run(feeds)) reply_bytes += kestrel::server::raw_size(v.tensor());
      receiver_session = std::make_unique<kestrel::Session>(o.direct, direct_options);
      floor = std::make_unique<TcpFloor>(requests.http_body.size(), reply_bytes,
                                         [&] { receiver_session->run(feeds); });
    } else {
      client = std::make_unique<Client>(o, http_port, grpc_port, requests);
    }
    std::vector<double> direct, served, differences;
    bool ok = true;
    std::string error;
    const auto pair = [&] {
      const auto t0 = Clock::now();
      session.run(feeds);
      const auto t1 = Clock::now();
      ok = (floor ? floor->exchange() || !(error = "the loopback exchange failed").empty() : client->send(error)) && ok;
      const auto t2 = Clock::now();
      direct.push_back(micros(t1 - t0));
      served.push_back(micros(t2 - t1));
      differences.push_back(served.back() - direct.back());
    };
    time_loop(o.warmup, 0, pair);
    direct.clear(), served.clear(), differences.clear();
    const auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
    while (Clock::now() < end && ok) pair();
    if (!ok) {
      std::fprintf(stderr, "serve_load: a %s request failed: %s\n", o.protocol.c_str(), error.c_str());
      return 1;
    }
    const double overhead = percentile(served, 50) - percentile(direct, 50);
    report["pairs"] = direct.size();
    report["direct_p50_us"] = percentile(direct, 50);
    report["served_p50_us"] = percentile(served, 50);
    report["overhead_us"] = overhead;
    report["median_pair_difference_us"] = percentile(differences, 50);
    if (o.json) {
      std::printf("%s\n", report.dump().c_str());
    } else {
      std::printf("%zu pairs: Session::run p50 %.0f us, %s request p50 %.0f us, overhead %.0f us "
                  "(median pair difference %.0f us)\n",
                  direct.size(), percentile(direct, 50), o.protocol.c_str(), percentile(served, 50), overhead,
                  percentile(differences, 50));
    }
    return 0;
  }

  if (!o.direct.empty()) {
    kestrel::Session session(o.direct, direct_options);
    const Summary s = summarize(time_loop(o.warmup, o.seconds, [&] { session.run(feeds); }), o.seconds, 0);
    report["direct"] = summary_json(s);
    if (!o.json)
      std::printf("%-8s %4d %8zu %10.1f/s  p50 %8.0f us  p99 %8.0f us\n", "direct", 1, s.count,
                  static_cast<double>(s.count) / o.seconds, s.p50, s.p99);
  }

  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.concurrency));
  std::vector<Clock::time_point> last_done(static_cast<size_t>(o.concurrency));
  std::atomic<long> errors{0};
  std::mutex error_mutex;
  std::string first_error;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point warm_end, end;
  std::vector<std::thread> threads;
  for (int c = 0; c < o.concurrency; ++c) {
    threads.emplace_back([&, c] {
      Client client(o, http_port, grpc_port, requests);
      ++ready;
      while (!go) std::this_thread::yield();
      std::vector<double>& mine = latencies[static_cast<size_t>(c)];
      while (true) {
        const auto t = Clock::now();
        if (t >= end) break;
        std::string error;
        const bool ok = client.send(error);
        if (!ok) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) first_error = error;
        }
        if (t >= warm_end) {  // requests started in the warm-up are not counted
          if (!ok) ++errors;
          last_done[static_cast<size_t>(c)] = Clock::now();
          mine.push_back(micros(last_done[static_cast<size_t>(c)] - t));
        }
      }
    });
  }
  while (ready < o.concurrency) std::this_thread::yield();
  warm_end = Clock::now() + seconds_duration(o.warmup);
  end = warm_end + seconds_duration(o.seconds);
  go = true;
  for (auto& t : threads) t.join();
  // Requests started in the window are counted; the window closes when the last of them is answered.
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const Clock::time_point closed = *std::max_element(last_done.begin(), last_done.end());
  const double elapsed = closed > warm_end ? std::chrono::duration<double>(closed - warm_end).count() : o.seconds;
  const Summary s = summarize(all, elapsed, errors.load());
  report["served"] = summary_json(s);
  if (!first_error.empty()) {
    report["first_error"] = first_error;
    if (!o.json) std::fprintf(stderr, "serve_load: first error: %s\n", first_error.c_str());
  }
  if (o.json)
    std::printf("%s\n", report.dump().c_str());
  else
    std::printf("%-8s %4d %8zu %10.1f/s  p50 %8.0f us  p99 %8.0f us  errors %ld\n", o.protocol.c_str(),
                o.concurrency, s.count, static_cast<double>(s.count) / s.seconds, s.p50, s.p99, s.errors);
  return s.errors == 0 ? 0 : 1;
}
