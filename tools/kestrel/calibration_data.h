// Calibration and report data for `kestrel quantize`: a folder of ONNX test-data sets or of NumPy .npz
// batches.
#pragma once

#include <string>
#include <vector>

#include "kestrel/session.h"

namespace kestrel::cli {

// Reads every batch under `dir`, in name order:
//   - DIR/test_data_set_*/input_*.pb (the ONNX backend / model-zoo layout), or DIR/input_*.pb (one set);
//   - DIR/*.npz, one batch per file, arrays named after the model's inputs (np.savez or np.savez_compressed).
// Throws kInvalidArgument naming the folder when it holds none of these.
std::vector<Feeds> read_calibration_data(const Session& session, const std::string& dir);

// The arrays of one .npz file (name without ".npy" -> tensor). Supports the dtypes Kestrel runs (little
// endian, C order).
std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path);

}  // namespace kestrel::cli
