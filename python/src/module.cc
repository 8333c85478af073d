// kestrel.capi._kestrel: the pybind11 layer over the public C++ API (include/kestrel only). It owns the NumPy <->
// Value conversions (zero-copy where the layout allows), ORT's exception classes and messages, and the GIL release.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kestrel/quantization.h"
#include "kestrel/session.h"

namespace py = pybind11;
using namespace kestrel;

namespace {

// ---- errors -------------------------------------------------------------------------------------------------------

// One Python class per ORT error code, indexed by the code; created at import (see PYBIND11_MODULE).
PyObject* g_error_classes[12] = {};

// ORT formats every status as "[ONNXRuntimeError] : <code> : <NAME> : <message>"; scripts match on it.
[[noreturn]] void raise_code(ErrorCode code, const std::string& message) {
  int c = static_cast<int>(code);
  if (c < 1 || c > 11) c = 1;
  std::string text = "[ONNXRuntimeError] : " + std::to_string(c) + " : " + error_code_name(static_cast<ErrorCode>(c)) +
                     " : " + message;
  PyErr_SetString(g_error_classes[c], text.c_str());
  throw py::error_already_set();
}

// ---- element types ------------------------------------------------------------------------------------------------

py::dtype numpy_dtype(ElementType t) {
  switch (t) {
    case ElementType::kFloat: return py::dtype("float32");
    case ElementType::kDouble: return py::dtype("float64");
    case ElementType::kFloat16: return py::dtype("float16");
    case ElementType::kInt8: return py::dtype("int8");
    case ElementType::kUInt8: return py::dtype("uint8");
    case ElementType::kInt16: return py::dtype("int16");
    case ElementType::kUInt16: return py::dtype("uint16");
    case ElementType::kInt32: return py::dtype("int32");
    case ElementType::kUInt32: return py::dtype("uint32");
    case ElementType::kInt64: return py::dtype("int64");
    case ElementType::kUInt64: return py::dtype("uint64");
    case ElementType::kBool: return py::dtype("bool");
    case ElementType::kComplex64: return py::dtype("complex64");
    case ElementType::kComplex128: return py::dtype("complex128");
    case ElementType::kString: return py::dtype("O");
    default:
      raise_code(ErrorCode::kNotImplemented, std::string("tensor(") + element_type_name(t) +
                                                 ") has no NumPy equivalent; cast it in the model (for example to "
                                                 "float) to read it from Python");
  }
}

// kUndefined when NumPy's dtype has no ONNX equivalent.
ElementType element_type_of(const py::dtype& d) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  switch (kind) {
    case 'f': return size == 4 ? ElementType::kFloat : size == 8 ? ElementType::kDouble
                   : size == 2 ? ElementType::kFloat16 : ElementType::kUndefined;
    case 'i': return size == 1 ? ElementType::kInt8 : size == 2 ? ElementType::kInt16
                   : size == 4 ? ElementType::kInt32 : size == 8 ? ElementType::kInt64 : ElementType::kUndefined;
    case 'u': return size == 1 ? ElementType::kUInt8 : size == 2 ? ElementType::kUInt16
                   : size == 4 ? ElementType::kUInt32 : size == 8 ? ElementType::kUInt64 : ElementType::kUndefined;
    case 'b': return ElementType::kBool;
    case 'c': return size == 8 ? ElementType::kComplex64 : size == 16 ? ElementType::kComplex128
                                                                      : ElementType::kUndefined;
    case 'U': case 'S': case 'O': return ElementType::kString;
    default: return ElementType::kUndefined;
  }
}

std::string tensor_type_string(ElementType t) { return std::string("tensor(") + element_type_name(t) + ")"; }

// Accepts a NumPy type (np.float32), a dtype, a dtype name or an ONNX TensorProto number.
ElementType element_type_from_py(py::handle obj) {
  if (py::isinstance<py::int_>(obj) && !py::isinstance<py::bool_>(obj)) {
    int v = obj.cast<int>();
    if (!is_valid_element_type(v)) raise_code(ErrorCode::kInvalidArgument, "unknown element type " + std::to_string(v));
    return static_cast<ElementType>(v);
  }
  py::dtype d = py::dtype::from_args(py::reinterpret_borrow<py::object>(obj));
  ElementType t = element_type_of(d);
  if (t == ElementType::kUndefined)
    raise_code(ErrorCode::kInvalidArgument, "NumPy type " + py::str(d).cast<std::string>() + " has no ONNX equivalent");
  return t;
}

Shape shape_of(const py::array& a) {
  Shape s(static_cast<size_t>(a.ndim()));
  for (size_t i = 0; i < s.size(); ++i) s[i] = a.shape(static_cast<py::ssize_t>(i));
  return s;
}

// ---- NumPy -> Tensor ----------------------------------------------------------------------------------------------

Tensor string_tensor_from(const py::array& a) {
  Tensor t(ElementType::kString, shape_of(a));
  std::string* out = t.data<std::string>();
  py::object flat = a.attr("ravel")();
  int64_t i = 0;
  for (py::handle item : flat) {
    if (py::isinstance<py::bytes>(item)) out[i++] = item.cast<std::string>();
    else out[i++] = py::str(item).cast<std::string>();
  }
  return t;
}

