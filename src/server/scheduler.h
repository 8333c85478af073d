// Runs a model's requests, at most instance_count at once.
//
// Without dynamic batching, a model whose session runs on one intra-op thread runs each request on the caller's own
// thread (the HTTP or gRPC handler thread) as soon as one of the instance_count slots is free; callers that find
// every slot busy wait in FIFO order and the slot is handed to the first of them when a run ends. Running on the
// caller's thread costs no thread hand-off: the request goes from the socket to Session::run and back without
// waking another thread. A session with more intra-op threads runs its requests one at a time on each of
// instance_count instance threads instead: the OpenMP runtime keeps a thread team per calling thread, and one team
// per handler thread puts more OpenMP threads than cores in the process, where the runtime stops spinning between
// parallel regions and every region pays a sleep and a wake-up (bert_mini at 2 threads and 32 concurrent clients:
// 2.6 ms of such waits per 2 ms run).
//
// With dynamic batching, instance_count instance threads join queued requests along their first dim into one run
// of up to max_batch_size rows and split the outputs back. Only requests with the same inputs, element types and
// non-batch dims are joined. A batch launches when it reaches the largest preferred size (max_batch_size without
// preferences), when its oldest request has waited max_queue_delay_microseconds, or at once when that request is
// alone in the queue: a lone request has nobody to wait for, and holding it would only add the delay to its latency
// (requests that arrive while a batch runs queue together and are joined). delay_lone_requests restores the
// always-wait behaviour.
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
  // Runs what is queued, then stops the instance threads. Callers must have returned from run().
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  bool batching() const { return batching_; }

  // Runs one request whose feeds were checked against the model's inputs; blocks until its outputs are ready.
  // Throws RequestError for batch dims that break the config, kestrel::Error from the run itself.
  ScheduledResult run(Feeds feeds, std::optional<Clock::time_point> deadline);

 private:
  struct Job;
  struct Waiter;
  ScheduledResult run_on_caller(Feeds feeds, std::optional<Clock::time_point> deadline);
  // Queues `job` for the instance threads and waits for its result.
  ScheduledResult enqueue(std::unique_ptr<Job> job, Feeds feeds, std::optional<Clock::time_point> deadline);
  void release_slot();
  void instance_loop();
  // Runs `jobs` as one Session::run (joined along dim 0 when there are several) started at `started`, and returns
  // each job's result; throws what the run throws.
  std::vector<ScheduledResult> execute(const std::vector<std::unique_ptr<Job>>& jobs, Clock::time_point started);
  void execute_batch(std::vector<std::unique_ptr<Job>> jobs);

  std::shared_ptr<const Session> session_;
  ModelConfig config_;
  Watchdog& watchdog_;
  ExecutionObserver observer_;
  bool batching_ = false;
  bool on_instance_threads_ = false;  // batching, or a multi-threaded session: runs go to instance threads

  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<std::unique_ptr<Job>> queue_;   // instance threads: FIFO of waiting requests
  bool forming_ = false;                    // batching: an instance thread is choosing the next batch
  int busy_slots_ = 0;                      // without batching: runs in progress on callers' threads
  std::list<Waiter*> waiters_;              // without batching: callers waiting for a slot, FIFO
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kestrel::server
