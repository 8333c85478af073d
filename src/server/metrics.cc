// Prometheus text rendering of the server's counters and histograms.
#include "server/metrics.h"

#include <cstdio>

namespace kestrel::server {
namespace {

const std::vector<double> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

// Label values escape backslash, quote and newline (the exposition format's rule).
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{" + labels + ",le=\"" + (i < bounds_.size() ? number(bounds_[i]) : "+Inf") + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

struct Metrics::PerModel {
  uint64_t success = 0;
  std::map<std::string, uint64_t> failures;  // by reason
  uint64_t inferences = 0;                   // rows
  uint64_t executions = 0;
  Histogram request{kLatencyBounds}, queue{kLatencyBounds}, compute{kLatencyBounds}, batch{kBatchBounds};
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::PerModel& Metrics::model(const std::string& name, int64_t version) {
  auto& slot = models_[{name, version}];
  if (!slot) slot = std::make_unique<PerModel>();
  return *slot;
}

void Metrics::record_success(const std::string& name, int64_t version, double request_seconds, double queue_seconds,
                             double compute_seconds, int64_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = model(name, version);
  ++m.success;
  m.inferences += static_cast<uint64_t>(rows);
  m.request.observe(request_seconds);
  m.queue.observe(queue_seconds);
  m.compute.observe(compute_seconds);
}

void Metrics::record_failure(const std::string& name, int64_t version, const std::string& reason,
                             double request_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = model(name, version);
  ++m.failures[reason];
  m.request.observe(request_seconds);
}

void Metrics::record_execution(const std::string& name, int64_t version, int64_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = model(name, version);
  ++m.executions;
  m.batch.observe(static_cast<double>(rows));
}

uint64_t Metrics::executions(const std::string& name, int64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = models_.find({name, version});
  return it == models_.end() ? 0 : it->second->executions;
}

uint64_t Metrics::successes(const std::string& name, int64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = models_.find({name, version});
  return it == models_.end() ? 0 : it->second->success;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  const auto labels = [](const auto& key) {
    return "model=\"" + escape(key.first) + "\",version=\"" + std::to_string(key.second) + "\"";
  };
  const auto counter = [&](const char* name, const char* help, auto get) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [key, m] : models_) out += std::string(name) + "{" + labels(key) + "} " + std::to_string(get(*m)) + "\n";
  };
  counter("kestrel_request_success_total", "Inference requests that succeeded.", [](const PerModel& m) { return m.success; });
  out += "# HELP kestrel_request_failure_total Inference requests that failed, by reason.\n"
         "# TYPE kestrel_request_failure_total counter\n";
  for (const auto& [key, m] : models_)
    for (const auto& [reason, count] : m->failures)
      out += "kestrel_request_failure_total{" + labels(key) + ",reason=\"" + reason + "\"} " + std::to_string(count) + "\n";
  counter("kestrel_inference_count", "Rows (first-dim items) inferred by successful requests.",
          [](const PerModel& m) { return m.inferences; });
  counter("kestrel_execution_count", "Model executions (Session::run calls); batching makes them fewer than requests.",
          [](const PerModel& m) { return m.executions; });
  const auto histogram = [&](const char* name, const char* help, auto get) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    for (const auto& [key, m] : models_) get(*m).render(name, labels(key), out);
  };
  histogram("kestrel_request_duration_seconds", "Time from receiving a decoded request to its result.",
            [](const PerModel& m) -> const Histogram& { return m.request; });
  histogram("kestrel_queue_duration_seconds", "Time a request waited for an instance or a batch.",
            [](const PerModel& m) -> const Histogram& { return m.queue; });
  histogram("kestrel_compute_duration_seconds", "Time of the model execution a request was part of.",
            [](const PerModel& m) -> const Histogram& { return m.compute; });
  histogram("kestrel_batch_size", "Rows per model execution.", [](const PerModel& m) -> const Histogram& { return m.batch; });
  out += "# HELP kestrel_inflight_requests Inference requests being processed.\n# TYPE kestrel_inflight_requests gauge\n";
  out += "kestrel_inflight_requests " + std::to_string(inflight_.load()) + "\n";
  return out;
}

}  // namespace kestrel::server
