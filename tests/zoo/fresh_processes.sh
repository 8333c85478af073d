#!/bin/bash
# A fault in session creation can show in a few processes only: oneDNN's primitive cache shares primitives between
# the sessions of one process, so repeating sessions in one process draws once. This runs one zoo model in N fresh
# processes at 2 threads, at each precision, and every run must keep a cosine similarity >= 0.999 with the
# reference outputs. (Kernels made on a thread team once gave non-finite bf16 outputs in 1 to 3 processes of 20.)
#
#   fresh_processes.sh KESTREL ZOO_DIR [N]      exits 77 (skipped) when the model is absent
set -u
kestrel=$1 zoo=$2 runs=${3:-20}
model=$zoo/squeezenet1_1
[ -f "$model/model.onnx" ] || { echo "no $model: skipped"; exit 77; }
failed=0
for precision in bf16 fp32; do
  for run in $(seq "$runs"); do
    line=$("$kestrel" run "$model/model.onnx" --precision "$precision" --threads 2 \
           --inputs "$model/test_data_set_0" --compare "$model/test_data_set_0" 2>&1 | grep "cosine")
    # NaN fails the comparison as it should.
    if ! echo "$line" | awk '{for (i = 1; i < NF; ++i) if ($i == "cosine") exit !($(i + 1) + 0 >= 0.999); exit 1}'; then
      echo "FAIL $precision process $run: ${line:-no comparison printed}"
      failed=$((failed + 1))
    fi
  done
done
echo "$failed of $((2 * runs)) processes failed"
[ "$failed" -eq 0 ]
