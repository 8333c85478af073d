// Unbatched and dynamically batched execution of a model's requests.
#include "server/scheduler.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <stdexcept>

#include "server/request_error.h"

namespace kestrel::server {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Requests may share a batch when they feed the same inputs with the same element types and non-batch dims.
std::string batch_key(const Feeds& feeds) {
  std::string key;
  for (const auto& [name, value] : feeds) {
    const Tensor& t = value.tensor();
    key += name;
    key += '\0';
    key += std::to_string(static_cast<int>(t.type()));
    for (size_t i = 1; i < t.rank(); ++i) key += "," + std::to_string(t.dim(i));
    key += ';';
  }
  return key;
}

// The rows of an unbatched request, for metrics: its first input's first dim (1 for a scalar or no inputs).
int64_t leading_rows(const Feeds& feeds) {
  return !feeds.empty() && feeds[0].second.tensor().rank() > 0 ? feeds[0].second.tensor().dim(0) : 1;
}

}  // namespace

// A caller waiting for a free slot (without batching); release_slot() hands the slot over by setting `granted`.
struct Scheduler::Waiter {
  std::condition_variable granted_cv;
  bool granted = false;
};

struct Scheduler::Job {
  Feeds feeds;  // sorted by name
  int64_t rows = 0;
  std::string key;
  Clock::time_point enqueued;
  std::optional<Clock::time_point> deadline;
  std::promise<ScheduledResult> done;
};

Scheduler::Scheduler(std::shared_ptr<const Session> session, const ModelConfig& config, Watchdog& watchdog,
                     ExecutionObserver observer)
    : session_(std::move(session)), config_(config), watchdog_(watchdog), observer_(std::move(observer)) {
  if (config_.dynamic_batching) {
    for (const IoInfo& input : session_->inputs()) {
      const auto& shape = input.type.shape;
      if (input.type.kind != TypeInfo::Kind::kTensor || !shape || shape->empty() || (*shape)[0].fixed())
        throw std::runtime_error("dynamic_batching needs a dynamic first dim on every input; input '" + input.name +
                                 "' is " + input.type.to_string() + " " + input.type.shape_string());
    }
    batching_ = true;
  }
  on_instance_threads_ = batching_ || config_.session.intra_op_num_threads != 1;
  if (on_instance_threads_)
    for (int i = 0; i < config_.instance_count; ++i) threads_.emplace_back([this] { instance_loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

ScheduledResult Scheduler::run(Feeds feeds, std::optional<Clock::time_point> deadline) {
  const int64_t max_rows = config_.max_batch_size;
  if (!batching_) {
    for (const auto& [name, value] : feeds) {
      const Tensor& t = value.tensor();
      if (max_rows > 0 && t.rank() > 0 && t.dim(0) > max_rows)
        throw RequestError(Status::kInvalidArgument, "input '" + name + "': batch size " + std::to_string(t.dim(0)) +
                                                         " exceeds max_batch_size " + std::to_string(max_rows));
    }
    if (!on_instance_threads_) return run_on_caller(std::move(feeds), deadline);
    auto job = std::make_unique<Job>();
    job->rows = leading_rows(feeds);
    return enqueue(std::move(job), std::move(feeds), deadline);
  }
  auto job = std::make_unique<Job>();
  for (const auto& [name, value] : feeds) {
    const Tensor& t = value.tensor();
    if (t.rank() == 0)
      throw RequestError(Status::kInvalidArgument, "input '" + name + "' is a scalar; this model batches along dim 0");
    if (job->rows == 0) job->rows = t.dim(0);
    if (t.dim(0) != job->rows)
      throw RequestError(Status::kInvalidArgument, "input '" + name + "' has batch size " + std::to_string(t.dim(0)) +
                                                       ", other inputs have " + std::to_string(job->rows));
  }
  if (job->rows < 1 || job->rows > max_rows)
    throw RequestError(Status::kInvalidArgument, "batch size " + std::to_string(job->rows) +
                                                     " is outside [1, max_batch_size " + std::to_string(max_rows) +
                                                     "]");
  std::sort(feeds.begin(), feeds.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  job->key = batch_key(feeds);
  return enqueue(std::move(job), std::move(feeds), deadline);
}

ScheduledResult Scheduler::enqueue(std::unique_ptr<Job> job, Feeds feeds, std::optional<Clock::time_point> deadline) {
  job->feeds = std::move(feeds);
  job->enqueued = Clock::now();
  job->deadline = deadline;
  std::future<ScheduledResult> result = job->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw RequestError(Status::kUnavailable, "the model is being unloaded");
    queue_.push_back(std::move(job));
  }
  wake_.notify_all();
  return result.get();
}

ScheduledResult Scheduler::run_on_caller(Feeds feeds, std::optional<Clock::time_point> deadline) {
  auto job = std::make_unique<Job>();
  job->rows = leading_rows(feeds);
  job->feeds = std::move(feeds);
  job->enqueued = Clock::now();
  job->deadline = deadline;
  const auto timed_out = [] {
    return RequestError(Status::kDeadlineExceeded, "the request timed out waiting in the queue");
  };
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) throw RequestError(Status::kUnavailable, "the model is being unloaded");
    if (busy_slots_ < config_.instance_count && waiters_.empty()) {
      ++busy_slots_;
    } else {
      Waiter waiter;
      const auto position = waiters_.insert(waiters_.end(), &waiter);
      const auto granted = [&] { return waiter.granted; };
      if (!deadline) {
        waiter.granted_cv.wait(lock, granted);
      } else if (!waiter.granted_cv.wait_until(lock, *deadline, granted)) {
        waiters_.erase(position);
        throw timed_out();
      }
    }
  }
  struct Slot {
    Scheduler& scheduler;
    ~Slot() { scheduler.release_slot(); }
  } slot{*this};
  const auto started = Clock::now();
  if (deadline && started >= *deadline) throw timed_out();
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.push_back(std::move(job));
  return std::move(execute(jobs, started)[0]);
}

void Scheduler::release_slot() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (waiters_.empty()) {
    --busy_slots_;
    return;
  }
  // The slot passes straight to the longest waiter. Notified under the lock: once it sees `granted` the waiter may
  // return, and its condition variable with it.
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;
  next->granted_cv.notify_one();
}

