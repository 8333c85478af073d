#!/usr/bin/env python3
"""Kestrel vs ONNX Runtime 1.30, side by side: for each model folder and thread count, runs `kestrel bench --json`
and `node bench_ort.js --json` interleaved (same inputs, same threads) for several rounds, then prints the p50
Kestrel/ORT ratio (median of per-round ratios), session-creation and peak-RSS ratios, and geometric means.

    bench/compare.py [--rounds 3] [--threads 1,2] [--seconds 3] [--precision fp32|bf16 [--fp32-op-types A,B]]
                     [--json OUT] MODEL_DIR...

With --precision bf16 Kestrel runs its heavy ops in bfloat16 (ORT stays fp32, its only CPU mode for fp32 models)
and the table adds accuracy against the model folder's reference outputs: the lowest cosine similarity over the
outputs, the largest relative error, and top-1 agreement for class scores. --fp32-op-types keeps those op types
(Conv, MatMul, Gemm) fp32 in Kestrel's bf16 runs (kestrel.precision.fp32_op_types).

With --profile, each model and thread count runs once per engine with the engines' per-node profilers on
(Kestrel's `bench --profile`, ORT's through bench/profile_ort.js) and the output is, per model, where each engine's
time goes: per op type the number of nodes and the sum over nodes of each node's median time per run, the total,
and the slowest nodes with their input shapes. The engines name their fused ops differently (ORT: Conv with an
activation inside, QuickGelu for SiLU, Reorder* for its blocked layout), so the types are listed side by side.

A MODEL_DIR holds model.onnx and test_data_set_0/input_*.pb (the zoo layout); its inputs feed both engines.
"""
import argparse
import collections
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd, env=None):
    for attempt in range(3):  # a shared build dir may be mid-link for a moment; retry before giving up
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        for line in reversed(p.stdout.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        time.sleep(5)
    raise RuntimeError("no JSON from: " + " ".join(cmd) + "\n" + p.stdout + p.stderr)


def warm_page_cache(model_dir):
    """Reads every file under the model folder (the model, any external data, the inputs) so that the engine
    about to start finds them in the page cache. The machine may evict file pages that have not been read for a
    few seconds; without this, the engine that goes first in a round pays for reading the model back from disk,
    and the session-creation ratio measures the disk rather than the engine."""
    for folder, _, files in os.walk(model_dir):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                while f.read(8 << 20):
                    pass


def precision_args(precision, fp32_op_types=None):
    """Kestrel's command-line arguments for a precision and the op types a bf16 run keeps fp32 ("Conv,MatMul")."""
    return ["--precision", precision] + (["--fp32-op-types", fp32_op_types] if fp32_op_types else [])


def compare_outputs(kestrel, model, inputs_dir, reference_dir, precision="fp32", fp32_op_types=None):
    """One `kestrel run --compare`: per output (in order), (name, cosine, max_rel_err, top-1 "a/b" or None)."""
    p = subprocess.run([kestrel, "run", model, "--inputs", inputs_dir, "--compare", reference_dir] +
                       precision_args(precision, fp32_op_types), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("kestrel run --compare failed:\n" + p.stdout + p.stderr)
    rows = []
    for line in p.stdout.splitlines():
        if not line.startswith("compare ") or "cosine" not in line:
            continue
        words = line.split()
        top1 = words[words.index("top1") + 1] if "top1" in words else None
        rows.append((words[1].rstrip(":"), float(words[words.index("cosine") + 1]),
                     float(words[words.index("max_rel_err") + 1]), top1))
    return rows


def accuracy(kestrel, model, data_dir, precision, fp32_op_types=None):
    """Worst cosine, worst max_rel_err and top-1 agreement ("a/b" or "-") of one run against the references."""
    rows = compare_outputs(kestrel, model, data_dir, data_dir, precision, fp32_op_types)
    cosines = [r[1] for r in rows]
    rels = [r[2] for r in rows]
    top1 = [r[3] for r in rows if r[3] is not None]
    return (min(cosines) if cosines else float("nan"), max(rels) if rels else float("nan"),
            ",".join(top1) if top1 else "-")


def kestrel_environment(pairs):
    """The environment for Kestrel's runs: this process's, with each KEY=VALUE of --kestrel-env applied."""
    env = dict(os.environ)
    for kv in pairs:
        key, _, value = kv.partition("=")
        env[key] = value
    return env


def node_medians(trace_path, engine):
    """{node name: (op type, input shapes, median microseconds per run)} from a Chrome trace of either engine."""
    with open(trace_path) as f:
        events = json.load(f)
    times, info = collections.defaultdict(list), {}
    for e in events:
        if e.get("cat") != "Node":
            continue
        name, args = e["name"], e.get("args", {})
        if engine == "ort":  # ORT logs fence events beside each node's kernel time
            if not name.endswith("_kernel_time"):
                continue
            name = name[: -len("_kernel_time")]
            shapes = ",".join(str(list(t.values())[0]) for t in args.get("input_type_shape", []))
        else:
            shapes = args.get("input_shapes", "")
        times[name].append(e["dur"])
        info[name] = (args.get("op_name", "?"), shapes.replace(" ", ""))
    return {n: (info[n][0], info[n][1], statistics.median(v)) for n, v in times.items()}


def print_profile(name, threads, engines, top):
    """Per op type, side by side, then each engine's slowest nodes."""
    by_type = {}
    for engine, nodes in engines.items():
        per = collections.defaultdict(lambda: [0, 0.0])
        for op, _, us in nodes.values():
            per[op][0] += 1
            per[op][1] += us
        by_type[engine] = per
    ops = sorted({op for per in by_type.values() for op in per},
                 key=lambda op: -max(by_type[e].get(op, [0, 0.0])[1] for e in engines))
    print(f"\n{name} at {threads} thread(s): sum over nodes of each node's median time per run (ms)")
    print(f"{'op type':<26}" + "".join(f"{e + ' nodes':>14}{e + ' ms':>11}" for e in engines))
    for op in ops:
        cells = ""
        for e in engines:
            count, us = by_type[e].get(op, [0, 0.0])
            cells += f"{count or '':>14}{us / 1000:>11.3f}" if count else f"{'':>14}{'':>11}"
        print(f"{op:<26}{cells}")
    print(f"{'total':<26}" + "".join(f"{len(n):>14}{sum(v[2] for v in n.values()) / 1000:>11.3f}"
                                     for n in engines.values()))
    for engine, nodes in engines.items():
        print(f"{engine}: slowest nodes (us, op, input shapes, name)")
        for node, (op, shapes, us) in sorted(nodes.items(), key=lambda kv: -kv[1][2])[:top]:
            print(f"  {us:>8.0f}  {op:<18} {shapes[:60]:<60} {node[:60]}")


def profile(a, k_env, threads):
    """--profile: one profiled run per engine, model and thread count; prints where the time goes."""
    profiler = os.path.join(ROOT, "bench", "profile_ort.js")
    with tempfile.TemporaryDirectory(prefix="kestrel_profile_") as tmp:
        for model_dir in a.models:
            model = os.path.join(model_dir, "model.onnx")
            inputs = os.path.join(model_dir, "test_data_set_0")
            name = os.path.basename(os.path.normpath(model_dir))
            feed = ["--inputs", inputs] if os.path.isdir(inputs) else []
            for t in threads:
                k_trace = os.path.join(tmp, f"{name}_{t}_kestrel.json")
                o_prefix = os.path.join(tmp, f"{name}_{t}_ort")
                run_json([a.kestrel, "bench", model, "--threads", str(t), "--seconds", str(a.seconds), "--json",
                          "--profile", k_trace] + precision_args(a.precision, a.fp32_op_types) + feed, k_env)
                run_json(["node", profiler, a.ort, o_prefix, model, "--threads", str(t), "--seconds",
                          str(a.seconds), "--json"] + feed)
                o_trace = sorted(glob.glob(o_prefix + "_*.json"))[-1]
                print_profile(name, t, {"kestrel": node_medians(k_trace, "kestrel"),
                                        "ort": node_medians(o_trace, "ort")}, a.top)


def geomean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per engine per round")
    p.add_argument("--kestrel", default=os.path.join(ROOT, "build", "kestrel"))
    p.add_argument("--ort", default=os.path.join(ROOT, "..", "shared", "peer", "bench_ort.js"))
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="Kestrel's precision")
    p.add_argument("--fp32-op-types", metavar="A,B",
                   help="with --precision bf16: op types Kestrel keeps fp32 (Conv, MatMul, Gemm)")
    p.add_argument("--json", help="also write every raw measurement here")
    p.add_argument("--profile", action="store_true", help="per-op-type profile of both engines instead of the table")
    p.add_argument("--top", type=int, default=10, help="with --profile: how many of the slowest nodes to list")
    p.add_argument("--kestrel-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the Kestrel runs only (e.g. OMP_WAIT_POLICY=PASSIVE); repeatable")
    a = p.parse_args()
    if a.fp32_op_types and a.precision == "fp32":
        p.error("--fp32-op-types applies to --precision bf16 only")
    k_env = kestrel_environment(a.kestrel_env)
    threads = [int(t) for t in a.threads.split(",")]
    if a.profile:
        return profile(a, k_env, threads)

    raw, rows, acc = [], [], {}
    for model_dir in a.models:
        model = os.path.join(model_dir, "model.onnx")
        inputs = os.path.join(model_dir, "test_data_set_0")
        name = os.path.basename(os.path.normpath(model_dir))
        if a.precision != "fp32" and os.path.isdir(inputs):
            acc[name] = accuracy(a.kestrel, model, inputs, a.precision, a.fp32_op_types)
        for t in threads:
            k_args = [a.kestrel, "bench", model, "--threads", str(t), "--seconds", str(a.seconds), "--json"] + \
                precision_args(a.precision, a.fp32_op_types)
            o_args = ["node", a.ort, model, "--threads", str(t), "--seconds", str(a.seconds), "--json"]
            if os.path.isdir(inputs):
                k_args += ["--inputs", inputs]
                o_args += ["--inputs", inputs]
            ratios, create, rss, k_p50, o_p50 = [], [], [], [], []
            for r in range(a.rounds):
                # Alternate which engine goes first so drift in machine load hits both alike.
                order = [("kestrel", k_args), ("ort", o_args)] if r % 2 == 0 else [("ort", o_args), ("kestrel", k_args)]
                res = {}
                for engine, cmd in order:
                    warm_page_cache(model_dir)
                    res[engine] = run_json(cmd, k_env if engine == "kestrel" else None)
                raw.append({"model": name, "threads": t, "round": r, **res})
                k, o = res["kestrel"], res["ort"]
                ratios.append(k["p50_ms"] / o["p50_ms"])
                create.append(k["session_create_ms"] / o["create_ms"])
                # Both engines report the process's RSS before the model is loaded: compare what each added.
                o_rss = o["peak_rss_mb"] - o.get("baseline_rss_mb", 0)
                k_rss = k["peak_rss_mb"] - k.get("baseline_rss_mb", 0)
                rss.append(k_rss / o_rss if o_rss > 0 else float("nan"))
                k_p50.append(k["p50_ms"])
                o_p50.append(o["p50_ms"])
                print(f"  {name} t={t} round {r}: kestrel {k['p50_ms']:.2f} ms, ort {o['p50_ms']:.2f} ms "
                      f"-> {ratios[-1]:.3f}", file=sys.stderr, flush=True)
            rows.append((name, t, statistics.median(k_p50), statistics.median(o_p50), statistics.median(ratios),
                         statistics.median(create), statistics.median(rss)))

    kept = f" with {a.fp32_op_types} kept fp32" if a.fp32_op_types and a.precision != "fp32" else ""
    print(f"\nKestrel precision: {a.precision}{kept}; ORT: fp32")
    extra = f"{'cosine':>10}{'max_rel':>10}  top1" if acc else ""
    print(f"{'model':<18}{'thr':>4}{'kestrel p50':>13}{'ort p50':>10}{'p50 ratio':>11}{'create':>9}{'rss':>8}{extra}")
    for name, t, kp, op, ratio, cr, rs in rows:
        line = f"{name:<18}{t:>4}{kp:>11.2f}ms{op:>8.2f}ms{ratio:>11.3f}{cr:>9.3f}{rs:>8.3f}"
        if name in acc:
            cos, rel, top1 = acc[name]
            line += f"{cos:>10.5f}{rel:>10.2e}  {top1}"
        print(line)
    for t in threads:
        sel = [r for r in rows if r[1] == t]
        print(f"{'geomean':<18}{t:>4}{'':>13}{'':>10}{geomean([r[4] for r in sel]):>11.3f}"
              f"{geomean([r[5] for r in sel]):>9.3f}{geomean([r[6] for r in sel]):>8.3f}")
    if a.kestrel_env:
        print("Kestrel ran with " + " ".join(a.kestrel_env))
    print("ratios are Kestrel/ORT (lower is better): p50 = median of per-round p50 ratios; rss = peak RSS above "
          "the process's idle baseline, Kestrel over ORT")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"precision": a.precision, "rows": rows, "accuracy": acc, "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
