// Fast LSTM (float, opsets 7+, layout 0, any direction, default activations Sigmoid/Tanh/Tanh). W and R are
// packed in panels of 16 hidden units holding the four gates (i, o, f, c) of those units side by side, so
//  - the input projections of all steps are one GEMM with a register tile of rows x 64 gate columns;
//  - each step's recurrent product for a panel reads its slice of R as one contiguous stream, keeps the 64
//    gate sums in registers and turns them straight into the panel's new c and h (vectorised sigmoid, tanh).
// Threads share a direction's work as tasks of one panel each, claimed in order (every panel of a step needs
// the full h of the step before): one parallel region per direction, no barrier. Clip, peepholes,
// input_forget and sequence_lens are handled in the same pass; custom activations and layout 1 run on the
// reference kernel.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

using fast::load16;
using fast::store16;
using fast::Vec16;

constexpr int64_t kUnits = 16;          // hidden units per panel
constexpr int64_t kPanel = 4 * kUnits;  // gate columns per panel: i, o, f, c of the same 16 units
// Steps cheaper than this many multiply-adds stay on one thread: handing tasks over costs more than the split
// saves (silero_vad's hidden size 64).
constexpr int64_t kParallelStepMacs = 1 << 15;

// Floats on a 64-byte boundary, so panel rows never straddle cache lines. Movable, not copyable.
class AlignedFloats {
 public:
  AlignedFloats() = default;
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  AlignedFloats(AlignedFloats&&) = default;
  AlignedFloats& operator=(AlignedFloats&&) = default;

  // Resizes to n floats, all zero.
  void assign_zero(int64_t n) {
    assign_uninitialized(n);
    std::fill(data_, data_ + n, 0.0f);
  }
  // Resizes to n floats left as they are (for scratch the caller fills before reading).
  void assign_uninitialized(int64_t n) {
    raw_.reset(new float[static_cast<size_t>(n + 16)]);
    const auto addr = reinterpret_cast<uintptr_t>(raw_.get());
    data_ = raw_.get() + ((64 - addr % 64) % 64) / sizeof(float);
  }
  float* data() { return data_; }
  const float* data() const { return data_; }

 private:
  std::unique_ptr<float[]> raw_;
  float* data_ = nullptr;
};

int64_t panels_for(int64_t H) { return (H + kUnits - 1) / kUnits; }

// One direction's [4H, K] gate-major matrix (W or R) as panels [P][K][64]: panel p, row k holds column k of
// the gate rows of units 16p..16p+15, gate by gate. Units past H are zero.
void pack_gates(const float* m, int64_t H, int64_t K, AlignedFloats& out) {
  const int64_t P = panels_for(H);
  out.assign_zero(P * K * kPanel);
  float* o = out.data();
  for (int64_t p = 0; p < P; ++p)
    for (int64_t gate = 0; gate < 4; ++gate)
      for (int64_t u = 0; u < kUnits && p * kUnits + u < H; ++u) {
        const float* row = m + (gate * H + p * kUnits + u) * K;
        float* dst = o + p * K * kPanel + gate * kUnits + u;
        for (int64_t k = 0; k < K; ++k) dst[k * kPanel] = row[k];
      }
}

// Wb + Rb in the panel order, [P][64].
void pack_bias(const float* b, int64_t H, AlignedFloats& out) {
  out.assign_zero(panels_for(H) * kPanel);
  if (!b) return;
  for (int64_t gate = 0; gate < 4; ++gate)
    for (int64_t j = 0; j < H; ++j)
      out.data()[(j / kUnits) * kPanel + gate * kUnits + j % kUnits] =
          b[gate * H + j] + b[4 * H + gate * H + j];
}