void Scheduler::instance_loop() {
  const DynamicBatching batching = config_.dynamic_batching.value_or(DynamicBatching{});
  const auto delay = std::chrono::microseconds(batching.max_queue_delay_microseconds);
  const int64_t max_rows = config_.max_batch_size;
  // Launch at once when the batch reaches the largest preferred size (or max_batch_size without preferences).
  const int64_t launch_rows = batching.preferred_batch_sizes.empty() ? max_rows : batching.preferred_batch_sizes.back();
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return (!queue_.empty() && !forming_) || (stopping_ && queue_.empty()); });
    if (queue_.empty()) return;  // stopping and drained
    if (!batching_) {  // a multi-threaded session without batching: one request per run, in arrival order
      std::vector<std::unique_ptr<Job>> jobs;
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
      lock.unlock();
      execute_batch(std::move(jobs));
      lock.lock();
      continue;
    }
    forming_ = true;
    std::vector<std::list<std::unique_ptr<Job>>::iterator> chosen;
    while (true) {
      // The oldest request decides which requests fit with it; others of the same kind join in FIFO order.
      chosen.clear();
      const Job& head = *queue_.front();
      int64_t rows = 0;
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if ((*it)->key != head.key) continue;
        if (rows + (*it)->rows > max_rows) break;
        rows += (*it)->rows;
        chosen.push_back(it);
      }
      const auto launch_by = head.enqueued + delay;
      const bool lone = queue_.size() == 1 && !batching.delay_lone_requests;
      if (rows >= launch_rows || stopping_ || lone || Clock::now() >= launch_by) {
        // Past the delay, prefer the longest prefix that makes a preferred size.
        if (rows < launch_rows && !batching.preferred_batch_sizes.empty()) {
          int64_t prefix = 0;
          size_t keep = chosen.size();
          std::vector<int64_t> sums;
          for (auto& it : chosen) sums.push_back(prefix += (*it)->rows);
          for (size_t n = sums.size(); n > 0; --n) {
            if (std::binary_search(batching.preferred_batch_sizes.begin(), batching.preferred_batch_sizes.end(),
                                   sums[n - 1])) {
              keep = n;
              break;
            }
          }
          chosen.resize(keep);
        }
        break;
      }
      wake_.wait_until(lock, launch_by);
    }
    std::vector<std::unique_ptr<Job>> jobs;
    for (auto& it : chosen) {
      jobs.push_back(std::move(*it));
      queue_.erase(it);
    }
    forming_ = false;
    lock.unlock();
    wake_.notify_all();
    execute_batch(std::move(jobs));
    lock.lock();
  }
}

