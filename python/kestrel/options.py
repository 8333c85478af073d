# SessionOptions and the enums with ORT's names and values. Every ORT field is either honoured (passed to the C++
# SessionOptions) or rejected with NotImplemented when set to a value Kestrel cannot honour; none is ignored.
import enum
import warnings

from kestrel.capi import _kestrel as C

_default_logger_severity = 2


def set_default_logger_severity(severity):
    """Severity (0 verbose .. 4 fatal) for sessions whose options do not set log_severity_level."""
    global _default_logger_severity
    _default_logger_severity = _check_severity(severity, "severity")


def set_default_logger_verbosity(verbosity):
    if _check_int(verbosity, "verbosity") != 0:
        raise C.NotImplemented("Kestrel's logger has no verbose sub-levels: only verbosity 0 is supported")


def _default_severity():
    return _default_logger_severity


def _check_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


def _check_severity(value, name):
    value = _check_int(value, name)
    if not 0 <= value <= 4:
        raise C.InvalidArgument(f"{name} must be 0 (verbose) .. 4 (fatal), got {value}")
    return value


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_LAYOUT = 3
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class ExecutionOrder(enum.IntEnum):
    DEFAULT = 0
    PRIORITY_BASED = 1
    MEMORY_EFFICIENT = 2


class OrtAllocatorType(enum.IntEnum):
    INVALID = -1
    ORT_DEVICE_ALLOCATOR = 0
    ORT_ARENA_ALLOCATOR = 1


def _warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


_warned = set()