// Everything one direction's run needs; the scratch buffers are sized by the caller.
struct LstmProblem {
  const float* x;         // [T, N, I]
  const float* w;         // packed W [P][I][64]
  const float* r;         // packed R [P][H][64]
  const float* bias;      // packed Wb + Rb [P][64]
  const float* peephole;  // [3H] (i, o, f) or nullptr
  const float* h0;        // [N, H] or nullptr
  const float* c0;        // [N, H] or nullptr
  const int64_t* lens;    // [N] steps per batch entry
  float* y;               // Y[t, d, n, :] at y + ((t * D + d) * N + n) * H, or nullptr
  float* y_h;             // [N, H] or nullptr
  float* y_c;             // [N, H] or nullptr
  float* gx;              // scratch [T * N][P][64]: input projections plus bias
  float* h[2];            // scratch [N][P * 16] each: h before and after a step
  float* c;               // scratch [N][P * 16]
  int64_t T, N, I, H, P, D, d;
  bool reverse, input_forget;
  float clip;  // 0: no clipping
};

inline __attribute__((always_inline)) void sigmoid16(Vec16& x) {
  Vec16 e = -x;
  fast::exp_fast16(e);
  x = 1.0f / (1.0f + e);
}

// tanh(x) = 2σ(2x) − 1: the absolute error near 0 stays at float rounding (~1e-7).
inline __attribute__((always_inline)) void tanh16(Vec16& x) {
  Vec16 e = x * -2.0f;
  fast::exp_fast16(e);
  x = 2.0f / (1.0f + e) - 1.0f;
}

// out[r][0, 64) = bias + Σ_k x[r][k] · w[k][0, 64) for MR rows of x (row stride I), one panel of W.
template <int MR>
inline __attribute__((always_inline)) void project_tile(const float* x, int64_t I, const float* w,
                                                        const float* bias, float* out, int64_t out_stride) {
  Vec16 acc[MR][4];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) load16(acc[r][g], bias + g * kUnits);
  for (int64_t k = 0; k < I; ++k) {
    Vec16 wk[4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) load16(wk[g], w + k * kPanel + g * kUnits);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const float xv = x[r * I + k];
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) acc[r][g] += xv * wk[g];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) store16(out + r * out_stride + g * kUnits, acc[r][g]);
}

// One step of one panel for one batch entry: gate sums = gx + h_prev · R (two interleaved accumulator sets
// hide the FMA latency), then the cell update of the panel's 16 units.
inline __attribute__((always_inline)) void step_panel(const LstmProblem& a, const float* gx, const float* r,
                                                      const float* h_prev, const float* peep, float* c,
                                                      float* h_next) {
  Vec16 s0, s1, s2, s3, t0 = {}, t1 = {}, t2 = {}, t3 = {};
  load16(s0, gx);
  load16(s1, gx + kUnits);
  load16(s2, gx + 2 * kUnits);
  load16(s3, gx + 3 * kUnits);
  const int64_t H = a.H;
  int64_t k = 0;
  for (; k + 1 < H; k += 2) {
    const float* r0 = r + k * kPanel;
    const float* r1 = r0 + kPanel;
    const float h0 = h_prev[k], h1 = h_prev[k + 1];
    Vec16 v;
    load16(v, r0), s0 += h0 * v;
    load16(v, r0 + kUnits), s1 += h0 * v;
    load16(v, r0 + 2 * kUnits), s2 += h0 * v;
    load16(v, r0 + 3 * kUnits), s3 += h0 * v;
    load16(v, r1), t0 += h1 * v;
    load16(v, r1 + kUnits), t1 += h1 * v;
    load16(v, r1 + 2 * kUnits), t2 += h1 * v;
    load16(v, r1 + 3 * kUnits), t3 += h1 * v;
  }
  if (k < H) {
    const float* r0 = r + k * kPanel;
    const float h0 = h_prev[k];
    Vec16 v;
    load16(v, r0), s0 += h0 * v;
    load16(v, r0 + kUnits), s1 += h0 * v;
    load16(v, r0 + 2 * kUnits), s2 += h0 * v;
    load16(v, r0 + 3 * kUnits), s3 += h0 * v;
  }
  Vec16 gi = s0 + t0, go = s1 + t1, gf = s2 + t2, gc = s3 + t3;
  Vec16 c_prev;
  load16(c_prev, c);
  if (peep) {
    Vec16 pi, pf;
    load16(pi, peep);
    load16(pf, peep + 2 * kUnits);
    gi += pi * c_prev;
    gf += pf * c_prev;
  }
  if (a.clip > 0) {
    const float lim = a.clip;
    gi = gi > lim ? Vec16{} + lim : gi, gi = gi < -lim ? Vec16{} - lim : gi;
    gf = gf > lim ? Vec16{} + lim : gf, gf = gf < -lim ? Vec16{} - lim : gf;
    gc = gc > lim ? Vec16{} + lim : gc, gc = gc < -lim ? Vec16{} - lim : gc;
  }
  sigmoid16(gi);
  if (a.input_forget)
    gf = 1.0f - gi;
  else
    sigmoid16(gf);
  tanh16(gc);
  const Vec16 c_new = gf * c_prev + gi * gc;
  store16(c, c_new);
  if (peep) {
    Vec16 po;
    load16(po, peep + kUnits);
    go += po * c_new;
  }
  if (a.clip > 0) {
    const float lim = a.clip;
    go = go > lim ? Vec16{} + lim : go, go = go < -lim ? Vec16{} - lim : go;
  }
  sigmoid16(go);
  Vec16 h = c_new;
  tanh16(h);
  h = go * h;
  store16(h_next, h);
}

