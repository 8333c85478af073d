# Kestrel's Python package: `import kestrel as ort` runs ONNX Runtime scripts unchanged (issue #6). Public names
# follow onnxruntime's; the native layer is kestrel.capi._kestrel, built over include/kestrel only.
import os as _os

# The OpenMP runtime (shared with oneDNN) busy-waits for a long time after each parallel region by default, which
# steals a core from everything else between runs. It reads its policy once, when the native module loads it, so a
# short spin is set here first (as the kestrel CLI does); a policy the user chose is kept.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "2000"

from kestrel.capi import _kestrel as _C  # noqa: E402
from kestrel.capi import onnxruntime_pybind11_state  # noqa: F401  (ORT's exception module path)
from kestrel.capi.onnxruntime_pybind11_state import (  # noqa: F401
    EngineError,
    EPFail,
    Fail,
    InvalidArgument,
    InvalidGraph,
    InvalidProtobuf,
    ModelLoaded,
    NoModel,
    NoSuchFile,
    NotImplemented,
    OrtValue,
    RuntimeException,
)
from kestrel.options import (  # noqa: F401
    ExecutionMode,
    ExecutionOrder,
    GraphOptimizationLevel,
    OrtAllocatorType,
    SessionOptions,
    set_default_logger_severity,
    set_default_logger_verbosity,
)
from kestrel.session import InferenceSession, IOBinding, ModelMetadata, NodeArg, RunOptions  # noqa: F401

__version__ = _C.get_version_string()


def get_version_string():
    return __version__


def get_device():
    """'CPU': the device Kestrel's default provider runs on."""
    return "CPU"


def get_available_providers():
    """Providers that can run on this machine, in Kestrel's default priority order."""
    return _C.get_available_providers()


def get_all_providers():
    """Every provider name Kestrel knows, available here or not."""
    return _C.get_all_providers()


# `from kestrel import *` must not shadow the builtin NotImplemented: the exception stays reachable as
# kestrel.NotImplemented and under kestrel.capi.onnxruntime_pybind11_state.
__all__ = [n for n in dir() if not n.startswith("_") and n not in ("NotImplemented", "options", "session", "capi")]
