// The request-timeout thread.
#include "server/watchdog.h"

namespace kestrel::server {

Watchdog::Watchdog() : thread_([this] { loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t Watchdog::arm(Clock::time_point deadline, const RunOptions& run) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t ticket = next_ticket_++;
  const bool earliest = armed_.empty() || deadline < armed_.begin()->first;
  armed_.emplace(deadline, std::make_pair(ticket, run));
  if (earliest) wake_.notify_all();
  return ticket;
}

void Watchdog::disarm(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = armed_.begin(); it != armed_.end(); ++it) {
    if (it->second.first == ticket) {
      armed_.erase(it);
      return;
    }
  }
}

void Watchdog::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (armed_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto first = armed_.begin();
    if (Clock::now() >= first->first) {
      first->second.second.set_terminate(true);
      armed_.erase(first);
      continue;
    }
    wake_.wait_until(lock, first->first);
  }
}

}  // namespace kestrel::server