// The work of a direction in phases of per-panel work: phase 0 projects the inputs of every step for panel p
// and sets its initial state; phase 1 + s runs step s of panel p; phase T + 1 writes panel p's outputs. Work
// of phase k may start once all work of the phases before it has finished.

// Phase 0: input projections of every step for panel p, and its units' initial states (padding stays zero).
template <int MR>
inline __attribute__((always_inline)) void project_panel(const LstmProblem& a, int64_t p) {
  const int64_t N = a.N, I = a.I, H = a.H, P = a.P, HP = P * kUnits, rows = a.T * N;
  const float* w = a.w + p * I * kPanel;
  const float* bias = a.bias + p * kPanel;
  float* out = a.gx + p * kPanel;
  int64_t row = 0;
  for (; row + MR <= rows; row += MR)
    project_tile<MR>(a.x + row * I, I, w, bias, out + row * P * kPanel, P * kPanel);
  for (; row < rows; ++row) project_tile<1>(a.x + row * I, I, w, bias, out + row * P * kPanel, P * kPanel);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = p * kUnits; j < std::min(H, (p + 1) * kUnits); ++j) {
      a.h[0][n * HP + j] = a.h0 ? a.h0[n * H + j] : 0.0f;
      a.c[n * HP + j] = a.c0 ? a.c0[n * H + j] : 0.0f;
    }
}

// Phase 1 + s: step s of panel p for every batch entry.
inline __attribute__((always_inline)) void step_task(const LstmProblem& a, const float* peep_packed,
                                                     int64_t s, int64_t p) {
  const int64_t N = a.N, H = a.H, P = a.P, HP = P * kUnits;
  const float* h_prev = a.h[s & 1];
  float* h_next = a.h[(s + 1) & 1];
  const float* r = a.r + p * H * kPanel;
  const float* peep = peep_packed ? peep_packed + p * 3 * kUnits : nullptr;
  const int64_t width = std::min(kUnits, H - p * kUnits);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t len = a.lens[n];
    float* hn = h_next + n * HP + p * kUnits;
    if (s >= len) {  // past this entry's length the state stays as it was
      std::memcpy(hn, h_prev + n * HP + p * kUnits, sizeof(float) * kUnits);
      continue;
    }
    const int64_t t = a.reverse ? len - 1 - s : s;
    step_panel(a, a.gx + ((t * N + n) * P + p) * kPanel, r, h_prev + n * HP, peep, a.c + n * HP + p * kUnits,
               hn);
    if (a.y) std::memcpy(a.y + ((t * a.D + a.d) * N + n) * H + p * kUnits, hn, sizeof(float) * width);
  }
}

