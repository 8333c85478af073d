# InferenceSession, IOBinding, RunOptions, NodeArg and ModelMetadata with ONNX Runtime's names and behaviour, over
# the native layer. The per-run paths (run, run_with_iobinding) are one Python call into C++ each.
import os
import threading
import warnings

from kestrel.capi import _kestrel as C
from kestrel.options import SessionOptions

_CPU = "CPUExecutionProvider"
_CPU_OPTIONS = {"use_arena"}


class RunOptions(C.RunOptions):
    """Per-run options. Setting `terminate = True` from another thread cancels runs using these options: they raise
    RuntimeException. Kestrel supports no run config entries yet; adding one raises NotImplemented."""

    def __init__(self):
        super().__init__()
        self._log_verbosity_level = 0
        self._only_execute_path_to_fetches = False

    @property
    def log_verbosity_level(self):
        return self._log_verbosity_level

    @log_verbosity_level.setter
    def log_verbosity_level(self, value):
        if value != 0:
            raise C.NotImplemented("RunOptions.log_verbosity_level: Kestrel's logger has no verbose sub-levels; "
                                   "only 0 is supported")

    @property
    def only_execute_path_to_fetches(self):
        return self._only_execute_path_to_fetches

    @only_execute_path_to_fetches.setter
    def only_execute_path_to_fetches(self, value):
        if value:
            raise C.NotImplemented("only_execute_path_to_fetches=True is not supported: Kestrel runs every node "
                                   "of the plan")

    def add_run_config_entry(self, key, value):
        raise C.NotImplemented(f"run config entry '{key}' is not supported: Kestrel has no run config entries yet")

    def get_run_config_entry(self, key):
        raise C.InvalidArgument(f"RunOptions does not have configuration with key: {key}")


class NodeArg:
    """A graph input or output: name, type ('tensor(float)'), shape (ints, symbolic names or None)."""

    __slots__ = ("name", "type", "shape")

    def __init__(self, name, type, shape):
        self.name = name
        self.type = type
        self.shape = shape

    def __str__(self):
        return f"NodeArg(name='{self.name}', type='{self.type}', shape={self.shape})"

    __repr__ = __str__


class ModelMetadata:
    def __init__(self, d):
        self.producer_name = d["producer_name"]
        self.producer_version = d["producer_version"]
        self.graph_name = d["graph_name"]
        self.domain = d["domain"]
        self.description = d["description"]
        self.graph_description = d["graph_description"]
        self.version = d["version"]
        self.ir_version = d["ir_version"]
        self.opsets = dict(d["opsets"])
        self.custom_metadata_map = dict(d["custom_metadata_map"])


def _cpu_options(options):
    out = {}
    for key, value in options.items():
        if key not in _CPU_OPTIONS:
            raise C.InvalidArgument(f"Unknown option '{key}' for CPUExecutionProvider (Kestrel supports: "
                                    f"{', '.join(sorted(_CPU_OPTIONS))})")
        text = str(value).strip().lower()
        if text not in ("0", "1", "true", "false"):
            raise C.InvalidArgument(f"CPUExecutionProvider option use_arena must be 0 or 1, got '{value}'")
        out[key] = text in ("1", "true")
    return out


def _normalize_providers(providers, provider_options):
    """[(name, options dict)] in priority order, validated as ORT does."""
    if providers is None:
        providers = [_CPU]
    if isinstance(providers, str):
        raise ValueError("'providers' must be a list of names or (name, options) tuples, not a str")
    if provider_options is not None and len(provider_options) != len(providers):
        raise ValueError("'providers' and 'provider_options' should be the same length if both are given.")
    result = []
    for i, p in enumerate(providers):
        if isinstance(p, str):
            name, opts = p, (provider_options[i] if provider_options is not None else {})
        elif isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], dict):
            if provider_options is not None:
                raise ValueError("Provider options may be given in 'providers' tuples or in 'provider_options', "
                                 "not both.")
            name, opts = p
        else:
            raise ValueError("'providers' values must be either strings or (string, dict) tuples.")
        if any(name == n for n, _ in result):
            raise ValueError(f"Duplicate provider '{name}' encountered in 'providers'.")
        result.append((name, dict(opts or {})))
    return result


