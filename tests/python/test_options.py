# Issue #6 item 5: SessionOptions (each field honoured or rejected clearly) and RunOptions (terminate from a thread).
import os
import threading
import time
import warnings

import numpy as np
import pytest

import kestrel as ort
from conftest import ZOO
import onnx_proto as P


def add_feed(n=2):
    x = np.arange(4 * n, dtype=np.float32).reshape(n, 4)
    return {"x": x, "y": x}, x + x


def test_defaults_match_ort():
    so = ort.SessionOptions()
    assert so.intra_op_num_threads == 0 and so.inter_op_num_threads == 0
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.execution_order == ort.ExecutionOrder.DEFAULT
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert so.enable_cpu_mem_arena and so.enable_mem_pattern and so.enable_mem_reuse
    assert not so.enable_profiling and so.optimized_model_filepath == ""
    assert so.log_severity_level == 2 and so.log_verbosity_level == 0 and so.logid == ""
    assert not so.use_deterministic_compute


@pytest.mark.parametrize("level", list(ort.GraphOptimizationLevel))
@pytest.mark.parametrize("threads", [1, 2])
def test_supported_values_run(model_dir, level, threads):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = False
    so.use_deterministic_compute = True
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(model_dir / "add.onnx"), so)
    assert sess.get_session_options() is so
    feed, want = add_feed()
    np.testing.assert_array_equal(sess.run(None, feed)[0], want)


def test_invalid_values_rejected():
    so = ort.SessionOptions()
    with pytest.raises(ort.InvalidArgument, match="intra_op_num_threads must be >= 0"):
        so.intra_op_num_threads = -1
    with pytest.raises(TypeError):
        so.intra_op_num_threads = "4"
    with pytest.raises(ort.InvalidArgument, match="graph_optimization_level must be"):
        so.graph_optimization_level = 5
    with pytest.raises(ort.InvalidArgument, match="log_severity_level must be"):
        so.log_severity_level = 9


def test_unsupported_values_rejected_clearly(model_dir):
    so = ort.SessionOptions()
    with pytest.raises(ort.NotImplemented, match="execution_order"):
        so.execution_order = ort.ExecutionOrder.PRIORITY_BASED
    with pytest.raises(ort.NotImplemented, match="log_verbosity_level"):
        so.log_verbosity_level = 1
    with pytest.raises(ort.NoSuchFile, match="/nonexistent.so' does not exist"):
        so.register_custom_ops_library("/nonexistent.so")


def test_free_dimension_override_fixes_the_batch(model_dir):
    so = ort.SessionOptions()
    so.logid = "fixed-batch"
    so.add_free_dimension_override_by_name("N", 2)
    sess = ort.InferenceSession(str(model_dir / "add.onnx"), so)
    assert sess.get_inputs()[0].shape == [2, 4]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x, "y": x})[0], 2 * x)
    with pytest.raises(ort.InvalidArgument):
        sess.run(None, {"x": x[:1], "y": x[:1]})
    bad = ort.SessionOptions()
    bad.add_free_dimension_override_by_name("no_such_dim", 2)
    with pytest.raises(ort.InvalidArgument, match="no_such_dim"):
        ort.InferenceSession(str(model_dir / "add.onnx"), bad)


def _denoted_model():
    """z = x + y where x's first dim is symbolic "N" and y's first dim unnamed, both denoted DATA_BATCH."""
    x = P.tensor_type(P.FLOAT, [("N", "DATA_BATCH"), (4, "DATA_FEATURE")])
    y = P.tensor_type(P.FLOAT, [(None, "DATA_BATCH"), 4])
    z = P.tensor_type(P.FLOAT, ["N", 4])
    return P.model([P.node("Add", ["x", "y"], ["z"], name="add")], [("x", x), ("y", y)], [("z", z)])


