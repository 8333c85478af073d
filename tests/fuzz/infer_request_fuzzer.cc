// libFuzzer entry point: an HTTP inference request body -> the server's request decoding (body in
// infer_request_target.h).
#include "infer_request_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kestrel::fuzz::infer_request(data, size);
  return 0;
}
