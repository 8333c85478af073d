#!/usr/bin/python3
"""The serving benchmark in one command: starts `kestrel serve` on a temporary model repository and drives it with
build/serve_load over loopback, then prints four tables:

1. bert_mini over HTTP binary and gRPC at each concurrency, with dynamic batching off and on (the same server, the
   same model loaded twice: `bert_mini` without batching, `bert_mini_batched` with the batching config below);
   the two rows of a pair run back to back, so they see the same machine load. First at the zoo input's sequence
   length (128), then the same table at a short sequence (--short-sequence, default 16: the zoo input's first
   tokens), where a batch-1 run is short enough that per-run costs, not compute, bound it: the case dynamic
   batching is for. The two are separate rows of one table, labelled by sequence; the sequence-128 rows are measured
   exactly as without the short run;
2. the server's overhead per request on squeezenet1_1 at concurrency 1 (serve_load --paired: Session::run and a
   request alternately in one client, p50 of the requests minus p50 of Session::run), with the transport floor:
   the same 600 KB request over a bare loopback TCP connection to a thread that runs the model and answers, no
   server (serve_load --protocol tcp);
3. requests/s of GET /v2/health/ready;
4. the engine's own batch scaling on bert_mini (`kestrel bench`, no server): rows/s of one Session::run per batch
   size at 1 and 2 intra-op threads, against batch 1. This is the ceiling of what dynamic batching can gain on this
   engine and machine: a batching server cannot serve more rows/s than its best batch size runs.

    bench/serve_table.py [--build build] [--zoo ../shared/zoo] [--seconds 5] [--rounds 1] [--short-sequence 16]
    bench/serve_table.py --skip batching,overhead,health      (the engine table alone)

Machine load (`uptime`) is printed before and after: the machine may be shared, so read the batching-on/off ratios
of one run rather than absolute figures. GOMP_SPINCOUNT / OMP_WAIT_POLICY in the environment reach both the server
and serve_load: on a machine whose cores are busy with other work, a short spin (GOMP_SPINCOUNT=100) avoids 2-thread
runs spinning while their partner thread waits for a core.
"""
import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import socket
import time
import urllib.request

from compare import run_json

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# The batching config used for the table (also shown in docs/serving.md): one instance using both cores, batches
# of up to 32 rows launched at once at 32 rows or after 2 ms.
BATCHED_CONFIG = {
    "max_batch_size": 32,
    "dynamic_batching": {"max_queue_delay_microseconds": 2000},
    "instance_count": 1,
}
UNBATCHED_CONFIG = {"max_batch_size": 32, "instance_count": 1}
# The overhead is measured with one intra-op thread on both sides (the served model and serve_load's own session):
# a 2-thread run on a loaded 2-core machine varies by far more than the overhead being measured.
OVERHEAD_CONFIG = {"session": {"intra_op_num_threads": 1}}


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def make_repository(zoo, folder):
    def add(name, model, config):
        os.makedirs(os.path.join(folder, name, "1"))
        os.symlink(os.path.abspath(os.path.join(zoo, model, "model.onnx")), os.path.join(folder, name, "1", "model.onnx"))
        if config is not None:
            with open(os.path.join(folder, name, "config.json"), "w") as f:
                json.dump(config, f)

    add("bert_mini", "bert_mini", UNBATCHED_CONFIG)
    add("bert_mini_batched", "bert_mini", BATCHED_CONFIG)
    add("squeezenet1_1", "squeezenet1_1", OVERHEAD_CONFIG)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cli, repository):
    # --log-level warning: no access-log line per request (the "listening" line is info too, so the ports are
    # chosen here and readiness polled).
    ports = {"http_port": free_port(), "grpc_port": free_port(), "metrics_port": free_port()}
    proc = subprocess.Popen([cli, "serve", "--model-repository", repository, "--host", "127.0.0.1", "--http-port",
                             str(ports["http_port"]), "--grpc-port", str(ports["grpc_port"]), "--metrics-port",
                             str(ports["metrics_port"]), "--log-level", "warning"])
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("serve_table: the server exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['http_port']}/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit("serve_table: the server did not become ready")
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{ports['http_port']}/v2/repository/index",
                                                       data=b"{}")) as r:
        for model in json.load(r):
            if model["state"] != "READY":
                sys.exit(f"serve_table: model {model['name']} is {model['state']}: {model['reason']}")
    return proc, ports


def serve_load(load, ports, *args):
    command = [load, "--json", "--http-port", str(ports["http_port"]), "--grpc-port", str(ports["grpc_port"]),
               *map(str, args)]
    out = subprocess.run(command, capture_output=True, text=True)
    try:  # failed requests are counted in the report (exit status 1), not fatal
        report = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        sys.exit(f"serve_table: {' '.join(command)} failed:\n{out.stdout}{out.stderr}")
    if report.get("first_error"):
        print(f"  ({report['protocol']} at concurrency {report['concurrency']}: {report['served']['errors']} failed "
              f"requests, the first: {report['first_error']})", file=sys.stderr, flush=True)
    return report