// Borrows the array's buffer when it is C-contiguous and of a supported type (zero copy); `keep` receives the
// object that owns the memory, which the caller holds for as long as the tensor is used.
Tensor tensor_from_array(py::array a, py::object& keep) {
  ElementType t = element_type_of(a.dtype());
  if (t == ElementType::kUndefined)
    raise_code(ErrorCode::kInvalidArgument,
               "NumPy type " + py::str(a.dtype()).cast<std::string>() + " has no ONNX tensor equivalent");
  if (t == ElementType::kString) {
    keep = py::none();
    return string_tensor_from(a);
  }
  if (!(a.flags() & py::array::c_style)) a = py::array::ensure(a, py::array::c_style | py::array::forcecast);
  if (!a) throw py::error_already_set();
  keep = a;
  return Tensor::borrow(t, shape_of(a), const_cast<void*>(a.data()));
}

// ---- Tensor -> NumPy ----------------------------------------------------------------------------------------------

// A NumPy array over the tensor's buffer (zero copy) kept alive by a capsule holding a Tensor that shares it, or
// by `owner` when the tensor borrows memory owned by a Python object. A borrowed tensor without a known owner is
// copied: its memory may belong to a feed that dies when run() returns.
py::object array_from_tensor(const Tensor& t, py::handle owner = py::handle()) {
  py::dtype dt = numpy_dtype(t.type());
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.type() == ElementType::kString) {
    py::array out(dt, shape);
    PyObject** cells = static_cast<PyObject**>(out.mutable_data());
    const std::string* s = t.data<std::string>();
    for (int64_t i = 0; i < t.size(); ++i) {
      PyObject* u = PyUnicode_DecodeUTF8(s[i].data(), static_cast<py::ssize_t>(s[i].size()), "replace");
      if (!u) throw py::error_already_set();
      Py_XDECREF(cells[i]);
      cells[i] = u;
    }
    return out;
  }
  if (t.size() == 0) return py::array(dt, shape);
  if (owner) return py::array(dt, shape, {}, t.raw_data(), owner);
  if (!t.owns_data()) {
    py::array out(dt, shape);
    std::memcpy(out.mutable_data(), t.raw_data(), t.bytes());
    return out;
  }
  auto* holder = new Tensor(t);
  py::capsule base(holder, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dt, shape, {}, holder->raw_data(), base);
}

py::object py_from_value(const Value& v) {
  if (v.is_none()) return py::none();
  if (v.is_tensor()) return array_from_tensor(v.tensor());
  py::list items;
  for (const Tensor& t : v.items()) items.append(array_from_tensor(t));
  return items;
}

// ---- OrtValue -----------------------------------------------------------------------------------------------------

struct PyOrtValue {
  Value value;
  py::object owner;  // the Python object whose memory a borrowed tensor points into, if any

  static void check_device(const std::string& device_type, int device_id) {
    if (device_type != "cpu" && device_type != "CPU")
      raise_code(ErrorCode::kInvalidArgument,
                 "device_type '" + device_type + "' is not available in Kestrel: only 'cpu' exists in this build");
    if (device_id != 0)
      raise_code(ErrorCode::kInvalidArgument, "device_id " + std::to_string(device_id) + " does not exist (cpu is 0)");
  }
  const Tensor& tensor(const char* what) const {
    if (!value.is_tensor())
      raise_code(ErrorCode::kInvalidArgument, std::string(what) + ": the OrtValue does not hold a tensor");
    return value.tensor();
  }
  std::string data_type() const {
    if (value.is_none()) return "optional(?)";
    if (value.is_tensor()) return tensor_type_string(value.tensor().type());
    return "seq(" + tensor_type_string(value.sequence_type()) + ")";
  }
  py::object numpy() const {
    if (value.is_tensor()) return array_from_tensor(value.tensor(), owner ? py::handle(owner) : py::handle());
    return py_from_value(value);
  }
};

PyOrtValue ortvalue_from_numpy(py::object obj, const std::string& device_type, int device_id) {
  PyOrtValue::check_device(device_type, device_id);
  PyOrtValue v;
  py::array a = py::array::ensure(obj);
  if (!a) throw py::error_already_set();
  v.value = tensor_from_array(a, v.owner);
  return v;
}

PyOrtValue ortvalue_from_shape_and_type(const std::vector<int64_t>& shape, py::handle type,
                                        const std::string& device_type, int device_id) {
  PyOrtValue::check_device(device_type, device_id);
  PyOrtValue v;
  try {
    v.value = Tensor(element_type_from_py(type), shape);
  } catch (const Error& e) {
    raise_code(e.code(), e.what());
  }
  return v;
}

// ---- Session ------------------------------------------------------------------------------------------------------

struct PySession {
  std::unique_ptr<Session> session;
  std::unordered_map<std::string, const IoInfo*> feedable;  // inputs and overridable initializers by name
  std::vector<std::string> required;                        // inputs a feed must name

