// Enforces request timeouts on runs in progress: arm() a run's RunOptions with a deadline, and when the deadline
// passes before disarm() the run is told to terminate (Session::run then fails between steps).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "kestrel/session.h"

namespace kestrel::server {

using Clock = std::chrono::steady_clock;

class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Returns a ticket for disarm(). Copies of RunOptions share the terminate flag, so the copy kept here reaches the
  // caller's run.
  uint64_t arm(Clock::time_point deadline, const RunOptions& run);
  void disarm(uint64_t ticket);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, std::pair<uint64_t, RunOptions>> armed_;
  uint64_t next_ticket_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// Disarms on scope exit; does nothing for a request without a deadline.
class ArmedRun {
 public:
  ArmedRun(Watchdog& watchdog, std::optional<Clock::time_point> deadline, const RunOptions& run)
      : watchdog_(watchdog), ticket_(deadline ? watchdog.arm(*deadline, run) : 0) {}
  ~ArmedRun() {
    if (ticket_) watchdog_.disarm(ticket_);
  }
  ArmedRun(const ArmedRun&) = delete;
  ArmedRun& operator=(const ArmedRun&) = delete;

 private:
  Watchdog& watchdog_;
  uint64_t ticket_;
};

}  // namespace kestrel::server
