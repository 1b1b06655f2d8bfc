"""Safe reader for NVIDIA's official StyleGAN network pickles, in pure Python and NumPy.

Two formats are read, without TensorFlow 1, PyTorch or NVIDIA's `dnnlib`:

- TF1 (StyleGAN 2019, StyleGAN2, StyleGAN2-ADA TF): a tuple `(G, D, Gs)` of
  `dnnlib.tflib.network.Network` objects, each restored from a state dict (versions 2-5).
- stylegan2-ada-pytorch (also StyleGAN3): a dict with `G`, `D`, `G_ema`, ... whose modules
  are pickled through `torch_utils.persistence._reconstruct_persistent_obj(meta)`, tensors
  through `torch._utils._rebuild_tensor_v2` over storages saved by `torch.save` (legacy and
  zip layouts both read).

This module is a security boundary. Official pickles embed Python source (`build_module_src`,
`module_src`) that `pickle.load` would execute; here a restricted unpickler resolves only the
globals of `ALLOWED_GLOBALS`, each to a harmless stand-in of ours, so no code from the file ever
runs and embedded source is never executed, compiled or imported.
"""
import collections
import io
import math
import os
import pickle
import zipfile

import numpy as np

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first object of a legacy (pre-zip) torch.save stream
TORCH_LEGACY_PROTOCOL = 1001
_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: dtypes that cannot carry objects


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for a global (a function or class) outside keras_stylegan's allow-list."""


class OfficialPickleFormatError(ValueError):
    """The file is not a pickle, or not one of NVIDIA's official network pickle formats."""


# ---------------------------------------------------------------------------------------------
# Harmless stand-ins for the allowed globals. Unpickling builds these; `_plain` then turns the
# object graph into dicts, lists and NumPy arrays. They are sealed: a pickle can apply BUILD
# (setattr) to any object it holds, and must not alter our classes for later loads.


class _Sealed(type):
    """Metaclass of the stand-in classes: no attribute can be set on the class itself."""

    def __setattr__(cls, name, value):
        raise UnsafePickleError(f"refusing to set attribute {name!r} on the stand-in for an allowed global")


class _SealedFunction:
    """An allowed function as the pickle sees it: callable, without settable attributes or state."""

    __slots__ = ("_function", "_bound")

    def __init__(self, function, **bound):
        object.__setattr__(self, "_function", function)
        object.__setattr__(self, "_bound", bound)

    def __call__(self, *args):
        return self._function(*args, **self._bound)

    def __setattr__(self, name, value):
        raise UnsafePickleError(f"refusing to set attribute {name!r} on the stand-in for an allowed global")


class _NdarrayClass(metaclass=_Sealed):
    """Stands in for `numpy.ndarray` as the first argument of `_reconstruct`."""


class _Dtype(metaclass=_Sealed):
    """`numpy.dtype(spec, align, copy)`; BUILD then sets the byte order."""

    def __init__(self, spec, align=False, copy=True):
        dtype = np.dtype(spec) if isinstance(spec, str) else None
        if dtype is None or dtype.kind not in _NUMERIC_KINDS or dtype.fields or dtype.subdtype:
            raise OfficialPickleFormatError(f"unsupported array dtype in pickle. Received: {spec!r}")
        self.numpy = dtype

    def __setstate__(self, state):
        byteorder = state[1] if isinstance(state, tuple) and len(state) > 1 else "="
        if byteorder not in "<>=|":
            raise OfficialPickleFormatError(f"invalid dtype byte order in pickle. Received: {byteorder!r}")
        self.numpy = self.numpy.newbyteorder(byteorder) if byteorder in "<>" else self.numpy


def _to_native(array):
    return array.astype(array.dtype.newbyteorder("="), copy=False)


class _Array(metaclass=_Sealed):
    """`numpy.core.multiarray._reconstruct(ndarray, ...)`; BUILD then fills in shape, dtype and data."""

    array = None

    def __init__(self, cls, *unused):
        if cls is not _NdarrayClass:
            raise OfficialPickleFormatError(f"_reconstruct may only build numpy.ndarray. Received: {cls!r}")

    def __setstate__(self, state):
        if len(state) == 5:
            state = state[1:]  # drop numpy's pickle format version
        shape, dtype, is_fortran, data = state
        if not isinstance(dtype, _Dtype) or not isinstance(data, bytes):
            raise OfficialPickleFormatError("only numeric arrays stored as raw bytes can be read from a pickle")
        shape = tuple(int(size) for size in shape)
        if len(data) != math.prod(shape) * dtype.numpy.itemsize:
            raise OfficialPickleFormatError(f"array data has {len(data)} bytes, which does not fit shape {shape}")
        array = np.frombuffer(data, dtype=dtype.numpy).reshape(shape, order="F" if is_fortran else "C")
        self.array = np.array(_to_native(array), order="C")  # a writable copy; keeps 0-d shapes


