// The one error type of the server: what went wrong with a request, in words a client can act on, and a
// protocol-neutral status that each endpoint maps to its own codes (HTTP status, gRPC status).
#pragma once

#include <stdexcept>
#include <string>

namespace kestrel::server {

enum class Status {
  kInvalidArgument,    // the request is malformed or does not fit the model: HTTP 400, gRPC INVALID_ARGUMENT
  kNotFound,           // no such model or version: HTTP 404, gRPC NOT_FOUND
  kUnavailable,        // the model failed to load or is unloaded, or the server is shutting down: 503, UNAVAILABLE
  kResourceExhausted,  // too many requests in flight: HTTP 429, gRPC RESOURCE_EXHAUSTED
  kDeadlineExceeded,   // the request's timeout passed: HTTP 504, gRPC DEADLINE_EXCEEDED
  kInternal,           // the model failed while running: HTTP 500, gRPC INTERNAL
};

class RequestError : public std::runtime_error {
 public:
  RequestError(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

int http_status(Status status);
// "invalid_argument", "not_found", ...: the reason label of the failure metric.
const char* status_name(Status status);

}  // namespace kestrel::server
