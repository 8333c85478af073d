// The sequential executor, its frames and the KernelContext it hands to kernels.
#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/log.h"
#include "runtime/profiler.h"
#include "runtime/tensor_limit.h"

namespace kestrel::runtime {
namespace {

// A 64-byte aligned heap block, not zero-filled (the arena is off).
std::shared_ptr<void> allocate_unfilled(size_t bytes) {
  const size_t padded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, padded);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

bool same_shape(const Shape& a, std::span<const int64_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

class StepContext final : public KernelContext {
 public:
  StepContext(const Plan& plan, const Step& step, Frame& frame, const RunContext& run)
      : plan_(plan), step_(step), index_(static_cast<int>(&step - plan.steps.data())), frame_(frame), run_(run) {}

  size_t num_inputs() const override { return step_.inputs.size(); }
  size_t num_outputs() const override { return step_.outputs.size(); }
  bool has_input(size_t i) const override {
    return i < step_.inputs.size() && step_.inputs[i] >= 0 && frame_.present[step_.inputs[i]];
  }
  const Value& input_value(size_t i) const override {
    if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
    return frame_.slots[step_.inputs[i]];
  }
  bool has_output(size_t i) const override { return i < step_.outputs.size() && step_.outputs[i] >= 0; }
  void set_output(size_t i, Value value) override {
    if (i >= step_.outputs.size()) fail("kernel wrote output " + std::to_string(i) + " which the node lacks");
    if (step_.outputs[i] < 0) {  // omitted optional output: kept aside, then dropped
      scratch_ = std::move(value);
      return;
    }
    frame_.slots[step_.outputs[i]] = std::move(value);
    frame_.present[step_.outputs[i]] = 1;
  }
  Tensor& allocate_output(size_t i, ElementType type, Shape shape) override {
    return allocate(i, type, shape, true);
  }
  Tensor& allocate_uninitialized_output(size_t i, ElementType type, Shape shape) override {
    return allocate(i, type, shape, false);
  }
  Tensor& allocate_output_dims(size_t i, ElementType type, std::span<const int64_t> shape) override {
    return allocate(i, type, shape, true);
  }
  Tensor& allocate_uninitialized_output_dims(size_t i, ElementType type, std::span<const int64_t> shape) override {
    return allocate(i, type, shape, false);
  }
  Tensor& set_output_view(size_t i, const Tensor& source, std::span<const int64_t> shape) override {
    Tensor& out = writable(i).tensor_in_place();
    out.view_in_place(source, shape);
    return out;
  }
  bool may_alias_output(size_t i) const override { return i < step_.may_alias.size() && step_.may_alias[i]; }
  Tensor* reuse_input_as_output(size_t input, size_t output, std::span<const int64_t> shape) override {
    if (input >= step_.overwritable.size() || !step_.overwritable[input] || !has_input(input) ||
        !has_output(output) || !may_alias_output(output))
      return nullptr;
    const Value& in = frame_.slots[step_.inputs[input]];
    // Sole ownership rules out every other holder: a view in a slot still alive, a sequence's item, a tensor
    // the caller fed, an output of an earlier run.
    if (!in.is_tensor() || !in.tensor().owns_data_alone()) return nullptr;
    return &set_output_view(output, in.tensor(), shape);
  }
  Value& output_value(size_t i) override {
    if (!has_output(i)) return scratch_;
    return frame_.slots[step_.outputs[i]];
  }
  std::vector<Value> run_subgraph(const Plan& plan, std::vector<Value> inputs) const override {
    RunContext inner = run_;
    inner.inter_op = nullptr;  // subgraphs run step after step on the thread of their node
    inner.plan_memory = false;
    return execute(plan, std::move(inputs), &frame_.slots, inner);
  }
  int intra_op_threads() const override { return run_.intra_op_threads; }
  bool terminated() const override { return run_.terminate && run_.terminate->load(std::memory_order_relaxed); }
  const ir::Node& node() const override { return *step_.node; }

 private:
  // The value output i is written to, marked present.
  Value& writable(size_t i) {
    if (i >= step_.outputs.size()) fail("kernel wrote output " + std::to_string(i) + " which the node lacks");
    if (step_.outputs[i] < 0) return scratch_;
    frame_.present[step_.outputs[i]] = 1;
    return frame_.slots[step_.outputs[i]];
  }

  Tensor& allocate(size_t i, ElementType type, std::span<const int64_t> shape, bool zero_fill) {
    // The session's limit travels with the run, so an output allocated on any thread (a kernel's OpenMP worker)
    // is held to it, not only those allocated on the thread that called Session::run.
    const ScopedTensorLimit limit(run_.max_tensor_bytes);
    if (type == ElementType::kString)
      return KernelContext::allocate_output(i, type, Shape(shape.begin(), shape.end()));
    if (has_output(i)) {
      const Tensor* bound = frame_.bound[step_.outputs[i]];
      if (bound && bound->type() == type && same_shape(bound->shape(), shape)) {
        Tensor& out = writable(i).tensor_in_place();
        out = *bound;
        if (zero_fill && out.bytes()) std::memset(out.raw_data(), 0, out.bytes());
        return out;
      }
    }
    int64_t count = 1;
    for (int64_t d : shape) {
      // Negative, overflowing or oversized shapes take the normal path, which reports the usual error.
      if (d < 0 || (d != 0 && count > static_cast<int64_t>(Tensor::max_tensor_bytes() / element_size(type)) / d))
        return KernelContext::allocate_output(i, type, Shape(shape.begin(), shape.end()));
      count *= d;
    }
    const size_t bytes = static_cast<size_t>(count) * element_size(type);
    std::shared_ptr<void> block;
    if (run_.arena) {
      // Graph outputs are the caller's: never planned. Requests are counted alike when recording and replaying.
      const bool plannable = !has_output(i) || plan_.releasable[step_.outputs[i]];
      if (plannable && frame_.recorder) {
        block = frame_.recorder->record(index_, bytes, run_.arena->allocate(bytes, zero_fill));
      } else {
        if (plannable && frame_.memory_plan)
          block = frame_.block->take(*frame_.memory_plan, index_, requests_++, bytes, zero_fill);
        if (!block) block = run_.arena->allocate(bytes, zero_fill);
      }
    } else {
      if (zero_fill) {
        try {
          return KernelContext::allocate_output(i, type, Shape(shape.begin(), shape.end()));
        } catch (const Error& e) {
          // The tensor reports running out of memory; the error names the node that asked, as the other
          // allocation paths' std::bad_alloc does (caught where the step runs).
          if (e.code() != ErrorCode::kRuntimeException) throw;
          throw Error(e.code(), step_.node->describe() + ": " + e.what());
        }
      }
      block = allocate_unfilled(bytes);
    }
    Tensor& out = writable(i).tensor_in_place();
    out.adopt_in_place(type, shape, std::move(block));
    return out;
  }

  const Plan& plan_;
  const Step& step_;
  const int index_;  // of step_ in the plan
  Frame& frame_;
  const RunContext& run_;
  int requests_ = 0;  // plannable allocations so far
  Value scratch_;
};

// The shapes and types of what a run was fed, as a flat list: the key of its memory plan.
void input_signature(const Plan& plan, const Frame& frame, std::vector<int64_t>& out) {
  out.clear();
  auto tensor = [&out](const Tensor& t) {
    out.push_back(static_cast<int64_t>(t.type()));
    out.push_back(static_cast<int64_t>(t.rank()));
    for (int64_t d : t.shape()) out.push_back(d);
  };
  for (int s : plan.input_slots) {
    const Value& v = frame.slots[s];
    if (!frame.present[s] || v.is_none()) {
      out.push_back(-1);
    } else if (v.is_tensor()) {
      tensor(v.tensor());
    } else if (v.is_sequence()) {
      out.push_back(-2);
      out.push_back(static_cast<int64_t>(v.items().size()));
      for (const Tensor& t : v.items()) tensor(t);
    } else {
      out.push_back(-3);
    }
  }
}

// Per step, the steps that finish before it starts in the parallel executor (its ancestors), as bit sets.
std::vector<std::vector<uint64_t>> step_ancestors(const Plan& plan) {
  const size_t n = plan.steps.size();
  const size_t words = (n + 63) / 64;
  std::vector<std::vector<uint64_t>> ancestors(n, std::vector<uint64_t>(words, 0));
  for (size_t p = 0; p < n; ++p)  // consumers come after their producers in plan order
    for (int c : plan.steps[p].consumers) {
      for (size_t w = 0; w < words; ++w) ancestors[c][w] |= ancestors[p][w];
      ancestors[c][p / 64] |= uint64_t{1} << (p % 64);
    }
  return ancestors;
}

}  // namespace

std::unique_ptr<Frame> FramePool::acquire(const Plan& plan) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      std::unique_ptr<Frame> frame = std::move(free_.back());
      free_.pop_back();
      return frame;
    }
  }
  auto frame = std::make_unique<Frame>();
  frame->slots.resize(plan.num_slots);
  frame->present.assign(plan.num_slots, 0);
  frame->bound.assign(plan.num_slots, nullptr);
  frame->fed.assign(plan.input_slots.size(), 0);
  for (const auto& [s, tensor] : plan.constants) {
    frame->slots[s] = Value(*tensor);
    frame->present[s] = 1;
  }
  return frame;
}