  PySession(py::object model, const SessionOptions& options) {
    try {
      if (py::isinstance<py::bytes>(model)) {
        std::string_view bytes = model.cast<std::string_view>();
        py::gil_scoped_release release;
        session = std::make_unique<Session>(bytes.data(), bytes.size(), options);
      } else {
        std::string path = model.cast<std::string>();
        py::gil_scoped_release release;
        session = std::make_unique<Session>(path, options);
      }
    } catch (const Error& e) {
      raise_code(e.code(), e.what());
    }
    for (const IoInfo& io : session->inputs()) {
      feedable.emplace(io.name, &io);
      if (io.type.kind != TypeInfo::Kind::kOptional) required.push_back(io.name);
    }
    for (const IoInfo& io : session->overridable_initializers()) feedable.emplace(io.name, &io);
  }

  // ORT's wording for a feed whose type or shape does not match the declaration.
  static void check_tensor(const std::string& name, const Tensor& t, const TypeInfo& declared) {
    const TypeInfo* d = &declared;
    if (d->kind == TypeInfo::Kind::kOptional && d->element) d = d->element.get();
    if (d->kind != TypeInfo::Kind::kTensor) return;
    if (d->element_type != ElementType::kUndefined && t.type() != d->element_type)
      raise_code(ErrorCode::kInvalidArgument, "Unexpected input data type. Actual: (" + tensor_type_string(t.type()) +
                                                  ") , expected: (" + d->to_string() + ")");
    if (!d->shape) return;
    const std::vector<Dim>& dims = *d->shape;
    if (dims.empty() && t.rank() == 1 && t.size() == 1) return;  // Session accepts a 1-element 1-D for a scalar
    if (dims.size() != t.rank())
      raise_code(ErrorCode::kInvalidArgument, "Invalid rank for input: " + name + " Got: " + std::to_string(t.rank()) +
                                                  " Expected: " + std::to_string(dims.size()) +
                                                  " Please fix either the inputs/outputs or the model.");
    std::string bad;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i].fixed() && dims[i].value != t.dim(i))
        bad += " index: " + std::to_string(i) + " Got: " + std::to_string(t.dim(i)) +
               " Expected: " + std::to_string(dims[i].value) + "\n";
    }
    if (!bad.empty())
      raise_code(ErrorCode::kInvalidArgument, "Got invalid dimensions for input: " + name +
                                                  " for the following indices\n" + bad +
                                                  " Please fix either the inputs/outputs or the model.");
  }

  // Converts one feed; `keep` collects the Python objects whose memory the value borrows.
  Value value_from_py(const std::string& name, py::handle obj, std::vector<py::object>& keep) const {
    auto it = feedable.find(name);
    if (it == feedable.end()) {
      std::string known;
      for (const IoInfo& io : session->inputs()) known += (known.empty() ? "" : ", ") + io.name;
      raise_code(ErrorCode::kInvalidArgument, "Invalid input name: " + name + " (the model's inputs: " + known + ")");
    }
    const TypeInfo& declared = it->second->type;
    if (py::isinstance<PyOrtValue>(obj)) {
      const PyOrtValue& ov = obj.cast<const PyOrtValue&>();
      keep.push_back(py::reinterpret_borrow<py::object>(obj));
      if (ov.value.is_tensor()) check_tensor(name, ov.value.tensor(), declared);
      return ov.value;
    }
    const TypeInfo* d = &declared;
    if (d->kind == TypeInfo::Kind::kOptional) {
      if (obj.is_none()) return Value();
      if (d->element) d = d->element.get();
    }
    if (d->kind == TypeInfo::Kind::kSequence) {
      if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
        raise_code(ErrorCode::kInvalidArgument, "input '" + name + "' is " + declared.to_string() +
                                                    ": feed a list of NumPy arrays");
      ElementType et = d->element ? d->element->element_type : ElementType::kUndefined;
      std::vector<Tensor> items;
      for (py::handle item : obj) {
        py::object owner;
        py::array a = as_array(item, et);
        items.push_back(tensor_from_array(a, owner));
        if (et != ElementType::kUndefined && items.back().type() != et)
          raise_code(ErrorCode::kInvalidArgument, "Unexpected input data type in sequence '" + name + "'. Actual: (" +
                                                      tensor_type_string(items.back().type()) + ") , expected: (" +
                                                      tensor_type_string(et) + ")");
        if (owner) keep.push_back(std::move(owner));
      }
      if (et == ElementType::kUndefined && !items.empty()) et = items.front().type();
      return Value::sequence(et, std::move(items));
    }
    py::object owner;
    Tensor t = tensor_from_array(as_array(obj, d->kind == TypeInfo::Kind::kTensor ? d->element_type
                                                                                   : ElementType::kUndefined),
                                 owner);
    if (owner) keep.push_back(std::move(owner));
    check_tensor(name, t, declared);
    return t;
  }

  // NumPy arrays pass through; lists and scalars become arrays of the declared type, as ORT does.
  static py::array as_array(py::handle obj, ElementType declared) {
    if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
    py::module_ np = py::module_::import("numpy");
    py::object dtype = declared == ElementType::kUndefined || declared == ElementType::kBFloat16
                           ? py::object(py::none())
                           : py::object(numpy_dtype(declared));
    return np.attr("asarray")(obj, dtype);
  }

  Feeds feeds_from_dict(py::handle input_feed, std::vector<py::object>& keep) const {
    if (!py::isinstance<py::dict>(input_feed))
      throw py::type_error("input_feed must be a dict mapping input names to NumPy arrays, got " +
                           py::str(py::type::handle_of(input_feed)).cast<std::string>());
    py::dict feed = py::reinterpret_borrow<py::dict>(input_feed);
    Feeds feeds;
    feeds.reserve(feed.size());
    size_t required_fed = 0;
    for (auto [key, obj] : feed) {
      std::string name = py::str(key).cast<std::string>();
      Value v = value_from_py(name, obj, keep);
      feeds.emplace_back(std::move(name), std::move(v));
    }
    for (const std::string& r : required) required_fed += feed.contains(py::str(r)) ? 1 : 0;
    if (required_fed != required.size()) {
      // ORT's Python layer raises ValueError listing both sides.
      py::list missing, given;
      for (const std::string& r : required)
        if (!feed.contains(py::str(r))) missing.append(py::str(r));
      for (auto [key, obj] : feed) given.append(key);
      throw py::value_error("Required inputs (" + py::repr(missing).cast<std::string>() +
                            ") are missing from input feed (" + py::repr(given).cast<std::string>() + ").");
    }
    return feeds;
  }

  static std::vector<std::string> names_from(py::handle output_names) {
    std::vector<std::string> names;
    if (output_names.is_none()) return names;
    if (py::isinstance<py::str>(output_names))
      throw py::type_error("output_names must be a list of names or None, got a str");
    for (py::handle n : output_names) names.push_back(py::str(n).cast<std::string>());
    return names;
  }

  std::vector<Value> run_values(const std::vector<std::string>& names, const Feeds& feeds,
                                const RunOptions* run_options) const {
    static const RunOptions kDefaultRunOptions;
    std::vector<Value> outputs;
    try {
      py::gil_scoped_release release;
      session->run_into(feeds, names, outputs, run_options ? *run_options : kDefaultRunOptions);
    } catch (const Error& e) {
      raise_code(e.code(), e.what());
    }
    return outputs;
  }

  py::list run(py::handle output_names, py::handle input_feed, const RunOptions* run_options) const {
    std::vector<py::object> keep;
    Feeds feeds = feeds_from_dict(input_feed, keep);
    std::vector<Value> outputs = run_values(names_from(output_names), feeds, run_options);
    py::list result(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) result[i] = py_from_value(outputs[i]);
    return result;
  }

  py::list run_with_ort_values(py::handle output_names, py::handle input_feed, const RunOptions* run_options) const {
    std::vector<py::object> keep;
    Feeds feeds = feeds_from_dict(input_feed, keep);
    std::vector<Value> outputs = run_values(names_from(output_names), feeds, run_options);
    py::list result(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) result[i] = py::cast(PyOrtValue{std::move(outputs[i]), py::object()});
    return result;
  }
};

