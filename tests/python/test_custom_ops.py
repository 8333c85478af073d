# SessionOptions.register_custom_ops_library: a library built against include/kestrel/custom_op.h (the test library
# of tests/custom_ops/, built beside the tests) adds operators to the sessions made with those options.
import os

import numpy as np
import pytest

import kestrel as ort
import onnx_proto as P

_build = os.environ.get("KESTREL_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
LIBS = os.path.join(_build, "tests", "custom_ops")
GOOD = os.path.join(LIBS, "libkestrel_test_custom_ops_good.so")


@pytest.fixture(scope="module", autouse=True)
def _libraries_built():
    # Not a skip: ctest builds the libraries with everything else, so their absence is a broken build.
    assert os.path.exists(GOOD), f"{GOOD} is missing: build the kestrel_test_custom_ops_* targets"


def custom_model(op, attrs=()):
    """x[N, 3] -> Neg -> test.kestrel:op -> Relu -> y"""
    t = P.tensor_type(P.FLOAT, ["N", 3])
    nodes = [P.node("Neg", ["x"], ["n"]), P.node(op, ["n"], ["c"], name="mine", attrs=attrs, domain="test.kestrel"),
             P.node("Relu", ["c"], ["y"])]
    return P.model(nodes, [("x", t)], [("y", P.tensor_type(P.FLOAT, None))], extra_opsets=[("test.kestrel", 1)])


def session(op, attrs=(), **options):
    so = ort.SessionOptions()
    so.register_custom_ops_library(GOOD)
    for k, v in options.items():
        setattr(so, k, v)
    return ort.InferenceSession(custom_model(op, attrs), so, providers=["CPUExecutionProvider"])


def test_custom_op_runs_with_attributes():
    sess = session("ScaledClip", [P.attr_float("scale", 0.5)])
    x = np.array([[-1, -10, 2], [-4, 0, -0.5]], np.float32)
    expected = np.minimum(np.maximum(-x, 0), 6) * 0.5
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], expected)


@pytest.mark.parametrize("arena", [True, False])
def test_custom_op_sets_its_output_shape(arena):
    sess = session("RowSum", enable_cpu_mem_arena=arena)
    for rows in (1, 5, 0):
        x = -np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
        y = sess.run(None, {"x": x})[0]
        assert y.shape == (rows,)
        np.testing.assert_array_equal(y, (-x).sum(axis=1))


def test_custom_ops_belong_to_their_session():
    session("ScaledClip")
    with pytest.raises(ort.NotImplemented, match="unknown op ScaledClip"):
        ort.InferenceSession(custom_model("ScaledClip"))


def test_library_errors():
    so = ort.SessionOptions()
    with pytest.raises(ort.NoSuchFile, match="does not exist"):
        so.register_custom_ops_library(os.path.join(LIBS, "missing.so"))
    with pytest.raises(ort.Fail, match="does not export KestrelRegisterCustomOps"):
        so.register_custom_ops_library(os.path.join(LIBS, "libkestrel_test_custom_ops_no_symbol.so"))
    with pytest.raises(ort.Fail, match="built for custom-op ABI version 42; this Kestrel supports version 1"):
        so.register_custom_ops_library(os.path.join(LIBS, "libkestrel_test_custom_ops_bad_abi.so"))
    # Failed registrations leave the options usable.
    so.register_custom_ops_library(GOOD)
    ort.InferenceSession(custom_model("RowSum"), so)


@pytest.mark.parametrize("op,message", [
    ("FailAlways", "custom op test.kestrel:FailAlways failed \\(status 1\\): FailAlways refuses every input"),
    ("ThrowAlways", "custom op test.kestrel:ThrowAlways threw an exception: thrown from a custom op"),
    ("ForgetOutput", "returned success without allocating output 0"),
])
def test_op_errors_leave_the_session_usable(op, message):
    sess = session(op)
    x = np.ones((2, 3), np.float32)
    for _ in range(2):
        with pytest.raises(ort.Fail, match=message):
            sess.run(None, {"x": x})


def test_cli_loads_custom_ops(tmp_path):
    import subprocess
    cli = os.path.join(_build, "kestrel")
    assert os.path.exists(cli), f"{cli} is missing"
    model = tmp_path / "custom.onnx"
    model.write_bytes(custom_model("RowSum"))
    for command in (["run", str(model), "--shape", "x=4,3"], ["info", str(model)],
                    ["bench", str(model), "--shape", "x=2,3", "--iterations", "3", "--warmup", "1"]):
        ok = subprocess.run([cli, *command, "--custom-ops", GOOD], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        without = subprocess.run([cli, *command], capture_output=True, text=True)
        assert without.returncode != 0 and "unknown op RowSum" in without.stderr, without.stderr
    out = subprocess.run([cli, "run", str(model), "--shape", "x=4,3", "--custom-ops", GOOD], capture_output=True,
                         text=True).stdout
    assert "[4]" in out, out
    missing = subprocess.run([cli, "run", str(model), "--custom-ops", str(tmp_path / "nope.so")], capture_output=True,
                             text=True)
    assert missing.returncode != 0 and "nope.so' does not exist" in missing.stderr, missing.stderr
