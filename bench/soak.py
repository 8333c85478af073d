#!/usr/bin/env python3
"""Memory soak: does RSS stay flat over many runs with input shapes changing every run?

Runs a small dynamic model (built here: x[N, L, 32] -> MatMul -> Add -> Relu -> Softmax, N and L change every
run) 100,000 times and the zoo's resnet18 (dynamic batch 1..3, changing every run) 2,000 times, each with the
arena on and off, in Kestrel (the Python package) and in ONNX Runtime 1.30 (bench/soak_ort.js, the same loop in
node). Every configuration runs in a fresh process and reports:

  create      RSS after session creation (MB)
  warm        RSS after the warm-up runs (the first 10%, which see every shape of the cycle) (MB)
  end         RSS after the last run (MB)
  slope       least-squares slope of RSS after warm-up, KB per 1,000 runs (flat memory: about 0)
  in-run peak highest RSS reached during the runs after warm-up, above `warm` (MB): memory a run uses
  after-run   highest RSS seen after a run (sampled), above `warm` (KB): with the arena off, memory should
              return to the warm baseline after each run

    bench/soak.py                                  # full counts (takes ~15 min on 2 cores)
    bench/soak.py --small-runs 20000 --resnet-runs 400 --engines kestrel
    bench/soak.py --json soak.json

Needs the Python package (PYTHONPATH=build/python) and, for ORT, `../shared/peer/setup.sh` (or --ort-modules).
The machine is shared: run it on an idle machine for final figures; `uptime` is printed before and after.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMALL_FEATURES = 32


# ---- the shape schedules (bench/soak_ort.js mirrors these two functions) ----
def small_shape(i):
    return (1 + (i * 5) % 8, 1 + (i * 11) % 32, SMALL_FEATURES)


def resnet_shape(i):
    return (1 + i % 3, 3, 224, 224)


SCHEDULES = {"small": small_shape, "resnet18": resnet_shape}


def build_small_model(path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(7)
    w = rng.standard_normal((SMALL_FEATURES, SMALL_FEATURES)).astype(np.float32)
    b = rng.standard_normal(SMALL_FEATURES).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["biased"]),
        helper.make_node("Relu", ["biased"], ["act"]),
        helper.make_node("Softmax", ["act"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "soak_small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L", SMALL_FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L", SMALL_FEATURES])],
        [helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.flatten()),
         helper.make_tensor("B", TensorProto.FLOAT, b.shape, b)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reset_hwm():
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(model_path, schedule, runs, arena, threads):
    """One configuration in this process; prints one JSON line."""
    import numpy as np
    import kestrel

    shape_of = SCHEDULES[schedule]
    so = kestrel.SessionOptions()
    so.enable_cpu_mem_arena = arena
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = kestrel.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    created = rss_kb()
    inputs = {}  # one array per shape, made once: the loop measures the engine, not NumPy

    def feed(i):
        shape = shape_of(i)
        if shape not in inputs:
            inputs[shape] = np.random.default_rng(len(inputs)).standard_normal(shape).astype(np.float32)
        return {name: inputs[shape]}

    warmup = max(runs // 10, 64)
    every = max(1, runs // 1000)
    samples = []
    for i in range(warmup):
        sess.run(None, feed(i))
    warm = rss_kb()
    hwm_reset = reset_hwm()
    start = time.perf_counter()
    for i in range(warmup, warmup + runs):
        out = sess.run(None, feed(i))
        del out
        if (i - warmup) % every == 0:
            samples.append((i - warmup, rss_kb()))
    elapsed = time.perf_counter() - start
    print(json.dumps({"created_kb": created, "warm_kb": warm, "end_kb": rss_kb(),
                      "peak_kb": hwm_kb() if hwm_reset else None, "samples": samples,
                      "seconds": elapsed, "runs": runs}))


def slope_kb_per_1000(samples):
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in samples) / n
    my = sum(y for _, y in samples) / n
    sxx = sum((x - mx) ** 2 for x, _ in samples)
    sxy = sum((x - mx) * (y - my) for x, y in samples)
    return 1000.0 * sxy / sxx if sxx else 0.0


def summarize(r):
    warm = r["warm_kb"]
    return {
        "create_mb": r["created_kb"] / 1024, "warm_mb": warm / 1024, "end_mb": r["end_kb"] / 1024,
        "slope_kb_per_1000": slope_kb_per_1000(r["samples"]),
        "in_run_peak_mb": None if r["peak_kb"] is None else (r["peak_kb"] - warm) / 1024,
        "after_run_max_kb": max(y for _, y in r["samples"]) - warm,
        "after_run_median_kb": sorted(y for _, y in r["samples"])[len(r["samples"]) // 2] - warm,
        "us_per_run": 1e6 * r["seconds"] / r["runs"],
    }


def run_config(engine, model_path, schedule, runs, arena, args):
    if engine == "kestrel":
        env = dict(os.environ)
        env.setdefault("PYTHONPATH", os.path.join(ROOT, "build", "python"))
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", model_path, schedule, str(runs),
               "1" if arena else "0", str(args.threads)]
    else:
        env = dict(os.environ)
        cmd = ["node", "--expose-gc", os.path.join(HERE, "soak_ort.js"), model_path, schedule, str(runs),
               "1" if arena else "0", str(args.threads)]
        if args.ort_modules:
            cmd += ["--modules", args.ort_modules]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{engine} {schedule} arena={arena} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        model, schedule, runs, arena, threads = sys.argv[2:7]
        worker(model, schedule, int(runs), arena == "1", int(threads))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small-runs", type=int, default=100000)
    p.add_argument("--resnet-runs", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--engines", default="kestrel,ort")
    p.add_argument("--zoo", default=os.path.join(ROOT, "..", "shared", "zoo"))
    p.add_argument("--work", default="/tmp/kestrel_soak", help="folder for the generated small model")
    p.add_argument("--ort-modules", default="", help="node_modules holding onnxruntime-node (default: the peer's)")
    p.add_argument("--json", default="")
    args = p.parse_args()

    os.makedirs(args.work, exist_ok=True)
    small = os.path.join(args.work, "soak_small.onnx")
    build_small_model(small)
    models = [("small", small, args.small_runs), ("resnet18", os.path.join(args.zoo, "resnet18", "model.onnx"),
                                                   args.resnet_runs)]
    print("load before:", os.getloadavg(), file=sys.stderr)
    rows = []
    for schedule, path, runs in models:
        if runs <= 0:
            continue
        for arena in (True, False):
            for engine in args.engines.split(","):
                print(f"soak: {engine} {schedule} x{runs} arena={'on' if arena else 'off'}", file=sys.stderr)
                raw = run_config(engine, path, schedule, runs, arena, args)
                row = {"engine": engine, "model": schedule, "runs": runs, "arena": arena, **summarize(raw)}
                rows.append(row)
                print("  " + json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}),
                      file=sys.stderr)
    load = os.getloadavg()
    print("load after:", load, file=sys.stderr)
    header = ("engine", "model", "runs", "arena", "create MB", "warm MB", "end MB", "slope KB/1k runs",
              "in-run peak MB", "after-run max KB", "after-run p50 KB", "us/run")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        peak = "n/a" if r["in_run_peak_mb"] is None else f"{r['in_run_peak_mb']:.1f}"
        print(f"| {r['engine']} | {r['model']} | {r['runs']} | {'on' if r['arena'] else 'off'} | "
              f"{r['create_mb']:.1f} | {r['warm_mb']:.1f} | {r['end_mb']:.1f} | {r['slope_kb_per_1000']:+.1f} | "
              f"{peak} | {r['after_run_max_kb']:+d} | {r['after_run_median_kb']:+d} | {r['us_per_run']:.0f} |")
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; threads per session: {args.threads}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