// Phase T + 1: final states of panel p's units, and zeros in Y past each entry's length.
inline void finish_panel(const LstmProblem& a, int64_t p) {
  const int64_t T = a.T, N = a.N, H = a.H, HP = a.P * kUnits;
  const int64_t u0 = p * kUnits, u1 = std::min(H, (p + 1) * kUnits);
  const float* h_last = a.h[T & 1];
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t j = u0; j < u1; ++j) {
      if (a.y_h) a.y_h[n * H + j] = h_last[n * HP + j];
      if (a.y_c) a.y_c[n * H + j] = a.c[n * HP + j];
    }
    if (a.y)
      for (int64_t t = a.lens[n]; t < T; ++t)
        std::fill(a.y + ((t * a.D + a.d) * N + n) * H + u0, a.y + ((t * a.D + a.d) * N + n) * H + u1, 0.0f);
  }
}

// Tasks handed out to a team in order. A thread claims a task only once its phase is open, so it holds one
// only while computing it: a thread the OS preempts while it waits blocks nobody, and the other thread goes
// on alone (a barrier per step would stall every step on the slower thread).
struct TaskQueue {
  alignas(64) std::atomic<int64_t> next{0};
  alignas(64) std::atomic<int64_t> finished{0};
};

// Task `task` of a phase made of `tasks` tasks of `group` panels each.
template <int MR>
inline __attribute__((always_inline)) void run_task(const LstmProblem& a, const float* peep, int64_t task,
                                                    int64_t tasks, int64_t group) {
  const int64_t phase = task / tasks, p0 = task % tasks * group, p1 = std::min(a.P, p0 + group);
  for (int64_t p = p0; p < p1; ++p) {
    if (phase == 0)
      project_panel<MR>(a, p);
    else if (phase <= a.T)
      step_task(a, peep, phase - 1, p);
    else
      finish_panel(a, p);
  }
}

// Runs every task, alone (queue == nullptr) or as one thread of a team sharing `queue`. A team splits each
// phase into two tasks per thread: one per thread would leave a lone thread nothing to pick up, smaller ones
// pay more in handing over (two cache lines change cores per task) than they balance.
template <int MR>
inline __attribute__((always_inline)) void lstm_worker(const LstmProblem& a, const float* peep,
                                                       TaskQueue* queue, int threads) {
  if (!queue) {
    for (int64_t task = 0; task < (a.T + 2); ++task) run_task<MR>(a, peep, task, 1, a.P);
    return;
  }
  const int64_t group = (a.P + 2 * threads - 1) / (2 * threads), tasks = (a.P + group - 1) / group;
  const int64_t total = (a.T + 2) * tasks;
  int spins = 0;
  for (;;) {
    int64_t task = queue->next.load(std::memory_order_relaxed);
    if (task >= total) break;
    if (queue->finished.load(std::memory_order_acquire) < task / tasks * tasks) {
      // Its phase is not open yet. Give the CPU away now and then, in case the thread holding the last task
      // of the phase waits for it.
      __builtin_ia32_pause();
      if (++spins == 4096) {
        spins = 0;
        sched_yield();
      }
      continue;
    }
    if (!queue->next.compare_exchange_weak(task, task + 1, std::memory_order_relaxed)) continue;
    run_task<MR>(a, peep, task, tasks, group);
    queue->finished.fetch_add(1, std::memory_order_release);
  }
}

// The worker compiled for each instruction set, with a projection tile that fits its register file:
// AVX-512 4 rows (16 of 32 zmm), AVX2 and baseline 1 row.
__attribute__((target("avx512f,fma"))) void lstm_worker_avx512(const LstmProblem& a, const float* peep,
                                                               TaskQueue* queue, int threads) {
  lstm_worker<4>(a, peep, queue, threads);
}
__attribute__((target("avx2,fma"))) void lstm_worker_avx2(const LstmProblem& a, const float* peep,
                                                          TaskQueue* queue, int threads) {
  lstm_worker<1>(a, peep, queue, threads);
}
void lstm_worker_baseline(const LstmProblem& a, const float* peep, TaskQueue* queue, int threads) {
  lstm_worker<1>(a, peep, queue, threads);
}

using LstmWorker = void (*)(const LstmProblem&, const float*, TaskQueue*, int);

LstmWorker pick_lstm_worker() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return lstm_worker_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return lstm_worker_avx2;
  return lstm_worker_baseline;
}

