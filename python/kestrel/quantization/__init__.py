# kestrel.quantization: onnxruntime.quantization's API over Kestrel's quantizer. Scripts switch with the import:
#     from kestrel.quantization import quantize_dynamic, quantize_static, QuantType, QuantFormat
from kestrel.quantization.calibrate import CalibrationDataReader, CalibrationMethod  # noqa: F401
from kestrel.quantization.quant_utils import QuantFormat, QuantType  # noqa: F401
from kestrel.quantization.quantize import quantize_dynamic, quantize_static  # noqa: F401