// ---- IOBinding ----------------------------------------------------------------------------------------------------

// Bound inputs and outputs of one session. A run reuses every vector here; a preallocated output is a tensor
// borrowed over the caller's buffer, which Session::run_into writes in place.
struct PyIoBinding {
  std::shared_ptr<PySession> session;
  Feeds feeds;
  std::vector<py::object> input_owners;  // parallel to feeds
  std::vector<std::string> output_names;
  std::vector<Value> outputs;
  std::vector<py::object> output_owners;  // parallel to outputs; set for preallocated outputs
  std::vector<bool> preallocated;

  explicit PyIoBinding(std::shared_ptr<PySession> s) : session(std::move(s)) {}

  void bind_input_value(const std::string& name, Value v, py::object owner) {
    auto it = session->feedable.find(name);
    if (it == session->feedable.end())
      raise_code(ErrorCode::kInvalidArgument, "Invalid input name: " + name);
    if (v.is_tensor()) PySession::check_tensor(name, v.tensor(), it->second->type);
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (feeds[i].first == name) {
        feeds[i].second = std::move(v);
        input_owners[i] = std::move(owner);
        return;
      }
    }
    feeds.emplace_back(name, std::move(v));
    input_owners.push_back(std::move(owner));
  }

  void bind_output_value(const std::string& name, Value v, py::object owner, bool is_preallocated) {
    bool known = false;
    for (const IoInfo& io : session->session->outputs()) known = known || io.name == name;
    if (!known) raise_code(ErrorCode::kInvalidArgument, "Invalid output name: " + name);
    for (size_t i = 0; i < output_names.size(); ++i) {
      if (output_names[i] == name) {
        outputs[i] = std::move(v);
        output_owners[i] = std::move(owner);
        preallocated[i] = is_preallocated;
        return;
      }
    }
    output_names.push_back(name);
    outputs.push_back(std::move(v));
    output_owners.push_back(std::move(owner));
    preallocated.push_back(is_preallocated);
  }

  void bind_cpu_input(const std::string& name, py::object obj) {
    py::object owner;
    const IoInfo* io = session->feedable.count(name) ? session->feedable.at(name) : nullptr;
    Tensor t = tensor_from_array(PySession::as_array(obj, io ? io->type.element_type : ElementType::kUndefined), owner);
    bind_input_value(name, std::move(t), std::move(owner));
  }

  void bind_input(const std::string& name, const std::string& device_type, int device_id, py::handle element_type,
                  const std::vector<int64_t>& shape, uintptr_t buffer_ptr) {
    PyOrtValue::check_device(device_type, device_id);
    if (!buffer_ptr) raise_code(ErrorCode::kInvalidArgument, "bind_input '" + name + "': buffer_ptr is null");
    ElementType t = element_type_from_py(element_type);
    if (t == ElementType::kString)
      raise_code(ErrorCode::kInvalidArgument, "bind_input '" + name + "': string tensors cannot be bound by pointer");
    bind_input_value(name, Tensor::borrow(t, shape, reinterpret_cast<void*>(buffer_ptr)), py::object());
  }

  void bind_output(const std::string& name, const std::string& device_type, int device_id, py::handle element_type,
                   py::handle shape, py::handle buffer_ptr) {
    PyOrtValue::check_device(device_type, device_id);
    if (buffer_ptr.is_none() || buffer_ptr.cast<uintptr_t>() == 0) {
      bind_output_value(name, Value(), py::object(), false);
      return;
    }
    if (element_type.is_none() || shape.is_none())
      raise_code(ErrorCode::kInvalidArgument,
                 "bind_output '" + name + "': a buffer_ptr needs element_type and shape as well");
    ElementType t = element_type_from_py(element_type);
    if (t == ElementType::kString)
      raise_code(ErrorCode::kInvalidArgument, "bind_output '" + name + "': string tensors cannot be bound by pointer");
    Tensor dest = Tensor::borrow(t, shape.cast<std::vector<int64_t>>(),
                                 reinterpret_cast<void*>(buffer_ptr.cast<uintptr_t>()));
    bind_output_value(name, std::move(dest), py::object(), true);
  }

  void bind_ortvalue_output(const std::string& name, const PyOrtValue& v, py::object pyvalue) {
    if (!v.value.is_tensor())
      raise_code(ErrorCode::kInvalidArgument, "bind_ortvalue_output '" + name + "': the OrtValue holds no tensor");
    // The OrtValue object keeps the buffer alive (it owns it, or holds the array it borrows).
    bind_output_value(name, v.value, std::move(pyvalue), true);
  }

  void run(const RunOptions* run_options) {
    static const RunOptions kDefaultRunOptions;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (!preallocated[i]) outputs[i] = Value();
    try {
      py::gil_scoped_release release;
      session->session->run_into(feeds, output_names, outputs, run_options ? *run_options : kDefaultRunOptions);
    } catch (const Error& e) {
      raise_code(e.code(), e.what());
    }
  }

  py::list get_outputs() const {
    py::list result;
    for (size_t i = 0; i < outputs.size(); ++i) result.append(py::cast(PyOrtValue{outputs[i], output_owners[i]}));
    return result;
  }

  py::list copy_outputs_to_cpu() const {
    py::list result;
    for (const Value& v : outputs) {
      if (v.is_tensor()) {
        Tensor copy = v.tensor().defined() ? v.tensor().clone() : v.tensor();
        result.append(array_from_tensor(copy));
      } else {
        result.append(py_from_value(v));
      }
    }
    return result;
  }

  void clear_inputs() {
    feeds.clear();
    input_owners.clear();
  }
  void clear_outputs() {
    output_names.clear();
    outputs.clear();
    output_owners.clear();
    preallocated.clear();
  }
};

