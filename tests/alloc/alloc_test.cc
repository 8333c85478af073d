// Steady-state runs allocate nothing: after warm-up, a run_into with preallocated outputs (what Python's IOBinding
// does) on a static-shape model makes no heap allocation in the engine or its kernels. Every malloc-family call of
// the process (operator new goes through malloc) is counted while a run is in flight, and sorted by its stack:
//   - oneDNN's own: made while dnnl_primitive_execute is on the stack (oneDNN 2.6 builds a std::unordered_map of
//     the arguments and a scratchpad grantor inside every execution; no caller can avoid them), or on an OpenMP
//     worker thread inside libdnnl (a primitive's parallel body);
//   - Kestrel's: everything else, including oneDNN calls Kestrel chooses to make per run (memory objects, the
//     C++ wrapper's argument vector), which the kernels avoid by reusing what they made at their first run.
// Kestrel's count must be 0; oneDNN's is printed. KESTREL_ALLOC_TRACE=1 prints a backtrace for each of Kestrel's
// allocations (=all: oneDNN's too) as object +offset lines for addr2line, to find the culprit.
//   kestrel_alloc_tests [ZOO_DIR]   (zoo models are skipped, saying so, when ZOO_DIR is absent)
#include <dlfcn.h>
#include <execinfo.h>
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "kestrel/session.h"
#include "kestrel/value_file.h"
#include "onnx/onnx_pb.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<long> kestrel_allocations{0};  // see the file comment
std::atomic<long> dnnl_allocations{0};
int trace = 0;  // 1: Kestrel's allocations, 2: all
thread_local bool in_hook = false;
thread_local bool on_run_thread = false;      // the thread that calls run_into
uintptr_t dnnl_begin = 0, dnnl_end = 0;       // libdnnl's mapped address range
uintptr_t execute_begin = 0, execute_end = 0;  // dnnl_primitive_execute's code

int find_dnnl(dl_phdr_info* info, size_t, void*) {
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libdnnl")) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
    if (!dnnl_begin || lo < dnnl_begin) dnnl_begin = lo;
    if (hi > dnnl_end) dnnl_end = hi;
  }
  return 1;
}

// dnnl_primitive_execute's address range, from its dynamic symbol (address and size).
void find_execute() {
  void* address = dlsym(RTLD_DEFAULT, "dnnl_primitive_execute");
  Dl_info info;
  void* entry = nullptr;
  if (!address || !dladdr1(address, &info, &entry, RTLD_DL_SYMENT) || !entry) return;
  const auto* symbol = static_cast<const ElfW(Sym)*>(entry);
  execute_begin = reinterpret_cast<uintptr_t>(address);
  execute_end = execute_begin + symbol->st_size;
}

// Each frame as "object +0xoffset" (what `addr2line -f -C -i -e object offset` takes), without allocating.
void print_frames(void* const* frames, int n) {
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    char line[512];
    int length;
    if (dladdr(frames[i], &info) && info.dli_fname)
      length = std::snprintf(line, sizeof line, "  %s +0x%zx\n", info.dli_fname,
                             reinterpret_cast<uintptr_t>(frames[i]) - reinterpret_cast<uintptr_t>(info.dli_fbase));
    else
      length = std::snprintf(line, sizeof line, "  %p\n", frames[i]);
    ssize_t ignored = write(2, line, static_cast<size_t>(std::min<int>(length, sizeof line - 1)));
    (void)ignored;
  }
}

void count() {
  if (!counting.load(std::memory_order_relaxed) || in_hook) return;
  in_hook = true;
  void* frames[64];
  const int n = backtrace(frames, 64);
  bool in_execute = false, in_dnnl = false;
  for (int i = 0; i < n; ++i) {
    const auto pc = reinterpret_cast<uintptr_t>(frames[i]);
    in_execute = in_execute || (pc >= execute_begin && pc < execute_end);
    in_dnnl = in_dnnl || (pc >= dnnl_begin && pc < dnnl_end);
  }
  const bool dnnl_own = in_execute || (!on_run_thread && in_dnnl);
  (dnnl_own ? dnnl_allocations : kestrel_allocations).fetch_add(1, std::memory_order_relaxed);
  if (trace == 2 || (trace == 1 && !dnnl_own)) {
    static const char kKestrel[] = "---- Kestrel's allocation during a run:\n";
    static const char kDnnl[] = "---- oneDNN's allocation during a run:\n";
    ssize_t ignored = dnnl_own ? write(2, kDnnl, sizeof kDnnl - 1) : write(2, kKestrel, sizeof kKestrel - 1);
    (void)ignored;
    print_frames(frames, n);
  }
  in_hook = false;
}

}  // namespace

