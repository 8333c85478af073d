# run_with_iobinding with preallocated bound outputs allocates nothing on Kestrel's side per call (issue #6). A
# child interpreter runs with tests/alloc's allocation counter preloaded (it replaces malloc and sorts every
# allocation by its stack, see tests/alloc/alloc_counter.h): Kestrel's code (libkestrel and the _kestrel module)
# must make none per call after warm-up. The interpreter's own allocations during the call (ctypes' argument
# objects for the counter's calls, Python frames, the None returned) are not Kestrel's: they are counted apart
# and printed. oneDNN's own (inside its primitive executions) are counted apart too.
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import onnx_proto as P

_here = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("KESTREL_BUILD_DIR", os.path.join(_here, "..", "..", "build"))
COUNTER = os.path.join(BUILD, "tests", "alloc", "libkestrel_alloc_counter.so")

CHILD = r"""
import ctypes, json, sys
import numpy as np
import kestrel as ort

path, threads = sys.argv[1], int(sys.argv[2])
counter = ctypes.CDLL(None)  # the preloaded counter's symbols
so = ort.SessionOptions()
so.intra_op_num_threads = threads
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
binding = sess.io_binding()
rng = np.random.default_rng(0)
inputs = []
for i in sess.get_inputs():
    x = rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
    inputs.append(x)
    binding.bind_cpu_input(i.name, x)
shapes = [o.shape for o in sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})]
outputs = []
for o, shape in zip(sess.get_outputs(), shapes):
    y = np.empty(shape, np.float32)
    outputs.append(y)
    binding.bind_output(o.name, "cpu", 0, np.float32, list(shape), y.ctypes.data)
for _ in range(3):
    sess.run_with_iobinding(binding)
counts = (ctypes.c_long * 3)()
calls = []
for _ in range(10):
    counter.kestrel_alloc_counter_start()
    sess.run_with_iobinding(binding)
    counter.kestrel_alloc_counter_stop(counts)
    calls.append(list(counts))
expected = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})
same = all(np.allclose(y, e, rtol=1e-5, atol=1e-6) for y, e in zip(outputs, expected))
print(json.dumps({"calls": calls, "written_in_place": same,
                  "sees_dnnl_execute": counter.kestrel_alloc_counter_sees_dnnl_execute()}))
"""


def run_counted(model_path, threads):
    if not os.path.exists(COUNTER):
        pytest.skip(f"{COUNTER} is absent (not built, or a sanitizer build)")
    env = dict(os.environ, LD_PRELOAD=COUNTER, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", CHILD, str(model_path), str(threads)], env=env, check=True,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check(result, name):
    assert result["written_in_place"]
    assert result["sees_dnnl_execute"] == 1
    for i, (kestrel, dnnl, other) in enumerate(result["calls"]):
        print(f"{name}: call {i}: {kestrel} allocations by Kestrel, {dnnl} inside oneDNN, {other} by the interpreter")
        assert kestrel == 0, f"{name}: call {i} after warm-up made {kestrel} allocations in Kestrel's code"


@pytest.mark.parametrize("threads", [1, 2])
def test_iobinding_run_allocates_nothing_one_node(tmp_path, threads):
    t = P.tensor_type(P.FLOAT, [1, 1000])
    path = tmp_path / "relu.onnx"
    path.write_bytes(P.model([P.node("Relu", ["x"], ["y"])], [("x", t)], [("y", t)]))
    result = run_counted(path, threads)
    check(result, "relu")
    assert all(dnnl == 0 for _, dnnl, _ in result["calls"])  # no library call at all


def test_iobinding_run_allocates_nothing_squeezenet(zoo):
    check(run_counted(os.path.join(zoo, "squeezenet1_1", "model.onnx"), 2), "squeezenet1_1")
