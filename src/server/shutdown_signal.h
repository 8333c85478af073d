// Graceful shutdown on SIGTERM and SIGINT: the handler only writes to a pipe (all a signal handler may safely do);
// a thread reading it calls Server::shutdown(), which drains the requests in flight.
#pragma once

#include <csignal>
#include <thread>

namespace kestrel::server {

class Server;

class ShutdownSignal {
 public:
  explicit ShutdownSignal(Server& server);
  // Restores the previous handlers.
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  int pipe_[2] = {-1, -1};
  struct sigaction previous_term_ {}, previous_int_ {};
  std::thread thread_;
};

}  // namespace kestrel::server
