# Calibration data readers and methods, as onnxruntime.quantization.calibrate names them. The calibration itself
# (running the float model and collecting ranges) happens in Kestrel's C++ quantizer.
import abc
from enum import Enum


class CalibrationMethod(Enum):
    MinMax = 0
    Entropy = 1
    Percentile = 2


class CalibrationDataReader(metaclass=abc.ABCMeta):
    """Feeds calibration batches: get_next() returns {input name: numpy array}, or None when there are no more."""

    @classmethod
    def __subclasshook__(cls, subclass):
        return hasattr(subclass, "get_next") and callable(subclass.get_next) or NotImplemented

    @abc.abstractmethod
    def get_next(self) -> dict:
        raise NotImplementedError

    def __iter__(self):
        return self

    def __next__(self):
        result = self.get_next()
        if result is None:
            raise StopIteration
        return result

    def set_range(self, start_index: int, end_index: int):
        raise NotImplementedError