def short_inputs(source, folder, sequence):
    """Writes the first `sequence` tokens of each of `source`'s input_<i>.pb (ONNX TensorProto, [1, 128]) to
    `folder`; returns `folder`."""
    from onnx import TensorProto, numpy_helper

    os.makedirs(folder)
    for name in sorted(f for f in os.listdir(source) if f.startswith("input_") and f.endswith(".pb")):
        tensor = TensorProto()
        with open(os.path.join(source, name), "rb") as f:
            tensor.ParseFromString(f.read())
        array = numpy_helper.to_array(tensor)
        if array.ndim != 2 or array.shape[1] < sequence:
            sys.exit(f"serve_table: {name} has shape {array.shape}, not [batch, >= {sequence}]")
        with open(os.path.join(folder, name), "wb") as f:
            f.write(numpy_helper.from_array(array[:, :sequence].copy(), tensor.name).SerializeToString())
    return folder


def bert_shapes(batch, sequence):
    return [arg for name in ("input_ids", "attention_mask", "token_type_ids")
            for arg in ("--shape", f"{name}={batch},{sequence}")]


def engine_table(cli, model, batches, sequence, seconds, rounds):
    """kestrel bench of `model` per batch size at 1 and 2 threads; sizes and thread counts interleave within a
    round, so that each sees the same machine load, and the p50 of a size is the median over rounds."""
    print(f"| threads | batch | sequence | run p50 (ms) | ms per row | rows/s | rows/s vs batch 1 |")
    print("|---|---|---|---|---|---|---|")
    for threads in (1, 2):
        p50 = {b: [] for b in batches}
        for _ in range(rounds):
            for batch in batches:
                report = run_json([cli, "bench", model, *bert_shapes(batch, sequence), "--threads", str(threads),
                                   "--warmup", "3", "--seconds", str(seconds), "--json"])
                p50[batch].append(report["p50_ms"])
        base = statistics.median(p50[batches[0]]) / batches[0]
        for batch in batches:
            ms = statistics.median(p50[batch])
            print(f"| {threads} | {batch} | {sequence} | {ms:.2f} | {ms / batch:.3f} | {1000 * batch / ms:.0f} | "
                  f"{base / (ms / batch):.2f}x |", flush=True)
    print()


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--zoo", default=os.path.join(ROOT, "..", "shared", "zoo"))
    parser.add_argument("--seconds", type=float, default=5, help="timed seconds per measurement (after 1 s warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each measurement; the median is printed")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--protocols", default="http,grpc")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: batching, overhead, health, engine")
    parser.add_argument("--engine-batches", default="1,2,4,8,16,32", help="batch sizes of the engine table")
    parser.add_argument("--engine-sequences", default="128,16",
                        help="sequence lengths of the engine table (128 is the served input's; others are extra rows)")
    parser.add_argument("--short-sequence", type=int, default=16,
                        help="sequence length of the second batching table (0: none)")
    args = parser.parse_args()
    cli = os.path.join(args.build, "kestrel")
    load = os.path.join(args.build, "serve_load")
    for path in (cli, load):
        if not os.path.exists(path):
            sys.exit(f"serve_table: {path} is missing (cmake --build {args.build} --target kestrel_cli serve_load)")
    skip = set(filter(None, args.skip.split(",")))
    bert_inputs = os.path.join(args.zoo, "bert_mini", "test_data_set_0")
    sequences = [(128, bert_inputs)]
    squeeze = os.path.join(args.zoo, "squeezenet1_1")

    folder = tempfile.mkdtemp(prefix="kestrel_serve_table_")
    try:
        make_repository(args.zoo, os.path.join(folder, "repo"))
        if args.short_sequence > 0:
            sequences.append((args.short_sequence, short_inputs(bert_inputs, os.path.join(folder, "short"),
                                                                args.short_sequence)))
        proc, ports = start_server(cli, os.path.join(folder, "repo"))
        # Every model runs once before anything is timed: the OpenMP runtime spins less once the process has more
        # threads than cores (its "throttled" spin), so the first model to run would otherwise be timed in another
        # regime than the rest.
        for model, inputs in (("bert_mini", bert_inputs), ("bert_mini_batched", bert_inputs),
                              ("squeezenet1_1", os.path.join(squeeze, "test_data_set_0"))):
            serve_load(load, ports, "--model", model, "--inputs", inputs, "--protocol", "grpc", "--seconds", 0.5,
                       "--warmup", 0)
        print(f"load average before: {load_average()}  (nproc {os.cpu_count()})")
        policy = {k: os.environ[k] for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY") if k in os.environ}
        print(f"OpenMP wait policy: {policy or 'GOMP_SPINCOUNT=2000 (the default of kestrel and serve_load)'}")
        print(f"batching config: {json.dumps(BATCHED_CONFIG)}; without batching: {json.dumps(UNBATCHED_CONFIG)}")
        print(f"{args.seconds:g} s per measurement after 1 s of warm-up, median of {args.rounds} round(s)\n", flush=True)
        try:
            if "batching" not in skip:
                print("| model | sequence | protocol | concurrency | batching | throughput (req/s) | p50 (ms) | p99 (ms) | "
                      "p99/p50 | errors |")
                print("|---|---|---|---|---|---|---|---|---|---|")
                for (sequence, inputs), protocol in itertools.product(sequences, args.protocols.split(",")):
                    for concurrency in map(int, args.concurrency.split(",")):
                        # Off and on alternate within each round (the one that goes first alternates too), so
                        # both see the same machine load; the ratio is the median of the per-round ratios.
                        runs = {"off": [], "on": []}
                        for round_index in range(args.rounds):
                            order = (("off", "bert_mini"), ("on", "bert_mini_batched"))
                            for batching, model in (order if round_index % 2 == 0 else order[::-1]):
                                runs[batching].append(serve_load(
                                    load, ports, "--model", model, "--inputs", inputs, "--protocol", protocol,
                                    "--concurrency", concurrency, "--seconds", args.seconds)["served"])
                        ratio = statistics.median(on["throughput"] / off["throughput"]
                                                  for off, on in zip(runs["off"], runs["on"]))
                        for batching in ("off", "on"):
                            r = {k: median_of(runs[batching], k) for k in ("throughput", "p50_us", "p99_us")}
                            r["errors"] = sum(x["errors"] for x in runs[batching])
                            shown = f" ({ratio:.2f}x off)" if batching == "on" else ""
                            print(f"| bert_mini | {sequence} | {protocol} | {concurrency} | {batching} | "
                                  f"{r['throughput']:.1f}{shown} | "
                                  f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | {r['p99_us'] / r['p50_us']:.2f} | {r['errors']} |",
                                  flush=True)
                print()
            if "overhead" not in skip:
                # The tcp row is the transport floor: the same request bytes over a bare loopback TCP connection
                # (no HTTP, no gRPC, no server) to a thread that runs the model on a session of its own and answers
                # with the outputs' size; its overhead is the cost of moving the bytes and waking the threads.
                print("| model | protocol | pairs | Session::run p50 (us) | request p50 (us) | overhead (us) | "
                      "median pair difference (us) |")
                print("|---|---|---|---|---|---|---|")
                # http is serve_load's own HTTP/1.1 client; http-httplib the same requests from cpp-httplib's
                # client, whose extra cost is the client's. The protocols take turns within each round.
                protocols = ["tcp"] + args.protocols.split(",")
                if "http" in protocols:
                    protocols.insert(protocols.index("http") + 1, "http-httplib")
                runs_of = {protocol: [] for protocol in protocols}
                for _ in range(args.rounds):
                    for protocol in protocols:
                        runs_of[protocol].append(serve_load(
                            load, ports, "--model", "squeezenet1_1", "--inputs",
                            os.path.join(squeeze, "test_data_set_0"), "--protocol", protocol, "--direct",
                            os.path.join(squeeze, "model.onnx"), "--paired", "--threads", 1, "--seconds", args.seconds))
                for protocol, runs in runs_of.items():
                    shown = {"tcp": "loopback TCP, no server (transport floor)",
                             "http-httplib": "http (cpp-httplib's client)"}.get(protocol, protocol)
                    print(f"| squeezenet1_1 | {shown} | {sum(r['pairs'] for r in runs)} | "
                          f"{median_of(runs, 'direct_p50_us'):.0f} | {median_of(runs, 'served_p50_us'):.0f} | "
                          f"{median_of(runs, 'overhead_us'):.0f} | {median_of(runs, 'median_pair_difference_us'):.0f} |",
                          flush=True)
                print()
            if "health" not in skip:
                print("| endpoint | concurrency | requests/s | p50 (us) | p99 (us) |")
                print("|---|---|---|---|---|")
                for concurrency in (1, 8):
                    runs = [serve_load(load, ports, "--protocol", "health", "--concurrency", concurrency, "--seconds",
                                       args.seconds)["served"] for _ in range(args.rounds)]
                    print(f"| /v2/health/ready | {concurrency} | {median_of(runs, 'throughput'):.0f} | "
                          f"{median_of(runs, 'p50_us'):.0f} | {median_of(runs, 'p99_us'):.0f} |", flush=True)
                print()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        print(f"load average after: {load_average()}")
        if "engine" not in skip:
            print(f"\nEngine batch scaling of bert_mini (kestrel bench, no server), load average before: "
                  f"{load_average()}")
            for sequence in map(int, args.engine_sequences.split(",")):
                engine_table(cli, os.path.join(args.zoo, "bert_mini", "model.onnx"),
                             [int(b) for b in args.engine_batches.split(",")], sequence, max(1.0, args.seconds / 2),
                             args.rounds)
            print(f"load average after: {load_average()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
