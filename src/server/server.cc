// The server's life cycle and its protocol-neutral inference operation.
#include "server/server.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <set>

#include "server/grpc_endpoint.h"
#include "server/http_endpoint.h"
#include "server/tensor_codec.h"

namespace kestrel::server {
namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const char* severity_name(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kVerbose: return "verbose";
    case LogSeverity::kInfo: return "info";
    case LogSeverity::kWarning: return "warning";
    case LogSeverity::kError: return "error";
    case LogSeverity::kFatal: return "fatal";
  }
  return "info";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buffer;
}

const IoInfo* find_io(const std::vector<IoInfo>& list, const std::string& name) {
  for (const IoInfo& io : list)
    if (io.name == name) return &io;
  return nullptr;
}

std::string names_of(const std::vector<IoInfo>& list) {
  std::string out;
  for (const IoInfo& io : list) out += (out.empty() ? "'" : ", '") + io.name + "'";
  return out;
}

std::string datatype_or_type(const TypeInfo& type) {
  if (type.kind != TypeInfo::Kind::kTensor) return type.to_string();
  try {
    return datatype_of(type.element_type);
  } catch (const RequestError&) {
    return element_type_name(type.element_type);
  }
}

// Checks the request's inputs against the model's declared inputs and turns them into feeds.
Feeds checked_feeds(const LoadedModel& model, std::vector<std::pair<std::string, Tensor>>& inputs) {
  const Session& session = *model.session;
  Feeds feeds;
  std::set<std::string> seen;
  for (auto& [name, tensor] : inputs) {
    const IoInfo* io = find_io(session.inputs(), name);
    if (!io) io = find_io(session.overridable_initializers(), name);
    if (!io)
      throw RequestError(Status::kInvalidArgument, "model '" + model.name + "' has no input '" + name +
                                                       "'; its inputs are " + names_of(session.inputs()));
    if (!seen.insert(name).second)
      throw RequestError(Status::kInvalidArgument, "input '" + name + "' is given twice");
    if (io->type.kind != TypeInfo::Kind::kTensor)
      throw RequestError(Status::kInvalidArgument, "input '" + name + "' is a " + io->type.to_string() +
                                                       "; the protocol carries tensors only");
    if (tensor.type() != io->type.element_type)
      throw RequestError(Status::kInvalidArgument, "input '" + name + "': datatype " + datatype_of(tensor.type()) +
                                                       " does not match the model's " + datatype_or_type(io->type));
    if (io->type.shape) {
      const std::vector<Dim>& dims = *io->type.shape;
      bool fits = dims.size() == tensor.rank();
      for (size_t i = 0; fits && i < dims.size(); ++i)
        if (dims[i].fixed() && dims[i].value != tensor.dim(i)) fits = false;
      if (!fits)
        throw RequestError(Status::kInvalidArgument, "input '" + name + "': shape " +
                                                         shape_to_string(tensor.shape()) +
                                                         " does not match the model's " + io->type.shape_string());
    }
    feeds.emplace_back(name, std::move(tensor));
  }
  for (const IoInfo& io : session.inputs())
    if (!seen.count(io.name)) throw RequestError(Status::kInvalidArgument, "missing input '" + io.name + "'");
  return feeds;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  repository_ = std::make_unique<ModelRepository>(options_.model_repository, options_.models, watchdog_, metrics_);
}

Server::~Server() { shutdown(); }

std::vector<std::string> Server::extensions() {
  return {"binary_tensor_data", "model_repository", "schedule_policy", "statistics_metrics"};
}

void Server::log(LogSeverity severity, nlohmann::json line) {
  if (!logs(severity)) return;
  nlohmann::json out = {{"time", utc_now()}, {"level", severity_name(severity)}};
  out.update(line);
  const std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(log_mutex_);
  std::ostream& stream = options_.log ? *options_.log : std::cerr;
  stream << text << '\n';
  stream.flush();
}

void Server::start() {
  if (started_) return;
  repository_->load_all();
  for (const ModelStatus& status : repository_->index()) {
    if (status.state == ModelState::kReady)
      log(LogSeverity::kInfo, {{"event", "model_ready"}, {"model", status.name}, {"versions", status.versions}});
    else
      log(LogSeverity::kError, {{"event", "model_unavailable"}, {"model", status.name}, {"reason", status.reason}});
  }
  if (options_.http_port >= 0) {
    http_ = std::make_unique<HttpEndpoint>(*this);
    http_port_ = http_->start(options_.host, options_.http_port);
  }
  if (options_.grpc_port >= 0) {
    grpc_ = std::make_unique<GrpcEndpoint>(*this);
    grpc_port_ = grpc_->start(options_.host, options_.grpc_port);
  }
  if (options_.metrics_port >= 0) {
    metrics_http_ = std::make_unique<MetricsEndpoint>(*this);
    metrics_port_ = metrics_http_->start(options_.host, options_.metrics_port);
  }
  started_ = true;
  log(LogSeverity::kInfo, {{"event", "listening"}, {"http_port", http_port_}, {"grpc_port", grpc_port_},
                           {"metrics_port", metrics_port_}});
}

