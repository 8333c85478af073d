// The allocation counter (see alloc_counter.h).
#include "alloc/alloc_counter.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {

struct Range {
  uintptr_t begin = 0, end = 0;
  bool contains(uintptr_t pc) const { return pc >= begin && pc < end; }
};

std::atomic<bool> counting{false};
std::atomic<long> kestrel_count{0}, dnnl_count{0}, other_count{0};
int trace = 0;  // 1: Kestrel's allocations, 2: all
__attribute__((tls_model("initial-exec"))) thread_local bool in_hook = false;
__attribute__((tls_model("initial-exec"))) thread_local bool on_counting_thread = false;
Range dnnl, execute;
Range kestrel[8];  // libkestrel, the Python module
int kestrel_objects = 0;

// The mapped address range of the loaded objects whose path contains `name`, merged.
int find_object(dl_phdr_info* info, size_t, void* data) {
  auto* want = static_cast<std::pair<const char*, Range*>*>(data);
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, want->first)) return 0;
  Range r;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
    if (!r.begin || lo < r.begin) r.begin = lo;
    if (hi > r.end) r.end = hi;
  }
  *want->second = r;
  return 1;
}

Range object_range(const char* name) {
  Range r;
  std::pair<const char*, Range*> want{name, &r};
  dl_iterate_phdr(find_object, &want);
  return r;
}

// The path of the loaded object whose path contains `name` (empty when none is).
int find_path(dl_phdr_info* info, size_t, void* data) {
  auto* want = static_cast<std::pair<const char*, const char*>*>(data);
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, want->first)) return 0;
  want->second = info->dlpi_name;
  return 1;
}

// dnnl_primitive_execute's code, from its dynamic symbol (address and size). libdnnl is looked up by its path:
// loaded by a Python module, it is not in the global scope.
Range execute_range() {
  Range r;
  std::pair<const char*, const char*> want{"libdnnl", nullptr};
  dl_iterate_phdr(find_path, &want);
  void* library = want.second ? dlopen(want.second, RTLD_LAZY | RTLD_NOLOAD) : nullptr;
  void* address = library ? dlsym(library, "dnnl_primitive_execute") : nullptr;
  Dl_info info;
  void* entry = nullptr;
  if (!address || !dladdr1(address, &info, &entry, RTLD_DL_SYMENT) || !entry) return r;
  r.begin = reinterpret_cast<uintptr_t>(address);
  r.end = r.begin + static_cast<const ElfW(Sym)*>(entry)->st_size;
  return r;
}

// Each frame as "object +0xoffset", without allocating.
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
  bool in_execute = false, in_dnnl = false, in_kestrel = false;
  for (int i = 0; i < n; ++i) {
    const auto pc = reinterpret_cast<uintptr_t>(frames[i]);
    in_execute = in_execute || execute.contains(pc);
    in_dnnl = in_dnnl || dnnl.contains(pc);
    for (int k = 0; k < kestrel_objects; ++k) in_kestrel = in_kestrel || kestrel[k].contains(pc);
  }
  const int kind = in_execute || (!on_counting_thread && in_dnnl) ? 1 : in_kestrel ? 0 : 2;
  (kind == 0 ? kestrel_count : kind == 1 ? dnnl_count : other_count).fetch_add(1, std::memory_order_relaxed);
  if (trace == 2 || (trace == 1 && kind == 0)) {
    static const char* const kTitles[] = {"---- Kestrel's allocation:\n", "---- oneDNN's allocation:\n",
                                          "---- another allocation:\n"};
    ssize_t ignored = write(2, kTitles[kind], std::strlen(kTitles[kind]));
    (void)ignored;
    print_frames(frames, n);
  }
  in_hook = false;
}

}  // namespace

extern "C" {

void kestrel_alloc_counter_start(void) {
  static bool ready = false;
  if (!ready) {  // the objects are loaded by now; the unwinder is loaded here, not inside a counted allocation
    void* warm[1];
    backtrace(warm, 1);
    dnnl = object_range("libdnnl");
    execute = execute_range();
    for (const char* name : {"libkestrel", "/_kestrel."}) {
      const Range r = object_range(name);
      if (r.begin) kestrel[kestrel_objects++] = r;
    }
    const char* env = std::getenv("KESTREL_ALLOC_TRACE");
    trace = !env ? 0 : std::strcmp(env, "all") == 0 ? 2 : 1;
    ready = true;
  }
  kestrel_count.store(0);
  dnnl_count.store(0);
  other_count.store(0);
  on_counting_thread = true;
  counting.store(true);
}

void kestrel_alloc_counter_stop(long counts[3]) {
  counting.store(false);
  on_counting_thread = false;
  counts[0] = kestrel_count.load();
  counts[1] = dnnl_count.load();
  counts[2] = other_count.load();
}

int kestrel_alloc_counter_sees_dnnl_execute(void) { return execute.begin != 0 && execute.end > execute.begin; }

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

}  // extern "C"