// ---- NodeArg data -------------------------------------------------------------------------------------------------

// (name, type string, shape list with ints, symbol strings or None) as ORT's NodeArg exposes them.
py::tuple node_arg(const IoInfo& io) {
  const TypeInfo* t = &io.type;
  py::list shape;
  if (t->kind == TypeInfo::Kind::kOptional && t->element) t = t->element.get();
  if (t->kind == TypeInfo::Kind::kTensor && t->shape) {
    for (const Dim& d : *t->shape) {
      if (d.fixed()) shape.append(d.value);
      else if (!d.symbol.empty()) shape.append(d.symbol);
      else shape.append(py::none());
    }
  }
  return py::make_tuple(io.name, io.type.to_string(), shape);
}

py::list node_args(const std::vector<IoInfo>& ios) {
  py::list out;
  for (const IoInfo& io : ios) out.append(node_arg(io));
  return out;
}

}  // namespace

// ---- quantization -------------------------------------------------------------------------------------------------

// kestrel.quantization's options (a dict the Python layer has checked) -> QuantizationOptions.
QuantizationOptions quantization_options(const py::dict& d) {
  QuantizationOptions o;
  auto type = [](const py::handle& v) {
    return v.cast<std::string>() == "u8" ? QuantType::kUInt8 : QuantType::kInt8;
  };
  auto strings = [](const py::handle& v) { return v.cast<std::vector<std::string>>(); };
  for (const auto& [key_handle, v] : d) {
    const std::string key = key_handle.cast<std::string>();
    if (v.is_none()) continue;
    if (key == "weight_type") o.weight_type = type(v);
    else if (key == "activation_type") o.activation_type = type(v);
    else if (key == "format") o.format = v.cast<std::string>() == "qdq" ? QuantFormat::kQDQ : QuantFormat::kQOperator;
    else if (key == "per_channel") o.per_channel = v.cast<bool>();
    else if (key == "reduce_range") o.reduce_range = v.cast<bool>();
    else if (key == "op_types") o.op_types = strings(v);
    else if (key == "nodes_to_quantize") o.nodes_to_quantize = strings(v);
    else if (key == "nodes_to_exclude") o.nodes_to_exclude = strings(v);
    else if (key == "matmul_const_b_only") o.matmul_const_b_only = v.cast<bool>();
    else if (key == "activation_symmetric") o.activation_symmetric = v.cast<bool>();
    else if (key == "weight_symmetric") o.weight_symmetric = v.cast<bool>();
    else if (key == "keep_first_layer_fp32") o.keep_first_layer_fp32 = v.cast<bool>();
    else if (key == "keep_last_layer_fp32") o.keep_last_layer_fp32 = v.cast<bool>();
    else if (key == "percentile") o.percentile = v.cast<double>();
    else if (key == "histogram_bins") o.histogram_bins = v.cast<int>();
    else if (key == "entropy_quantized_bins") o.entropy_quantized_bins = v.cast<int>();
    else if (key == "accuracy_target") o.accuracy_target = v.cast<double>();
    else if (key == "accuracy_batches") o.accuracy_batches = v.cast<int>();
    else if (key == "preprocess") o.preprocess = v.cast<bool>();
    else if (key == "calibrate_method") {
      const std::string m = v.cast<std::string>();
      o.calibrate_method = m == "entropy"      ? CalibrationMethod::kEntropy
                           : m == "percentile" ? CalibrationMethod::kPercentile
                                               : CalibrationMethod::kMinMax;
    } else {
      raise_code(ErrorCode::kInvalidArgument, "unknown quantization option '" + key + "'");
    }
  }
  return o;
}

