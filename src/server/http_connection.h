// The transport under the HTTP endpoint: httplib parses and routes requests, and reads and writes through an
// httplib::Stream; this is the Stream of an accepted connection, and the httplib::Server that serves every
// connection through one.
//
// Why not httplib's own socket stream: it reads a request body 4 KB per recv, each behind a poll. A 600 KB
// tensor took ~300 system calls and as many TCP window updates, whose ACKs then run the client's transmit
// path on the server's thread: 320-380 us of server CPU per request on loopback, against 80-130 us here. Here
// a read tries recv first and polls only when nothing is waiting, large reads go straight into the caller's
// buffer, and an infer body is read in one piece into its tensor buffer (read_exact). Writes are held until
// the response is complete, so that its status, headers and body leave in one send and the client wakes once
// (a body over 256 KB is sent from where it is, after what is held).
#pragma once

#include <httplib.h>

#include <string>

namespace kestrel::server {

class HttpConnection final : public httplib::Stream {
 public:
  HttpConnection(socket_t sock, time_t read_timeout_sec, time_t read_timeout_usec, time_t write_timeout_sec,
                 time_t write_timeout_usec);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // The connection this thread is serving (httplib runs each connection's requests on one thread), or null.
  static HttpConnection* of_this_thread();

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

  // Reads exactly `size` bytes into `dest` (what is buffered, then straight from the socket); false when the
  // peer closes, an error occurs or the read timeout passes first.
  bool read_exact(char* dest, size_t size);
  // Sends what write() holds; false when the peer is gone or the write timeout passes.
  bool flush();
  // Waits up to `timeout_ms` for the next request's first bytes; false on timeout, close or error.
  bool wait_readable(int timeout_ms);

 private:
  friend class HttpConnectionServer;
  // One recv into `dest` (at most `size` bytes), polling only when nothing is waiting; <= 0 as recv on
  // close/error.
  ssize_t receive(char* dest, size_t size);
  // Sends `size` bytes, polling when the socket buffer is full; false on error or write timeout.
  bool send_all(const char* data, size_t size);

  socket_t sock_;
  int read_timeout_ms_, write_timeout_ms_;
  std::string input_;  // bytes received: [input_at_, input_end_) not yet read
  size_t input_at_ = 0, input_end_ = 0;
  std::string output_;  // bytes written and not yet sent
  std::string remote_ip_, local_ip_;
  int remote_port_ = -1, local_port_ = -1;
};

// httplib's server with its keep-alive loop over an HttpConnection instead of httplib's own socket stream.
class HttpConnectionServer final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace kestrel::server
