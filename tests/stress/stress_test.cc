// kestrel_stress (issue #9 item 3): one session shared by 8 threads running thousands of runs, each with its
// own inputs of mixed shapes and every output checked against a plain C++ computation; runs stopped mid-way
// with RunOptions.terminate from another thread; sessions created and destroyed while the others run.
// scripts/tsan.sh runs it under ThreadSanitizer; ctest runs a shorter pass in the ordinary and ASan builds.
// --parallel 1 makes every session use ExecutionMode::kParallel (2 inter-op threads): steps of one run on
// several threads as well.
//   kestrel_stress [--threads 8] [--runs 2000] [--terminations 40] [--churn 2] [--parallel 0|1]
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kestrel/session.h"
#include "model_builder.h"
#include "onnx/onnx_pb.h"

namespace {

using namespace kestrel;
using test_model::add_node;
using test_model::add_tensor_input;

constexpr int kIn = 4, kHidden = 3;

float weight(int k, int j) { return static_cast<float>(k * kHidden + j) * 0.1f - 0.5f; }
float bias(int j) { return 0.25f * static_cast<float>(j) - 0.1f; }

// x[n,4], s[1] -> y = Relu(x·W + b) * s  [n,3],  t = Transpose(x)  [4,n]. Dynamic n: mixed shapes every run.
std::string mlp_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("mlp");
  add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {-1, kIn});
  add_tensor_input(*g, "s", onnx::TensorProto::FLOAT, {1});
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(kIn);
  w->add_dims(kHidden);
  for (int k = 0; k < kIn; ++k)
    for (int j = 0; j < kHidden; ++j) w->add_float_data(weight(k, j));
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(kHidden);
  for (int j = 0; j < kHidden; ++j) b->add_float_data(bias(j));
  add_node(*g, "MatMul", {"x", "W"}, {"h"});
  add_node(*g, "Add", {"h", "b"}, {"hb"});
  add_node(*g, "Relu", {"hb"}, {"r"});
  add_node(*g, "Mul", {"r", "s"}, {"y"});
  add_node(*g, "Transpose", {"x"}, {"t"});
  g->add_output()->set_name("y");
  g->add_output()->set_name("t");
  return m.SerializeAsString();
}

bool parallel_mode = false;

SessionOptions stress_options() {
  SessionOptions o;
  o.intra_op_num_threads = 1;  // the concurrency under test is between runs (and their steps), not inside a kernel
  if (parallel_mode) {
    o.execution_mode = ExecutionMode::kParallel;
    o.inter_op_num_threads = 2;
  }
  return o;
}

struct Tally {
  std::atomic<long> passed{0}, failed{0};
  std::mutex mu;
  void fail(const std::string& what) {
    if (failed.fetch_add(1) < 20) {
      std::lock_guard<std::mutex> lock(mu);
      std::fprintf(stderr, "stress FAIL: %s\n", what.c_str());
    }
  }
  void check(bool ok, const std::string& what) { ok ? (void)passed.fetch_add(1) : fail(what); }
};

// One mlp run with its own inputs; checks both outputs against the formula.
void mlp_run(const Session& s, std::mt19937& rng, Tally& tally, bool bind_output) {
  const int n = static_cast<int>(rng() % 33);  // 0..32 rows, empty batches included
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  Tensor x(ElementType::kFloat, {n, kIn});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = u(rng);
  const float scale = u(rng);
  Feeds feeds = {{"x", x}, {"s", Tensor::from_vector<float>({scale}, {1})}};
  std::vector<Value> out;
  try {
    if (bind_output) {
      out = {Value(Tensor(ElementType::kFloat, {n, kHidden})), Value()};
      s.run_into(feeds, {"y", "t"}, out);
    } else {
      out = s.run(feeds);
    }
  } catch (const Error& e) {
    tally.fail(std::string("mlp run threw: ") + e.what());
    return;
  }
  const Tensor& y = out[0].tensor();
  const Tensor& t = out[1].tensor();
  if (y.shape() != Shape{n, kHidden} || t.shape() != Shape{kIn, n}) {
    tally.fail("mlp output shapes " + shape_to_string(y.shape()) + " " + shape_to_string(t.shape()) +
               " for n=" + std::to_string(n));
    return;
  }
  bool ok = true;
  for (int i = 0; i < n && ok; ++i) {
    for (int j = 0; j < kHidden; ++j) {
      double acc = bias(j);
      for (int k = 0; k < kIn; ++k) acc += static_cast<double>(x.data<float>()[i * kIn + k]) * weight(k, j);
      const double want = std::max(acc, 0.0) * scale;
      if (std::fabs(y.data<float>()[i * kHidden + j] - want) > 1e-4 * (1 + std::fabs(want))) ok = false;
    }
    for (int k = 0; k < kIn; ++k)
      if (t.data<float>()[k * n + i] != x.data<float>()[i * kIn + k]) ok = false;
  }
  tally.check(ok, "mlp output differs from the formula for n=" + std::to_string(n));
}

