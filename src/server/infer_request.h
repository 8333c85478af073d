// The HTTP inference request body: its JSON header and the binary tensor data extension after it, decoded into an
// InferRequest. Separate from the HTTP endpoint so that it can be tested and fuzzed without a socket.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/server.h"

namespace kestrel::server {

constexpr const char* kHeaderLength = "Inference-Header-Content-Length";

struct ParsedInfer {
  InferRequest request;                     // model and version are left empty: they come from the URL
  std::vector<std::string> binary_outputs;  // outputs to send as binary data
  bool all_binary = false;
};

// `body` is the whole request body; `header_length` the value of the Inference-Header-Content-Length header when
// the request has one (the JSON is then that many bytes, the binary tensor data follows). With an `owner` that
// keeps `body` alive, binary inputs are tensors over the body itself (no copy); without one they are copied.
// Throws RequestError (kInvalidArgument) naming what is wrong, or kestrel::Error when a tensor is over the
// engine's size limit.
ParsedInfer parse_infer_request(std::string_view body, const std::optional<std::string>& header_length,
                                const std::shared_ptr<void>& owner = nullptr);

// Deepest nesting of arrays and objects a request's JSON may have: a tensor's "data" nests one array per dim.
constexpr int kMaxJsonDepth = 64;

// Parses a request body's JSON; RequestError (kInvalidArgument) when it is malformed or nests deeper than
// kMaxJsonDepth.
nlohmann::json parse_request_json(std::string_view text);

// The boolean `key` of a JSON "parameters" object; false when absent. `where` names the object in errors.
bool bool_parameter(const nlohmann::json& parameters, const char* key, const std::string& where);

}  // namespace kestrel::server