def _scalar(dtype, data):
    """`numpy.core.multiarray.scalar(dtype, bytes)`: a NumPy scalar."""
    if not isinstance(dtype, _Dtype) or not isinstance(data, bytes) or len(data) != dtype.numpy.itemsize:
        raise OfficialPickleFormatError("only numeric scalars stored as raw bytes can be read from a pickle")
    return _to_native(np.frombuffer(data, dtype=dtype.numpy))[0]


def _encode(text, encoding="latin1"):
    """`_codecs.encode`, which protocol-2 pickles use to store bytes."""
    if not isinstance(text, str) or encoding.replace("-", "") != "latin1":
        raise OfficialPickleFormatError(f"_codecs.encode may only encode str as latin1. Received: {encoding!r}")
    return text.encode("latin1")


class _TFNetwork(metaclass=_Sealed):
    """Stands in for `dnnlib.tflib.network.Network`: keeps the state dict, runs nothing."""

    state = None

    def __setstate__(self, state):
        self.state = state


class _PersistentObject(metaclass=_Sealed):
    """`torch_utils.persistence._reconstruct_persistent_obj(meta)`: keeps `meta`, never runs `module_src`."""

    def __init__(self, meta):
        if not isinstance(meta, dict):
            raise OfficialPickleFormatError(f"persistent object meta must be a dict. Received: {type(meta).__name__}")
        self.meta = meta


# A `torch.<Type>Storage` class, as named in a storage's persistent id (immutable).
_StorageType = collections.namedtuple("_StorageType", ["name", "dtype"])


class _Storage:
    """A torch storage as a flat NumPy array; `data` is filled in once its bytes are read."""

    def __init__(self, storage_type, numel, data=None):
        self.storage_type, self.numel, self.data = storage_type, int(numel), data

    def as_array(self):
        if self.data is None:
            raise OfficialPickleFormatError("a torch storage in the pickle has no data")
        if self.storage_type.dtype == "bfloat16":  # NumPy has no bfloat16: widen to float32
            return (self.data.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        return self.data


def _load_from_bytes(data, source="<bytes>"):
    """`torch.storage._load_from_bytes(bytes)`: a storage saved by `torch.save`."""
    if not isinstance(data, bytes):
        raise OfficialPickleFormatError(f"torch storage bytes expected in {source}")
    storage = _read_torch_archive(data, f"{source} (inside a torch storage)")
    if not isinstance(storage, _Storage):
        raise OfficialPickleFormatError("torch.storage._load_from_bytes must hold a storage")
    return storage


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """`torch._utils._rebuild_tensor_v2`: a C-contiguous NumPy copy honouring size, stride and offset."""
    if not isinstance(storage, _Storage):
        raise OfficialPickleFormatError("a tensor in the pickle is not backed by a torch storage")
    flat = storage.as_array()
    if not (isinstance(flat, np.ndarray) and flat.ndim == 1 and flat.flags.c_contiguous
            and flat.dtype.kind in _NUMERIC_KINDS):  # the pickle may have replaced it (BUILD)
        raise OfficialPickleFormatError("a torch storage in the pickle is not a flat numeric buffer")
    offset, size, stride = int(offset), tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride) or min(size + stride + (offset,), default=0) < 0:
        raise OfficialPickleFormatError(f"invalid tensor layout: size {size}, stride {stride}, offset {offset}")
    if 0 in size:
        return np.zeros(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:  # as_strided does not check bounds: refuse to read past the storage
        raise OfficialPickleFormatError(f"tensor reads element {last} of a storage of {flat.size}")
    view = np.lib.stride_tricks.as_strided(flat[offset:], size, [s * flat.itemsize for s in stride], writeable=False)
    return np.array(view, order="C")


def _rebuild_parameter(data, *unused):
    """`torch._utils._rebuild_parameter` (and `_with_state`): the tensor's array."""
    if not isinstance(data, np.ndarray):
        raise OfficialPickleFormatError("a torch parameter in the pickle does not wrap a tensor")
    return data


_TORCH_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}

