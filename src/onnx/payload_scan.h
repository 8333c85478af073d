// Finds the large raw_data payloads of the main graph's initializers in a serialized ModelProto without
// copying them, so that protobuf parses only the rest (the "skeleton") and the loader reads each payload
// straight into its tensor: one copy of the weights instead of three (file bytes, protobuf strings, tensors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kestrel::onnx_format {

// Where one initializer's raw_data lies in the serialized model; absent when it stayed in the skeleton.
struct RawPayload {
  bool present = false;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ModelSkeleton {
  std::string bytes;                 // the ModelProto without the payloads below
  std::vector<RawPayload> payloads;  // one per initializer of the main graph (GraphProto field 5), in order
};

// Payloads of at least `min_payload` bytes leave the skeleton; smaller ones (shapes, axes: what ONNX's shape
// inference reads) stay. nullopt when the bytes hold nothing worth moving, or anything the scan does not take
// for plain well-formed protobuf (groups, truncation, a repeated graph or raw_data field): the full parse then
// runs as before and reports what is wrong.
std::optional<ModelSkeleton> split_large_payloads(const uint8_t* data, size_t size, uint64_t min_payload);

// `length` bytes at `offset` of the open file `fd` as memory of their own: a private mapping of the pages that
// hold them (a write lands in a copy of the page, never in the file), unmapped when the last owner lets go.
// Null when `offset` is not a multiple of `alignment` (the bytes would not be aligned for their elements) or the
// range cannot be mapped. Reading such a view costs no copy and no zeroed memory: the pages are the file's, in
// the page cache, and count in the process's memory only once touched. The file must keep its bytes while a
// view lives (replaced, not rewritten in place, as model files are).
std::shared_ptr<void> map_file_range(int fd, uint64_t offset, uint64_t length, size_t alignment);

// A model file mapped read-only (for the scan), with its payloads read by pread or mapped on their own
// (map_file_range) instead of copied from this mapping, whose pages would all stay in the process's memory.
// Unmapped and closed when done.
class MappedFile {
 public:
  // Throws kNoSuchFile when the file cannot be opened; data() is null when it cannot be mapped (empty, or not
  // a regular file), and the caller reads it otherwise.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Copies [offset, offset + length) of the file into dst; throws when the file has become shorter.
  void read(uint64_t offset, uint64_t length, void* dst) const;
  // map_file_range of this file.
  std::shared_ptr<void> view(uint64_t offset, uint64_t length, size_t alignment) const {
    return map_file_range(fd_, offset, length, alignment);
  }

 private:
  void read_piece(uint64_t offset, uint64_t length, char* out) const;
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kestrel::onnx_format