void FramePool::give_back(std::unique_ptr<Frame> frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(frame));
}

PlanRun::PlanRun(const Plan& plan) : plan_(plan), frame_(plan.frames->acquire(plan)) {}

PlanRun::~PlanRun() {
  Frame& f = *frame_;
  // Empty every slot that is not a constant (keeping storage), restore constants a feed replaced.
  for (size_t s = 0; s < f.slots.size(); ++s) {
    if (!plan_.is_constant[s]) {
      if (f.present[s] || !f.slots[s].is_none()) f.slots[s].clear();
      f.present[s] = 0;
    }
    f.bound[s] = nullptr;
  }
  // The last guard of what a run returns: a planned region still referenced once the frame let go (a tensor
  // that escaped the run by a path copy_outputs_out_of_block does not see) keeps its block; the frame takes a
  // new one.
  if (f.block && f.block->in_use()) f.block.reset();
  f.memory_plan.reset();
  f.recorder.reset();
  for (size_t i = 0; i < plan_.input_slots.size(); ++i) {
    const int s = plan_.input_slots[i];
    if (f.fed[i] && plan_.is_constant[s]) {
      for (const auto& [slot, tensor] : plan_.constants)
        if (slot == s) f.slots[s].tensor_in_place() = *tensor;
      f.present[s] = 1;
    }
    f.fed[i] = 0;
  }
  plan_.frames->give_back(std::move(frame_));
}