# (module, name) -> our stand-in. Both numpy.core (NumPy 1) and numpy._core (NumPy 2) spellings.
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): dict,
    ("builtins", "set"): set,
    ("_codecs", "encode"): _SealedFunction(_encode),
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _Dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): _Array for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): _SealedFunction(_scalar) for core in ("core", "_core")},
    ("dnnlib.tflib.network", "Network"): _TFNetwork,
    ("dnnlib.util", "EasyDict"): dict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _PersistentObject,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,  # bound to the file's name by find_class
    ("torch._utils", "_rebuild_tensor"): _SealedFunction(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v2"): _SealedFunction(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _SealedFunction(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _SealedFunction(_rebuild_parameter),
    **{("torch", name): _StorageType(name, dtype) for name, dtype in _TORCH_STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only `ALLOWED_GLOBALS`; `storages` (if given) answers torch.save persistent ids."""

    def __init__(self, file, source, storages=None):
        super().__init__(file)
        self.source, self.storages = source, storages

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refusing to load global '{module}.{name}' from {self.source}: not in keras_stylegan's allow-list"
            )
        value = ALLOWED_GLOBALS[(module, name)]
        return _SealedFunction(value, source=self.source) if value is _load_from_bytes else value

    def persistent_load(self, pid):
        if self.storages is None:
            raise OfficialPickleFormatError(f"unexpected persistent id in {self.source}: {pid!r}")
        return self.storages(pid)


# ---------------------------------------------------------------------------------------------
# torch.save archives (the bytes inside `_load_from_bytes`).


def _storage_record(pid, source):
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
        raise OfficialPickleFormatError(f"unsupported torch persistent id in {source}: {pid!r}")
    return pid[1], str(pid[2]), int(pid[4]), (pid[5] if len(pid) > 5 else None)


def _numpy_dtype(storage_type, little_endian=True):
    dtype = np.dtype("uint16" if storage_type.dtype == "bfloat16" else storage_type.dtype)
    return dtype.newbyteorder("<" if little_endian else ">")


def _read_torch_archive(data, source):
    """Reads one object saved by `torch.save`, zip (torch >= 1.6 default) or legacy layout."""
    if data[:4] == b"PK\x03\x04":
        return _read_torch_zip(io.BytesIO(data), source)
    stream = io.BytesIO(data)
    header = [_RestrictedUnpickler(stream, source).load() for _ in range(3)]
    if header[0] != TORCH_LEGACY_MAGIC or header[1] != TORCH_LEGACY_PROTOCOL or not isinstance(header[2], dict):
        raise OfficialPickleFormatError(f"{source} is not a torch.save archive")
    little_endian = header[2].get("little_endian", True)
    storages = {}

    def storage_for(pid):
        storage_type, key, numel, view = _storage_record(pid, source)
        root = storages.setdefault(key, _Storage(storage_type, numel))
        if view is None:
            return root
        _, view_offset, view_numel = view  # old torch: a storage that is a slice of another
        return _StorageView(root, int(view_offset), int(view_numel))

    result = _RestrictedUnpickler(stream, source, storage_for).load()
    keys = _RestrictedUnpickler(stream, source).load()
    for key in keys:
        storage = storages.get(key)
        numel = int.from_bytes(stream.read(8), "little" if little_endian else "big")
        if storage is None or numel != storage.numel:
            raise OfficialPickleFormatError(f"torch storage {key!r} in {source} does not match its record")
        dtype = _numpy_dtype(storage.storage_type, little_endian)
        raw = stream.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is truncated")
        storage.data = _to_native(np.frombuffer(raw, dtype))
    return result


class _StorageView(_Storage):
    def __init__(self, root, offset, numel):
        super().__init__(root.storage_type, numel)
        self.root, self.offset = root, offset

    def as_array(self):
        return self.root.as_array()[self.offset:self.offset + self.numel]


def _read_torch_zip(file, source):
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
        if not pickles:
            raise OfficialPickleFormatError(f"{source} is a zip file without a torch data.pkl")
        prefix = pickles[0][: -len("data.pkl")]
        little_endian = prefix + "byteorder" not in names or archive.read(prefix + "byteorder") != b"big"

        def storage_for(pid):
            storage_type, key, numel, _ = _storage_record(pid, source)
            raw = archive.read(f"{prefix}data/{key}")
            dtype = _numpy_dtype(storage_type, little_endian)
            if len(raw) < numel * dtype.itemsize:
                raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is truncated")
            return _Storage(storage_type, numel, _to_native(np.frombuffer(raw[: numel * dtype.itemsize], dtype)))

        with archive.open(pickles[0]) as file:
            return _RestrictedUnpickler(file, source, storage_for).load()


# ---------------------------------------------------------------------------------------------
# From the unpickled object graph to plain records.


def _plain(obj, memo=None, numpy_scalars=False):
    """Dicts, lists, tuples, arrays and Python scalars from the unpickled graph (cycles kept)."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, _Array):
        return obj.array
    if isinstance(obj, np.generic):
        return obj if numpy_scalars else obj.item()
    if isinstance(obj, _PersistentObject):
        return _torch_module(obj, memo)
    if isinstance(obj, _TFNetwork):
        return _tf_network(obj, memo)
    if isinstance(obj, dict):
        memo[id(obj)] = result = {}
        result.update((_plain(k, memo), _plain(v, memo, numpy_scalars)) for k, v in obj.items())
        return result
    if isinstance(obj, list):
        memo[id(obj)] = result = []
        result.extend(_plain(v, memo, numpy_scalars) for v in obj)
        return result
    if isinstance(obj, (tuple, set, frozenset)):
        return type(obj)(_plain(v, memo, numpy_scalars) for v in obj)
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.ndarray)):
        return obj
    raise OfficialPickleFormatError(f"unexpected object in pickle: {type(obj).__name__}")


