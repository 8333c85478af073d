# kestrel.quantization used the way onnxruntime.quantization scripts use it: only the import differs.
import os
import pathlib

import numpy as np
import onnx_proto as P
import pytest

import kestrel as ort
from kestrel.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)


def _cnn():
    """Conv -> Relu -> Conv -> Add (residual) -> GlobalAveragePool -> Flatten -> Gemm."""
    rng = np.random.default_rng(0)
    w1 = rng.uniform(-0.3, 0.3, (8, 3, 3, 3)).astype(np.float32)
    w2 = rng.uniform(-0.3, 0.3, (8, 8, 3, 3)).astype(np.float32)
    wfc = rng.uniform(-0.5, 0.5, (10, 8)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, 8).astype(np.float32)
    bfc = rng.uniform(-0.1, 0.1, 10).astype(np.float32)
    pads = P.attr_ints("pads", [1, 1, 1, 1])
    nodes = [
        P.node("Conv", ["input", "W1", "B"], ["c1"], name="conv1", attrs=[pads]),
        P.node("Relu", ["c1"], ["r1"], name="relu1"),
        P.node("Conv", ["r1", "W2", "B"], ["c2"], name="conv2", attrs=[pads]),
        P.node("Add", ["r1", "c2"], ["s"], name="add"),
        P.node("GlobalAveragePool", ["s"], ["g"], name="gap"),
        P.node("Flatten", ["g"], ["f"], name="flatten"),
        P.node("Gemm", ["f", "Wfc", "Bfc"], ["logits"], name="fc", attrs=[P.attr_int("transB", 1)]),
    ]
    inits = [P.tensor("W1", w1), P.tensor("W2", w2), P.tensor("B", b), P.tensor("Wfc", wfc), P.tensor("Bfc", bfc)]
    return P.model(nodes, [("input", P.tensor_type(P.FLOAT, ["N", 3, 12, 12]))],
                   [("logits", P.tensor_type(P.FLOAT, ["N", 10]))], initializers=inits, opset=13)


def _mlp():
    rng = np.random.default_rng(1)
    w = rng.uniform(-1, 1, (128, 64)).astype(np.float32)
    nodes = [P.node("MatMul", ["x", "W"], ["y"], name="mm")]
    return P.model(nodes, [("x", P.tensor_type(P.FLOAT, ["N", 128]))], [("y", P.tensor_type(P.FLOAT, ["N", 64]))],
                   initializers=[P.tensor("W", w)], opset=13)


def _one_sensitive_add():
    """Conv -> Add 'wide' (+1000 on channel 3) -> Slice channels 0..2 -> Conv. Quantizing the Add's output (range
    about [-3, 1003]) rounds the three channels the rest reads to steps of ~4; the Convs see ordinary ranges."""
    rng = np.random.default_rng(4)
    w1 = rng.uniform(-0.3, 0.3, (4, 4, 3, 3)).astype(np.float32)
    w2 = rng.uniform(-0.3, 0.3, (4, 3, 3, 3)).astype(np.float32)
    k = np.array([0, 0, 0, 1000], np.float32).reshape(1, 4, 1, 1)
    pads = P.attr_ints("pads", [1, 1, 1, 1])
    nodes = [
        P.node("Conv", ["input", "W1"], ["c"], name="c1", attrs=[pads]),
        P.node("Add", ["c", "K"], ["w"], name="wide"),
        P.node("Slice", ["w", "starts", "ends", "axes"], ["s"], name="slice"),
        P.node("Conv", ["s", "W2"], ["y"], name="c2", attrs=[pads]),
    ]
    inits = [P.tensor("W1", w1), P.tensor("W2", w2), P.tensor("K", k), P.tensor("starts", np.array([0], np.int64)),
             P.tensor("ends", np.array([3], np.int64)), P.tensor("axes", np.array([1], np.int64))]
    return P.model(nodes, [("input", P.tensor_type(P.FLOAT, [1, 4, 8, 8]))],
                   [("y", P.tensor_type(P.FLOAT, [1, 4, 8, 8]))], initializers=inits, opset=13)


@pytest.fixture()
def models(tmp_path):
    (tmp_path / "cnn.onnx").write_bytes(_cnn())
    (tmp_path / "mlp.onnx").write_bytes(_mlp())
    (tmp_path / "sensitive.onnx").write_bytes(_one_sensitive_add())
    return tmp_path


