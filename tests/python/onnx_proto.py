# Test helper: writes small ONNX models and reads TensorProto files with a few lines of protobuf wire format, so the
# Python tests need neither the onnx package nor Kestrel's own reader to make inputs and check outputs.
import struct

import numpy as np

# ONNX TensorProto.DataType <-> NumPy
ONNX_TO_NUMPY = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
                 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
FLOAT, INT64, STRING, BOOL, DOUBLE = 1, 7, 8, 9, 11


def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _int(field, n):
    return _key(field, 0) + _varint(n)


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return _key(field, 2) + _varint(len(data)) + data


def _float(field, f):
    return _key(field, 5) + struct.pack("<f", f)


def tensor(name, array):
    array = np.ascontiguousarray(array)
    code = {v: k for k, v in ONNX_TO_NUMPY.items()}[array.dtype.type]
    out = b"".join(_int(1, d) for d in array.shape) + _int(2, code) + _bytes(8, name)
    return out + _bytes(9, array.tobytes())


def tensor_type(elem, shape):
    """TypeProto for a tensor; shape is None (unknown rank) or a list of ints / symbol strings / None, each
    optionally as a (dim, denotation) pair such as ("N", "DATA_BATCH")."""
    body = _int(1, elem)
    if shape is not None:
        dims = b""
        for d in shape:
            denotation = b""
            if isinstance(d, tuple):
                d, note = d
                denotation = _bytes(3, note)
            if isinstance(d, int):
                dims += _bytes(1, _int(1, d) + denotation)
            elif isinstance(d, str):
                dims += _bytes(1, _bytes(2, d) + denotation)
            else:
                dims += _bytes(1, denotation)
        body += _bytes(2, dims)
    return _bytes(1, body)


def sequence_type(elem_type_proto):
    return _bytes(4, _bytes(1, elem_type_proto))


def optional_type(elem_type_proto):
    return _bytes(9, _bytes(1, elem_type_proto))


def value_info(name, type_proto):
    return _bytes(1, name) + _bytes(2, type_proto)


def attr_int(name, v):
    return _bytes(1, name) + _int(3, v) + _int(20, 2)


def attr_float(name, v):
    return _bytes(1, name) + _float(2, v) + _int(20, 1)


def attr_ints(name, vs):
    return _bytes(1, name) + b"".join(_int(8, v) for v in vs) + _int(20, 7)


def node(op, inputs, outputs, name="", attrs=(), domain=""):
    out = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
    out += _bytes(3, name or f"{op}_{outputs[0]}") + _bytes(4, op)
    out += b"".join(_bytes(5, a) for a in attrs)
    if domain:
        out += _bytes(7, domain)
    return out


def model(nodes, inputs, outputs, initializers=(), opset=17, graph_name="g", producer="kestrel-tests",
          doc="", metadata=None, ir_version=8, extra_opsets=()):
    """inputs/outputs: lists of (name, type_proto); extra_opsets: (domain, version) imports besides ai.onnx."""
    g = b"".join(_bytes(1, n) for n in nodes) + _bytes(2, graph_name)
    g += b"".join(_bytes(5, t) for t in initializers)
    g += b"".join(_bytes(11, value_info(n, t)) for n, t in inputs)
    g += b"".join(_bytes(12, value_info(n, t)) for n, t in outputs)
    m = _int(1, ir_version) + _bytes(2, producer) + _bytes(3, "1.0") + _bytes(4, "test.domain") + _int(5, 7)
    m += _bytes(6, doc) + _bytes(7, g) + _bytes(8, _bytes(1, "") + _int(2, opset))
    for domain, version in extra_opsets:
        m += _bytes(8, _bytes(1, domain) + _int(2, version))
    for k, v in (metadata or {}).items():
        m += _bytes(14, _bytes(1, k) + _bytes(2, v))
    return m


# ---- reading TensorProto files ----

def _read_varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            value = buf[pos:pos + n]
            pos += n
        elif wire == 5:
            value = buf[pos:pos + 4]
            pos += 4
        elif wire == 1:
            value = buf[pos:pos + 8]
            pos += 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


def _packed_varints(value, wire):
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = _read_varint(value, pos)
        out.append(v)
    return out


def read_tensor(path):
    """(name, array) from a TensorProto file (raw_data or the typed repeated fields)."""
    with open(path, "rb") as f:
        buf = f.read()
    dims, dtype, name, raw = [], FLOAT, "", None
    floats, ints, doubles, strings = [], [], [], []
    for field, wire, value in _fields(buf):
        if field == 1:
            dims += _packed_varints(value, wire)
        elif field == 2:
            dtype = value
        elif field == 8:
            name = bytes(value).decode()
        elif field == 9:
            raw = bytes(value)
        elif field == 4:
            floats += list(struct.unpack(f"<{len(value) // 4}f", value)) if wire == 2 else list(
                struct.unpack("<f", value))
        elif field in (5, 7):
            ints += _packed_varints(value, wire)
        elif field == 10:
            doubles += list(struct.unpack(f"<{len(value) // 8}d", value))
        elif field == 6:
            strings.append(bytes(value).decode())
    dims = [d - (1 << 64) if d >= 1 << 63 else d for d in dims]
    if dtype == STRING:
        return name, np.array(strings, dtype=object).reshape(dims)
    np_type = ONNX_TO_NUMPY[dtype]
    if raw is not None:
        return name, np.frombuffer(raw, dtype=np_type).reshape(dims).copy()
    if dtype in (FLOAT,):
        data = floats
    elif dtype == DOUBLE:
        data = doubles
    else:
        data = [v - (1 << 64) if v >= 1 << 63 else v for v in ints]
    return name, np.array(data).astype(np_type).reshape(dims)