const LstmWorker kLstmWorker = pick_lstm_worker();

// Peepholes (i, o, f) of one direction in the panel order [P][3][16], units past H zero.
void pack_peepholes(const float* p, int64_t H, AlignedFloats& out) {
  out.assign_zero(panels_for(H) * 3 * kUnits);
  for (int64_t gate = 0; gate < 3; ++gate)
    for (int64_t j = 0; j < H; ++j)
      out.data()[(j / kUnits) * 3 * kUnits + gate * kUnits + j % kUnits] = p[gate * H + j];
}

class FastLstm final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    if (info.has_attr("activations") || info.has_attr("activation_alpha") ||
        info.has_attr("activation_beta") || info.attr_int("layout", 0) != 0)
      return nullptr;
    const std::string direction = info.attr_string("direction", "forward");
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional") return nullptr;
    return std::make_unique<FastLstm>(info);
  }

  explicit FastLstm(const KernelInfo& info)
      : hidden_(info.attr_int("hidden_size", -1)),
        direction_(info.attr_string("direction", "forward")),
        input_forget_(info.attr_int("input_forget", 0) != 0),
        clip_(info.attr_float("clip", 0.0f)),
        reference_(fast::reference_kernel(info)) {
    // Constant weights are packed once here rather than on every run.
    const Tensor* W = info.constant_input(1);
    const Tensor* R = info.constant_input(2);
    if (hidden_ <= 0 || !W || !R || W->type() != ElementType::kFloat || R->type() != ElementType::kFloat ||
        W->rank() != 3 || R->rank() != 3 || W->dim(1) != 4 * hidden_ || R->dim(1) != 4 * hidden_ ||
        R->dim(2) != hidden_ || W->dim(0) != R->dim(0))
      return;
    const int64_t G = 4 * hidden_, I = W->dim(2);
    packed_w_.resize(static_cast<size_t>(W->dim(0)));
    packed_r_.resize(static_cast<size_t>(W->dim(0)));
    for (int64_t d = 0; d < W->dim(0); ++d) {
      pack_gates(W->data<float>() + d * G * I, hidden_, I, packed_w_[d]);
      pack_gates(R->data<float>() + d * G * hidden_, hidden_, hidden_, packed_r_[d]);
    }
    packed_input_size_ = I;
  }

  void compute(KernelContext& ctx) const override {
    auto present = [&](size_t i) { return i < ctx.num_inputs() && ctx.has_input(i); };
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const Tensor& R = ctx.input(2);
    // Anything unusual goes to the reference kernel, which reports bad input with a clear message.
    if (hidden_ <= 0 || X.type() != ElementType::kFloat || X.rank() != 3 || W.type() != ElementType::kFloat ||
        R.type() != ElementType::kFloat || !(clip_ >= 0))
      return reference_->compute(ctx);
    const int64_t T = X.shape()[0], N = X.shape()[1], I = X.shape()[2], H = hidden_, P = panels_for(H);
    const int64_t D = direction_ == "bidirectional" ? 2 : 1;
    if (W.shape() != Shape{D, 4 * H, I} || R.shape() != Shape{D, 4 * H, H}) return reference_->compute(ctx);
    const Tensor* B = present(3) ? &ctx.input(3) : nullptr;
    const Tensor* lens = present(4) ? &ctx.input(4) : nullptr;
    const Tensor* h0 = present(5) ? &ctx.input(5) : nullptr;
    const Tensor* c0 = present(6) ? &ctx.input(6) : nullptr;
    const Tensor* peep = present(7) ? &ctx.input(7) : nullptr;
    auto is_float = [](const Tensor* t, Shape shape) {
      return t->type() == ElementType::kFloat && t->shape() == shape;
    };
    if ((B && !is_float(B, {D, 8 * H})) || (h0 && !is_float(h0, {D, N, H})) ||
        (c0 && !is_float(c0, {D, N, H})) || (peep && !is_float(peep, {D, 3 * H})) ||
        (lens && lens->shape() != Shape{N}))
      return reference_->compute(ctx);
    std::vector<int64_t> steps(static_cast<size_t>(N), T);
    if (lens) {
      for (int64_t n = 0; n < N; ++n) {
        if (lens->type() == ElementType::kInt32)
          steps[n] = lens->data<int32_t>()[n];
        else if (lens->type() == ElementType::kInt64)
          steps[n] = lens->data<int64_t>()[n];
        else
          return reference_->compute(ctx);
        if (steps[n] < 0 || steps[n] > T) return reference_->compute(ctx);
      }
    }
    float* y = ctx.has_output(0)
                   ? ctx.allocate_uninitialized_output(0, ElementType::kFloat, {T, D, N, H}).data<float>()
                   : nullptr;
    float* y_h = ctx.num_outputs() > 1 && ctx.has_output(1)
                     ? ctx.allocate_uninitialized_output(1, ElementType::kFloat, {D, N, H}).data<float>()
                     : nullptr;
    float* y_c = ctx.num_outputs() > 2 && ctx.has_output(2)
                     ? ctx.allocate_uninitialized_output(2, ElementType::kFloat, {D, N, H}).data<float>()
                     : nullptr;

    const bool prepacked = static_cast<int64_t>(packed_w_.size()) == D && packed_input_size_ == I;
    const int64_t HP = P * kUnits;
    AlignedFloats w_local, r_local, bias, peep_packed, scratch;
    // The projections are written before they are read; the states start at zero (their padding units too).
    scratch.assign_uninitialized(T * N * P * kPanel + 3 * N * HP);
    std::fill(scratch.data() + T * N * P * kPanel, scratch.data() + T * N * P * kPanel + 3 * N * HP, 0.0f);
    int threads = static_cast<int>(std::min<int64_t>(ctx.intra_op_threads(), P));
    if (N * H * 4 * H < kParallelStepMacs) threads = 1;
    for (int64_t d = 0; d < D; ++d) {
      LstmProblem a{};
      a.x = X.data<float>();
      if (prepacked) {
        a.w = packed_w_[d].data();
        a.r = packed_r_[d].data();
      } else {
        pack_gates(W.data<float>() + d * 4 * H * I, H, I, w_local);
        pack_gates(R.data<float>() + d * 4 * H * H, H, H, r_local);
        a.w = w_local.data();
        a.r = r_local.data();
      }
      pack_bias(B ? B->data<float>() + d * 8 * H : nullptr, H, bias);
      a.bias = bias.data();
      if (peep) pack_peepholes(peep->data<float>() + d * 3 * H, H, peep_packed);
      a.h0 = h0 ? h0->data<float>() + d * N * H : nullptr;
      a.c0 = c0 ? c0->data<float>() + d * N * H : nullptr;
      a.lens = steps.data();
      a.y = y;
      a.y_h = y_h ? y_h + d * N * H : nullptr;
      a.y_c = y_c ? y_c + d * N * H : nullptr;
      a.gx = scratch.data();
      a.h[0] = a.gx + T * N * P * kPanel;
      a.h[1] = a.h[0] + N * HP;
      a.c = a.h[1] + N * HP;
      a.T = T, a.N = N, a.I = I, a.H = H, a.P = P, a.D = D, a.d = d;
      a.reverse = direction_ == "reverse" || d == 1;
      a.input_forget = input_forget_;
      a.clip = clip_;
      const float* pp = peep ? peep_packed.data() : nullptr;
      if (threads <= 1) {
        kLstmWorker(a, pp, nullptr, 1);
      } else {
        TaskQueue queue;
#pragma omp parallel num_threads(threads)
        kLstmWorker(a, pp, &queue, threads);
      }
    }
  }

 private:
  int64_t hidden_;
  std::string direction_;
  bool input_forget_;
  float clip_;
  std::unique_ptr<Kernel> reference_;
  std::vector<AlignedFloats> packed_w_, packed_r_;  // per direction, when W and R are constants
  int64_t packed_input_size_ = -1;
};

}  // namespace

KESTREL_FAST_KERNEL(LSTM, "", 7, 1000, "float", 10, &FastLstm::create);

}  // namespace kestrel::cpu