def test_free_dimension_override_by_denotation(tmp_path):
    path = tmp_path / "denoted.onnx"
    path.write_bytes(_denoted_model())
    so = ort.SessionOptions()
    so.add_free_dimension_override_by_denotation("DATA_BATCH", 3)
    sess = ort.InferenceSession(str(path), so)
    assert [i.shape for i in sess.get_inputs()] == [[3, 4], [3, 4]]
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x, "y": 2 * x})[0], 3 * x)
    with pytest.raises(ort.InvalidArgument, match="index: 0 Got: 1 Expected: 3"):
        sess.run(None, {"x": x[:1], "y": x[:1]})
    # Without the override the batch stays free.
    free = ort.InferenceSession(str(path))
    assert free.get_inputs()[0].shape == ["N", 4]
    assert free.run(None, {"x": x[:1], "y": x[:1]})[0].shape == (1, 4)
    # A fixed dim with another value, and a denotation no input carries, are errors.
    clash = ort.SessionOptions()
    clash.add_free_dimension_override_by_denotation("DATA_FEATURE", 5)
    with pytest.raises(ort.InvalidArgument, match="dimension 1 of input 'x' is fixed at 4, not 5"):
        ort.InferenceSession(str(path), clash)
    unknown = ort.SessionOptions()
    unknown.add_free_dimension_override_by_denotation("DATA_CHANNEL", 3)
    with pytest.raises(ort.InvalidArgument, match="'DATA_CHANNEL': no dimension of the model's inputs"):
        ort.InferenceSession(str(path), unknown)
    negative = ort.SessionOptions()
    negative.add_free_dimension_override_by_denotation("DATA_BATCH", -1)
    with pytest.raises(ort.InvalidArgument, match="must be >= 0"):
        ort.InferenceSession(str(path), negative)


def test_add_initializer_replaces_the_model_weight(model_dir):
    so = ort.SessionOptions()
    weights = np.arange(4, dtype=np.float32)
    so.add_initializer("b", ort.OrtValue.ortvalue_from_numpy(weights))
    sess = ort.InferenceSession(str(model_dir / "add_init.onnx"), so)
    a = np.ones(4, np.float32)
    np.testing.assert_array_equal(sess.run(None, {"a": a})[0], a + weights)
    wrong = ort.SessionOptions()
    wrong.add_initializer("b", ort.OrtValue.ortvalue_from_numpy(np.zeros(3, np.float32)))
    with pytest.raises(ort.InvalidArgument, match="add_initializer"):
        ort.InferenceSession(str(model_dir / "add_init.onnx"), wrong)


def test_mem_pattern_and_reuse_off_are_said_not_silent():
    so = ort.SessionOptions()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        so.enable_mem_pattern = False
        so.enable_mem_reuse = False
    assert not so.enable_mem_pattern and not so.enable_mem_reuse
    # Warned once per process; a fresh interpreter may already have warned in another test.
    assert all("no effect" in str(w.message) for w in caught)


def test_session_config_entries(model_dir):
    so = ort.SessionOptions()
    so.add_session_config_entry("kestrel.reference_kernels", "1")
    assert so.get_session_config_entry("kestrel.reference_kernels") == "1"
    with pytest.raises(ort.InvalidArgument, match="does not have configuration with key"):
        so.get_session_config_entry("missing.key")
    feed, want = add_feed()
    np.testing.assert_array_equal(ort.InferenceSession(str(model_dir / "add.onnx"), so).run(None, feed)[0], want)
    so.add_session_config_entry("session.some_unknown_key", "1")
    with pytest.raises(ort.NotImplemented, match="session.some_unknown_key"):
        ort.InferenceSession(str(model_dir / "add.onnx"), so)


def test_optimized_model_filepath(model_dir, tmp_path):
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ort.InferenceSession(str(model_dir / "add.onnx"), so)
    assert (tmp_path / "opt.onnx").stat().st_size > 0
    feed, want = add_feed()
    np.testing.assert_array_equal(ort.InferenceSession(str(tmp_path / "opt.onnx")).run(None, feed)[0], want)


def test_deterministic_compute_gives_identical_results():
    path = os.path.join(ZOO, "resnet18", "model.onnx")
    if not os.path.exists(path):
        pytest.skip("zoo absent")
    so = ort.SessionOptions()
    so.use_deterministic_compute = True
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so)
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    a = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    b = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert np.array_equal(a, b)


