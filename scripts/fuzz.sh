#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz, seeds their corpora from the ONNX backend test
# data and the zoo's inputs, runs each target for a bounded time, then replays tests/fuzz/regressions/.
# Usage: scripts/fuzz.sh [--ci] [seconds per target (default 60)] [target ...]   Exits non-zero when a target crashes;
# the crashing input is left in build-fuzz/crashes/ (copy it to tests/fuzz/pending/<target>/, and move it to
# tests/fuzz/regressions/<target>/ once fixed). FUZZ_FAIL_ON_CRASH=0 keeps fuzzing past crashes (libFuzzer's fork
# mode), lists them and exits 0: for runs while known crashes are still pending.
# --ci builds into build-fuzz-ci with only the kernels the targets need (KESTREL_FUZZ_KERNELS=ci in
# tests/fuzz/CMakeLists.txt), about a third of the full engine: what scripts/test.sh runs.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-fuzz
kernels=all
if [ "${1:-}" = --ci ]; then
  dir=build-fuzz-ci
  kernels=ci
  shift
fi
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(load_model parse_value run_model)
data=/usr/share/libonnx-testdata/data
zoo=../shared/zoo

start=$(date +%s)
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKESTREL_FUZZ_KERNELS=$kernels >/dev/null
cmake --build "$dir" -j"$(nproc)"
echo "fuzz build ($kernels kernels): $(( $(date +%s) - start )) s"

# Seeds are made at run time (never committed): every backend model; every small .pb value with the byte that
# tells parse_value which kind it is; two inputs per op case of run_model.
corpus=$dir/corpus
seed() {  # seed TARGET NAME FILE [KIND-BYTE]
  local out=$corpus/$1/seed_$2
  [ -e "$out" ] && return 0
  if [ $# -ge 4 ]; then { printf "\\x$4"; cat "$3"; } >"$out"; else cp "$3" "$out"; fi
}
mkdir -p "$corpus"/{load_model,parse_value,run_model} "$dir/crashes"
for model in "$data"/*/*/model.onnx; do
  case_dir=$(dirname "$model")
  name=$(basename "$case_dir")
  seed load_model "$name" "$model"
  for pb in "$case_dir"/test_data_set_0/*.pb; do
    [ -e "$pb" ] || continue
    [ "$(stat -c %s "$pb")" -le 16384 ] || continue
    kind=00
    case $name in *sequence*|*seq_*|*split_to*) kind=01 ;; *optional*) kind=02 ;; esac
    seed parse_value "${name}_$(basename "$pb" .pb)" "$pb" "$kind"
  done
done
if [ -d "$zoo" ]; then  # zoo models are megabytes, too big to mutate usefully; their small inputs make good seeds
  for pb in "$zoo"/*/test_data_set_0/input_*.pb; do
    [ -e "$pb" ] && [ "$(stat -c %s "$pb")" -le 65536 ] || continue
    seed parse_value "zoo_$(basename "$(dirname "$(dirname "$pb")")")_$(basename "$pb" .pb)" "$pb" 00
  done
fi
for i in $(seq 0 63); do
  for v in 0 1; do
    out=$corpus/run_model/seed_$i-$v
    [ -e "$out" ] || printf "\\x$(printf %02x "$i")\\x0$v\\x02\\x02\\x03\\x01\\x02\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x02\\x01\\x02\\x03\\x01\\x02\\x03\\x01\\x02\\x03" >"$out"
  done
done

status=0
keep_going=()
[ "${FUZZ_FAIL_ON_CRASH:-1}" = 0 ] && keep_going=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
for t in "${targets[@]}"; do
  log=$dir/$t.log
  echo "fuzz: $t for ${seconds}s"
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$dir/${t}_fuzzer" "$corpus/$t" -max_total_time="$seconds" -seed=1 -timeout=20 -rss_limit_mb=4096 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" "${keep_going[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' ||
    grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || echo "?")
  if [ ${#keep_going[@]} -gt 0 ]; then
    echo "fuzz: $t $execs executions, $(ls "$dir/crashes/" | grep -c "^$t-" || true) crashing inputs in $dir/crashes/"
  elif [ $rc -ne 0 ]; then
    echo "fuzz: $t CRASHED after $execs executions (exit $rc); input and report:"
    ls -1 "$dir/crashes/" | grep "^$t-" || true
    grep -m1 -A30 -E 'ERROR: |runtime error|kestrel fuzz finding|terminate called|deadly signal' "$log" |
      grep -v -E 'in fuzzer::|libc_start|in _start|__sanitizer_print_stack' | cut -c1-240 | head -24 || tail -40 "$log"
    status=1
  else
    echo "fuzz: $t ok, $execs executions, corpus $(ls "$corpus/$t" | wc -l) inputs"
  fi
done

# Every committed regression input, through the instrumented binaries.
for t in load_model parse_value run_model; do
  files=(tests/fuzz/regressions/$t/*)
  [ -e "${files[0]}" ] || continue
  inputs=()
  for f in "${files[@]}"; do [ "${f%.md}" = "$f" ] && inputs+=("$f"); done
  [ ${#inputs[@]} -gt 0 ] || continue
  if ASAN_OPTIONS=detect_leaks=1 "$dir/${t}_fuzzer" "${inputs[@]}" >"$dir/$t.regressions.log" 2>&1; then
    echo "fuzz regressions: $t ${#inputs[@]} inputs ok"
  else
    echo "fuzz regressions: $t FAILED (see $dir/$t.regressions.log)"
    status=1
  fi
done
echo "fuzz total: $(( $(date +%s) - start )) s"
exit $status
