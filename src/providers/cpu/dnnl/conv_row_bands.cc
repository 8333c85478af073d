// Row bands of a channels-last convolution, run side by side (see conv_row_bands.h).
#include "providers/cpu/dnnl/conv_row_bands.h"

#include <exception>

namespace kestrel::cpu::dnnl_backend {

void run_band(const ConvBand& band, const char* x, char* y, const char* z) {
  const char* band_x = x + band.src_offset;
  char* band_y = y + band.dst_offset;
  const void* src = converted_input(band.src, band_x, 1);
  void* dst = output_buffer(band.dst, band_y);
  if (z) {
    const char* band_z = z + band.dst_offset;
    if (band.residual)
      band.residual.run(band_z, dst, 1);
    else if (band_z != band_y)
      band.dst.run(band_z, band_y, 1);  // the layouts agree: a copy of the band's rows
  }
  band.conv.run({src, dst});
  converted_output(band.dst, dst, band_y, 1);
}

void run_row_bands(const std::vector<ConvBand>& bands, int64_t images, size_t x_image_bytes,
                   size_t y_image_bytes, const void* x, void* y, const void* z, int threads) {
  const int64_t items = images * static_cast<int64_t>(bands.size());
  std::exception_ptr error;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < items; ++i) {
    try {
      ThreadScope one(1);  // whatever oneDNN runs in here stays on this thread
      const ConvBand& band = bands[static_cast<size_t>(i) % bands.size()];
      const int64_t image = i / static_cast<int64_t>(bands.size());
      run_band(band, static_cast<const char*>(x) + image * x_image_bytes,
               static_cast<char*>(y) + image * y_image_bytes,
               z ? static_cast<const char*>(z) + image * y_image_bytes : nullptr);
    } catch (...) {
#pragma omp critical(kestrel_row_bands_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace kestrel::cpu::dnnl_backend