class DataReader(CalibrationDataReader):
    """The reader ORT's examples write: a list of feed dicts walked by get_next()."""

    def __init__(self, model_path, count=4, seed=0, shape=(1, 3, 12, 12)):
        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        rng = np.random.default_rng(seed)
        self.data = iter([{name: rng.uniform(-1, 1, shape).astype(np.float32)} for _ in range(count)])

    def get_next(self):
        return next(self.data, None)


def _outputs(path, feed):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0]


def _cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _op_types(path):
    """op_type -> node count of the model's main graph, read off the protobuf (ModelProto.graph.node.op_type)."""
    counts = {}
    for field, _, graph in P._fields(pathlib.Path(path).read_bytes()):
        if field != 7:
            continue
        for gfield, _, node in P._fields(graph):
            if gfield == 1:
                op = next(bytes(v).decode() for f, _, v in P._fields(node) if f == 4)
                counts[op] = counts.get(op, 0) + 1
    return counts


def test_quantize_dynamic_matmul(models):
    model_fp32 = models / "mlp.onnx"
    model_quant = models / "mlp.quant.onnx"
    quantize_dynamic(model_fp32, model_quant, weight_type=QuantType.QInt8)  # pathlib paths, as ORT accepts
    assert model_quant.exists()
    assert os.path.getsize(model_quant) < os.path.getsize(model_fp32) / 3  # int8 weights: a quarter, plus the graph
    assert _op_types(model_quant).get("MatMulInteger") == 1
    x = np.random.default_rng(2).uniform(-1, 1, (3, 128)).astype(np.float32)
    assert _cosine(_outputs(model_fp32, {"x": x}), _outputs(model_quant, {"x": x})) > 0.999


def test_quantize_dynamic_options(models):
    model_fp32 = str(models / "cnn.onnx")
    model_quant = str(models / "cnn.quant.onnx")
    quantize_dynamic(model_fp32, model_quant, op_types_to_quantize=["Conv"], per_channel=True,
                     weight_type=QuantType.QUInt8, nodes_to_exclude=["conv2"],
                     extra_options={"WeightSymmetric": False})
    assert _op_types(model_quant).get("ConvInteger") == 1
    x = np.random.default_rng(3).uniform(-1, 1, (2, 3, 12, 12)).astype(np.float32)
    assert _cosine(_outputs(model_fp32, {"input": x}), _outputs(model_quant, {"input": x})) > 0.999


@pytest.mark.parametrize("quant_format", [QuantFormat.QDQ, QuantFormat.QOperator])
@pytest.mark.parametrize("method", [CalibrationMethod.MinMax, CalibrationMethod.Entropy,
                                    CalibrationMethod.Percentile])
def test_quantize_static(models, quant_format, method):
    model_fp32 = str(models / "cnn.onnx")
    model_quant = str(models / "cnn.static.onnx")
    reader = DataReader(model_fp32)
    quantize_static(model_fp32, model_quant, reader, quant_format=quant_format, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                    extra_options={"ActivationSymmetric": False, "MatMulConstBOnly": True})
    ops = _op_types(model_quant)
    if quant_format == QuantFormat.QOperator:
        assert ops.get("QLinearConv") == 2 and "Conv" not in ops
    else:
        assert ops.get("QuantizeLinear", 0) >= 4 and ops.get("Conv") == 2 and "Relu" not in ops
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)
    ref, got = _outputs(model_fp32, {"input": x}), _outputs(model_quant, {"input": x})
    assert _cosine(ref, got) > (0.999 if method == CalibrationMethod.MinMax else 0.99)
    assert ref.argmax() == got.argmax()