class SessionOptions:
    """ORT's SessionOptions. Unsupported values raise kestrel NotImplemented when set."""

    def __init__(self):
        self._intra_op_num_threads = 0
        self._inter_op_num_threads = 0
        self._execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self._execution_order = ExecutionOrder.DEFAULT
        self._graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self._enable_cpu_mem_arena = True
        self._enable_mem_pattern = True
        self._enable_mem_reuse = True
        self._enable_profiling = False
        self._profile_file_prefix = "onnxruntime_profile"  # files: <prefix>_<ms>.json
        self._optimized_model_filepath = ""
        self._log_severity_level = None  # None: the default logger severity
        self._log_verbosity_level = 0
        self._logid = ""
        self._free_dims = {}
        self._free_dims_by_denotation = {}
        self._custom_ops = None  # a C.SessionOptionsCore holding the loaded custom-op libraries
        self._custom_op_paths = []
        self._initializers = {}
        self._use_deterministic_compute = False
        self._config = {}

    # -- threads and execution --
    @property
    def intra_op_num_threads(self):
        return self._intra_op_num_threads

    @intra_op_num_threads.setter
    def intra_op_num_threads(self, value):
        value = _check_int(value, "intra_op_num_threads")
        if value < 0:
            raise C.InvalidArgument(f"intra_op_num_threads must be >= 0 (0: one per core), got {value}")
        self._intra_op_num_threads = value

    @property
    def inter_op_num_threads(self):
        return self._inter_op_num_threads

    @inter_op_num_threads.setter
    def inter_op_num_threads(self, value):
        value = _check_int(value, "inter_op_num_threads")
        if value < 0:
            raise C.InvalidArgument(f"inter_op_num_threads must be >= 0, got {value}")
        self._inter_op_num_threads = value

    @property
    def execution_mode(self):
        return self._execution_mode

    @execution_mode.setter
    def execution_mode(self, value):
        self._execution_mode = ExecutionMode(_check_int(int(value), "execution_mode"))

    @property
    def execution_order(self):
        return self._execution_order

    @execution_order.setter
    def execution_order(self, value):
        value = ExecutionOrder(_check_int(int(value), "execution_order"))
        if value != ExecutionOrder.DEFAULT:
            raise C.NotImplemented(
                f"execution_order={value.name} is not supported: Kestrel runs nodes in its planner's topological order "
                "(ExecutionOrder.DEFAULT)")
        self._execution_order = value

    @property
    def graph_optimization_level(self):
        return self._graph_optimization_level

    @graph_optimization_level.setter
    def graph_optimization_level(self, value):
        try:
            self._graph_optimization_level = GraphOptimizationLevel(int(value))
        except ValueError:
            raise C.InvalidArgument(f"graph_optimization_level must be 0, 1, 2, 3 or 99, got {value}") from None

    # -- memory --
    @property
    def enable_cpu_mem_arena(self):
        return self._enable_cpu_mem_arena

    @enable_cpu_mem_arena.setter
    def enable_cpu_mem_arena(self, value):
        self._enable_cpu_mem_arena = bool(value)

    @property
    def enable_mem_pattern(self):
        return self._enable_mem_pattern

    @enable_mem_pattern.setter
    def enable_mem_pattern(self, value):
        # Kestrel's executor allocates each intermediate when produced and frees it after its last reader; there is
        # no precomputed pattern to turn off, so False changes nothing. Said once rather than ignored silently.
        if not value:
            _warn_once("mem_pattern", "enable_mem_pattern=False has no effect in Kestrel: it plans no memory pattern "
                       "(each intermediate is freed after its last use)")
        self._enable_mem_pattern = bool(value)

    @property
    def enable_mem_reuse(self):
        return self._enable_mem_reuse

    @enable_mem_reuse.setter
    def enable_mem_reuse(self, value):
        if not value:
            _warn_once("mem_reuse", "enable_mem_reuse=False has no effect in Kestrel: it shares no buffers between "
                       "tensors (each intermediate is freed after its last use)")
        self._enable_mem_reuse = bool(value)

    # -- profiling and output --
    @property
    def enable_profiling(self):
        return self._enable_profiling

    @enable_profiling.setter
    def enable_profiling(self, value):
        self._enable_profiling = bool(value)

    @property
    def profile_file_prefix(self):
        return self._profile_file_prefix

    @profile_file_prefix.setter
    def profile_file_prefix(self, value):
        if not isinstance(value, str):
            raise TypeError("profile_file_prefix must be a str")
        self._profile_file_prefix = value

    @property
    def optimized_model_filepath(self):
        return self._optimized_model_filepath

    @optimized_model_filepath.setter
    def optimized_model_filepath(self, value):
        import os
        self._optimized_model_filepath = os.fspath(value)

    # -- logging --
    @property
    def log_severity_level(self):
        return _default_severity() if self._log_severity_level is None else self._log_severity_level

    @log_severity_level.setter
    def log_severity_level(self, value):
        self._log_severity_level = _check_severity(value, "log_severity_level")

    @property
    def log_verbosity_level(self):
        return self._log_verbosity_level

    @log_verbosity_level.setter
    def log_verbosity_level(self, value):
        if _check_int(value, "log_verbosity_level") != 0:
            raise C.NotImplemented("log_verbosity_level: Kestrel's logger has no verbose sub-levels; only 0 is "
                                   "supported (use log_severity_level=0 for verbose output)")
        self._log_verbosity_level = 0

    @property
    def logid(self):
        return self._logid

    @logid.setter
    def logid(self, value):
        if not isinstance(value, str):
            raise TypeError("logid must be a str")
        self._logid = value

    @property
    def use_deterministic_compute(self):
        return self._use_deterministic_compute

    @use_deterministic_compute.setter
    def use_deterministic_compute(self, value):
        # Honoured as is: Kestrel's CPU kernels give bitwise-identical results run to run for a given thread count
        # (static work splits, no atomics in reductions); tests/python/test_options.py checks it on a zoo model.
        self._use_deterministic_compute = bool(value)

    # -- config entries --
    def add_session_config_entry(self, key, value):
        """Config entries go to the C++ session, which rejects keys it does not know when the session is created."""
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("add_session_config_entry takes two str arguments")
        self._config[key] = value

    def get_session_config_entry(self, key):
        if key not in self._config:
            raise C.InvalidArgument(f"SessionOptions does not have configuration with key: {key}")
        return self._config[key]

    # -- not in the C++ API --
    def add_free_dimension_override_by_name(self, dim_name, dim_value):
        """Fixes a named symbolic dimension of the inputs; the session rejects names the model does not use."""
        if not isinstance(dim_name, str):
            raise TypeError("dim_name must be a str")
        self._free_dims[dim_name] = _check_int(dim_value, "dim_value")

    def add_free_dimension_override_by_denotation(self, dim_denotation, dim_value):
        """Fixes the dynamic dimensions of the inputs that carry this ONNX denotation (such as "DATA_BATCH")."""
        if not isinstance(dim_denotation, str):
            raise TypeError("dim_denotation must be a str")
        self._free_dims_by_denotation[dim_denotation] = _check_int(dim_value, "dim_value")

    def add_initializer(self, name, ortvalue):
        """Replaces the model's initializer `name` (same type and shape) with the OrtValue's data."""
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        self._initializers[name] = ortvalue

    def add_external_initializers(self, names, ortvalues):
        raise C.NotImplemented("add_external_initializers is not supported by Kestrel yet")

    def register_custom_ops_library(self, library_path):
        """Loads a custom-op library now (see include/kestrel/custom_op.h); sessions made with these options may
        use its operators. Raises NoSuchFile or Fail when the library cannot be loaded or registered."""
        import os
        path = os.fspath(library_path)
        if not isinstance(path, str):
            raise TypeError("library_path must be a str or os.PathLike")
        if self._custom_ops is None:
            self._custom_ops = C.SessionOptionsCore()
        self._custom_ops.register_custom_ops_library(path)
        self._custom_op_paths.append(path)

    def _to_core(self, providers, cpu_options):
        o = C.SessionOptionsCore()
        o.intra_op_num_threads = self._intra_op_num_threads
        o.inter_op_num_threads = self._inter_op_num_threads
        o.execution_mode = int(self._execution_mode)
        o.graph_optimization_level = int(self._graph_optimization_level)
        o.enable_cpu_mem_arena = self._enable_cpu_mem_arena and cpu_options.get("use_arena", True)
        o.enable_profiling = self._enable_profiling
        o.profile_file_prefix = self._profile_file_prefix
        o.optimized_model_filepath = self._optimized_model_filepath
        o.log_severity_level = self.log_severity_level
        o.config_entries = dict(self._config)
        o.logid = self._logid
        o.free_dimension_overrides = dict(self._free_dims)
        o.free_dimension_overrides_by_denotation = dict(self._free_dims_by_denotation)
        if self._custom_ops is not None:
            o.add_custom_op_libraries_from(self._custom_ops)
        for name, value in self._initializers.items():
            o.add_initializer(name, getattr(value, "_ortvalue", value))
        o.providers = list(providers)
        return o
