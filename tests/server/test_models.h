// Small ONNX models for the server tests, built in memory with ONNX's protobuf classes, and the plain C++ formulas
// their outputs must match.
#pragma once

#include <string>
#include <vector>

namespace kestrel::server_test {

constexpr int kMlpIn = 4, kMlpOut = 3;
// x FP32 [n,4] -> y = x·W + b  FP32 [n,3]
std::string mlp_model();
// y[r][j] by the formula, for row-major x of `rows` rows.
std::vector<float> mlp_expected(const std::vector<float>& x, int rows);

// x FP32 [n,k] -> y = sum over k  FP32 [n]   (both dims dynamic)
std::string rowsum_model();

// One Identity per protocol datatype: in_<T> [-1] -> out_<T> [-1], T in kIdentityTypes.
extern const std::vector<std::string> kIdentityDatatypes;  // "BOOL", "INT8", ... "BYTES"
std::string identity_model();

// M INT64 [], cond BOOL [], v0 FP32 [1] -> v = v0 + M, one Loop iteration per step: a request that takes as long
// as its M asks.
std::string loop_model();

}  // namespace kestrel::server_test
