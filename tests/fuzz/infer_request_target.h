// The body of the fuzz target for the server's HTTP inference requests (src/server/infer_request.h): shared by
// tests/fuzz/infer_request_fuzzer.cc and kestrel_fuzz_regressions, like fuzz_targets.h. Hostile bodies must give
// a RequestError or a kestrel::Error, never a crash; every tensor decoded must survive a round trip through both
// of the protocol's encodings unchanged.
#pragma once

#include <optional>
#include <string>

#include "fuzz_targets.h"
#include "server/infer_request.h"
#include "server/request_error.h"
#include "server/tensor_codec.h"

namespace kestrel::fuzz {

// The first byte says whether the request has an Inference-Header-Content-Length header: 0 none; 1 the second
// byte is its value; 2 its text runs to the first newline (so malformed values are tried too). The rest is the
// body.
inline void infer_request(const uint8_t* data, size_t size) {
  static const bool limited = [] {
    Tensor::set_max_tensor_bytes(std::stoull(kFuzzMaxTensorBytes));
    return true;
  }();
  (void)limited;
  if (size == 0) return;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<std::string> header_length;
  switch (data[0] % 3) {
    case 1:
      if (rest.empty()) return;
      header_length = std::to_string(static_cast<uint8_t>(rest[0]));
      rest.remove_prefix(1);
      break;
    case 2: {
      const size_t end = rest.find('\n');
      if (end == std::string_view::npos) return;
      header_length = std::string(rest.substr(0, end));
      rest.remove_prefix(end + 1);
      break;
    }
    default:
      break;
  }
  server::ParsedInfer parsed;
  try {
    parsed = server::parse_infer_request(rest, header_length);
  } catch (const server::RequestError&) {
    return;
  } catch (const Error&) {
    return;
  }
  for (const auto& [name, tensor] : parsed.request.inputs) {
    touch(Value(tensor));
    std::string raw;
    server::append_raw(tensor, raw);
    if (!same_tensor(tensor, server::tensor_from_raw(name, tensor.type(), tensor.shape(), raw)))
      finding("input '" + name + "' changed in a round trip through the binary encoding");
    // JSON carries neither NaN nor infinities (they print as null) nor strings that are not UTF-8: such tensors
    // cannot make the JSON round trip, in the server's responses either.
    std::string text;
    try {
      text = server::tensor_to_json(tensor).dump();
    } catch (const nlohmann::json::type_error&) {
      continue;
    }
    if (text.find("null") != std::string::npos) continue;
    const Tensor again = server::tensor_from_json(name, tensor.type(), tensor.shape(), nlohmann::json::parse(text));
    if (!same_tensor(tensor, again)) finding("input '" + name + "' changed in a round trip through JSON");
  }
}

}  // namespace kestrel::fuzz
