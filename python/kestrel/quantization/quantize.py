# quantize_dynamic / quantize_static with onnxruntime.quantization's signatures, over Kestrel's C++ quantizer
# (kestrel/quantization.h): scripts written for ONNX Runtime run with the import changed.
import os
import tempfile

from kestrel.capi import _kestrel as _C
from kestrel.quantization.calibrate import CalibrationDataReader, CalibrationMethod
from kestrel.quantization.quant_utils import QuantFormat, QuantType

# extra_options keys and the quantizer option each sets.
_EXTRA_OPTIONS = {
    "MatMulConstBOnly": ("matmul_const_b_only", bool),
    "ActivationSymmetric": ("activation_symmetric", bool),
    "WeightSymmetric": ("weight_symmetric", bool),
    "CalibPercentile": ("percentile", float),
    "CalibNumBins": ("histogram_bins", int),
    "CalibNumQuantizedBins": ("entropy_quantized_bins", int),
    "KeepFirstLayerFp32": ("keep_first_layer_fp32", bool),
    "KeepLastLayerFp32": ("keep_last_layer_fp32", bool),
    # Kestrel's own (static only): keep in float the nodes whose quantization hurts the outputs most, until the
    # output cosine similarity with the float model on the first AccuracyBatches calibration batches reaches
    # AccuracyTarget. The returned summary names them.
    "AccuracyTarget": ("accuracy_target", float),
    "AccuracyBatches": ("accuracy_batches", int),
    # Kestrel's own: False skips the basic graph rewrites (BatchNormalization and constant Mul/Add
    # folded into Conv) made before quantizing.
    "Preprocess": ("preprocess", bool),
}


def _extra(options, extra_options):
    for key, value in (extra_options or {}).items():
        if key not in _EXTRA_OPTIONS:
            raise ValueError(
                f"extra_options key {key!r} is not supported by kestrel.quantization "
                f"(supported: {', '.join(sorted(_EXTRA_OPTIONS))})"
            )
        name, kind = _EXTRA_OPTIONS[key]
        options[name] = kind(value)


def _quant_type(value, what):
    if isinstance(value, str):
        value = QuantType.from_string(value)
    if value == QuantType.QInt8:
        return "s8"
    if value == QuantType.QUInt8:
        return "u8"
    raise ValueError(f"{what} must be QuantType.QInt8 or QuantType.QUInt8, got {value!r}")


def _names(value, what):
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"{what} must be a list of names, not a string")
    return [str(v) for v in value]


class _ModelPath:
    """A model given as a path (str or os.PathLike) or as an onnx.ModelProto (written to a temporary file)."""

    def __init__(self, model):
        self._tmp = None
        if isinstance(model, (str, os.PathLike)):
            self.path = os.fspath(model)
        elif hasattr(model, "SerializeToString"):
            self._tmp = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False)
            self._tmp.write(model.SerializeToString())
            self._tmp.close()
            self.path = self._tmp.name
        else:
            raise TypeError(f"model_input must be a path or an onnx.ModelProto, got {type(model).__name__}")

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if self._tmp is not None:
            os.unlink(self._tmp.name)


def _check_external(use_external_data_format):
    if use_external_data_format:
        raise NotImplementedError("kestrel.quantization writes models inline; use_external_data_format=True "
                                  "is not supported")


def quantize_dynamic(
    model_input,
    model_output,
    op_types_to_quantize=None,
    per_channel=False,
    reduce_range=False,
    weight_type=QuantType.QInt8,
    nodes_to_quantize=None,
    nodes_to_exclude=None,
    use_external_data_format=False,
    extra_options=None,
):
    """Weights to int8 now, activations by DynamicQuantizeLinear at run time (MatMulInteger/ConvInteger)."""
    _check_external(use_external_data_format)
    options = {
        "weight_type": _quant_type(weight_type, "weight_type"),
        "per_channel": bool(per_channel),
        "reduce_range": bool(reduce_range),
        "op_types": _names(op_types_to_quantize, "op_types_to_quantize"),
        "nodes_to_quantize": _names(nodes_to_quantize, "nodes_to_quantize"),
        "nodes_to_exclude": _names(nodes_to_exclude, "nodes_to_exclude"),
    }
    _extra(options, extra_options)
    with _ModelPath(model_input) as path:
        return _C.quantize_model("dynamic", path, os.fspath(model_output), options)


def quantize_static(
    model_input,
    model_output,
    calibration_data_reader: CalibrationDataReader,
    quant_format=QuantFormat.QDQ,
    op_types_to_quantize=None,
    per_channel=False,
    reduce_range=False,
    activation_type=QuantType.QInt8,
    weight_type=QuantType.QInt8,
    nodes_to_quantize=None,
    nodes_to_exclude=None,
    use_external_data_format=False,
    calibrate_method=CalibrationMethod.MinMax,
    calibration_providers=None,
    extra_options=None,
):
    """Activation ranges calibrated on the reader's batches; QDQ (default) or QOperator format."""
    _check_external(use_external_data_format)
    if calibration_data_reader is None or not callable(getattr(calibration_data_reader, "get_next", None)):
        raise TypeError("calibration_data_reader must have a get_next() method (a CalibrationDataReader)")
    if calibration_providers not in (None, ["CPUExecutionProvider"]):
        raise ValueError("kestrel.quantization calibrates on the CPU; calibration_providers must be None or "
                         "['CPUExecutionProvider']")
    if isinstance(quant_format, str):
        quant_format = QuantFormat.from_string(quant_format)
    if quant_format not in (QuantFormat.QDQ, QuantFormat.QOperator):
        raise ValueError(f"quant_format must be QuantFormat.QDQ or QuantFormat.QOperator, got {quant_format!r}")
    methods = {
        CalibrationMethod.MinMax: "minmax",
        CalibrationMethod.Entropy: "entropy",
        CalibrationMethod.Percentile: "percentile",
    }
    if calibrate_method not in methods:
        raise ValueError(f"calibrate_method must be MinMax, Entropy or Percentile, got {calibrate_method!r}")
    options = {
        "format": "qdq" if quant_format == QuantFormat.QDQ else "qoperator",
        "weight_type": _quant_type(weight_type, "weight_type"),
        "activation_type": _quant_type(activation_type, "activation_type"),
        "per_channel": bool(per_channel),
        "reduce_range": bool(reduce_range),
        "op_types": _names(op_types_to_quantize, "op_types_to_quantize"),
        "nodes_to_quantize": _names(nodes_to_quantize, "nodes_to_quantize"),
        "nodes_to_exclude": _names(nodes_to_exclude, "nodes_to_exclude"),
        "calibrate_method": methods[calibrate_method],
    }
    _extra(options, extra_options)
    with _ModelPath(model_input) as path:
        return _C.quantize_model(
            "static", path, os.fspath(model_output), options, calibration_data_reader.get_next
        )


def quantize(model_input, model_output, quant_config):
    raise NotImplementedError("kestrel.quantization.quantize(config) is not supported; call quantize_dynamic or "
                              "quantize_static")


__all__ = ["quantize_dynamic", "quantize_static"]