def test_run_options_fields(model_dir):
    ro = ort.RunOptions()
    assert ro.log_severity_level == 2 and ro.logid == "" and not ro.terminate
    ro.logid = "run-1"
    ro.log_severity_level = 3
    assert ro.logid == "run-1"
    sess = ort.InferenceSession(str(model_dir / "add.onnx"))
    feed, want = add_feed()
    np.testing.assert_array_equal(sess.run(None, feed, ro)[0], want)
    with pytest.raises(ort.NotImplemented, match="run config entry"):
        ro.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    with pytest.raises(ort.InvalidArgument):
        ro.get_run_config_entry("x")
    with pytest.raises(ort.NotImplemented):
        ro.only_execute_path_to_fetches = True


def test_terminate_set_before_run_fails(model_dir):
    sess = ort.InferenceSession(str(model_dir / "add.onnx"))
    ro = ort.RunOptions()
    ro.terminate = True
    feed, want = add_feed()
    with pytest.raises(ort.RuntimeException):
        sess.run(None, feed, ro)
    ro.terminate = False
    np.testing.assert_array_equal(sess.run(None, feed, ro)[0], want)


def test_terminate_from_another_thread_cancels_run(model_dir):
    sess = ort.InferenceSession(str(model_dir / "chain.onnx"))
    x = np.eye(256, dtype=np.float32)
    sess.run(None, {"x": x})  # warm up
    ro = ort.RunOptions()
    outcome = {}

    def work():
        try:
            sess.run(None, {"x": x}, ro)
            outcome["result"] = "finished"
        except ort.RuntimeException as e:
            outcome["result"] = str(e)

    t = threading.Thread(target=work)
    t.start()
    time.sleep(0.005)
    ro.terminate = True
    t.join(60)
    assert "finished" != outcome["result"], "the run finished before terminate was seen (model too fast?)"
    assert "RUNTIME_EXCEPTION" in outcome["result"]


def test_parallel_execution_mode_runs_like_sequential(model_dir):
    so = ort.SessionOptions()
    so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    so.inter_op_num_threads = 2
    feed, want = add_feed()
    sess = ort.InferenceSession(str(model_dir / "add.onnx"), so)
    assert sess.get_session_options().execution_mode == ort.ExecutionMode.ORT_PARALLEL
    np.testing.assert_array_equal(sess.run(None, feed)[0], want)


def test_bf16_precision_config_entry(zoo):
    # kestrel.precision=bf16 through the ORT-style config entry: same top-1 class as the reference, outputs
    # close in direction. A CPU without bf16 instructions runs fp32 and matches tightly.
    import onnx_proto as proto
    d = os.path.join(zoo, "resnet18", "test_data_set_0")
    x = proto.read_tensor(os.path.join(d, "input_0.pb"))[1]
    want = proto.read_tensor(os.path.join(d, "output_0.pb"))[1]
    so = ort.SessionOptions()
    so.add_session_config_entry("kestrel.precision", "bf16")
    sess = ort.InferenceSession(os.path.join(zoo, "resnet18", "model.onnx"), so)
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert got.argmax() == want.argmax()
    cosine = float(np.dot(got.ravel(), want.ravel()) / (np.linalg.norm(got) * np.linalg.norm(want)))
    assert cosine >= 0.999
    # The op types kept fp32 in a bf16 session: Conv here, so only the last Gemm runs bf16; a type that never
    # runs bf16 is refused.
    so.add_session_config_entry("kestrel.precision.fp32_op_types", "Conv")
    kept = ort.InferenceSession(os.path.join(zoo, "resnet18", "model.onnx"), so)
    got = kept.run(None, {kept.get_inputs()[0].name: x})[0]
    assert got.argmax() == want.argmax()
    assert float(np.dot(got.ravel(), want.ravel()) / (np.linalg.norm(got) * np.linalg.norm(want))) >= 0.999
    so.add_session_config_entry("kestrel.precision.fp32_op_types", "Relu")
    with pytest.raises(ort.InvalidArgument, match="'Relu' is not an op type that runs at reduced precision"):
        ort.InferenceSession(os.path.join(zoo, "resnet18", "model.onnx"), so)
    so.add_session_config_entry("kestrel.precision.fp32_op_types", "Conv")
    so.add_session_config_entry("kestrel.precision", "fp64")
    with pytest.raises(ort.InvalidArgument, match="kestrel.precision must be fp32 or bf16"):
        ort.InferenceSession(os.path.join(zoo, "resnet18", "model.onnx"), so)
