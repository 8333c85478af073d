// Building blocks for the QDQ fusion tests: typed initializers and Quantize/Dequantize pairs.
#pragma once

#include <cstring>

#include "optimizer_test_util.h"

namespace kestrel::optimizer_test {

// An initializer of any element type from raw little-endian values.
template <typename T>
void typed_initializer(ModelBuilder& m, const std::string& name, const std::vector<int64_t>& dims, int type,
                       const std::vector<T>& values) {
  auto* t = m.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  std::string raw(values.size() * sizeof(T), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  t->set_raw_data(raw);
}

// Seeded int8 values in [-100, 100].
inline std::vector<int8_t> seeded_int8(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int8_t& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 201) - 100);
  return v;
}

// x -> QuantizeLinear(scale, zero point u8) -> DequantizeLinear -> out.
inline void fake_quantize(ModelBuilder& m, const std::string& x, const std::string& out, float scale, uint8_t zp) {
  m.initializer(out + "_s", {}, {scale});
  typed_initializer<uint8_t>(m, out + "_z", {}, onnx::TensorProto::UINT8, {zp});
  m.node("QuantizeLinear", {x, out + "_s", out + "_z"}, {out + "_q"});
  m.node("DequantizeLinear", {out + "_q", out + "_s", out + "_z"}, {out});
}

}  // namespace kestrel::optimizer_test
