// A model's serving configuration: DIR/<model>/config.json in a model repository. Every key is optional; a key the
// server does not know is an error (reported as the model's load failure), never silently ignored.
//
//   {
//     "max_batch_size": 8,                       // largest first dim a request (or a formed batch) may have; 0: no limit
//     "dynamic_batching": {                      // absent: every request runs on its own
//       "max_queue_delay_microseconds": 500,     // longest a request waits for others to join its batch
//       "preferred_batch_size": [4, 8],          // batch sizes to launch at as soon as they are reached
//       "delay_lone_requests": false             // true: a request alone in the queue waits the delay too
//     },
//     "instance_count": 1,                       // runs (or batches) of this model in flight at once
//     "version_policy": "latest",                // "latest" (highest numbered version folder) or "all"
//     "session": {"intra_op_num_threads": 2, "inter_op_num_threads": 0, "graph_optimization_level": 99,
//                 "execution_mode": "sequential", "enable_cpu_mem_arena": true}
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/session.h"

namespace kestrel::server {

struct DynamicBatching {
  int64_t max_queue_delay_microseconds = 0;
  std::vector<int64_t> preferred_batch_sizes;  // ascending
  bool delay_lone_requests = false;
};

struct ModelConfig {
  SessionOptions session;
  int64_t max_batch_size = 0;
  std::optional<DynamicBatching> dynamic_batching;
  int instance_count = 1;
  bool all_versions = false;
};

// Parses config.json text; throws std::runtime_error with a message naming the offending key.
ModelConfig parse_model_config(const std::string& text);

}  // namespace kestrel::server