def _tf_network(stub, memo):
    state = stub.state
    if not isinstance(state, dict) or state.get("version") not in (2, 3, 4, 5):
        version = state.get("version") if isinstance(state, dict) else None
        raise OfficialPickleFormatError(f"unsupported TF1 Network state version. Received: {version!r}")
    variables = {}
    for name, value in state.get("variables", []):
        value = np.asarray(_plain(value, memo, numpy_scalars=True))
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise OfficialPickleFormatError(f"TF1 variable {name!r} is not a numeric array")
        variables[str(name)] = value
    components = state.get("components") or {}
    if not all(isinstance(c, _TFNetwork) for c in components.values()):
        raise OfficialPickleFormatError("TF1 Network components must be Networks")
    return {
        "name": str(state["name"]),
        "version": int(state["version"]),
        "build_func_name": str(state["build_func_name"]),
        "static_kwargs": _plain(dict(state.get("static_kwargs") or {}), memo),
        "variables": variables,
        "components": {str(k): _tf_network(c, memo) for k, c in components.items()},
    }


def _torch_module(record, memo):
    """{class_name, init_kwargs, state_dict} of a persistent module, named as torch's state_dict()."""
    class_name = record.meta.get("class_name")
    state_dict = {}
    _collect_tensors(record, "", state_dict, set())
    state = record.meta.get("state") or {}
    return {
        "class_name": str(class_name),
        "init_kwargs": _plain(state.get("_init_kwargs") or {}, memo),
        "state_dict": state_dict,
    }


def _collect_tensors(record, prefix, state_dict, visiting):
    if id(record) in visiting:
        raise OfficialPickleFormatError(f"module {prefix!r} contains itself")
    visiting.add(id(record))
    state = record.meta.get("state")
    if not isinstance(state, dict):
        raise OfficialPickleFormatError(f"module {prefix or '<root>'!r} has no state dict")
    skip = state.get("_non_persistent_buffers_set") or set()
    tensors = list((state.get("_parameters") or {}).items())
    tensors += [(k, v) for k, v in (state.get("_buffers") or {}).items() if k not in skip]
    for name, tensor in tensors:
        if tensor is not None:
            if not isinstance(tensor, np.ndarray):
                raise OfficialPickleFormatError(f"{prefix}{name} is not a tensor")
            state_dict[prefix + name] = tensor
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, _PersistentObject):
            raise OfficialPickleFormatError(f"submodule {prefix}{name} is not a persistent module")
        _collect_tensors(child, f"{prefix}{name}.", state_dict, visiting)
    visiting.discard(id(record))


# ---------------------------------------------------------------------------------------------
# Public API.


