// Reading calibration batches (see calibration_data.h). .npz files are ZIP archives of .npy arrays: entries
// are stored or deflated (np.savez_compressed), read with zlib.
#include "calibration_data.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kestrel/value_file.h"

namespace kestrel::cli {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad_npz(const std::string& path, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "'" + path + "' is not a readable .npz file: " + why);
}

uint32_t le32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

ElementType npy_type(const std::string& descr, const std::string& path) {
  static const std::vector<std::pair<std::string, ElementType>> types = {
      {"f4", ElementType::kFloat},  {"f8", ElementType::kDouble}, {"f2", ElementType::kFloat16},
      {"i8", ElementType::kInt64},  {"i4", ElementType::kInt32},  {"i2", ElementType::kInt16},
      {"i1", ElementType::kInt8},   {"u1", ElementType::kUInt8},  {"u2", ElementType::kUInt16},
      {"u4", ElementType::kUInt32}, {"u8", ElementType::kUInt64}, {"b1", ElementType::kBool}};
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|'))
    for (const auto& [code, type] : types)
      if (descr.substr(1) == code) return type;
  bad_npz(path, "unsupported array dtype '" + descr + "' (little-endian numbers and bool only)");
}

// One .npy payload -> Tensor.
Tensor parse_npy(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    bad_npz(path, "an entry is not a .npy array");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = p[6];
  size_t header_len = major == 1 ? le16(p + 8) : le32(p + 8);
  size_t header_start = major == 1 ? 10 : 12;
  if (header_start + header_len > bytes.size()) bad_npz(path, "truncated .npy header");
  const std::string header = bytes.substr(header_start, header_len);
  auto field = [&](const std::string& key) {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) bad_npz(path, "the .npy header has no '" + key + "'");
    return header.substr(header.find(':', k) + 1);
  };
  std::string descr = field("descr");
  descr = descr.substr(descr.find('\'') + 1);
  descr = descr.substr(0, descr.find('\''));
  if (field("fortran_order").find("True") < field("fortran_order").find(','))
    bad_npz(path, "Fortran-ordered arrays are not supported (use np.ascontiguousarray)");
  std::string shape_text = field("shape");
  shape_text = shape_text.substr(shape_text.find('(') + 1, shape_text.find(')') - shape_text.find('(') - 1);
  Shape shape;
  for (size_t i = 0; i < shape_text.size();) {
    size_t j = shape_text.find(',', i);
    const std::string dim = shape_text.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (dim.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(dim));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  Tensor t(npy_type(descr, path), shape);
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start < t.bytes()) bad_npz(path, "an array's data is truncated");
  if (t.bytes() > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, t.bytes());
  return t;
}

std::string inflate_raw(const std::string& compressed, size_t size, const std::string& path) {
  std::string out(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) bad_npz(path, "zlib failed to start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) bad_npz(path, "a compressed entry is corrupt");
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNoSuchFile, "cannot open '" + path + "'");
  const std::string zip((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* z = reinterpret_cast<const unsigned char*>(zip.data());
  std::vector<std::pair<std::string, Tensor>> arrays;
  // Walk the local file headers (np.savez writes sizes in them; ZIP64 archives over 4 GB are not read).
  size_t pos = 0;
  while (pos + 30 <= zip.size() && le32(z + pos) == 0x04034b50) {
    const uint16_t flags = le16(z + pos + 6);
    const uint16_t method = le16(z + pos + 8);
    uint32_t compressed_size = le32(z + pos + 18);
    uint32_t size = le32(z + pos + 22);
    const uint16_t name_len = le16(z + pos + 26);
    const uint16_t extra_len = le16(z + pos + 28);
    if (pos + 30 + name_len + extra_len > zip.size()) bad_npz(path, "truncated entry header");
    std::string name = zip.substr(pos + 30, name_len);
    const size_t data = pos + 30 + name_len + extra_len;
    // ZIP64 sizes live in the extra field (id 1): uncompressed then compressed size, 8 bytes each.
    if (size == 0xFFFFFFFFu || compressed_size == 0xFFFFFFFFu) {
      for (size_t e = pos + 30 + name_len; e + 4 <= data;) {
        const uint16_t id = le16(z + e), len = le16(z + e + 2);
        if (id == 1 && len >= 16) {
          size = le32(z + e + 4);
          compressed_size = le32(z + e + 12);
        }
        e += 4 + len;
      }
    }
    if (flags & 0x08) bad_npz(path, "entries with trailing data descriptors are not supported");
    if (data + compressed_size > zip.size()) bad_npz(path, "truncated entry '" + name + "'");
    const std::string raw = zip.substr(data, compressed_size);
    std::string npy;
    if (method == 0)
      npy = raw;
    else if (method == 8)
      npy = inflate_raw(raw, size, path);
    else
      bad_npz(path, "entry '" + name + "' uses ZIP method " + std::to_string(method));
    if (name.size() > 4 && name.substr(name.size() - 4) == ".npy") name.resize(name.size() - 4);
    arrays.emplace_back(name, parse_npy(npy, path));
    pos = data + compressed_size;
  }
  if (arrays.empty()) bad_npz(path, "no arrays found");
  return arrays;
}

std::vector<Feeds> read_calibration_data(const Session& session, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kInvalidArgument, "calibration folder '" + dir + "' does not exist");
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  std::vector<Feeds> batches;
  for (const fs::path& e : entries) {
    if (fs::is_directory(e) && e.filename().string().rfind("test_data_set_", 0) == 0) {
      Feeds feeds = read_input_files(session, e.string());
      if (!feeds.empty()) batches.push_back(std::move(feeds));
    } else if (e.extension() == ".npz") {
      Feeds feeds;
      for (auto& [name, tensor] : read_npz(e.string())) {
        bool known = false;
        for (const IoInfo& io : session.inputs()) known = known || io.name == name;
        if (!known)
          throw Error(ErrorCode::kInvalidArgument,
                      "'" + e.string() + "': array '" + name + "' is not an input of the model");
        feeds.emplace_back(name, Value(tensor));
      }
      batches.push_back(std::move(feeds));
    }
  }
  if (batches.empty()) {
    Feeds feeds = read_input_files(session, dir);
    if (!feeds.empty()) batches.push_back(std::move(feeds));
  }
  if (batches.empty())
    throw Error(
        ErrorCode::kInvalidArgument,
        "calibration folder '" + dir + "' holds no test_data_set_*/input_*.pb, input_*.pb or .npz files");
  return batches;
}

}  // namespace kestrel::cli