py::dict summary_dict(const QuantizationSummary& s) {
  py::dict d;
  d["quantized_nodes"] = s.quantized_nodes;
  d["skipped"] = s.skipped;
  d["opset_before"] = s.opset_before;
  d["opset_after"] = s.opset_after;
  d["calibration_batches"] = s.calibration_batches;
  d["calibrated_tensors"] = s.calibrated_tensors;
  d["cosine_all_quantized"] = s.cosine_all_quantized;
  d["cosine"] = s.cosine;
  d["kept_for_accuracy"] = s.kept_for_accuracy;
  return d;
}

// `next_feed()` returns a dict of input name -> array, or None at the end. The GIL stays held: the reader is
// Python code called between calibration runs.
py::dict quantize_model(const std::string& mode, const std::string& input, const std::string& output,
                        const py::dict& options, py::object next_feed) {
  const QuantizationOptions o = quantization_options(options);
  if (mode == "dynamic") return summary_dict(quantize_dynamic(input, output, o));
  CalibrationReader reader = [&]() -> std::optional<Feeds> {
    py::object batch = next_feed();
    if (batch.is_none()) return std::nullopt;
    if (!py::isinstance<py::dict>(batch))
      raise_code(ErrorCode::kInvalidArgument, "CalibrationDataReader.get_next() must return a dict or None, got " +
                                                  py::str(batch.get_type()).cast<std::string>());
    Feeds feeds;
    for (const auto& [name, value] : batch.cast<py::dict>()) {
      py::object keep;
      Tensor t = tensor_from_array(py::array::ensure(value), keep);
      feeds.emplace_back(name.cast<std::string>(), Value(t.clone()));  // the array may die before the run
    }
    return feeds;
  };
  return summary_dict(quantize_static(input, output, reader, o));
}

namespace {

// IoBinding.run as a plain CPython function (METH_FASTCALL): pybind11's dispatcher allocates two vectors for every
// call, and a run with bound inputs and preallocated outputs allocates nothing else (issue #6).
//   run_iobinding(binding, run_options or None)
PyObject* run_iobinding(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  try {
    if (nargs != 2) {
      PyErr_SetString(PyExc_TypeError, "run_iobinding(binding, run_options) takes 2 arguments");
      return nullptr;
    }
    PyIoBinding& binding = py::handle(args[0]).cast<PyIoBinding&>();
    const RunOptions* options = args[1] == Py_None ? nullptr : &py::handle(args[1]).cast<const RunOptions&>();
    binding.run(options);
    Py_RETURN_NONE;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::cast_error& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

PyMethodDef run_iobinding_def = {"run_iobinding", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&run_iobinding)),
                                 METH_FASTCALL, "Runs an IoBinding's session with its bindings."};

}  // namespace

