/* Kestrel's custom-operator ABI: plain C, so a library built with any compiler (and any C++ standard library)
 * can add operators to a session.
 *
 * A custom-op library exports one function, KestrelRegisterCustomOps. Kestrel loads the library with dlopen when
 * SessionOptions::register_custom_ops_library(path) is called (Python: the SessionOptions method of the same
 * name; CLI: --custom-ops LIB) and calls that function once; the library registers each operator with
 * api->register_op. The operators are visible to sessions created with those options only.
 *
 *   static int relu6_compute(void* user_data, KestrelKernelContext* ctx, const KestrelApi* api) {
 *     KestrelTensor x;
 *     if (api->input(ctx, 0, &x) != 0 || x.element_type != KESTREL_ELEMENT_FLOAT)
 *       return api->fail(ctx, "input 0 must be a float tensor");
 *     float* y = (float*)api->allocate_output(ctx, 0, KESTREL_ELEMENT_FLOAT, x.shape, x.rank);
 *     if (!y) return 1;  // Kestrel has already recorded why
 *     ...
 *     return 0;
 *   }
 *   int KestrelRegisterCustomOps(KestrelRegistration* reg, const KestrelApi* api) {
 *     KestrelCustomOp op = {KESTREL_CUSTOM_OP_ABI_VERSION, "my.domain", "Relu6", 1, 1000, relu6_compute, NULL};
 *     return api->register_op(reg, &op);
 *   }
 *
 * Threading: compute may be called from several threads at once (one session serves concurrent runs); it must
 * keep no per-run state in user_data. Errors: return non-zero from compute, after api->fail(ctx, message) to say
 * why; the run then fails with a kestrel::Error naming the node. Exceptions must not leave compute (Kestrel
 * catches them as a last resort, but a C library cannot rely on that).
 */
#ifndef KESTREL_CUSTOM_OP_H_
#define KESTREL_CUSTOM_OP_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes layout; Kestrel refuses ops built against another version. */
#define KESTREL_CUSTOM_OP_ABI_VERSION 1u

/* The name of the function a library exports. */
#define KESTREL_REGISTER_CUSTOM_OPS_SYMBOL "KestrelRegisterCustomOps"

/* Element types: ONNX's TensorProto.DataType values. */
enum {
  KESTREL_ELEMENT_UNDEFINED = 0,
  KESTREL_ELEMENT_FLOAT = 1,
  KESTREL_ELEMENT_UINT8 = 2,
  KESTREL_ELEMENT_INT8 = 3,
  KESTREL_ELEMENT_UINT16 = 4,
  KESTREL_ELEMENT_INT16 = 5,
  KESTREL_ELEMENT_INT32 = 6,
  KESTREL_ELEMENT_INT64 = 7,
  KESTREL_ELEMENT_STRING = 8, /* not passed to custom ops: input() fails for string tensors */
  KESTREL_ELEMENT_BOOL = 9,
  KESTREL_ELEMENT_FLOAT16 = 10,
  KESTREL_ELEMENT_DOUBLE = 11,
  KESTREL_ELEMENT_UINT32 = 12,
  KESTREL_ELEMENT_UINT64 = 13,
  KESTREL_ELEMENT_BFLOAT16 = 16
};

/* A dense row-major tensor as a custom op sees it. `shape` has `rank` entries and, like `data`, stays valid until
 * compute returns. Inputs are read-only. */
typedef struct KestrelTensor {
  int32_t element_type;
  int32_t rank;
  const int64_t* shape;
  void* data;
} KestrelTensor;

typedef struct KestrelKernelContext KestrelKernelContext; /* one node's inputs and outputs in one run */
typedef struct KestrelRegistration KestrelRegistration;   /* the collection a library registers into */
typedef struct KestrelApi KestrelApi;

/* Returns 0 on success, non-zero on failure (after api->fail). */
typedef int (*KestrelComputeFunction)(void* user_data, KestrelKernelContext* ctx, const KestrelApi* api);

typedef struct KestrelCustomOp {
  uint32_t abi_version; /* KESTREL_CUSTOM_OP_ABI_VERSION as the library saw it */
  const char* domain;   /* the model's node domain, e.g. "com.example"; "" is ai.onnx (may override built-ins) */
  const char* name;     /* the node's op_type */
  int32_t since_version; /* opset versions of `domain` this implementation covers, inclusive */
  int32_t until_version;
  KestrelComputeFunction compute;
  void* user_data; /* passed to compute; must outlive the library's use (static data is simplest) */
} KestrelCustomOp;

struct KestrelApi {
  uint32_t abi_version; /* Kestrel's KESTREL_CUSTOM_OP_ABI_VERSION */

  /* Registration (only inside KestrelRegisterCustomOps). Copies the strings. Returns 0 or non-zero (bad ABI
   * version, empty name, invalid version range). */
  int (*register_op)(KestrelRegistration* registration, const KestrelCustomOp* op);

  /* Inside compute. */
  int32_t (*num_inputs)(const KestrelKernelContext* ctx);
  int32_t (*num_outputs)(const KestrelKernelContext* ctx);
  /* Fills *tensor with input `index`; returns non-zero (and records why) when the input is omitted, not a
   * tensor, or a string tensor. */
  int (*input)(KestrelKernelContext* ctx, int32_t index, KestrelTensor* tensor);
  /* Allocates output `index` with the given type and shape (the op decides its output shapes) and returns its
   * zero-filled data, or NULL (with the reason recorded) for a bad index, type or shape, or a size over the
   * session's kestrel.max_tensor_bytes. */
  void* (*allocate_output)(KestrelKernelContext* ctx, int32_t index, int32_t element_type, const int64_t* shape,
                           int32_t rank);
  /* The node's attributes. Return 0 and set *value when the attribute exists with that type, else non-zero. A
   * string stays valid until compute returns. */
  int (*attribute_int)(const KestrelKernelContext* ctx, const char* name, int64_t* value);
  int (*attribute_float)(const KestrelKernelContext* ctx, const char* name, float* value);
  int (*attribute_string)(const KestrelKernelContext* ctx, const char* name, const char** value);
  /* Records why compute failed; returns 1 so `return api->fail(ctx, "...")` reads naturally. */
  int (*fail)(KestrelKernelContext* ctx, const char* message);
};

/* What a custom-op library exports (extern "C" in C++). Returns 0 on success; non-zero fails the
 * register_custom_ops_library call. */
typedef int (*KestrelRegisterCustomOpsFunction)(KestrelRegistration* registration, const KestrelApi* api);

#ifdef __cplusplus
}
#endif

#endif /* KESTREL_CUSTOM_OP_H_ */