def load_official_pickle(file):
    """Reads an official NVIDIA StyleGAN network pickle safely, without running code from it.

    Returns one of:
    - `{"format": "tf1", "networks": {"G": net, "D": net, "Gs": net}}`, each
      `net = {"name", "version", "build_func_name", "static_kwargs", "variables": {name: array},
      "components": {"mapping": net, "synthesis": net}}` (components may be empty);
    - `{"format": "pytorch", "networks": {"G": mod, "D": mod, "G_ema": mod}, "extra": {...}}`, each
      `mod = {"class_name", "init_kwargs", "state_dict": {dotted torch name: array}}` (parameters and
      persistent buffers, stored dtype kept); `extra` holds the other top-level entries as plain data.

    Args:
        file: path of the pickle, or a binary file object opened for reading.

    Raises:
        UnsafePickleError: the pickle names a global outside `ALLOWED_GLOBALS` (nothing was run).
        OfficialPickleFormatError: not a pickle, or not one of the two official formats.

    Example:
    >>> data = load_official_pickle("stylegan2-ffhq-config-f.pkl")  # doctest: +SKIP
    >>> sorted(data["networks"])  # doctest: +SKIP
    ['D', 'G', 'Gs']
    >>> try:
    ...     load_official_pickle(io.BytesIO(b"hello"))
    ... except OfficialPickleFormatError as error:
    ...     print(error)
    <binary file> is not a pickle file (it starts with b'hello')
    """
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as handle:
            return _load(handle, os.path.basename(os.fspath(file)))
    if not hasattr(file, "read"):
        raise TypeError(f"file must be a path or a binary file object. Received: {type(file).__name__}")
    return _load(file, os.path.basename(str(getattr(file, "name", "<binary file>"))))


def _load(file, source):
    if not (hasattr(file, "seekable") and file.seekable()):
        file = io.BytesIO(file.read())
    start = file.tell()
    head = file.read(16)
    file.seek(start)
    if not isinstance(head, bytes):
        raise TypeError(f"file must be opened in binary mode. Received: {type(head).__name__} data")
    is_zip = head[:4] == b"PK\x03\x04"
    if not is_zip and (len(head) < 2 or head[0] != pickle.PROTO[0] or head[1] < 2):
        raise OfficialPickleFormatError(f"{source} is not a pickle file (it starts with {head!r})")
    try:
        # A zip is a torch.save'd snapshot dict; official pickles are plain pickle.dump output.
        obj = _read_torch_zip(file, source) if is_zip else _RestrictedUnpickler(file, source).load()
        return _interpret(obj, source)
    except (UnsafePickleError, OfficialPickleFormatError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            RecursionError, zipfile.BadZipFile, MemoryError) as error:
        raise OfficialPickleFormatError(f"could not read {source} as an official pickle: {error}") from None


def _interpret(obj, source):
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(net, _TFNetwork) for net in obj):
        memo = {}
        return {"format": "tf1", "networks": {k: _tf_network(net, memo) for k, net in zip(("G", "D", "Gs"), obj)}}
    if isinstance(obj, dict) and any(isinstance(obj.get(k), _PersistentObject) for k in ("G", "D", "G_ema")):
        memo = {}
        networks = {k: _torch_module(v, memo) for k, v in obj.items() if isinstance(v, _PersistentObject)
                    and k in ("G", "D", "G_ema")}
        extra = {k: _plain(v, memo) for k, v in obj.items() if k not in networks}
        return {"format": "pytorch", "networks": networks, "extra": extra}
    raise OfficialPickleFormatError(
        f"{source} is a pickle, but not an official StyleGAN network pickle (a TF1 (G, D, Gs) tuple or a "
        f"stylegan2-ada-pytorch dict with G/D/G_ema). Received: {type(obj).__name__}"
    )


def flatten_tf_network(net):
    """Flat TF1 variable names, as NVIDIA's `legacy.py` collects them.

    Own variables keep their names; a component's variables are prefixed with `<component>/`
    (recursively), e.g. `dlatent_avg`, `mapping/Dense0/weight`, `synthesis/4x4/Conv/weight`.

    Args:
        net: a TF1 network record from `load_official_pickle(...)["networks"]`.

    Example:
    >>> net = {"variables": {"dlatent_avg": 0}, "components": {"mapping": {"variables": {"Dense0/weight": 1}}}}
    >>> flatten_tf_network(net)
    {'dlatent_avg': 0, 'mapping/Dense0/weight': 1}
    """
    if not isinstance(net, dict) or "variables" not in net:
        raise ValueError(f"net must be a TF1 network record with 'variables'. Received: {type(net).__name__}")
    flat = dict(net["variables"])
    for name, component in (net.get("components") or {}).items():
        flat.update((f"{name}/{key}", value) for key, value in flatten_tf_network(component).items())
    return flat