extern "C" {
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  count();
  void* p = __libc_memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace {

using namespace kestrel;

const char* zoo_dir = nullptr;

// y = Relu(x), x and y float [1, 1000]: the one-node model of the Python overhead figure.
std::string relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("relu");
  test_model::add_tensor_input(*g, "x", onnx::TensorProto::FLOAT, {1, 1000});
  test_model::add_tensor_output(*g, "y", onnx::TensorProto::FLOAT, {1, 1000});
  test_model::add_node(*g, "Relu", {"x"}, {"y"});
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

struct Counts {
  long kestrel = 0, dnnl = 0;
};

// Allocations of each of `runs` calls of run_into after `warmup` calls, every output bound to a preallocated
// buffer of the shape a plain run gave it.
std::vector<Counts> allocations_per_run(const Session& session, const Feeds& feeds, int warmup, int runs) {
  std::vector<std::string> names;
  std::vector<Value> outputs;
  for (const IoInfo& io : session.outputs()) names.push_back(io.name);
  for (const Value& v : session.run(feeds)) outputs.emplace_back(Tensor(v.tensor().type(), v.tensor().shape()));
  std::vector<const void*> buffers;
  for (const Value& v : outputs) buffers.push_back(v.tensor().raw_data());
  const RunOptions run_options;
  for (int i = 0; i < warmup; ++i) session.run_into(feeds, names, outputs, run_options);
  std::vector<Counts> counts;
  on_run_thread = true;
  for (int i = 0; i < runs; ++i) {
    kestrel_allocations.store(0);
    dnnl_allocations.store(0);
    counting.store(true);
    session.run_into(feeds, names, outputs, run_options);
    counting.store(false);
    counts.push_back({kestrel_allocations.load(), dnnl_allocations.load()});
  }
  on_run_thread = false;
  // The results were written into the bound buffers, not somewhere else.
  for (size_t k = 0; k < outputs.size(); ++k) EXPECT_EQ(outputs[k].tensor().raw_data(), buffers[k]);
  return counts;
}

TEST(Allocations, CounterSeesTheEngine) {
  // The counter itself works: a plain run() returns fresh output tensors, which are allocated.
  const std::string model = relu_model();
  Session session(model.data(), model.size());
  Feeds feeds = {{"x", Tensor(ElementType::kFloat, {1, 1000})}};
  session.run(feeds);
  kestrel_allocations.store(0);
  counting.store(true);
  std::vector<Value> out = session.run(feeds);
  counting.store(false);
  EXPECT_GT(kestrel_allocations.load(), 0);
}

TEST(Allocations, CounterFindsOneDnnExecute) {
  // The split relies on finding dnnl_primitive_execute's code; without it every allocation would be Kestrel's.
  EXPECT_NE(execute_begin, 0u);
  EXPECT_GT(execute_end, execute_begin);
}

TEST(Allocations, OneNodeModelRunsWithoutAllocating) {
  const std::string model = relu_model();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("intra_op_num_threads " + std::to_string(threads));
    SessionOptions options;
    options.intra_op_num_threads = threads;
    Session session(model.data(), model.size(), options);
    const Feeds feeds = {{"x", Tensor(ElementType::kFloat, {1, 1000})}};
    const std::vector<Counts> counts = allocations_per_run(session, feeds, 3, 5);
    for (size_t i = 0; i < counts.size(); ++i)
      EXPECT_EQ(counts[i].kestrel + counts[i].dnnl, 0) << "run " << i << " after warm-up";
  }
}

// A zoo model on its reference inputs: Kestrel's own allocations are 0 on every counted run, at 1 and 2 threads;
// oneDNN's are printed.
void zoo_model_runs_without_allocating(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(zoo_dir ? zoo_dir : "") / name;
  if (!zoo_dir || !std::filesystem::exists(dir / "model.onnx")) GTEST_SKIP() << dir << " is absent";
  for (int threads : {1, 2}) {
    SCOPED_TRACE("intra_op_num_threads " + std::to_string(threads));
    SessionOptions options;
    options.intra_op_num_threads = threads;
    Session session((dir / "model.onnx").string(), options);
    const Feeds feeds = read_input_files(session, (dir / "test_data_set_0").string());
    ASSERT_FALSE(feeds.empty());
    const std::vector<Counts> counts = allocations_per_run(session, feeds, 2, 3);
    for (size_t i = 0; i < counts.size(); ++i) {
      EXPECT_EQ(counts[i].kestrel, 0) << "run " << i << " after warm-up";
      std::printf("%s, %d thread(s), run %zu: %ld allocations by Kestrel, %ld inside oneDNN's primitive execution\n",
                  name.c_str(), threads, i, counts[i].kestrel, counts[i].dnnl);
    }
  }
}

TEST(Allocations, Squeezenet) { zoo_model_runs_without_allocating("squeezenet1_1"); }
TEST(Allocations, Resnet18) { zoo_model_runs_without_allocating("resnet18"); }
TEST(Allocations, MobilenetV2) { zoo_model_runs_without_allocating("mobilenet_v2"); }
TEST(Allocations, EfficientnetB0) { zoo_model_runs_without_allocating("efficientnet_b0"); }
TEST(Allocations, PpocrDet) { zoo_model_runs_without_allocating("ppocr_det"); }
TEST(Allocations, BertMini) { zoo_model_runs_without_allocating("bert_mini"); }

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) zoo_dir = argv[1];
  const char* trace_env = std::getenv("KESTREL_ALLOC_TRACE");
  trace = !trace_env ? 0 : std::strcmp(trace_env, "all") == 0 ? 2 : 1;
  void* warm[1];
  backtrace(warm, 1);  // loads the unwinder now, not inside a counted allocation
  dl_iterate_phdr(find_dnnl, nullptr);
  find_execute();
  return RUN_ALL_TESTS();
}