void Server::shutdown() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  if (stopped_ || !started_) {
    stopped_ = true;
    stopped_cv_.notify_all();
    return;
  }
  if (draining_) {  // another thread is stopping the server: wait for it
    stopped_cv_.wait(lock, [&] { return stopped_.load(); });
    return;
  }
  draining_ = true;
  lock.unlock();
  log(LogSeverity::kInfo, {{"event", "shutting_down"}, {"inflight", metrics_.inflight().load()}});
  // Each endpoint stops accepting and returns once its requests in flight have been answered.
  if (http_) http_->stop();
  if (grpc_) grpc_->stop();
  if (metrics_http_) metrics_http_->stop();
  repository_->unload_all();
  log(LogSeverity::kInfo, {{"event", "stopped"}});
  lock.lock();
  stopped_ = true;
  stopped_cv_.notify_all();
}

void Server::wait() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  stopped_cv_.wait(lock, [&] { return stopped_.load(); });
}

InferResponse Server::infer(InferRequest request) {
  const auto start = Clock::now();
  if (draining_) throw RequestError(Status::kUnavailable, "the server is shutting down");
  struct Inflight {
    std::atomic<int64_t>& count;
    explicit Inflight(std::atomic<int64_t>& c) : count(c) { ++count; }
    ~Inflight() { --count; }
  } inflight(metrics_.inflight());
  if (inflight.count.load() > options_.max_inflight_requests)
    throw RequestError(Status::kResourceExhausted, "too many requests in flight (limit " +
                                                       std::to_string(options_.max_inflight_requests) + ")");
  std::shared_ptr<const LoadedModel> model = repository_->find(request.model, request.version);
  std::optional<Clock::time_point> deadline;
  if (request.timeout_microseconds && *request.timeout_microseconds > 0)
    deadline = start + std::chrono::microseconds(*request.timeout_microseconds);
  else if (options_.request_timeout_ms > 0)
    deadline = start + std::chrono::milliseconds(options_.request_timeout_ms);
  try {
    const Session& session = *model->session;
    for (const std::string& name : request.outputs)
      if (!find_io(session.outputs(), name))
        throw RequestError(Status::kInvalidArgument, "model '" + model->name + "' has no output '" + name +
                                                         "'; its outputs are " + names_of(session.outputs()));
    Feeds feeds = checked_feeds(*model, request.inputs);
    ScheduledResult result = model->scheduler->run(std::move(feeds), deadline);
    InferResponse response;
    response.model = model->name;
    response.version = model->version;
    response.id = request.id;
    for (size_t i = 0; i < session.outputs().size(); ++i) {
      const std::string& name = session.outputs()[i].name;
      if (request.outputs.empty() ||
          std::find(request.outputs.begin(), request.outputs.end(), name) != request.outputs.end())
        response.outputs.emplace_back(name, std::move(result.outputs[i]));
    }
    metrics_.record_success(model->name, model->version, seconds_since(start), result.queue_seconds,
                            result.compute_seconds, result.rows);
    return response;
  } catch (const RequestError& e) {
    metrics_.record_failure(model->name, model->version, status_name(e.status()), seconds_since(start));
    throw;
  } catch (const Error& e) {
    Status status = Status::kInternal;
    std::string message = e.what();
    if (e.code() == ErrorCode::kInvalidArgument) status = Status::kInvalidArgument;
    if (e.code() == ErrorCode::kRuntimeException && deadline && Clock::now() >= *deadline) {
      status = Status::kDeadlineExceeded;
      message = "the request timed out while running: " + message;
    }
    metrics_.record_failure(model->name, model->version, status_name(status), seconds_since(start));
    throw RequestError(status, message);
  } catch (const std::exception& e) {
    metrics_.record_failure(model->name, model->version, status_name(Status::kInternal), seconds_since(start));
    throw RequestError(Status::kInternal, e.what());
  }
}

int http_status(Status status) {
  switch (status) {
    case Status::kInvalidArgument: return 400;
    case Status::kNotFound: return 404;
    case Status::kUnavailable: return 503;
    case Status::kResourceExhausted: return 429;
    case Status::kDeadlineExceeded: return 504;
    case Status::kInternal: return 500;
  }
  return 500;
}

const char* status_name(Status status) {
  switch (status) {
    case Status::kInvalidArgument: return "invalid_argument";
    case Status::kNotFound: return "not_found";
    case Status::kUnavailable: return "unavailable";
    case Status::kResourceExhausted: return "resource_exhausted";
    case Status::kDeadlineExceeded: return "deadline_exceeded";
    case Status::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace kestrel::server