void PlanRun::feed(size_t i, const Value& value) {
  const int s = plan_.input_slots[i];
  frame_->slots[s] = value;
  frame_->present[s] = 1;
  frame_->fed[i] = 1;
}

void PlanRun::execute(const RunContext& run, const std::vector<Value>* parent_slots) {
  Frame& f = *frame_;
  if (parent_slots) {
    for (const auto& [here, there] : plan_.outer) {
      f.slots[here] = (*parent_slots)[there];
      f.present[here] = 1;
    }
  }
  if (run.plan_memory && run.arena && !parent_slots) prepare_memory_plan();
  // A recorded run goes step after step, so that each buffer's lifetime is a range of steps in plan order.
  if (run.inter_op && run.inter_op->helpers() > 0 && plan_.steps.size() > 1 && !f.recorder) {
    execute_parallel(run);
  } else {
    for (size_t index = 0; index < plan_.steps.size(); ++index) {
      const Step& step = plan_.steps[index];
      if (f.recorder) f.recorder->set_step(static_cast<int>(index));
      run_step(step, run);
      for (int s : step.release) {
        f.slots[s].clear();
        f.present[s] = 0;
      }
    }
  }
  for (int s : plan_.output_slots)
    if (!f.present[s]) throw Error(ErrorCode::kRuntimeException, "graph output was not computed");
  if (f.recorder) finish_memory_plan(run);
  if (f.memory_plan) copy_outputs_out_of_block();
}

// Graph outputs are never planned, but one may still share a planned buffer: an If branch or a Loop body that
// returns an outer-scope intermediate as it is. The caller gets a copy (a bound output is copied into the
// caller's buffer by the session anyway), so that what a run returns never lives in the block.
void PlanRun::copy_outputs_out_of_block() {
  Frame& f = *frame_;
  const char* base = static_cast<const char*>(f.block->base());
  auto in_block = [&](const Tensor& t) {
    const char* p = static_cast<const char*>(t.raw_data());
    return t.defined() && p >= base && p < base + f.block->capacity();
  };
  for (int s : plan_.output_slots) {
    Value& v = f.slots[s];
    if (f.bound[s]) continue;
    if (v.is_tensor() && in_block(v.tensor())) {
      v = Value(v.tensor().clone());
    } else if (v.is_sequence()) {
      for (Tensor& t : v.items())
        if (in_block(t)) t = t.clone();
    }
  }
}

