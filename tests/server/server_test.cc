// The inference server end to end: a Server started in-process on free ports, driven over HTTP (httplib's client)
// and gRPC (the stub generated from inference_service.proto), on small models built here and on the zoo's resnet18.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "inference_service.grpc.pb.h"
#include "kestrel/value_file.h"
#include "server/server.h"
#include "server/shutdown_signal.h"
#include "test_models.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace kestrel;
using namespace kestrel::server_test;

namespace {

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A model repository in a fresh temp folder, removed at the end.
struct Repository {
  fs::path dir;
  Repository() {
    dir = fs::temp_directory_path() / ("kestrel_server_test_" + std::to_string(getpid()) + "_" +
                                       std::to_string(counter()++));
    fs::create_directories(dir);
  }
  ~Repository() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void add(const std::string& name, const std::string& model, const std::string& config = "") {
    write_file(dir / name / "1" / "model.onnx", model);
    if (!config.empty()) write_file(dir / name / "config.json", config);
  }
  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }
};

server::ServerOptions test_options(const std::string& repository) {
  server::ServerOptions o;
  o.model_repository = repository;
  o.host = "127.0.0.1";
  o.http_port = 0;
  o.grpc_port = 0;
  o.metrics_port = 0;
  o.log_level = LogSeverity::kWarning;  // no access log in tests
  o.max_request_bytes = 8 << 20;
  return o;
}

// The value of one sample of the metrics text ("name{labels} value"), or -1 when absent.
double metric(const std::string& text, const std::string& sample) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

std::string raw_floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::vector<float> floats_of(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << "element " << i;
}

json mlp_request(const std::vector<float>& x, int rows) {
  return {{"inputs", json::array({{{"name", "x"}, {"datatype", "FP32"}, {"shape", {rows, kMlpIn}}, {"data", x}}})}};
}

std::vector<float> mlp_rows(int rows, float seed) {
  std::vector<float> x(static_cast<size_t>(rows) * kMlpIn);
  for (size_t i = 0; i < x.size(); ++i) x[i] = seed + 0.125f * static_cast<float>(i) - 0.5f;
  return x;
}

// Splits a binary-extension response into its JSON header and binary part.
std::pair<json, std::string> split_binary(const httplib::Result& res) {
  const std::string length = res->get_header_value("Inference-Header-Content-Length");
  const size_t n = length.empty() ? res->body.size() : std::stoull(length);
  return {json::parse(res->body.substr(0, n)), res->body.substr(n)};
}

// A plain TCP connection to the server, for what httplib's client cannot send: pipelined requests, bodies that
// arrive in pieces, Expect: 100-continue.
class RawConnection {
 public:
  explicit RawConnection(int port) : sock_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = sock_ >= 0 && ::connect(sock_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (sock_ >= 0) ::close(sock_);
  }
  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = ::send(sock_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // The next response's status line and headers, and its body (by Content-Length); empty when the connection
  // ends first.
  std::pair<std::string, std::string> response() {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos)
      if (!receive()) return {};
    const std::string head = pending_.substr(0, end + 4);
    size_t length = 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (const size_t at = lower.find("content-length:"); at != std::string::npos)
      length = std::stoull(head.substr(at + 15));
    while (pending_.size() < end + 4 + length)
      if (!receive()) return {};
    std::string body = pending_.substr(end + 4, length);
    pending_.erase(0, end + 4 + length);
    return {head, body};
  }

 private:
  bool receive() {
    char chunk[65536];
    const ssize_t n = ::recv(sock_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int sock_;
  bool connected_ = false;
  std::string pending_;
};

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repository = new Repository();
    repository->add("mlp", mlp_model());
    // The batching tests hold every request for the delay (delay_lone_requests), so that concurrent requests are
    // joined whatever order they arrive in.
    repository->add("mlp_batched", mlp_model(),
                    R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 2000000,
                        "preferred_batch_size": [4], "delay_lone_requests": true},
                        "session": {"intra_op_num_threads": 1}})");
    repository->add("rowsum_batched", rowsum_model(),
                    R"({"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": 1000000,
                        "delay_lone_requests": true}})");
    repository->add("mlp_lone", mlp_model(),
                    R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 5000000}})");
    repository->add("loop_single", loop_model());  // default intra-op threads: runs on an instance thread
    repository->add("loop_single_caller", loop_model(), R"({"session": {"intra_op_num_threads": 1}})");
    repository->add("identity", identity_model());
    repository->add("loop", loop_model(), R"({"instance_count": 4})");
    repository->add("broken", "this is not an ONNX model");
    repository->add("bad_config", mlp_model(), R"({"max_batch_size": 4, "dynamic_batchin": {}})");
    repository->add("bad_lone_config", mlp_model(),
                    R"({"max_batch_size": 4, "dynamic_batching": {"delay_lone_requests": 1}})");
    repository->add("unbatchable", loop_model(), R"({"max_batch_size": 4, "dynamic_batching": {}})");
    server = new server::Server(test_options(repository->dir.string()));
    server->start();
  }
  static void TearDownTestSuite() {
    server->shutdown();
    delete server;
    delete repository;
  }

  httplib::Client http() const {
    httplib::Client c("127.0.0.1", server->http_port());
    c.set_read_timeout(60, 0);
    return c;
  }
  std::string metrics_text() const {
    httplib::Client c("127.0.0.1", server->metrics_port());
    auto res = c.Get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }
  std::unique_ptr<inference::GRPCInferenceService::Stub> grpc_stub() const {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->grpc_port()),
                                       grpc::InsecureChannelCredentials());
    return inference::GRPCInferenceService::NewStub(channel);
  }
  // POSTs a JSON request and expects `status` with an {"error": ...} body mentioning `words` when it is an error.
  json post(const std::string& path, const std::string& body, int status, const std::string& words = "") {
    auto res = http().Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, status) << res->body;
    json parsed = json::parse(res->body, nullptr, false);
    if (status >= 400) {
      EXPECT_TRUE(parsed.is_object() && parsed.contains("error")) << res->body;
      if (!words.empty() && parsed.is_object() && parsed.contains("error")) {
        EXPECT_NE(parsed["error"].get<std::string>().find(words), std::string::npos) << res->body;
      }
    }
    return parsed;
  }

  static Repository* repository;
  static server::Server* server;
};