def test_accuracy_target_keeps_the_harmful_node_float(models):
    model_fp32, model_quant = models / "sensitive.onnx", models / "sensitive.int8.onnx"
    x = np.random.default_rng(9).uniform(-1, 1, (1, 4, 8, 8)).astype(np.float32)  # held out

    # Without pre-processing, which would fold 'wide' into c1's bias and move the harm to c1.
    quantize_static(model_fp32, model_quant, DataReader(model_fp32, shape=(1, 4, 8, 8)),
                    extra_options={"Preprocess": False})
    ref, whole = _outputs(model_fp32, {"input": x}), _outputs(model_quant, {"input": x})
    assert np.abs(whole - ref).max() > 0.5 * np.abs(ref).max()  # quantized whole, the model is ruined

    summary = quantize_static(model_fp32, model_quant, DataReader(model_fp32, shape=(1, 4, 8, 8)),
                              extra_options={"AccuracyTarget": 0.99, "AccuracyBatches": 2, "Preprocess": False})
    assert summary["cosine_all_quantized"] < 0.9
    assert summary["cosine"] >= 0.99
    assert len(summary["kept_for_accuracy"]) == 1 and "'wide'" in summary["kept_for_accuracy"][0]
    assert _op_types(model_quant).get("QuantizeLinear", 0) >= 2
    assert _cosine(_outputs(model_fp32, {"input": x}), _outputs(model_quant, {"input": x})) >= 0.99


def test_preprocessing_folds_batch_norm_into_the_conv(tmp_path):
    rng = np.random.default_rng(5)
    nodes = [P.node("Conv", ["input", "W"], ["c"], name="conv", attrs=[P.attr_ints("pads", [1, 1, 1, 1])]),
             P.node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"], name="bn")]
    inits = [P.tensor("W", rng.uniform(-0.3, 0.3, (4, 3, 3, 3)).astype(np.float32)),
             P.tensor("gamma", np.array([0.1, 2.0, 1.0, 0.5], np.float32)),
             P.tensor("beta", np.array([0.2, -0.3, 0.0, 0.1], np.float32)),
             P.tensor("mean", np.zeros(4, np.float32)), P.tensor("var", np.ones(4, np.float32))]
    model_fp32, model_quant = tmp_path / "bn.onnx", tmp_path / "bn.int8.onnx"
    model_fp32.write_bytes(P.model(nodes, [("input", P.tensor_type(P.FLOAT, [1, 3, 12, 12]))],
                                   [("y", P.tensor_type(P.FLOAT, [1, 4, 12, 12]))], initializers=inits, opset=13))
    quantize_static(model_fp32, model_quant, DataReader(model_fp32))
    assert "BatchNormalization" not in _op_types(model_quant)
    x = np.random.default_rng(6).uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)
    assert _cosine(_outputs(model_fp32, {"input": x}), _outputs(model_quant, {"input": x})) > 0.999
    quantize_static(model_fp32, model_quant, DataReader(model_fp32), extra_options={"Preprocess": False})
    assert _op_types(model_quant).get("BatchNormalization") == 1


def test_accuracy_target_is_static_only(models):
    with pytest.raises(ort.InvalidArgument, match="accuracy_target"):
        quantize_dynamic(models / "mlp.onnx", models / "out.onnx", extra_options={"AccuracyTarget": 0.99})
    with pytest.raises(ort.InvalidArgument, match="accuracy_target"):
        quantize_static(models / "cnn.onnx", models / "out.onnx", DataReader(models / "cnn.onnx"),
                        extra_options={"AccuracyTarget": 1.5})


def test_reader_iterates_and_stops(models):
    reader = DataReader(models / "cnn.onnx", count=2)
    assert len(list(reader)) == 2
    assert reader.get_next() is None


def test_unknown_extra_option_is_rejected(models):
    with pytest.raises(ValueError, match="ActivationSymetric"):
        quantize_dynamic(models / "mlp.onnx", models / "out.onnx", extra_options={"ActivationSymetric": True})


def test_reader_returning_garbage_is_reported(models):
    class Bad(CalibrationDataReader):
        def get_next(self):
            return [1, 2, 3]

    with pytest.raises(ort.InvalidArgument, match="dict or None"):
        quantize_static(str(models / "cnn.onnx"), str(models / "out.onnx"), Bad())


def test_empty_reader_is_reported(models):
    class Empty(CalibrationDataReader):
        def get_next(self):
            return None

    with pytest.raises(ort.InvalidArgument, match="no data"):
        quantize_static(str(models / "cnn.onnx"), str(models / "out.onnx"), Empty())


def test_missing_model_is_reported(models):
    with pytest.raises(ort.NoSuchFile):
        quantize_dynamic(models / "absent.onnx", models / "out.onnx")