PYBIND11_MODULE(_kestrel, m) {
  m.doc() = "Kestrel's native layer; use the kestrel package, not this module";

  static const char* kNames[12] = {"",           "Fail",           "InvalidArgument", "NoSuchFile",
                                   "NoModel",    "EngineError",    "RuntimeException", "InvalidProtobuf",
                                   "ModelLoaded", "NotImplemented", "InvalidGraph",    "EPFail"};
  for (int c = 1; c <= 11; ++c) {
    std::string qualified = std::string("kestrel.capi.onnxruntime_pybind11_state.") + kNames[c];
    // Subclasses of RuntimeError so that both ORT-style `except InvalidArgument` and generic handlers catch them.
    g_error_classes[c] = PyErr_NewException(qualified.c_str(), PyExc_RuntimeError, nullptr);
    m.add_object(kNames[c], py::handle(g_error_classes[c]));
  }
  // Anything from the C++ API that escapes a binding without being translated.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      int c = static_cast<int>(e.code());
      if (c < 1 || c > 11) c = 1;
      std::string text = "[ONNXRuntimeError] : " + std::to_string(c) + " : " +
                         error_code_name(static_cast<ErrorCode>(c)) + " : " + e.what();
      PyErr_SetString(g_error_classes[c], text.c_str());
    }
  });

  m.add_object("run_iobinding", py::reinterpret_steal<py::object>(PyCFunction_New(&run_iobinding_def, nullptr)));
  m.def("get_all_providers", &all_providers);
  m.def("get_available_providers", &available_providers);
  m.def("get_version_string", [] { return std::string(version_string()); });
  m.def("quantize_model", &quantize_model, py::arg("mode"), py::arg("model_input"), py::arg("model_output"),
        py::arg("options"), py::arg("next_feed") = py::none());

  py::class_<SessionOptions>(m, "SessionOptionsCore")
      .def(py::init<>())
      .def_readwrite("intra_op_num_threads", &SessionOptions::intra_op_num_threads)
      .def_readwrite("inter_op_num_threads", &SessionOptions::inter_op_num_threads)
      .def_property(
          "execution_mode", [](const SessionOptions& o) { return static_cast<int>(o.execution_mode); },
          [](SessionOptions& o, int v) { o.execution_mode = static_cast<ExecutionMode>(v); })
      .def_property(
          "graph_optimization_level",
          [](const SessionOptions& o) { return static_cast<int>(o.graph_optimization_level); },
          [](SessionOptions& o, int v) { o.graph_optimization_level = static_cast<GraphOptimizationLevel>(v); })
      .def_readwrite("enable_cpu_mem_arena", &SessionOptions::enable_cpu_mem_arena)
      .def_readwrite("enable_profiling", &SessionOptions::enable_profiling)
      .def_readwrite("profile_file_prefix", &SessionOptions::profile_file_prefix)
      .def_readwrite("optimized_model_filepath", &SessionOptions::optimized_model_filepath)
      .def_readwrite("log_severity_level", &SessionOptions::log_severity_level)
      .def_readwrite("config_entries", &SessionOptions::config_entries)
      .def_readwrite("logid", &SessionOptions::logid)
      .def_readwrite("free_dimension_overrides", &SessionOptions::free_dimension_overrides)
      .def_readwrite("free_dimension_overrides_by_denotation", &SessionOptions::free_dimension_overrides_by_denotation)
      .def("register_custom_ops_library", &SessionOptions::register_custom_ops_library, py::arg("library_path"))
      .def(
          "add_custom_op_libraries_from",
          [](SessionOptions& o, const SessionOptions& other) {
            o.custom_op_libraries.insert(o.custom_op_libraries.end(), other.custom_op_libraries.begin(),
                                         other.custom_op_libraries.end());
          },
          py::arg("other"))
      .def(
          "add_initializer",
          [](SessionOptions& o, const std::string& name, const PyOrtValue& v) {
            // A copy: the session may outlive the NumPy array the OrtValue borrows from.
            o.initializer_overrides[name] = v.tensor("add_initializer()").clone();
          },
          py::arg("name"), py::arg("value"))
      .def_readwrite("providers", &SessionOptions::providers);

  py::class_<RunOptions>(m, "RunOptions", "Per-run settings; `terminate = True` from any thread cancels runs using it")
      .def(py::init<>())
      .def_readwrite("log_severity_level", &RunOptions::log_severity_level)
      .def_readwrite("logid", &RunOptions::tag)
      .def_property(
          "terminate", [](const RunOptions& r) { return r.terminate(); },
          [](const RunOptions& r, bool v) { r.set_terminate(v); });

  py::class_<PyOrtValue>(m, "OrtValue", "A value for run_with_ort_values and IOBinding (CPU memory)")
      .def_static("ortvalue_from_numpy", &ortvalue_from_numpy, py::arg("numpy_obj"), py::arg("device_type") = "cpu",
                  py::arg("device_id") = 0,
                  "Wraps a NumPy array without copying when it is C-contiguous; the OrtValue keeps it alive")
      .def_static("ortvalue_from_shape_and_type", &ortvalue_from_shape_and_type, py::arg("shape"),
                  py::arg("element_type"), py::arg("device_type") = "cpu", py::arg("device_id") = 0)
      .def("numpy", &PyOrtValue::numpy)
      .def("shape",
           [](const PyOrtValue& v) {
             const Tensor& t = v.tensor("shape()");
             return std::vector<int64_t>(t.shape().begin(), t.shape().end());
           })
      .def("data_type", &PyOrtValue::data_type)
      .def("element_type", [](const PyOrtValue& v) { return static_cast<int>(v.tensor("element_type()").type()); })
      .def("device_name", [](const PyOrtValue&) { return std::string("cpu"); })
      .def("data_ptr",
           [](const PyOrtValue& v) { return reinterpret_cast<uintptr_t>(v.tensor("data_ptr()").raw_data()); })
      .def("is_tensor", [](const PyOrtValue& v) { return v.value.is_tensor(); })
      .def("is_tensor_sequence", [](const PyOrtValue& v) { return v.value.is_sequence(); })
      .def("has_value", [](const PyOrtValue& v) { return !v.value.is_none(); })
      .def("update_inplace",
           [](PyOrtValue& v, py::array a) {
             Tensor& t = const_cast<Tensor&>(v.tensor("update_inplace()"));
             if (element_type_of(a.dtype()) != t.type())
               raise_code(ErrorCode::kInvalidArgument,
                          "update_inplace: the array is " + py::str(a.dtype()).cast<std::string>() +
                              ", the OrtValue holds " + tensor_type_string(t.type()));
             if (a.size() != t.size())
               raise_code(ErrorCode::kInvalidArgument, "update_inplace: the array has " + std::to_string(a.size()) +
                                                           " elements, the OrtValue " + std::to_string(t.size()));
             if (t.type() == ElementType::kString) {
               Tensor s = string_tensor_from(a);
               for (int64_t i = 0; i < t.size(); ++i) t.data<std::string>()[i] = s.data<std::string>()[i];
               return;
             }
             py::array c = py::array::ensure(a, py::array::c_style);
             std::memcpy(t.raw_data(), c.data(), t.bytes());
           })
      .def("__repr__", [](const PyOrtValue& v) {
        if (v.value.is_tensor()) return "OrtValue(" + v.data_type() + ", " + shape_to_string(v.value.tensor().shape()) + ")";
        return "OrtValue(" + v.data_type() + ")";
      });

  py::class_<PySession, std::shared_ptr<PySession>>(m, "Session")
      .def(py::init<py::object, const SessionOptions&>())
      .def("run", &PySession::run, py::arg("output_names"), py::arg("input_feed"),
           py::arg("run_options") = nullptr)
      .def("run_with_ort_values", &PySession::run_with_ort_values, py::arg("output_names"), py::arg("input_feed"),
           py::arg("run_options") = nullptr)
      .def("inputs", [](const PySession& s) { return node_args(s.session->inputs()); })
      .def("outputs", [](const PySession& s) { return node_args(s.session->outputs()); })
      .def("overridable_initializers",
           [](const PySession& s) { return node_args(s.session->overridable_initializers()); })
      .def("providers", [](const PySession& s) { return s.session->providers(); })
      .def("metadata",
           [](const PySession& s) {
             const ModelMetadata& md = s.session->metadata();
             py::dict d;
             d["producer_name"] = md.producer_name;
             d["producer_version"] = md.producer_version;
             d["graph_name"] = md.graph_name;
             d["domain"] = md.domain;
             d["description"] = md.description;
             d["graph_description"] = md.graph_description;
             d["version"] = md.version;
             d["ir_version"] = md.ir_version;
             d["opsets"] = md.opsets;
             d["custom_metadata_map"] = md.custom_metadata_map;
             return d;
           })
      .def("end_profiling", [](PySession& s) {
        try {
          return s.session->end_profiling();
        } catch (const Error& e) {
          raise_code(e.code(), e.what());
        }
      });

  py::class_<PyIoBinding>(m, "SessionIOBinding")
      .def(py::init<std::shared_ptr<PySession>>())
      .def("bind_cpu_input", &PyIoBinding::bind_cpu_input)
      .def("bind_input", &PyIoBinding::bind_input)
      .def("bind_ortvalue_input",
           [](PyIoBinding& b, const std::string& name, py::object v) {
             const PyOrtValue& ov = v.cast<const PyOrtValue&>();
             b.bind_input_value(name, ov.value, v);
           })
      .def("bind_output", &PyIoBinding::bind_output, py::arg("name"), py::arg("device_type") = "cpu",
           py::arg("device_id") = 0, py::arg("element_type") = py::none(), py::arg("shape") = py::none(),
           py::arg("buffer_ptr") = py::none())
      .def("bind_ortvalue_output",
           [](PyIoBinding& b, const std::string& name, py::object v) {
             b.bind_ortvalue_output(name, v.cast<const PyOrtValue&>(), v);
           })
      .def("run", &PyIoBinding::run, py::arg("run_options") = nullptr)
      .def("get_outputs", &PyIoBinding::get_outputs)
      .def("copy_outputs_to_cpu", &PyIoBinding::copy_outputs_to_cpu)
      .def("clear_binding_inputs", &PyIoBinding::clear_inputs)
      .def("clear_binding_outputs", &PyIoBinding::clear_outputs);
}