std::vector<ScheduledResult> Scheduler::execute(const std::vector<std::unique_ptr<Job>>& jobs,
                                                Clock::time_point started) {
  int64_t rows = 0;
  for (const auto& job : jobs) rows += job->rows;
  Feeds feeds;
  if (jobs.size() == 1) {
    feeds = jobs[0]->feeds;
  } else {
    for (size_t k = 0; k < jobs[0]->feeds.size(); ++k) {
      const Tensor& first = jobs[0]->feeds[k].second.tensor();
      Shape shape = first.shape();
      shape[0] = rows;
      Tensor joined(first.type(), shape);
      if (first.type() == ElementType::kString) {
        std::string* out = joined.data<std::string>();
        for (const auto& job : jobs) {
          const Tensor& part = job->feeds[k].second.tensor();
          std::copy(part.data<std::string>(), part.data<std::string>() + part.size(), out);
          out += part.size();
        }
      } else {
        char* out = static_cast<char*>(joined.raw_data());
        for (const auto& job : jobs) {
          const Tensor& part = job->feeds[k].second.tensor();
          if (part.bytes() > 0) std::memcpy(out, part.raw_data(), part.bytes());
          out += part.bytes();
        }
      }
      feeds.emplace_back(jobs[0]->feeds[k].first, std::move(joined));
    }
  }
  // A joined run is cut short only when every request in it has run out of time.
  std::optional<Clock::time_point> deadline;
  bool all_have_deadlines = true;
  for (const auto& job : jobs) {
    if (!job->deadline) all_have_deadlines = false;
    else if (!deadline || *job->deadline > *deadline) deadline = job->deadline;
  }
  if (!all_have_deadlines) deadline.reset();
  RunOptions run_options;
  ArmedRun armed(watchdog_, deadline, run_options);
  std::vector<Value> outputs = session_->run(feeds, {}, run_options);
  const double compute = seconds_between(started, Clock::now());
  if (observer_) observer_(rows);

  std::vector<ScheduledResult> results(jobs.size());
  if (jobs.size() == 1) {  // a request run on its own keeps its outputs whole, whatever their shapes
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (!outputs[o].is_tensor())
        throw RequestError(Status::kInternal, "output '" + session_->outputs()[o].name +
                                                  "' is not a tensor; the protocol carries tensors only");
      results[0].outputs.push_back(std::move(outputs[o].tensor()));
    }
  }
  for (size_t o = 0; jobs.size() > 1 && o < outputs.size(); ++o) {
    const std::string& name = session_->outputs()[o].name;
    if (!outputs[o].is_tensor())
      throw RequestError(Status::kInternal, "output '" + name + "' is not a tensor; the protocol carries tensors only");
    const Tensor& out = outputs[o].tensor();
    if (out.rank() == 0 || out.dim(0) != rows)
      throw RequestError(Status::kInternal, "output '" + name + "' has shape " + shape_to_string(out.shape()) +
                                                ", whose first dim is not the batch's " + std::to_string(rows) +
                                                " rows: this model cannot use dynamic_batching");
    const size_t row_bytes = rows > 0 ? out.bytes() / static_cast<size_t>(rows) : 0;
    const int64_t row_elements = out.size() / rows;
    auto whole = std::make_shared<Tensor>(out);
    int64_t row = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
      Shape shape = out.shape();
      shape[0] = jobs[j]->rows;
      if (out.type() == ElementType::kString) {
        Tensor part(out.type(), shape);
        const std::string* from = out.data<std::string>() + row * row_elements;
        std::copy(from, from + part.size(), part.data<std::string>());
        results[j].outputs.push_back(std::move(part));
      } else {
        // Each request's rows are a view into the batch's output, kept alive by whichever request lives longest.
        char* base = static_cast<char*>(const_cast<void*>(whole->raw_data())) + static_cast<size_t>(row) * row_bytes;
        results[j].outputs.push_back(Tensor::adopt(out.type(), shape, std::shared_ptr<void>(whole, base)));
      }
      row += jobs[j]->rows;
    }
  }
  for (size_t j = 0; j < jobs.size(); ++j) {
    results[j].rows = jobs[j]->rows;
    results[j].batch_rows = rows;
    results[j].queue_seconds = seconds_between(jobs[j]->enqueued, started);
    results[j].compute_seconds = compute;
  }
  return results;
}

void Scheduler::execute_batch(std::vector<std::unique_ptr<Job>> jobs) {
  const auto started = Clock::now();
  // Requests whose timeout passed while they waited are answered without running.
  std::erase_if(jobs, [&](std::unique_ptr<Job>& job) {
    if (job->deadline && started >= *job->deadline) {
      job->done.set_exception(std::make_exception_ptr(
          RequestError(Status::kDeadlineExceeded, "the request timed out waiting in the queue")));
      return true;
    }
    return false;
  });
  if (jobs.empty()) return;
  try {
    std::vector<ScheduledResult> results = execute(jobs, started);
    for (size_t j = 0; j < jobs.size(); ++j) jobs[j]->done.set_value(std::move(results[j]));
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    for (auto& job : jobs) job->done.set_exception(error);
  }
}

}  // namespace kestrel::server
