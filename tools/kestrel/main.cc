// kestrel: the command line. One file per subcommand; this one dispatches and turns errors into one line.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: kestrel <command> [options]\n"
         "  run MODEL [--inputs DIR] [--outputs DIR] [--compare DIR]   run once (--compare: accuracy vs "
         "DIR's outputs)\n"
         "  info MODEL [--optimized] [--level L]             inputs, outputs, opsets, ops, parameters\n"
         "  optimize IN OUT [--level L]                      save the optimized graph as ONNX\n"
         "  quantize IN OUT --mode dynamic|static [--calibration DIR] [--method minmax|entropy|percentile]\n"
         "           [--per-channel] [--format qdq|qoperator] [--weight-type s8|u8] [--activation-type "
         "s8|u8]\n"
         "           [--op-types A,B] [--exclude-nodes A,B] [--nodes A,B] [--keep-first-layer]\n"
         "           [--keep-last-layer] [--reduce-range] [--symmetric-activations] [--asymmetric-weights]\n"
         "           [--matmul-const-b-only | --matmul-any-b] [--percentile P] [--progress] "
         "[--no-preprocess]\n"
         "           [--keep-accuracy COSINE [--accuracy-batches N]]   harmful nodes kept float to reach "
         "COSINE\n"
         "           [--report [--report-iterations N]]        int8 model (+ accuracy/size/latency report)\n"
         "  bench MODEL [--inputs DIR] [--shape NAME=D0,..] [--threads N] [--warmup N]\n"
         "              [--iterations N | --seconds S] [--json] [--profile FILE.json]   latency percentiles\n"
         "  serve --model-repository DIR | --model [NAME=]PATH [--http-port 8000] [--grpc-port 8001]\n"
         "        [--metrics-port 8002] [--host H] [--max-request-bytes N] [--max-inflight-requests N]\n"
         "        [--http-threads N] [--request-timeout-ms MS] [--log-level info]   KServe v2 inference "
         "server\n"
         "  run, info and bench take --custom-ops LIB (repeatable): a custom-op library "
         "(include/kestrel/custom_op.h)\n"
         "  run and bench take --precision fp32|bf16: Conv, MatMul and Gemm in bfloat16 where the CPU has "
         "it\n"
         "    [--fp32-op-types Conv,MatMul,Gemm]   with bf16: these op types stay fp32\n"
         "  --version\n";
}

}  // namespace

int main(int argc, char** argv) {
  // The OpenMP runtime (shared with oneDNN) busy-waits for a long time after each parallel region by default and
  // reads its policy only at start-up: restart once with a short spin unless the user chose a policy. libgomp counts
  // the spin in PAUSE instructions, which take about 24 ns on Zen 5 (about 40 ns on Intel since Skylake): 2000 of
  // them spin for 50-80 us, longer than the serial gaps between one run's parallel regions (under 40 us in the zoo
  // CNNs, 93 us at most), so a run keeps its team awake, and short enough that two threads pushed onto one core by
  // other work do not spin against each other for long. Measured at 2 threads on a busy machine (load 10-16),
  // Kestrel/ORT p50: squeezenet1_1 5.2 -> 1.0, mobilenet_v2 5.9 -> 1.2, bert_mini 2.3 -> 0.6 from 20000 to 2000;
  // OMP_WAIT_POLICY=PASSIVE costs a wake-up (~20 us) per region: mobilenet_v2 7.0 ms against 9.6 on an idle machine.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("GOMP_SPINCOUNT", "2000", 1);
    execv("/proc/self/exe", argv);  // returns only on failure; then carry on with the default policy
  }
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  try {
    if (command == "run") return kestrel::cli::run_main(argc - 1, argv + 1);
    if (command == "info") return kestrel::cli::info_main(argc - 1, argv + 1);
    if (command == "bench") return kestrel::cli::bench_main(argc - 1, argv + 1);
    if (command == "optimize") return kestrel::cli::optimize_main(argc - 1, argv + 1);
    if (command == "serve") return kestrel::cli::serve_main(argc - 1, argv + 1);
    if (command == "quantize") return kestrel::cli::quantize_main(argc - 1, argv + 1);
    if (command == "--version" || command == "version") {
      std::cout << "kestrel " << kestrel::version_string() << "\n";
      return 0;
    }
    if (command == "--help" || command == "-h" || command == "help") {
      usage(std::cout);
      return 0;
    }
    std::cerr << "kestrel: unknown command '" << command << "'\n";
    usage(std::cerr);
    return 2;
  } catch (const kestrel::cli::UsageError& e) {
    std::cerr << "kestrel " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const kestrel::Error& e) {
    std::cerr << "kestrel " << command << ": error [" << kestrel::error_code_name(e.code()) << "] " << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kestrel " << command << ": error: " << e.what() << "\n";
    return 1;
  }
}
