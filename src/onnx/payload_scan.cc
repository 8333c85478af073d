// The payload scan (payload_scan.h): a walk of protobuf's wire format through ModelProto.graph (field 7),
// GraphProto.initializer (field 5) and TensorProto.raw_data (field 9). Every other field is copied into the
// skeleton byte for byte; the messages on the way are re-emitted with their new lengths.
#include "onnx/payload_scan.h"

#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "kestrel/error.h"

namespace kestrel::onnx_format {
namespace {

constexpr uint64_t kModelGraph = 7, kGraphInitializer = 5, kTensorRawData = 9;
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

struct Field {
  uint64_t number = 0;
  int wire = 0;
  size_t begin = 0, value_begin = 0, end = 0;  // the whole field [begin, end); a length-delimited value from
                                               // value_begin
};

bool read_varint(const uint8_t* d, size_t end, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= end) return false;
    const uint8_t b = d[pos++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// The field starting at `pos` (< end); false for malformed bytes and for groups (wire types 3 and 4).
bool next_field(const uint8_t* d, size_t end, size_t& pos, Field& f) {
  f.begin = pos;
  uint64_t tag = 0;
  if (!read_varint(d, end, pos, tag)) return false;
  f.number = tag >> 3;
  f.wire = static_cast<int>(tag & 7);
  if (f.number == 0) return false;
  uint64_t v = 0;
  switch (f.wire) {
    case kVarint:
      if (!read_varint(d, end, pos, v)) return false;
      break;
    case kFixed64:
      if (end - pos < 8) return false;
      pos += 8;
      break;
    case kFixed32:
      if (end - pos < 4) return false;
      pos += 4;
      break;
    case kLengthDelimited:
      if (!read_varint(d, end, pos, v) || v > end - pos) return false;
      f.value_begin = pos;
      pos += static_cast<size_t>(v);
      break;
    default:
      return false;
  }
  f.end = pos;
  return true;
}

void put_message(std::string& out, uint64_t number, const std::string& body) {
  put_varint(out, number << 3 | kLengthDelimited);
  put_varint(out, body.size());
  out += body;
}

// Walks the messages on the way to the payloads. With `out` null it only finds them (payloads, moved_bytes):
// a model without any to move (weights in Constant nodes, or all small) is then not copied at all; otherwise
// the skeleton is written to *out.
class Scan {
 public:
  Scan(const uint8_t* data, uint64_t min_payload) : d_(data), min_payload_(min_payload) {}

  bool model(size_t begin, size_t end, std::string* out) {
    bool graph_seen = false;
    size_t pos = begin;
    while (pos < end) {
      Field f;
      if (!next_field(d_, end, pos, f)) return false;
      if (f.number == kModelGraph && f.wire == kLengthDelimited) {
        // A second graph field would merge into the first; leave such models to protobuf.
        if (graph_seen) return false;
        graph_seen = true;
        std::string graph_bytes;
        if (out) graph_bytes.reserve(f.end - f.value_begin - std::min(expected_moved, f.end - f.value_begin));
        if (!graph(f.value_begin, f.end, out ? &graph_bytes : nullptr)) return false;
        if (out) put_message(*out, kModelGraph, graph_bytes);
      } else {
        copy(out, f);
      }
    }
    return pos == end;
  }

  std::vector<RawPayload> payloads;
  bool moved_any = false;
  size_t moved_bytes = 0;
  size_t expected_moved = 0;  // what a walk without output found: the skeleton is that much smaller

 private:
  void copy(std::string* out, const Field& f) const {
    if (out) out->append(reinterpret_cast<const char*>(d_ + f.begin), f.end - f.begin);
  }

  bool graph(size_t begin, size_t end, std::string* out) {
    size_t pos = begin;
    while (pos < end) {
      Field f;
      if (!next_field(d_, end, pos, f)) return false;
      if (f.number == kGraphInitializer && f.wire == kLengthDelimited) {
        std::string tensor_bytes;
        RawPayload payload;
        if (!tensor(f.value_begin, f.end, out ? &tensor_bytes : nullptr, payload)) return false;
        payloads.push_back(payload);
        if (payload.present) {
          if (out) put_message(*out, kGraphInitializer, tensor_bytes);
          moved_any = true;
          moved_bytes += payload.length;
          continue;
        }
      }
      copy(out, f);
    }
    return pos == end;
  }

  // Copies the TensorProto without a large raw_data, which `payload` then locates.
  bool tensor(size_t begin, size_t end, std::string* out, RawPayload& payload) {
    bool raw_seen = false;
    size_t pos = begin;
    while (pos < end) {
      Field f;
      if (!next_field(d_, end, pos, f)) return false;
      if (f.number == kTensorRawData && f.wire == kLengthDelimited) {
        if (raw_seen) return false;  // protobuf keeps the last one; rare enough to leave to it
        raw_seen = true;
        if (f.end - f.value_begin >= min_payload_) {
          payload = {true, f.value_begin, f.end - f.value_begin};
          continue;
        }
      }
      copy(out, f);
    }
    return pos == end;
  }

  const uint8_t* d_;
  uint64_t min_payload_;
};

}  // namespace

std::optional<ModelSkeleton> split_large_payloads(const uint8_t* data, size_t size, uint64_t min_payload) {
  if (!data || size == 0) return std::nullopt;
  // First a walk that copies nothing, then (when there is something to move) the one that writes the skeleton,
  // into a string of about its final size.
  Scan find(data, min_payload);
  if (!find.model(0, size, nullptr) || !find.moved_any) return std::nullopt;
  Scan scan(data, min_payload);
  scan.expected_moved = find.moved_bytes;
  ModelSkeleton skeleton;
  skeleton.bytes.reserve(size - find.moved_bytes + 64);
  if (!scan.model(0, size, &skeleton.bytes)) return std::nullopt;
  skeleton.payloads = std::move(scan.payloads);
  return skeleton;
}

std::shared_ptr<void> map_file_range(int fd, uint64_t offset, uint64_t length, size_t alignment) {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (fd < 0 || length == 0 || alignment == 0 || offset % alignment != 0 || page % alignment != 0) return nullptr;
  const uint64_t start = offset / page * page;
  const size_t span = static_cast<size_t>(offset - start + length);
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, static_cast<off_t>(start));
  if (p == MAP_FAILED) return nullptr;
  std::shared_ptr<void> region(p, [span](void* q) { ::munmap(q, span); });
  return std::shared_ptr<void>(region, static_cast<char*>(p) + (offset - start));
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(ErrorCode::kNoSuchFile, "model file '" + path + "' cannot be opened");
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return;
  size_ = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (p != MAP_FAILED) data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::read(uint64_t offset, uint64_t length, void* dst) const {
  // A large payload is read in 2 MiB pieces by the caller's OpenMP team: most of the time goes into faulting
  // in and clearing the destination's pages, which threads do side by side.
  constexpr uint64_t kPiece = uint64_t{2} << 20;
  const int threads = omp_get_max_threads();
  if (threads <= 1 || length < 2 * kPiece) return read_piece(offset, length, static_cast<char*>(dst));
  const int64_t pieces = static_cast<int64_t>((length + kPiece - 1) / kPiece);
  bool failed = false;
#pragma omp parallel for num_threads(threads) schedule(dynamic) reduction(|| : failed)
  for (int64_t i = 0; i < pieces; ++i) {
    const uint64_t at = static_cast<uint64_t>(i) * kPiece;
    try {
      read_piece(offset + at, std::min(kPiece, length - at), static_cast<char*>(dst) + at);
    } catch (const Error&) {
      failed = true;  // exceptions may not leave an OpenMP region
    }
  }
  if (failed) throw Error(ErrorCode::kRuntimeException, "reading model file '" + path_ + "' failed");
}

void MappedFile::read_piece(uint64_t offset, uint64_t length, char* out) const {
  while (length > 0) {
    const ssize_t got = ::pread(fd_, out, length, static_cast<off_t>(offset));
    if (got <= 0) throw Error(ErrorCode::kRuntimeException, "reading model file '" + path_ + "' failed");
    out += got;
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
}

}  // namespace kestrel::onnx_format