Repository* ServerTest::repository = nullptr;
server::Server* ServerTest::server = nullptr;

TEST_F(ServerTest, HealthAndServerMetadata) {
  auto c = http();
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  auto res = c.Get("/v2");
  ASSERT_EQ(res->status, 200);
  const json meta = json::parse(res->body);
  EXPECT_EQ(meta["name"], "kestrel");
  EXPECT_EQ(meta["version"], kestrel::version_string());
  EXPECT_NE(std::find(meta["extensions"].begin(), meta["extensions"].end(), "binary_tensor_data"),
            meta["extensions"].end());
  auto missing = c.Get("/v2/no/such/route");
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("error"));
}

TEST_F(ServerTest, ModelMetadataAndReadiness) {
  auto c = http();
  auto res = c.Get("/v2/models/mlp");
  ASSERT_EQ(res->status, 200) << res->body;
  const json meta = json::parse(res->body);
  EXPECT_EQ(meta["name"], "mlp");
  EXPECT_EQ(meta["versions"], json::array({"1"}));
  EXPECT_EQ(meta["inputs"], json::parse(R"([{"name":"x","datatype":"FP32","shape":[-1,4]}])"));
  EXPECT_EQ(meta["outputs"], json::parse(R"([{"name":"y","datatype":"FP32","shape":[-1,3]}])"));
  EXPECT_EQ(c.Get("/v2/models/mlp/versions/1")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/mlp/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/mlp/versions/1/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/mlp/versions/7/ready")->status, 404);
  auto unknown = c.Get("/v2/models/nope");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(json::parse(unknown->body)["error"].get<std::string>().find("nope"), std::string::npos);
}

TEST_F(ServerTest, JsonInfer) {
  const std::vector<float> x = mlp_rows(3, 1.0f);
  json req = mlp_request(x, 3);
  req["id"] = "request-7";
  const json res = post("/v2/models/mlp/infer", req.dump(), 200);
  EXPECT_EQ(res["model_name"], "mlp");
  EXPECT_EQ(res["model_version"], "1");
  EXPECT_EQ(res["id"], "request-7");
  ASSERT_EQ(res["outputs"].size(), 1u);
  EXPECT_EQ(res["outputs"][0]["name"], "y");
  EXPECT_EQ(res["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(res["outputs"][0]["shape"], json::array({3, kMlpOut}));
  expect_near_all(res["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(x, 3));
  // Nested arrays are the same tensor in row-major order.
  json nested = mlp_request(x, 3);
  nested["inputs"][0]["data"] = json::array();
  for (int r = 0; r < 3; ++r)
    nested["inputs"][0]["data"].push_back(std::vector<float>(x.begin() + r * kMlpIn, x.begin() + (r + 1) * kMlpIn));
  const json res2 = post("/v2/models/mlp/versions/1/infer", nested.dump(), 200);
  expect_near_all(res2["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(x, 3));
}

TEST_F(ServerTest, BinaryInfer) {
  const std::vector<float> x = mlp_rows(2, -3.0f);
  const std::string header =
      json{{"inputs", json::array({{{"name", "x"}, {"datatype", "FP32"}, {"shape", {2, kMlpIn}},
                                    {"parameters", {{"binary_data_size", x.size() * 4}}}}})},
           {"outputs", json::array({{{"name", "y"}, {"parameters", {{"binary_data", true}}}}})}}
          .dump();
  httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(header.size())}};
  auto res = http().Post("/v2/models/mlp/infer", headers, header + raw_floats(x), "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto [meta, binary] = split_binary(res);
  EXPECT_EQ(meta["outputs"][0]["parameters"]["binary_data_size"], 2 * kMlpOut * 4);
  EXPECT_FALSE(meta["outputs"][0].contains("data"));
  expect_near_all(floats_of(binary), mlp_expected(x, 2));
}

// Every protocol datatype through an Identity, as JSON and as binary data; only the requested outputs come back.
TEST_F(ServerTest, AllDatatypesAndRequestedOutputs) {
  json values = {{"BOOL", {true, false, true}},        {"INT8", {-128, 0, 127}},
                 {"INT16", {-32768, 5, 32767}},        {"INT32", {-2147483648LL, 7, 2147483647}},
                 {"INT64", {-9007199254740993LL, 0, 9007199254740993LL}},
                 {"UINT8", {0, 200, 255}},             {"UINT16", {0, 40000, 65535}},
                 {"UINT32", {0, 3000000000U, 4294967295U}},
                 {"UINT64", {0, 1, 18446744073709551615ULL}},
                 {"FP16", {0.5, -2.0, 65504.0}},       {"FP32", {1.5, -0.25, 1048576.5}},
                 {"FP64", {1e-300, -2.5, 1e300}},      {"BYTES", {"", "héllo", std::string("a\0b", 3)}}};
  json req = {{"inputs", json::array()}, {"outputs", json::array()}};
  for (const std::string& t : kIdentityDatatypes) {
    req["inputs"].push_back({{"name", "in_" + t}, {"datatype", t}, {"shape", {3}}, {"data", values[t]}});
    if (t != "INT16") req["outputs"].push_back({{"name", "out_" + t}});
  }
  const json res = post("/v2/models/identity/infer", req.dump(), 200);
  ASSERT_EQ(res["outputs"].size(), kIdentityDatatypes.size() - 1);
  for (const json& out : res["outputs"]) {
    const std::string t = out["datatype"];
    EXPECT_EQ(out["name"], "out_" + t);
    EXPECT_NE(t, "INT16");
    EXPECT_EQ(out["shape"], json::array({3}));
    EXPECT_EQ(out["data"], values[t]) << t;
  }

  // The same through the binary extension: the raw bytes come back unchanged.
  json header = {{"inputs", json::array()}, {"parameters", {{"binary_data_output", true}}}};
  std::string binary;
  std::vector<std::string> raws;
  for (const std::string& t : kIdentityDatatypes) {
    std::string raw;
    for (const json& v : values[t]) {
      if (t == "BOOL") raw.push_back(v.get<bool>() ? 1 : 0);
      else if (t == "INT8") raw.push_back(static_cast<char>(v.get<int8_t>()));
      else if (t == "INT16") { int16_t e = v.get<int16_t>(); raw.append(reinterpret_cast<char*>(&e), 2); }
      else if (t == "INT32") { int32_t e = v.get<int32_t>(); raw.append(reinterpret_cast<char*>(&e), 4); }
      else if (t == "INT64") { int64_t e = v.get<int64_t>(); raw.append(reinterpret_cast<char*>(&e), 8); }
      else if (t == "UINT8") raw.push_back(static_cast<char>(v.get<uint8_t>()));
      else if (t == "UINT16") { uint16_t e = v.get<uint16_t>(); raw.append(reinterpret_cast<char*>(&e), 2); }
      else if (t == "UINT32") { uint32_t e = v.get<uint32_t>(); raw.append(reinterpret_cast<char*>(&e), 4); }
      else if (t == "UINT64") { uint64_t e = v.get<uint64_t>(); raw.append(reinterpret_cast<char*>(&e), 8); }
      else if (t == "FP16") { uint16_t e = Float16(v.get<float>()).bits; raw.append(reinterpret_cast<char*>(&e), 2); }
      else if (t == "FP32") { float e = v.get<float>(); raw.append(reinterpret_cast<char*>(&e), 4); }
      else if (t == "FP64") { double e = v.get<double>(); raw.append(reinterpret_cast<char*>(&e), 8); }
      else {
        const std::string s = v.get<std::string>();
        const uint32_t n = static_cast<uint32_t>(s.size());
        raw.append(reinterpret_cast<const char*>(&n), 4);
        raw += s;
      }
    }
    header["inputs"].push_back({{"name", "in_" + t}, {"datatype", t}, {"shape", {3}},
                                {"parameters", {{"binary_data_size", raw.size()}}}});
    binary += raw;
    raws.push_back(raw);
  }
  const std::string text = header.dump();
  auto bin = http().Post("/v2/models/identity/infer", {{"Inference-Header-Content-Length", std::to_string(text.size())}},
                         text + binary, "application/octet-stream");
  ASSERT_EQ(bin->status, 200) << bin->body;
  auto [meta, data] = split_binary(bin);
  size_t offset = 0;
  ASSERT_EQ(meta["outputs"].size(), kIdentityDatatypes.size());
  for (size_t i = 0; i < kIdentityDatatypes.size(); ++i) {
    const size_t n = meta["outputs"][i]["parameters"]["binary_data_size"];
    EXPECT_EQ(data.substr(offset, n), raws[i]) << kIdentityDatatypes[i];
    offset += n;
  }
  EXPECT_EQ(offset, data.size());
}

TEST_F(ServerTest, MalformedRequestsGet400) {
  const std::string path = "/v2/models/mlp/infer";
  post(path, "{\"inputs\": [", 400, "malformed JSON");
  post(path, "[1, 2]", 400, "JSON object");
  post(path, R"({"inputs": []})", 400, "non-empty");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": [1, 2, 3, 4]}]})", 400,
       "datatype FP64");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1, 4], "data": [1, 2, 3, 4]}]})", 400,
       "unknown datatype");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 5], "data": [1, 2, 3, 4, 5]}]})", 400,
       "shape [1,5]");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 4], "data": [1, 2, 3, 4]}]})", 400,
       "needs 8 elements");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, "a", 3, 4]}]})", 400,
       "expected a number");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, -4], "data": []}]})", 400,
       "non-negative");
  post(path, R"({"inputs": [{"name": "z", "datatype": "FP32", "shape": [1], "data": [1]}]})", 400, "no input 'z'");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}],
                 "outputs": [{"name": "nope"}]})", 400, "no output 'nope'");
  post("/v2/models/identity/infer", R"({"inputs": [{"name": "in_INT8", "datatype": "INT8", "shape": [1], "data": [300]}]})",
       400, "out of range");
  // Huge declared sizes cost nothing: the data is checked before anything is allocated.
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1000000000000, 4], "data": [1, 2, 3, 4]}]})",
       400, "needs 4000000000000 elements");
  post(path, R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [4611686018427387904, 4], "data": [1]}]})",
       400, "too large");

  const auto binary_post = [&](const std::string& header, const std::string& data, const std::string& length,
                               const std::string& words) {
    auto res = http().Post(path.c_str(), {{"Inference-Header-Content-Length", length}}, header + data,
                           "application/octet-stream");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find(words), std::string::npos) << res->body;
  };
  const std::string header =
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": 16}}]})";
  const std::string length = std::to_string(header.size());
  binary_post(header, std::string(12, '\0'), length, "exceeds the 12 bytes");          // truncated data
  binary_post(header, std::string(20, '\0'), length, "no input's binary_data_size");   // extra bytes
  binary_post(header, std::string(16, '\0'), "100000", "body has only");               // header length past the end
  binary_post(header, std::string(16, '\0'), "12x", "byte count");
  const std::string huge =
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1000000000, 4], "parameters": {"binary_data_size": 16}}]})";
  binary_post(huge, std::string(16, '\0'), std::to_string(huge.size()), "needs");
  const std::string bytes_header =
      R"({"inputs": [{"name": "in_BYTES", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}]})";
  auto res = http().Post("/v2/models/identity/infer", {{"Inference-Header-Content-Length", std::to_string(bytes_header.size())}},
                         bytes_header + std::string("\xff\xff\xff\x7f" "ab", 6), "application/octet-stream");
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("declares"), std::string::npos) << res->body;

  // A body over --max-request-bytes is refused before it is parsed.
  auto big = http().Post(path.c_str(), std::string(9 << 20, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // And the server is still fine.
  const std::vector<float> x = mlp_rows(1, 0.0f);
  const json ok = post(path, mlp_request(x, 1).dump(), 200);
  expect_near_all(ok["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(x, 1));
  EXPECT_GT(metric(metrics_text(), R"(kestrel_request_failure_total{model="mlp",version="1",reason="invalid_argument"})"), 0);
}

// The binary extension's body reaches the model whole however it travels: large (many socket reads, a response
// larger than one send), chunked, gzip-compressed, pipelined behind another request on one connection, in small
// pieces with pauses, and after Expect: 100-continue.
TEST_F(ServerTest, BinaryBodiesArriveWholeInEveryTransferForm) {
  const int rows = 100000;  // 1.6 MB of input, 1.2 MB of output
  const std::vector<float> x = mlp_rows(rows, 1.0f);
  const std::vector<float> want = mlp_expected(x, rows);
  const std::string header =
      json{{"inputs", json::array({{{"name", "x"}, {"datatype", "FP32"}, {"shape", {rows, kMlpIn}},
                                    {"parameters", {{"binary_data_size", x.size() * 4}}}}})},
           {"parameters", {{"binary_data_output", true}}}}
          .dump();
  const std::string body = header + raw_floats(x);
  const httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(header.size())}};
  const auto check = [&](const httplib::Result& res, const char* how) {
    ASSERT_TRUE(res) << how;
    ASSERT_EQ(res->status, 200) << how << ": " << res->body.substr(0, 300);
    const std::vector<float> got = floats_of(split_binary(res).second);
    ASSERT_EQ(got.size(), want.size()) << how;
    const auto near = [](float a, float b) { return std::fabs(a - b) <= 1e-4f; };
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), near)) << how;
  };
  auto c = http();
  check(c.Post("/v2/models/mlp/infer", headers, body, "application/octet-stream"), "Content-Length");
  check(c.Post("/v2/models/mlp/infer", headers,
               [&](size_t offset, httplib::DataSink& sink) {
                 if (offset == body.size()) sink.done();
                 else sink.write(body.data() + offset, std::min<size_t>(100000, body.size() - offset));
                 return true;
               },
               "application/octet-stream"),
        "chunked");
  auto compressing = http();
  compressing.set_compress(true);
  check(compressing.Post("/v2/models/mlp/infer", headers, body, "application/octet-stream"), "gzip");

  // Small requests on one raw connection: the body of the first and the whole second request in one send, then a
  // body in three pieces with pauses, then a request that waits for 100 Continue before its body.
  const std::vector<float> one = mlp_rows(1, 2.0f);
  const std::string small_header =
      json{{"inputs", json::array({{{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, kMlpIn}},
                                    {"parameters", {{"binary_data_size", kMlpIn * 4}}}}})},
           {"parameters", {{"binary_data_output", true}}}}
          .dump();
  const std::string small_body = small_header + raw_floats(one);
  const std::string request_head =
      "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n"
      "Inference-Header-Content-Length: " + std::to_string(small_header.size()) +
      "\r\nContent-Length: " + std::to_string(small_body.size()) + "\r\n";
  const std::string request = request_head + "\r\n" + small_body;
  const auto expect_answer = [&](RawConnection& raw, const char* how) {
    const auto [head, data] = raw.response();
    ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << how << ": " << head << data;
    const size_t json_length = std::stoull(head.substr(head.find("Inference-Header-Content-Length: ") + 33));
    expect_near_all(floats_of(data.substr(json_length)), mlp_expected(one, 1));
  };
  RawConnection raw(server->http_port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send(request + request));
  expect_answer(raw, "first of two pipelined requests");
  expect_answer(raw, "second of two pipelined requests");
  ASSERT_TRUE(raw.send(request.substr(0, request.size() - 20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(raw.send(request.substr(request.size() - 20, 10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(raw.send(request.substr(request.size() - 10)));
  expect_answer(raw, "body in pieces");
  ASSERT_TRUE(raw.send(request_head + "Expect: 100-continue\r\n\r\n"));
  const auto [proceed, nothing] = raw.response();
  EXPECT_EQ(proceed.rfind("HTTP/1.1 100", 0), 0u) << proceed;
  ASSERT_TRUE(raw.send(small_body));
  expect_answer(raw, "after 100 Continue");
}

TEST_F(ServerTest, FailingModelsAreReportedAndOthersServe) {
  auto c = http();
  auto ready = c.Get("/v2/models/broken/ready");
  EXPECT_EQ(ready->status, 400);
  EXPECT_NE(ready->body.find("failed to load"), std::string::npos) << ready->body;
  auto meta = c.Get("/v2/models/broken");
  EXPECT_EQ(meta->status, 503);
  EXPECT_NE(meta->body.find("failed to load"), std::string::npos) << meta->body;
  auto config = c.Get("/v2/models/bad_config");
  EXPECT_NE(config->body.find("unknown key 'dynamic_batchin'"), std::string::npos) << config->body;
  auto lone = c.Get("/v2/models/bad_lone_config");
  EXPECT_NE(lone->body.find("'dynamic_batching.delay_lone_requests' must be true or false"), std::string::npos)
      << lone->body;
  auto unbatchable = c.Get("/v2/models/unbatchable");
  EXPECT_NE(unbatchable->body.find("dynamic first dim"), std::string::npos) << unbatchable->body;
  post("/v2/models/broken/infer", mlp_request(mlp_rows(1, 0), 1).dump(), 503, "failed to load");

  const json index = post("/v2/repository/index", "", 200);
  std::map<std::string, json> by_name;
  for (const json& m : index) by_name[m["name"]] = m;
  EXPECT_EQ(by_name["mlp"]["state"], "READY");
  EXPECT_EQ(by_name["broken"]["state"], "UNAVAILABLE");
  EXPECT_NE(by_name["broken"]["reason"].get<std::string>().find("failed to load"), std::string::npos);
  const json ready_only = post("/v2/repository/index", R"({"ready": true})", 200);
  for (const json& m : ready_only) EXPECT_EQ(m["state"], "READY");

  const std::vector<float> x = mlp_rows(2, 4.0f);
  const json ok = post("/v2/models/mlp/infer", mlp_request(x, 2).dump(), 200);
  expect_near_all(ok["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(x, 2));
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
}

TEST_F(ServerTest, RepositoryLoadAndUnload) {
  repository->add("mlp_extra", mlp_model());
  auto c = http();
  EXPECT_EQ(c.Get("/v2/models/mlp_extra/ready")->status, 404);
  post("/v2/repository/models/mlp_extra/load", "", 200);
  EXPECT_EQ(c.Get("/v2/models/mlp_extra/ready")->status, 200);
  post("/v2/models/mlp_extra/infer", mlp_request(mlp_rows(1, 0), 1).dump(), 200);
  post("/v2/repository/models/mlp_extra/unload", "", 200);
  EXPECT_EQ(c.Get("/v2/models/mlp_extra/ready")->status, 400);
  post("/v2/models/mlp_extra/infer", mlp_request(mlp_rows(1, 0), 1).dump(), 503, "unloaded");
  post("/v2/repository/models/mlp_extra/load", "", 200);
  EXPECT_EQ(c.Get("/v2/models/mlp_extra/ready")->status, 200);
  post("/v2/repository/models/no_such_model/load", "", 404);
  post("/v2/repository/models/broken/load", "", 400, "failed to load");
}

// Four concurrent one-row requests run as one batch of four (the preferred size), each getting its own rows back.
TEST_F(ServerTest, DynamicBatchingJoinsConcurrentRequests) {
  const double executions_before =
      std::max(0.0, metric(metrics_text(), R"(kestrel_execution_count{model="mlp_batched",version="1"})"));
  constexpr int kClients = 4;
  std::vector<std::future<json>> results;
  for (int i = 0; i < kClients; ++i)
    results.push_back(std::async(std::launch::async, [this, i] {
      return post("/v2/models/mlp_batched/infer", mlp_request(mlp_rows(1, 10.0f * i), 1).dump(), 200);
    }));
  for (int i = 0; i < kClients; ++i) {
    const json res = results[static_cast<size_t>(i)].get();
    EXPECT_EQ(res["outputs"][0]["shape"], json::array({1, kMlpOut}));
    expect_near_all(res["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(mlp_rows(1, 10.0f * i), 1));
  }
  const std::string text = metrics_text();
  EXPECT_EQ(metric(text, R"(kestrel_execution_count{model="mlp_batched",version="1"})") - executions_before, 1);
  EXPECT_EQ(metric(text, R"(kestrel_inference_count{model="mlp_batched",version="1"})"), kClients);
  EXPECT_EQ(metric(text, R"(kestrel_request_success_total{model="mlp_batched",version="1"})"), kClients);
  EXPECT_EQ(metric(text, R"(kestrel_batch_size_bucket{model="mlp_batched",version="1",le="2"})"), 0);
  EXPECT_GE(metric(text, R"(kestrel_batch_size_bucket{model="mlp_batched",version="1",le="4"})"), 1);
  // A request larger than max_batch_size is refused.
  post("/v2/models/mlp_batched/infer", mlp_request(mlp_rows(9, 0), 9).dump(), 400, "max_batch_size");
}

// Requests whose non-batch dims differ are never joined: two of width 2 and two of width 3 make two batches.
TEST_F(ServerTest, DynamicBatchingKeepsShapesApart) {
  const auto request = [](int width, float value) {
    std::vector<float> x(static_cast<size_t>(width), value);
    return json{{"inputs", json::array({{{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, width}}, {"data", x}}})}};
  };
  std::vector<std::future<json>> results;
  const std::vector<std::pair<int, float>> cases = {{2, 1.0f}, {3, 2.0f}, {2, 3.0f}, {3, 4.0f}};
  for (const auto& [width, value] : cases)
    results.push_back(std::async(std::launch::async, [this, &request, width = width, value = value] {
      return post("/v2/models/rowsum_batched/infer", request(width, value).dump(), 200);
    }));
  for (size_t i = 0; i < cases.size(); ++i) {
    const json res = results[i].get();
    EXPECT_EQ(res["outputs"][0]["data"], json::array({cases[i].first * cases[i].second}));
  }
  EXPECT_EQ(metric(metrics_text(), R"(kestrel_execution_count{model="rowsum_batched",version="1"})"), 2);
}

// By default a request alone in the queue is not held for the queue delay (5 s here): it runs at once.
TEST_F(ServerTest, DynamicBatchingRunsLoneRequestAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const json res = post("/v2/models/mlp_lone/infer", mlp_request(mlp_rows(2, 1.0f), 2).dump(), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  expect_near_all(res["outputs"][0]["data"].get<std::vector<float>>(), mlp_expected(mlp_rows(2, 1.0f), 2));
  const std::string text = metrics_text();
  EXPECT_EQ(metric(text, R"(kestrel_execution_count{model="mlp_lone",version="1"})"), 1);
  EXPECT_EQ(metric(text, R"(kestrel_inference_count{model="mlp_lone",version="1"})"), 2);
}

// Without batching, runs take one of instance_count instances (1 here): on the caller's thread for a one-thread
// session, on the instance thread otherwise. Either way a request that finds the instance busy waits for it, in
// order, and times out while waiting when its timeout passes first.
TEST_F(ServerTest, UnbatchedRequestsWaitForAFreeInstance) {
  for (const std::string model : {"loop_single", "loop_single_caller"}) {
    SCOPED_TRACE(model);
    const std::string path = "/v2/models/" + model + "/infer";
  const auto loop_request = [](int64_t iterations, int64_t timeout_us, float start_value) {
    json req = {{"inputs", json::array({{{"name", "M"}, {"datatype", "INT64"}, {"shape", json::array()},
                                         {"data", iterations}},
                                        {{"name", "cond"}, {"datatype", "BOOL"}, {"shape", json::array()},
                                         {"data", true}},
                                        {{"name", "v0"}, {"datatype", "FP32"}, {"shape", {1}},
                                         {"data", {start_value}}}})}};
    if (timeout_us > 0) req["parameters"] = {{"timeout", timeout_us}};
    return req.dump();
  };
    // Holds the only instance until its own timeout (1 s) ends it.
    auto busy = std::async(std::launch::async, [&] {
      return post(path, loop_request(1000000000, 1000000, 0.0f), 504, "timed out");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Times out in the queue (100 ms) while the instance is still busy.
    post(path, loop_request(1, 100000, 0.0f), 504, "waiting in the queue");
    // Waits, then runs once the instance is free.
    const json done = post(path, loop_request(3, 0, 5.0f), 200);
    busy.get();
    EXPECT_EQ(done["outputs"][0]["shape"], json::array({1}));
    const std::string text = metrics_text();
    EXPECT_EQ(metric(text, "kestrel_request_failure_total{model=\"" + model +
                               "\",version=\"1\",reason=\"deadline_exceeded\"}"),
              2);
  }
}

TEST_F(ServerTest, RequestTimeout) {
  const json req = {{"parameters", {{"timeout", 50000}}},
                    {"inputs", json::array({{{"name", "M"}, {"datatype", "INT64"}, {"shape", json::array()}, {"data", 1000000000}},
                                            {{"name", "cond"}, {"datatype", "BOOL"}, {"shape", json::array()}, {"data", true}},
                                            {{"name", "v0"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {0}}}})}};
  const auto start = std::chrono::steady_clock::now();
  post("/v2/models/loop/infer", req.dump(), 504, "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_F(ServerTest, Grpc) {
  auto stub = grpc_stub();
  {
    grpc::ClientContext ctx;
    inference::ServerLiveResponse live;
    ASSERT_TRUE(stub->ServerLive(&ctx, {}, &live).ok());
    EXPECT_TRUE(live.live());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse ready;
    ASSERT_TRUE(stub->ServerReady(&ctx, {}, &ready).ok());
    EXPECT_TRUE(ready.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerMetadataResponse meta;
    ASSERT_TRUE(stub->ServerMetadata(&ctx, {}, &meta).ok());
    EXPECT_EQ(meta.name(), "kestrel");
  }
  {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest req;
    req.set_name("broken");
    inference::ModelReadyResponse ready;
    ASSERT_TRUE(stub->ModelReady(&ctx, req, &ready).ok());
    EXPECT_FALSE(ready.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest req;
    req.set_name("mlp");
    inference::ModelMetadataResponse meta;
    ASSERT_TRUE(stub->ModelMetadata(&ctx, req, &meta).ok());
    ASSERT_EQ(meta.inputs_size(), 1);
    EXPECT_EQ(meta.inputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(meta.inputs(0).shape().begin(), meta.inputs(0).shape().end()),
              (std::vector<int64_t>{-1, kMlpIn}));
  }
  const std::vector<float> x = mlp_rows(2, 7.0f);
  const auto make_request = [&](bool raw) {
    inference::ModelInferRequest req;
    req.set_model_name("mlp");
    req.set_id("g1");
    auto* in = req.add_inputs();
    in->set_name("x");
    in->set_datatype("FP32");
    in->add_shape(2);
    in->add_shape(kMlpIn);
    if (raw)
      req.add_raw_input_contents(raw_floats(x));
    else
      for (float v : x) in->mutable_contents()->add_fp32_contents(v);
    return req;
  };
  for (bool raw : {true, false}) {
    grpc::ClientContext ctx;
    inference::ModelInferResponse res;
    const grpc::Status status = stub->ModelInfer(&ctx, make_request(raw), &res);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(res.id(), "g1");
    ASSERT_EQ(res.outputs_size(), 1);
    EXPECT_EQ(res.outputs(0).name(), "y");
    ASSERT_EQ(res.raw_output_contents_size(), 1);
    expect_near_all(floats_of(res.raw_output_contents(0)), mlp_expected(x, 2));
  }
  {
    grpc::ClientContext ctx;
    inference::ModelInferRequest req = make_request(true);
    req.mutable_inputs(0)->set_shape(1, 5);
    inference::ModelInferResponse res;
    const grpc::Status status = stub->ModelInfer(&ctx, req, &res);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("needs 40 bytes"), std::string::npos) << status.error_message();
  }
  {
    grpc::ClientContext ctx;
    inference::ModelInferRequest req = make_request(false);
    req.set_model_name("nope");
    inference::ModelInferResponse res;
    EXPECT_EQ(stub->ModelInfer(&ctx, req, &res).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    inference::RepositoryIndexResponse index;
    ASSERT_TRUE(stub->RepositoryIndex(&ctx, {}, &index).ok());
    bool saw_broken = false;
    for (const auto& m : index.models())
      if (m.name() == "broken") saw_broken = m.state() == "UNAVAILABLE" && !m.reason().empty();
    EXPECT_TRUE(saw_broken);
  }
}

// resnet18 from the zoo over HTTP, as JSON and as binary data, against the zoo's reference output.
TEST(ServerZooTest, Resnet18MatchesReference) {
  const fs::path dir = fs::path(KESTREL_ZOO_DIR) / "resnet18";
  if (!fs::exists(dir / "model.onnx")) GTEST_SKIP() << "zoo model " << dir << " is absent";
  server::ServerOptions options = test_options("");
  options.models = {"resnet18=" + (dir / "model.onnx").string()};
  options.max_request_bytes = 64 << 20;
  server::Server server(options);
  server.start();
  const Tensor input = read_value_file((dir / "test_data_set_0" / "input_0.pb").string()).value.tensor();
  const Tensor want = read_value_file((dir / "test_data_set_0" / "output_0.pb").string()).value.tensor();
  const std::vector<float> x(input.data<float>(), input.data<float>() + input.size());
  const auto check = [&](const std::vector<float>& got) {
    ASSERT_EQ(static_cast<int64_t>(got.size()), want.size());
    int bad = 0;
    for (size_t i = 0; i < got.size(); ++i)
      if (std::abs(got[i] - want.data<float>()[i]) > 1e-4f + 1e-3f * std::abs(want.data<float>()[i])) ++bad;
    EXPECT_EQ(bad, 0);
  };
  httplib::Client c("127.0.0.1", server.http_port());
  c.set_read_timeout(120, 0);
  auto meta = c.Get("/v2/models/resnet18");
  ASSERT_EQ(meta->status, 200);
  const std::string input_name = json::parse(meta->body)["inputs"][0]["name"];
  const json shape = input.shape();

  const json req = {{"inputs", json::array({{{"name", input_name}, {"datatype", "FP32"}, {"shape", shape}, {"data", x}}})}};
  auto res = c.Post("/v2/models/resnet18/infer", req.dump(), "application/json");
  ASSERT_EQ(res->status, 200) << res->body.substr(0, 200);
  check(json::parse(res->body)["outputs"][0]["data"].get<std::vector<float>>());

  const std::string header =
      json{{"inputs", json::array({{{"name", input_name}, {"datatype", "FP32"}, {"shape", shape},
                                    {"parameters", {{"binary_data_size", x.size() * 4}}}}})},
           {"parameters", {{"binary_data_output", true}}}}
          .dump();
  auto bin = c.Post("/v2/models/resnet18/infer", {{"Inference-Header-Content-Length", std::to_string(header.size())}},
                    header + raw_floats(x), "application/octet-stream");
  ASSERT_EQ(bin->status, 200) << bin->body.substr(0, 200);
  check(floats_of(split_binary(bin).second));
  server.shutdown();
}

// SIGTERM while a request runs: the request is answered, new connections are refused, and the server exits.
TEST(ServerShutdownTest, SigtermDrainsRequestsInFlight) {
  Repository repository;
  repository.add("loop", loop_model());
  server::Server server(test_options(repository.dir.string()));
  server::ShutdownSignal on_signal(server);
  server.start();
  const int port = server.http_port();
  const auto loop_request = [](int64_t iterations) {
    return json{{"inputs", json::array({{{"name", "M"}, {"datatype", "INT64"}, {"shape", json::array()}, {"data", iterations}},
                                        {{"name", "cond"}, {"datatype", "BOOL"}, {"shape", json::array()}, {"data", true}},
                                        {{"name", "v0"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {0}}}})}}
        .dump();
  };
  // Size the request to take about half a second on this machine (and build).
  httplib::Client probe("127.0.0.1", port);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(probe.Post("/v2/models/loop/infer", loop_request(2000), "application/json")->status, 200);
  const double per_iteration = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 2000;
  const int64_t iterations = std::clamp<int64_t>(static_cast<int64_t>(0.5 / per_iteration), 2000, 16000000);

  auto slow = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    auto res = c.Post("/v2/models/loop/infer", loop_request(iterations), "application/json");
    return res ? std::make_pair(res->status, res->body) : std::make_pair(-1, std::string());
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server.metrics().inflight().load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(server.metrics().inflight().load(), 1);
  std::raise(SIGTERM);
  server.wait();
  const auto [status, body] = slow.get();
  EXPECT_EQ(status, 200) << body;
  if (status == 200) {
    EXPECT_EQ(json::parse(body)["outputs"][0]["data"], json::array({static_cast<double>(iterations)}));
  }
  EXPECT_FALSE(server.ready());
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/v2/health/live"));
}

}  // namespace
