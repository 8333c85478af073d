// Counts every heap allocation of the process (it replaces malloc and friends: link it into a test program, or
// LD_PRELOAD its shared build into an interpreter) and sorts each by its stack:
//   - oneDNN's own: made while dnnl_primitive_execute is on the stack (oneDNN 2.6 builds a std::unordered_map of
//     the arguments and a scratchpad grantor inside every execution; no caller can avoid them), or on another
//     thread than the counting one inside libdnnl (a primitive's parallel body on an OpenMP worker);
//   - Kestrel's: any other with a frame in Kestrel's code (libkestrel, the Python module _kestrel), including
//     oneDNN calls Kestrel chooses to make (memory objects, the C++ wrapper's argument vector);
//   - other: the rest (the program itself, e.g. the Python interpreter's own objects).
// KESTREL_ALLOC_TRACE=1 prints a backtrace of each of Kestrel's allocations (=all: every one) to stderr, as
// "object +0xoffset" lines for `addr2line -f -C -i -e object offset`.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Starts counting (all threads); the calling thread is the one that runs the engine.
void kestrel_alloc_counter_start(void);
// Stops counting; counts[0..2] = Kestrel's, oneDNN's own, other, since the start.
void kestrel_alloc_counter_stop(long counts[3]);
// 1 when dnnl_primitive_execute was found (without it, oneDNN's allocations would be counted as Kestrel's).
int kestrel_alloc_counter_sees_dnnl_execute(void);

#ifdef __cplusplus
}
#endif
