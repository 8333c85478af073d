// Prometheus metrics of the server, per model and version, rendered in the text exposition format:
//   kestrel_request_success_total, kestrel_request_failure_total{reason}, kestrel_inference_count (rows inferred),
//   kestrel_execution_count (Session::run calls: fewer than requests when batching joins them),
//   kestrel_request_duration_seconds, kestrel_queue_duration_seconds, kestrel_compute_duration_seconds (histograms),
//   kestrel_batch_size (histogram of rows per execution), kestrel_inflight_requests (gauge, whole server).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kestrel::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  // Appends NAME_bucket/_sum/_count lines with `labels` ("model=\"m\",version=\"1\"").
  void render(const std::string& name, const std::string& labels, std::string& out) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  void record_success(const std::string& model, int64_t version, double request_seconds, double queue_seconds,
                      double compute_seconds, int64_t rows);
  void record_failure(const std::string& model, int64_t version, const std::string& reason, double request_seconds);
  void record_execution(const std::string& model, int64_t version, int64_t rows);

  std::atomic<int64_t>& inflight() { return inflight_; }
  std::string render() const;

  // For tests and the benchmark: executions and successful requests of a model so far.
  uint64_t executions(const std::string& model, int64_t version) const;
  uint64_t successes(const std::string& model, int64_t version) const;

 private:
  struct PerModel;
  PerModel& model(const std::string& name, int64_t version);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<PerModel>> models_;
  std::atomic<int64_t> inflight_{0};
};

}  // namespace kestrel::server
