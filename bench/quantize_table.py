#!/usr/bin/env python3
"""The quantization table: a float model against its int8 version, in Kestrel and ONNX Runtime 1.30.

    bench/quantize_table.py --rounds 3 --threads 1,2 \\
        --model resnet50:static:FP32_DIR:INT8_DIR[:HELDOUT_DIR] ...

Each FP32_DIR / INT8_DIR holds model.onnx and test_data_set_0/input_*.pb (the zoo layout; the timed runs read
those inputs). HELDOUT_DIR holds test_data_set_* folders the calibration did not see (default: FP32_DIR): both
models run on each with `kestrel run`, and the table gives the lowest cosine similarity of output 0 over them
and, when output 0 is [batch, classes], how often the top-1 class agrees.

Per thread count and round, Kestrel fp32, Kestrel int8 and ORT on the int8 file run one after the other (the
order rotates per round, so drift in machine load hits all three alike); the table gives median p50s and the
median of the per-round ratios int8 / Kestrel fp32 and int8 / ORT int8 (lower is better).
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

from compare import compare_outputs, kestrel_environment, run_json  # bench/compare.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def accuracy(kestrel, fp32, int8, heldout):
    """Lowest cosine of output 0 over the held-out sets, and top-1 agreement (None when not a classifier): the fp32
    model's outputs on each set become the references of the int8 model's `kestrel run --compare`."""
    cosines, agree, total = [], 0, 0
    sets = sorted(glob.glob(os.path.join(heldout, "test_data_set_*")))
    if not sets:
        raise SystemExit(f"no test_data_set_* folders in {heldout}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(sets):
            reference = os.path.join(tmp, f"fp32_{i}")
            subprocess.run([kestrel, "run", fp32, "--inputs", s, "--outputs", reference], check=True,
                           capture_output=True)
            _, cosine, _, top1 = compare_outputs(kestrel, int8, s, reference)[0]
            cosines.append(cosine)
            if top1 is not None:
                a, b = top1.split("/")
                agree += int(a)
                total += int(b)
    return min(cosines), len(sets), (agree / total if total else None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="NAME:MODE:FP32_DIR:INT8_DIR[:HELDOUT_DIR]")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per engine per round")
    p.add_argument("--kestrel", default=os.path.join(ROOT, "build", "kestrel"))
    p.add_argument("--ort", default=os.path.join(ROOT, "..", "shared", "peer", "bench_ort.js"))
    p.add_argument("--json", help="also write every raw measurement here")
    p.add_argument("--kestrel-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the Kestrel runs only (e.g. OMP_WAIT_POLICY=PASSIVE); the table says so")
    a = p.parse_args()
    k_env = kestrel_environment(a.kestrel_env)
    threads = [int(t) for t in a.threads.split(",")]

    rows, raw = [], []
    for spec in a.model:
        parts = spec.split(":")
        if len(parts) not in (4, 5):
            raise SystemExit(f"--model {spec}: expected NAME:MODE:FP32_DIR:INT8_DIR[:HELDOUT_DIR]")
        name, mode, fp32_dir, int8_dir = parts[:4]
        heldout = parts[4] if len(parts) == 5 else fp32_dir
        fp32, int8 = os.path.join(fp32_dir, "model.onnx"), os.path.join(int8_dir, "model.onnx")
        size = (os.path.getsize(fp32) / 1e6, os.path.getsize(int8) / 1e6)
        cosine, sets, top1 = accuracy(a.kestrel, fp32, int8, heldout)
        print(f"  {name}: cosine {cosine:.4f} over {sets} sets, top-1 {top1}", file=sys.stderr, flush=True)
        for t in threads:
            def bench(engine, model, inputs):
                cmd = ([a.kestrel, "bench", model] if engine != "ort" else ["node", a.ort, model])
                cmd += ["--threads", str(t), "--seconds", str(a.seconds), "--json"]
                if os.path.isdir(inputs):
                    cmd += ["--inputs", inputs]
                return run_json(cmd, k_env if engine != "ort" else None)["p50_ms"]

            runs = [("fp32", fp32, os.path.join(fp32_dir, "test_data_set_0")),
                    ("int8", int8, os.path.join(int8_dir, "test_data_set_0")),
                    ("ort", int8, os.path.join(int8_dir, "test_data_set_0"))]
            p50 = {k: [] for k, _, _ in runs}
            own, peer = [], []
            for r in range(a.rounds):
                res = {}
                for engine, model, inputs in runs[r % 3:] + runs[:r % 3]:
                    res[engine] = bench(engine, model, inputs)
                    p50[engine].append(res[engine])
                own.append(res["int8"] / res["fp32"])
                peer.append(res["int8"] / res["ort"])
                raw.append({"model": name, "threads": t, "round": r, **res})
                print(f"  {name} t={t} round {r}: fp32 {res['fp32']:.2f}, int8 {res['int8']:.2f}, "
                      f"ort int8 {res['ort']:.2f} ms", file=sys.stderr, flush=True)
            rows.append((name, mode, t, size, statistics.median(p50["fp32"]), statistics.median(p50["int8"]),
                         statistics.median(p50["ort"]), statistics.median(own), statistics.median(peer), cosine,
                         top1))

    print("| model | mode | threads | size fp32 → int8 (MB) | Kestrel fp32 p50 | Kestrel int8 p50 | ORT int8 p50 "
          "| int8 / own fp32 | int8 / ORT int8 | cosine (min) | top-1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, mode, t, size, fp, q, o, own, peer, cos, top1 in rows:
        top = "-" if top1 is None else f"{top1:.2f}"
        print(f"| {name} | {mode} | {t} | {size[0]:.1f} → {size[1]:.1f} | {fp:.2f} ms | {q:.2f} ms | {o:.2f} ms "
              f"| {own:.2f} | {peer:.2f} | {cos:.4f} | {top} |")
    print("p50s are medians over rounds; ratios are medians of per-round ratios (lower is better)")
    if a.kestrel_env:
        print("Kestrel ran with " + " ".join(a.kestrel_env))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
