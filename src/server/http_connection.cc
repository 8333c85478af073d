// An accepted HTTP connection as an httplib::Stream, and the keep-alive loop that serves one.
#include "server/http_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kestrel::server {
namespace {

// Reads smaller than this go through the connection's buffer; larger ones straight into the caller's memory.
constexpr size_t kInputBuffer = 64 << 10;
// Writes are held up to this much before they are sent (a response's header and a small body leave together).
constexpr size_t kOutputHold = 256 << 10;
// Between requests the loop looks this often whether the server is stopping.
constexpr int kIdleSliceMs = 100;

thread_local HttpConnection* this_thread_connection = nullptr;

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + (usec + 999) / 1000); }

// Waits up to `timeout_ms` for `events` on `sock`; returns the events that came (a hang-up or an error among
// them, which the next call on the socket then reports), 0 on timeout.
short poll_for(socket_t sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  while (true) {
    const int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return p.revents;
    if (n == 0 || errno != EINTR) return 0;
  }
}

bool wait_for(socket_t sock, short events, int timeout_ms) { return poll_for(sock, events, timeout_ms) != 0; }

void address_of(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  ip = text;
}

}  // namespace

HttpConnection::HttpConnection(socket_t sock, time_t read_timeout_sec, time_t read_timeout_usec,
                               time_t write_timeout_sec, time_t write_timeout_usec)
    : sock_(sock),
      read_timeout_ms_(to_ms(read_timeout_sec, read_timeout_usec)),
      write_timeout_ms_(to_ms(write_timeout_sec, write_timeout_usec)) {
  // The addresses do not change over the connection's requests: asked once, not per request.
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, remote_ip_, remote_port_);
  length = sizeof address;
  if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, local_ip_, local_port_);
  input_.resize(kInputBuffer);
}

HttpConnection::~HttpConnection() = default;

HttpConnection* HttpConnection::of_this_thread() { return this_thread_connection; }

bool HttpConnection::is_readable() const {
  return input_at_ < input_end_ || wait_for(sock_, POLLIN, read_timeout_ms_);
}

bool HttpConnection::is_writable() const {
  const short events = poll_for(sock_, POLLOUT, write_timeout_ms_);
  return (events & POLLOUT) && !(events & (POLLERR | POLLHUP));
}

ssize_t HttpConnection::receive(char* dest, size_t size) {
  // A request that waits for the peer (Expect: 100-continue) must have sent what it wrote first.
  if (!output_.empty() && !flush()) return -1;
  while (true) {
    const ssize_t n = ::recv(sock_, dest, size, MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_for(sock_, POLLIN, read_timeout_ms_)) return -1;
  }
}

ssize_t HttpConnection::read(char* ptr, size_t size) {
  if (input_at_ == input_end_) {
    if (size >= kInputBuffer) return receive(ptr, size);
    const ssize_t n = receive(input_.data(), input_.size());
    if (n <= 0) return n;
    input_at_ = 0;
    input_end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, input_end_ - input_at_);
  std::memcpy(ptr, input_.data() + input_at_, n);
  input_at_ += n;
  return static_cast<ssize_t>(n);
}

bool HttpConnection::read_exact(char* dest, size_t size) {
  const size_t buffered = std::min(size, input_end_ - input_at_);
  std::memcpy(dest, input_.data() + input_at_, buffered);
  input_at_ += buffered;
  for (size_t got = buffered; got < size;) {
    const ssize_t n = receive(dest + got, size - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

ssize_t HttpConnection::write(const char* ptr, size_t size) {
  if (output_.size() + size <= kOutputHold) {
    output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  // A large body goes out from where it is, after what is held.
  if (!flush() || !send_all(ptr, size)) return -1;
  return static_cast<ssize_t>(size);
}

bool HttpConnection::flush() {
  const bool sent = send_all(output_.data(), output_.size());
  output_.clear();
  return sent;
}

bool HttpConnection::send_all(const char* data, size_t size) {
  for (size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(sock_, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno != EINTR &&
               ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_for(sock_, POLLOUT, write_timeout_ms_))) {
      return false;
    }
  }
  return true;
}

bool HttpConnection::wait_readable(int timeout_ms) {
  return input_at_ < input_end_ || wait_for(sock_, POLLIN, timeout_ms);
}

void HttpConnection::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = remote_ip_;
  port = remote_port_;
}

void HttpConnection::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = local_ip_;
  port = local_port_;
}

bool HttpConnectionServer::process_and_close_socket(socket_t sock) {
  bool ok = false;
  {
    HttpConnection connection(sock, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_,
                              write_timeout_usec_);
    this_thread_connection = &connection;
    // Up to keep_alive_max_count requests; the last is answered with "Connection: close".
    for (size_t left = keep_alive_max_count_; left > 0; --left) {
      // The next request may take keep_alive_timeout to start; a stopping server closes idle connections.
      const auto idle_until =
          std::chrono::steady_clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
      bool request = false;
      while (!request && svr_sock_ != INVALID_SOCKET && std::chrono::steady_clock::now() < idle_until)
        request = connection.wait_readable(kIdleSliceMs);
      if (!request || svr_sock_ == INVALID_SOCKET) break;
      bool closed = false;
      ok = process_request(connection, left == 1, closed, nullptr);
      if (!connection.flush() || !ok || closed) break;
    }
    this_thread_connection = nullptr;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace kestrel::server
