# `kestrel quantize` end to end: calibration data as .npz batches (stored and compressed) and as test-data sets,
# the summary it prints and the --report table.
import os
import pathlib
import subprocess

import numpy as np
import onnx_proto as P
import pytest
from test_quantization import _cnn, _one_sensitive_add, _op_types

BUILD = os.environ.get("KESTREL_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
KESTREL = os.path.join(BUILD, "kestrel")


def _quantize(*args):
    if not os.path.exists(KESTREL):
        pytest.skip(f"{KESTREL} is not built")
    return subprocess.run([KESTREL, "quantize", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def cnn(tmp_path):
    path = tmp_path / "cnn.onnx"
    path.write_bytes(_cnn())
    return path


def test_static_from_npz_batches_with_report(cnn, tmp_path):
    cal = tmp_path / "cal"
    cal.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        save = np.savez_compressed if i % 2 else np.savez
        save(cal / f"batch_{i}.npz", input=rng.uniform(-1, 1, (2, 3, 12, 12)).astype(np.float32))
    out = tmp_path / "cnn.int8.onnx"
    p = _quantize(cnn, out, "--mode", "static", "--calibration", cal, "--per-channel", "--report", "--progress",
                  "--report-iterations", "3")
    assert p.returncode == 0, p.stderr
    assert "on 4 batches" in p.stdout
    assert "calibrating [" in p.stderr and "4/4" in p.stderr
    row = next(line for line in p.stdout.splitlines() if line.strip().startswith("logits"))
    cosine = float(row.split()[1])
    assert cosine > 0.999
    assert "8/8" in row  # top-1 of 4 batches of 2 rows
    assert "size:" in p.stdout and "p50:" in p.stdout
    assert _op_types(out).get("QuantizeLinear", 0) >= 4


def test_dynamic_and_test_data_sets(cnn, tmp_path):
    sets = tmp_path / "sets"
    for i in range(2):
        d = sets / f"test_data_set_{i}"
        d.mkdir(parents=True)
        x = np.random.default_rng(i).uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)
        (d / "input_0.pb").write_bytes(P.tensor("input", x))
    out = tmp_path / "cnn.dyn.onnx"
    p = _quantize(cnn, out, "--mode", "dynamic", "--calibration", sets, "--op-types", "Conv", "--exclude-nodes",
                  "conv2", "--report", "--report-iterations", "2")
    assert p.returncode == 0, p.stderr
    assert _op_types(out).get("ConvInteger") == 1
    assert "on 2 batches" in p.stdout


def test_keep_accuracy_names_the_nodes_kept_float(tmp_path):
    model = tmp_path / "sensitive.onnx"
    model.write_bytes(_one_sensitive_add())
    cal = tmp_path / "cal"
    cal.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        np.savez(cal / f"batch_{i}.npz", input=rng.uniform(-1, 1, (1, 4, 8, 8)).astype(np.float32))
    # --no-preprocess: pre-processing would fold 'wide' into c1's bias and move the harm to c1.
    p = _quantize(model, tmp_path / "out.onnx", "--mode", "static", "--calibration", cal, "--keep-accuracy", "0.99",
                  "--accuracy-batches", "3", "--progress", "--no-preprocess")
    assert p.returncode == 0, p.stderr
    assert "accuracy on 3 calibration batches" in p.stdout
    assert "kept in float for accuracy (1, most harmful first)" in p.stdout
    assert "Add node 'wide'" in p.stdout
    assert "measuring accuracy [" in p.stderr
    # Pre-processed, the Add is part of c1, which is then the node kept.
    p = _quantize(model, tmp_path / "out.onnx", "--mode", "static", "--calibration", cal, "--keep-accuracy", "0.99",
                  "--accuracy-batches", "3")
    assert p.returncode == 0, p.stderr
    assert "Conv node 'c1'" in p.stdout


@pytest.mark.parametrize("args, message", [
    (["--mode", "dynamic", "--keep-accuracy", "0.99"], "applies to --mode static"),
    (["--mode", "static", "--calibration", ".", "--keep-accuracy", "1.5"], "in (0, 1]"),
    (["--mode", "static", "--calibration", ".", "--accuracy-batches", "2"], "applies with --keep-accuracy"),
    (["--mode", "static"], "needs --calibration"),
    (["--mode", "fast"], "--mode must be"),
    (["--mode", "dynamic", "--weight-type", "s4"], "s8 or u8"),
    (["--mode", "dynamic", "--op-types", "Softmax"], "Softmax"),
    (["--mode", "dynamic", "--method", "entropy"], "applies to --mode static"),
])
def test_bad_arguments_are_reported(cnn, tmp_path, args, message):
    p = _quantize(cnn, tmp_path / "out.onnx", *args)
    assert p.returncode != 0
    assert message in p.stderr


def test_npz_with_unknown_array_is_reported(cnn, tmp_path):
    cal = tmp_path / "cal"
    cal.mkdir()
    np.savez(cal / "b.npz", image=np.zeros((1, 3, 12, 12), np.float32))
    p = _quantize(cnn, tmp_path / "out.onnx", "--mode", "static", "--calibration", cal)
    assert p.returncode != 0
    assert "'image' is not an input" in p.stderr
