#!/usr/bin/env bash
# Builds the concurrency stress test with ThreadSanitizer (g++, as the main build) into build-tsan, compiling only the parts of the
# engine it runs (tests/stress/CMakeLists.txt), and runs it: 8 threads on one session, runs stopped by
# RunOptions.terminate, sessions created and destroyed concurrently. Any TSan report fails the script.
# Usage: scripts/tsan.sh [runs per thread (default 2000)]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2000}
start=$(date +%s)
cmake -S tests/stress -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-tsan -j"$(nproc)"
built=$(date +%s)
echo "tsan build: $(( built - start )) s"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  build-tsan/kestrel_stress --threads 8 --runs "$runs" --terminations 40 --churn 2
# The same with every session in parallel execution mode (steps of one run on two threads).
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  build-tsan/kestrel_stress --threads 8 --runs "$(( runs / 2 ))" --terminations 40 --churn 2 --parallel 1
echo "tsan run: $(( $(date +%s) - built )) s"