void PlanRun::prepare_memory_plan() {
  Frame& f = *frame_;
  input_signature(plan_, f, f.signature);
  f.memory_plan = plan_.memory_plans->find(f.signature);
  if (!f.memory_plan) {
    if (plan_.static_input_shapes || plan_.memory_plans->seen_before(f.signature))
      f.recorder = std::make_shared<MemoryRecorder>();
    return;
  }
  const MemoryPlan& mp = *f.memory_plan;
  // The frame's block serves every signature that fits in it; a block still referenced (a tensor that escaped
  // an earlier run) was dropped when that run ended.
  if (!f.block || f.block->capacity() < mp.block_bytes || f.block->buffer_capacity() < mp.buffers.size()) {
    const size_t bytes = std::max(mp.block_bytes, f.block ? f.block->capacity() : 0);
    const size_t buffers = std::max(mp.buffers.size(), f.block ? f.block->buffer_capacity() : 0);
    f.block.reset();
    try {
      f.block = std::make_shared<PlannedBlock>(bytes, buffers);
    } catch (const std::bad_alloc&) {
      f.memory_plan.reset();  // no room for the block: this run takes its buffers from the arena, one by one
    }
  }
}

void PlanRun::finish_memory_plan(const RunContext& run) {
  Frame& f = *frame_;
  std::shared_ptr<MemoryRecorder> recorder = std::move(f.recorder);
  std::function<bool(const BufferLifetime&, const BufferLifetime&)> ordered;
  std::vector<std::vector<uint64_t>> ancestors;
  if (run.inter_op && run.inter_op->helpers() > 0 && plan_.steps.size() > 1) {
    // Steps that may run at once must not share memory: `later` may reuse `earlier`'s bytes only when every
    // step of `earlier`'s lifetime (all that may hold it) finishes before `later`'s first step starts.
    ancestors = step_ancestors(plan_);
    ordered = [&ancestors](const BufferLifetime& earlier, const BufferLifetime& later) {
      const std::vector<uint64_t>& before = ancestors[later.first_step];
      for (int s = earlier.first_step; s <= earlier.last_step; ++s)
        if (!(before[s / 64] >> (s % 64) & 1)) return false;
      return true;
    };
  }
  std::shared_ptr<const MemoryPlan> made = recorder->finish(plan_.steps.size(), ordered);
  if (run.log_threshold <= 1) {
    std::string shapes;
    for (int64_t x : f.signature) shapes += (shapes.empty() ? "" : ",") + std::to_string(x);
    log(1, run.log_threshold,
        "memory plan for input signature [" + shapes + "]: " + std::to_string(made->buffers.size()) +
            " buffers of " + std::to_string(made->tensor_bytes) + " bytes in one block of " +
            std::to_string(made->block_bytes) + " bytes (arena peak in use so far " +
            std::to_string(run.arena->peak_in_use_bytes()) + " bytes)");
  }
  plan_.memory_plans->insert(f.signature, std::move(made));
  // The blocks the arena cached for this run's intermediates are the plan's business from now on.
  run.arena->shrink();
  release_free_memory();
}

void PlanRun::run_step(const Step& step, const RunContext& run) {
  Frame& f = *frame_;
  {
    if (run.terminate && run.terminate->load(std::memory_order_relaxed))
      throw Error(ErrorCode::kRuntimeException, "run was terminated by RunOptions.terminate");
    StepContext ctx(plan_, step, f, run);
    const auto start = run.profiler ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      step.kernel->compute(ctx);
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::kRuntimeException, step.node->describe() + ": out of memory");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kRuntimeException, step.node->describe() + ": " + e.what());
    }
    for (int s : step.outputs) {
      if (s >= 0 && !f.present[s]) {
        // Kernels may leave optional trailing outputs unset only when nothing reads them.
        f.slots[s].clear();
        f.present[s] = 1;
      }
    }
    if (run.profiler) run.profiler->record_node(*step.node, f.slots, step, start);
  }
}

