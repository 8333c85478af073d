// kestrel_fuzz_regressions: replays every committed input under tests/fuzz/regressions/<target>/ through the
// same target body the fuzzer ran (fuzz_targets.h), in the ordinary and the ASan builds. A regression crashes
// it.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "fuzz_targets.h"
#include "infer_request_target.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::cerr << "usage: kestrel_fuzz_regressions <tests/fuzz/regressions>\n";
    return 2;
  }
  const std::pair<const char*, void (*)(const uint8_t*, size_t)> targets[] = {
      {"load_model", kestrel::fuzz::load_model},
      {"parse_value", kestrel::fuzz::parse_value},
      {"run_model", kestrel::fuzz::run_model},
      {"infer_request", kestrel::fuzz::infer_request},
  };
  int passed = 0;
  for (const auto& [name, body] : targets) {
    const fs::path dir = fs::path(argv[1]) / name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::cout << name << ": " << entry.path().filename().string() << std::endl;
      body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++passed;
    }
  }
  std::cout << "fuzz regressions: " << passed << " passed, 0 failed" << std::endl;
  return 0;
}
