# The enums of onnxruntime.quantization.quant_utils, with the same names and values.
from enum import Enum


class QuantType(Enum):
    QInt8 = 0
    QUInt8 = 1

    def __str__(self):
        return self.name

    @staticmethod
    def from_string(t):
        try:
            return QuantType[t]
        except KeyError:
            raise ValueError(f"unknown QuantType {t!r}; use QInt8 or QUInt8") from None


class QuantFormat(Enum):
    QOperator = 0
    QDQ = 1

    def __str__(self):
        return self.name

    @staticmethod
    def from_string(fmt):
        try:
            return QuantFormat[fmt]
        except KeyError:
            raise ValueError(f"unknown QuantFormat {fmt!r}; use QOperator or QDQ") from None
