// SIGTERM / SIGINT to Server::shutdown().
#include "server/shutdown_signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "server/server.h"

namespace kestrel::server {
namespace {

// The write end of the active pipe, for the handler. One ShutdownSignal at a time.
volatile sig_atomic_t signal_pipe = -1;

constexpr char kSignalled = 's';
constexpr char kClosing = 'c';

void on_signal(int) {
  const int saved = errno;
  const char byte = kSignalled;
  if (signal_pipe >= 0) {
    [[maybe_unused]] ssize_t n = write(signal_pipe, &byte, 1);
  }
  errno = saved;
}

}  // namespace

ShutdownSignal::ShutdownSignal(Server& server) {
  if (pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("cannot create the shutdown signal pipe");
  signal_pipe = pipe_[1];
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &previous_term_);
  sigaction(SIGINT, &action, &previous_int_);
  thread_ = std::thread([this, &server] {
    char byte = 0;
    while (true) {
      const ssize_t n = read(pipe_[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1 || byte == kClosing) return;
      server.log(LogSeverity::kInfo, {{"event", "signal"}, {"action", "graceful shutdown"}});
      server.shutdown();
      return;
    }
  });
}

ShutdownSignal::~ShutdownSignal() {
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGINT, &previous_int_, nullptr);
  signal_pipe = -1;
  const char byte = kClosing;
  [[maybe_unused]] ssize_t n = write(pipe_[1], &byte, 1);
  thread_.join();
  close(pipe_[0]);
  close(pipe_[1]);
}

}  // namespace kestrel::server
