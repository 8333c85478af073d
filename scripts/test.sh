#!/usr/bin/env bash
# Every test: set up, build, unit + conformance + zoo + Python + hostile-model + stress tests; then the unit and
# conformance tests (and the fuzz regressions, hostile models, stress test) in an AddressSanitizer +
# UndefinedBehaviorSanitizer build, a bounded run of the fuzz targets, and the stress test under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
bash scripts/build.sh build
bash scripts/python.sh build    # the pytest suite runs inside ctest as the test named python
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir build --output-on-failure
start=$(date +%s)
bash scripts/build.sh build-asan -DKESTREL_SANITIZE=ON
echo "sanitizer build: $(( $(date +%s) - start )) s"
# The zoo models are checked in the plain build; under the sanitizers they would take most of the CI budget.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 GTEST_FILTER='-ZooLevels.*' \
  ctest --test-dir build-asan --output-on-failure -E 'zoo|python'
# A bounded libFuzzer run of every fuzz target (clang, ASan+UBSan; the engine rebuilt with the kernels the targets
# need): 4 minutes with a warm ccache, under 6 cold, on 2 cores. A crash fails CI; its input is left in
# build-fuzz-ci/crashes/.
start=$(date +%s)
bash scripts/fuzz.sh --ci 40
echo "fuzz: $(( $(date +%s) - start )) s"
start=$(date +%s)
bash scripts/tsan.sh 500
echo "thread sanitizer: $(( $(date +%s) - start )) s"
