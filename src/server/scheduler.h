// Runs a model's requests on instance_count instance threads: each request on its own, or with dynamic batching,
// where queued requests are joined along their first dim into one run of up to max_batch_size rows and the outputs
// are split back. Only requests with the same inputs, element types and non-batch dims are joined. Runs happen on
// the instance threads rather than the callers' (the HTTP and gRPC handler threads): the OpenMP runtime keeps one
// thread team per calling thread, so a few stable callers keep a few warm teams.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kestrel/session.h"
#include "server/model_config.h"
#include "server/watchdog.h"

namespace kestrel::server {

struct ScheduledResult {
  std::vector<Tensor> outputs;  // every output of the model, in the session's order
  int64_t rows = 1;             // this request's rows (its first dim; 1 for a model run on its own without one)
  int64_t batch_rows = 0;       // rows of the run this request was part of (its own rows when not batched)
  double queue_seconds = 0;     // waiting for an instance or for a batch to form
  double compute_seconds = 0;   // Session::run of the (joined) run
};

class Scheduler {
 public:
  // Called once per Session::run with the rows it processed (for batching and execution metrics).
  using ExecutionObserver = std::function<void(int64_t rows)>;

  // Throws std::runtime_error when the config asks for batching a model whose inputs have a fixed first dim.
  Scheduler(std::shared_ptr<const Session> session, const ModelConfig& config, Watchdog& watchdog,
            ExecutionObserver observer);
  // Runs what is queued, then stops the batching threads.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  bool batching() const { return batching_; }

  // Runs one request whose feeds were checked against the model's inputs; blocks until its outputs are ready.
  // Throws RequestError for batch dims that break the config, kestrel::Error from the run itself.
  ScheduledResult run(Feeds feeds, std::optional<Clock::time_point> deadline);

 private:
  struct Job;
  void instance_loop();
  void execute_batch(std::vector<std::unique_ptr<Job>> jobs);

  std::shared_ptr<const Session> session_;
  ModelConfig config_;
  Watchdog& watchdog_;
  ExecutionObserver observer_;
  bool batching_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<std::unique_ptr<Job>> queue_;   // FIFO of waiting requests
  bool forming_ = false;                    // an instance thread is choosing the next batch
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kestrel::server