Feeds loop_feeds(int64_t trips, float start) {
  return {{"M", Tensor::scalar<int64_t>(trips)},
          {"cond", Tensor::scalar<bool>(true)},
          {"v0", Tensor::from_vector<float>({start}, {1})}};
}

void loop_run(const Session& s, std::mt19937& rng, Tally& tally) {
  const int64_t trips = rng() % 40;
  const float start = static_cast<float>(rng() % 100);
  try {
    auto out = s.run(loop_feeds(trips, start));
    tally.check(out[0].tensor().data<float>()[0] == start + static_cast<float>(trips),
                "loop result is wrong");
  } catch (const Error& e) {
    tally.fail(std::string("loop run threw: ") + e.what());
  }
}

// A run whose RunOptions were set to terminate before it started must fail, and fail cleanly.
void preterminated_run(const Session& s, Tally& tally) {
  RunOptions ro;
  ro.set_terminate(true);
  try {
    s.run(loop_feeds(3, 0), {}, ro);
    tally.fail("a run with terminate already set completed");
  } catch (const Error& e) {
    tally.check(e.code() == ErrorCode::kRuntimeException,
                std::string("terminate gave the wrong code: ") + e.what());
  }
}

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = arg(argc, argv, "--threads", 8);
  const int runs = arg(argc, argv, "--runs", 2000);
  const int terminations = arg(argc, argv, "--terminations", 40);
  const int churners = arg(argc, argv, "--churn", 2);
  parallel_mode = arg(argc, argv, "--parallel", 0) != 0;
  const auto start = std::chrono::steady_clock::now();
  const std::string mlp_bytes = mlp_model();
  const std::string loop_bytes = test_model::counting_loop_model().SerializeAsString();
  Tally tally;
  std::atomic<long> sessions_made{0}, terminated{0};
  try {
    const Session mlp(mlp_bytes.data(), mlp_bytes.size(), stress_options());
    const Session loop(loop_bytes.data(), loop_bytes.size(), stress_options());
    std::atomic<bool> workers_done{false};
    std::vector<std::thread> pool;

    // 8 workers on the shared sessions: mostly mlp runs (some into bound buffers), some loops, a few
    // pre-terminated.
    for (int w = 0; w < threads; ++w) {
      pool.emplace_back([&, w] {
        std::mt19937 rng(1000 + w);
        for (int r = 0; r < runs; ++r) {
          if (r % 10 == 9)
            loop_run(loop, rng, tally);
          else if (r % 50 == 25)
            preterminated_run(loop, tally);
          else
            mlp_run(mlp, rng, tally, r % 7 == 3);
        }
      });
    }

    // Terminator: endless loops on the shared loop session, stopped mid-run from this thread.
    std::thread terminator([&] {
      std::mt19937 rng(7);
      for (int k = 0; k < terminations; ++k) {
        RunOptions ro;
        std::atomic<bool> got{false};
        std::string message;
        ErrorCode code = ErrorCode::kOk;
        std::thread victim([&] {
          try {
            loop.run(loop_feeds(std::numeric_limits<int64_t>::max(), 0), {}, ro);
          } catch (const Error& e) {
            code = e.code();
            message = e.what();
          }
          got = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 20));
        ro.set_terminate(true);
        victim.join();
        const bool ok = got && code == ErrorCode::kRuntimeException &&
                        message.find("terminated by RunOptions.terminate") != std::string::npos;
        tally.check(ok, "terminated loop ended with '" + message + "'");
        if (ok) ++terminated;
      }
    });

    // Churn: sessions created, run and destroyed while the others run.
    std::vector<std::thread> churn;
    for (int c = 0; c < churners; ++c) {
      churn.emplace_back([&, c] {
        std::mt19937 rng(500 + c);
        while (!workers_done) {
          try {
            Session own(mlp_bytes.data(), mlp_bytes.size(), stress_options());
            Session own_loop(loop_bytes.data(), loop_bytes.size(), stress_options());
            ++sessions_made;
            for (int r = 0; r < 5; ++r) mlp_run(own, rng, tally, r == 2);
            loop_run(own_loop, rng, tally);
          } catch (const Error& e) {
            tally.fail(std::string("session creation threw: ") + e.what());
          }
        }
      });
    }

    for (auto& t : pool) t.join();
    workers_done = true;
    terminator.join();
    for (auto& t : churn) t.join();
  } catch (const Error& e) {
    std::fprintf(stderr, "stress: setup failed: %s\n", e.what());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "stress: %d threads x %d runs, %ld runs stopped by terminate, %ld sessions created and destroyed "
      "concurrently, %.1f s\n",
      threads, runs, terminated.load(), sessions_made.load(), secs);
  std::printf("stress: %ld passed, %ld failed\n", tally.passed.load(), tally.failed.load());
  return tally.failed.load() == 0 ? 0 : 1;
}