// Dependency counting: a step becomes ready when the last of its producers finishes; the run's own thread and
// the pool's helpers take ready steps until all have run or one failed. Steps write distinct slots and read only
// slots whose producers finished before them (ordered by the mutex), and a slot is emptied (its buffer back to
// the arena) only after the last of its readers finished, so steps that may run at once never share a buffer
// one of them writes.
void PlanRun::execute_parallel(const RunContext& run) {
  Frame& f = *frame_;
  const size_t n = plan_.steps.size();
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<int> pending;  // producers not finished, per step
    std::vector<int> readers;  // readers not finished, per slot
    std::vector<int> ready;
    size_t finished = 0;
    int workers = 0;  // threads inside work()
    std::exception_ptr error;
  } shared;
  shared.pending.resize(n);
  for (size_t i = 0; i < n; ++i) {
    shared.pending[i] = plan_.steps[i].producers;
    if (shared.pending[i] == 0) shared.ready.push_back(static_cast<int>(i));
  }
  shared.readers = plan_.readers;
  // Ready steps run in plan order among themselves, so one thread alone runs them as the sequential executor does.
  std::reverse(shared.ready.begin(), shared.ready.end());

  // `counted`: the caller already counted this thread in shared.workers.
  auto work = [this, &shared, &f, &run, n](bool counted) {
    std::unique_lock<std::mutex> lock(shared.mutex);
    if (!counted) ++shared.workers;
    for (;;) {
      shared.changed.wait(lock, [&] { return !shared.ready.empty() || shared.finished == n || shared.error; });
      if (shared.error || shared.finished == n) break;
      const int index = shared.ready.back();
      shared.ready.pop_back();
      const Step& step = plan_.steps[index];
      lock.unlock();
      try {
        run_step(step, run);
      } catch (...) {
        lock.lock();
        if (!shared.error) shared.error = std::current_exception();
        shared.changed.notify_all();
        break;
      }
      lock.lock();
      ++shared.finished;
      bool woke = false;
      for (auto it = step.consumers.rbegin(); it != step.consumers.rend(); ++it)
        if (--shared.pending[*it] == 0) {
          shared.ready.push_back(*it);
          woke = true;
        }
      for (int s : step.read_slots)
        if (--shared.readers[s] == 0 && plan_.releasable[s]) {
          f.slots[s].clear();
          f.present[s] = 0;
        }
      for (int s : step.outputs)  // nothing reads it: done with it now
        if (s >= 0 && plan_.readers[s] == 0 && plan_.releasable[s]) {
          f.slots[s].clear();
          f.present[s] = 0;
        }
      if (woke || shared.finished == n) shared.changed.notify_all();
    }
    --shared.workers;
    shared.changed.notify_all();
  };
  const int helpers = std::min<int>(run.inter_op->helpers(), static_cast<int>(n) - 1);
  const size_t limit = Tensor::max_tensor_bytes();
  for (int h = 0; h < helpers; ++h) {
    {
      std::lock_guard<std::mutex> lock(shared.mutex);
      ++shared.workers;  // counted from submission: the run waits for helpers that have not started yet
    }
    run.inter_op->submit([&work, limit] {
      const ScopedTensorLimit scoped(limit);  // the session's limit, in force on the caller's thread
      work(true);
    });
  }
  work(false);
  std::unique_lock<std::mutex> lock(shared.mutex);
  shared.changed.wait(lock, [&] { return shared.workers == 0; });
  if (shared.error) std::rethrow_exception(shared.error);
}

InterOpPool::InterOpPool(int helpers) {
  for (int i = 0; i < helpers; ++i)
    threads_.emplace_back([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, nothing left
        std::function<void()> task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
      }
    });
}

InterOpPool::~InterOpPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void InterOpPool::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

std::vector<Value> execute(const Plan& plan, std::vector<Value> inputs, const std::vector<Value>* parent_slots,
                           const RunContext& run) {
  PlanRun plan_run(plan);
  for (size_t i = 0; i < inputs.size() && i < plan.input_slots.size(); ++i) plan_run.feed(i, inputs[i]);
  plan_run.execute(run, parent_slots);
  std::vector<Value> outputs;
  outputs.reserve(plan.output_slots.size());
  for (size_t k = 0; k < plan.output_slots.size(); ++k) outputs.push_back(plan_run.output(k));
  return outputs;
}

}  // namespace kestrel::runtime