class InferenceSession:
    """ORT's InferenceSession: loads a model (path or bytes) once and runs it many times, from many threads."""

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
        if kwargs:
            raise C.NotImplemented(f"InferenceSession arguments not supported by Kestrel: {', '.join(kwargs)}")
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._model_path, self._model_bytes = None, bytes(path_or_bytes)
        elif isinstance(path_or_bytes, (str, os.PathLike)):
            self._model_path, self._model_bytes = os.fspath(path_or_bytes), None
        else:
            raise TypeError(f"Unable to load from type '{type(path_or_bytes)}'")
        if sess_options is not None and not isinstance(sess_options, SessionOptions):
            raise TypeError("sess_options must be a kestrel.SessionOptions")
        self._sess_options = sess_options if sess_options is not None else SessionOptions()
        self._enable_fallback = True
        self._sess = None
        self._create(providers, provider_options)

    def _create(self, providers, provider_options):
        requested = _normalize_providers(providers, provider_options)
        available = C.get_available_providers()
        kept = []
        for name, opts in requested:
            if name not in available:
                message = (f"Specified provider '{name}' is not in available provider names. Available providers: "
                           f"'{', '.join(available)}'")
                if not self._enable_fallback:
                    raise C.EPFail(message + " (fallback is disabled, so the session is not created)")
                warnings.warn(message + "; it is not used.", RuntimeWarning, stacklevel=3)
                continue
            kept.append((name, opts))
        cpu = {}
        for name, opts in kept:
            if name == _CPU:
                cpu = _cpu_options(opts)
        names = [name for name, _ in kept]
        core = self._sess_options._to_core(names, cpu)
        model = self._model_path if self._model_path is not None else self._model_bytes
        self._sess = C.Session(model, core)
        self._provider_options = {name: {k: str(int(v)) if isinstance(v, bool) else str(v) for k, v in opts.items()}
                                  for name, opts in kept}
        for name in self._sess.providers():
            self._provider_options.setdefault(name, {})
        self._inputs = [NodeArg(*a) for a in self._sess.inputs()]
        self._outputs = [NodeArg(*a) for a in self._sess.outputs()]
        self._overridable = [NodeArg(*a) for a in self._sess.overridable_initializers()]
        self._meta = None

    # -- running --
    def run(self, output_names, input_feed, run_options=None):
        """Returns a list of NumPy arrays (lists for sequences, None for empty optionals), in output_names order
        (all outputs when None). The GIL is released while the model runs."""
        return self._sess.run(output_names, input_feed, run_options)

    def run_with_ort_values(self, output_names, input_dict_ort_values, run_options=None):
        return self._sess.run_with_ort_values(output_names, input_dict_ort_values, run_options)

    def run_async(self, output_names, input_feed, callback, user_data, run_options=None):
        """Runs on a new thread and calls callback(outputs, user_data, error_message) when done."""
        def work():
            try:
                outputs = self._sess.run(output_names, input_feed, run_options)
            except Exception as e:  # handed to the callback, as ORT does
                callback(None, user_data, str(e))
                return
            callback(outputs, user_data, "")

        threading.Thread(target=work, daemon=True).start()

    def io_binding(self):
        return IOBinding(self)

    def run_with_iobinding(self, iobinding, run_options=None):
        C.run_iobinding(iobinding._iobinding, run_options)  # a plain CPython function: no allocation per call

    # -- description --
    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_overridable_initializers(self):
        return list(self._overridable)

    def get_modelmeta(self):
        if self._meta is None:
            self._meta = ModelMetadata(self._sess.metadata())
        return self._meta

    def get_session_options(self):
        return self._sess_options

    # -- providers --
    def get_providers(self):
        return self._sess.providers()

    def get_provider_options(self):
        return {name: dict(opts) for name, opts in self._provider_options.items()}

    def set_providers(self, providers=None, provider_options=None):
        """Re-creates the session with these providers, as ORT does."""
        self._create(providers, provider_options)

    def disable_fallback(self):
        """From now on a requested provider that is unavailable raises EPFail instead of being dropped."""
        self._enable_fallback = False

    def enable_fallback(self):
        self._enable_fallback = True

    # -- profiling --
    def end_profiling(self):
        """Stops profiling and returns the Chrome-trace file's path ('' when profiling was off)."""
        return self._sess.end_profiling()

    def get_profiling_start_time_ns(self):
        raise C.NotImplemented("get_profiling_start_time_ns is not available in Kestrel yet")


class IOBinding:
    """Inputs and outputs bound once and reused by run_with_iobinding. A bound output buffer (bind_output with a
    buffer_ptr, or bind_ortvalue_output) is written in place: no copy and no allocation per run."""

    def __init__(self, session):
        self._iobinding = C.SessionIOBinding(session._sess)

    def bind_cpu_input(self, name, arr_on_cpu):
        self._iobinding.bind_cpu_input(name, arr_on_cpu)

    def bind_input(self, name, device_type, device_id, element_type, shape, buffer_ptr):
        self._iobinding.bind_input(name, device_type, device_id, element_type, list(shape), buffer_ptr)

    def bind_ortvalue_input(self, name, ortvalue):
        self._iobinding.bind_ortvalue_input(name, ortvalue)

    def synchronize_inputs(self):
        """Nothing to wait for: Kestrel's memory is CPU memory, visible as soon as it is bound."""

    def bind_output(self, name, device_type="cpu", device_id=0, element_type=None, shape=None, buffer_ptr=None):
        self._iobinding.bind_output(name, device_type, device_id, element_type,
                                    None if shape is None else list(shape), buffer_ptr)

    def bind_ortvalue_output(self, name, ortvalue):
        self._iobinding.bind_ortvalue_output(name, ortvalue)

    def synchronize_outputs(self):
        """Nothing to wait for: outputs are complete when run_with_iobinding returns."""

    def get_outputs(self):
        return self._iobinding.get_outputs()

    def get_outputs_as_ortvaluevector(self):
        return self._iobinding.get_outputs()

    def copy_outputs_to_cpu(self):
        return self._iobinding.copy_outputs_to_cpu()

    def clear_binding_inputs(self):
        self._iobinding.clear_binding_inputs()

    def clear_binding_outputs(self):
        self._iobinding.clear_binding_outputs()
