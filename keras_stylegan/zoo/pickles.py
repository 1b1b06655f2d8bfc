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

What a file can cost is bounded too: arrays, storages and decompressed zip members together may
take `EXPANSION_LIMIT` (4) times the file's size plus `SMALL_FILE_ALLOWANCE` (8 MiB), at most
`MAX_ARRAY_BYTES` (4 GiB); a tensor may not hold more elements than its storage (stride 0 or
overlapping layouts); each storage is read once; tuples are sized as they are unpickled (so none
can take exponential time to hash) and every container and module is walked once.
"""
import collections
import contextvars
import io
import math
import operator
import os
import pickle
import reprlib
import struct
import zipfile
import zlib

import numpy as np

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first object of a legacy (pre-zip) torch.save stream
TORCH_LEGACY_PROTOCOL = 1001
_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: dtypes that cannot carry objects

# What one pickle may cost. Arrays, storages and decompressed bytes together may take at most
# `EXPANSION_LIMIT` times the file's size plus `SMALL_FILE_ALLOWANCE`, and never more than
# `MAX_ARRAY_BYTES`: an official pickle stores its weights uncompressed, so its arrays take about
# its own size (twice for bfloat16). Raise `MAX_ARRAY_BYTES` to read networks above 4 GiB.
MAX_ARRAY_BYTES = 4 * 2**30
EXPANSION_LIMIT = 4
SMALL_FILE_ALLOWANCE = 8 * 2**20
_CONTAINER_ITEM_BYTES = 64  # what a dict or set built by an allowed global costs per item, about
_MAX_DIMS = 32
_MAX_DIM_SIZE = 2**48  # far above any real tensor; keeps shape arithmetic away from C integer limits


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for a global (a function or class) outside keras_stylegan's allow-list."""


class OfficialPickleFormatError(ValueError):
    """The file is not a pickle, or not one of NVIDIA's official network pickle formats."""


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 3, 60, 60
for _attribute in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_BRIEF, _attribute, 4)


def _brief(value):
    """A short repr for error messages: objects from a pickle can be deep, shared and huge."""
    try:
        return _BRIEF.repr(value)
    except (ValueError, RecursionError):  # e.g. an int of more digits than Python prints
        return f"<{type(value).__name__}>"


class _LoadLimits:
    """What the pickle being read may still cost; stand-ins charge it before they allocate."""

    def __init__(self, source, file_size):
        self.source = source
        self.budget = min(MAX_ARRAY_BYTES, EXPANSION_LIMIT * file_size + SMALL_FILE_ALLOWANCE)
        self.used = 0
        self.storages = {}  # id(bytes) -> (bytes, _Storage): each `_load_from_bytes` payload is read once
        self.archive_depth = 0

    def charge(self, nbytes, what):
        self.used += int(nbytes)
        if self.used > self.budget:
            raise OfficialPickleFormatError(
                f"{self.source} asks for more than {self.budget:,} bytes of arrays ({what}); a pickle may use "
                f"{EXPANSION_LIMIT}x its size + {SMALL_FILE_ALLOWANCE // 2**20} MiB, at most "
                f"{MAX_ARRAY_BYTES // 2**30} GiB (keras_stylegan.zoo.pickles.MAX_ARRAY_BYTES)"
            )


_LIMITS = contextvars.ContextVar("keras_stylegan_pickle_limits", default=None)


def _charge(nbytes, what):
    limits = _LIMITS.get()
    if limits is not None:
        limits.charge(nbytes, what)


def _index(value, what):
    """A non-negative Python int from an int-like pickle value (not a float, str or bool)."""
    if isinstance(value, bool):
        raise OfficialPickleFormatError(f"{what} must be an integer. Received: {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise OfficialPickleFormatError(f"{what} must be an integer. Received: {_brief(value)}") from None
    if not 0 <= value <= _MAX_DIM_SIZE:
        raise OfficialPickleFormatError(f"{what} must be in [0, 2**48]. Received: {_brief(value)}")
    return value


def _shape(value, what):
    if not isinstance(value, (tuple, list)) or len(value) > _MAX_DIMS:
        raise OfficialPickleFormatError(f"{what} must be a tuple of at most {_MAX_DIMS} sizes. Received: "
                                        f"{_brief(value)}")
    return tuple(_index(size, what) for size in value)


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
        dtype = np.dtype(spec) if isinstance(spec, str) and len(spec) <= 8 else None
        if dtype is None or dtype.kind not in _NUMERIC_KINDS or dtype.fields or dtype.subdtype:
            raise OfficialPickleFormatError(f"unsupported array dtype in pickle. Received: {_brief(spec)}")
        self.numpy = dtype

    def __setstate__(self, state):
        byteorder = state[1] if isinstance(state, tuple) and len(state) > 1 else "="
        if byteorder not in "<>=|":
            raise OfficialPickleFormatError(f"invalid dtype byte order in pickle. Received: {_brief(byteorder)}")
        self.numpy = self.numpy.newbyteorder(byteorder) if byteorder in "<>" else self.numpy


def _to_native(array):
    return array.astype(array.dtype.newbyteorder("="), copy=False)


class _Array(metaclass=_Sealed):
    """`numpy.core.multiarray._reconstruct(ndarray, ...)`; BUILD then fills in shape, dtype and data."""

    array = None

    def __init__(self, cls, *unused):
        if cls is not _NdarrayClass:
            raise OfficialPickleFormatError(f"_reconstruct may only build numpy.ndarray. Received: {_brief(cls)}")

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise OfficialPickleFormatError("an array in the pickle has an invalid state")
        if len(state) == 5:
            state = state[1:]  # drop numpy's pickle format version
        shape, dtype, is_fortran, data = state
        if not isinstance(dtype, _Dtype) or not isinstance(data, bytes):
            raise OfficialPickleFormatError("only numeric arrays stored as raw bytes can be read from a pickle")
        shape = _shape(shape, "an array shape")
        if len(data) != math.prod(shape) * dtype.numpy.itemsize:
            raise OfficialPickleFormatError(f"array data has {len(data)} bytes, which does not fit shape "
                                            f"{_brief(shape)}")
        _charge(len(data), "an array")
        array = np.frombuffer(data, dtype=dtype.numpy).reshape(shape, order="F" if is_fortran else "C")
        self.array = np.array(_to_native(array), order="C")  # a writable copy; keeps 0-d shapes


def _scalar(dtype, data):
    """`numpy.core.multiarray.scalar(dtype, bytes)`: a NumPy scalar."""
    if not isinstance(dtype, _Dtype) or not isinstance(data, bytes) or len(data) != dtype.numpy.itemsize:
        raise OfficialPickleFormatError("only numeric scalars stored as raw bytes can be read from a pickle")
    return _to_native(np.frombuffer(data, dtype=dtype.numpy))[0]


def _encode(text, encoding="latin1"):
    """`_codecs.encode`, which protocol-2 pickles use to store bytes."""
    if not isinstance(text, str) or not isinstance(encoding, str) or encoding.replace("-", "") != "latin1":
        raise OfficialPickleFormatError(f"_codecs.encode may only encode str as latin1. Received: {_brief(encoding)}")
    _charge(len(text), "bytes encoded by _codecs.encode")
    return text.encode("latin1")


class _Dict(dict, metaclass=_Sealed):
    """`collections.OrderedDict` and `dnnlib.util.EasyDict`: a dict whose copies are paid for."""

    def __init__(self, *args, **kwargs):
        _charge(_CONTAINER_ITEM_BYTES * (sum(_length(arg) for arg in args) + len(kwargs)), "a dict")
        super().__init__(*args, **kwargs)

    def __setstate__(self, state):
        if state:  # a dict subclass pickles an empty instance __dict__ at most
            raise OfficialPickleFormatError("a dict in the pickle cannot be given attributes")


def _length(value):
    try:
        return len(value)
    except TypeError:
        raise OfficialPickleFormatError(f"expected a container, not {type(value).__name__}") from None


def _set(items=()):
    """`builtins.set(items)`, paid for."""
    _charge(_CONTAINER_ITEM_BYTES * _length(items), "a set")
    return set(items)


class _TFNetwork(metaclass=_Sealed):
    """Stands in for `dnnlib.tflib.network.Network`: keeps the state dict, runs nothing."""

    state = None

    def __setstate__(self, state):
        self.state = state


class _PersistentObject(metaclass=_Sealed):
    """`torch_utils.persistence._reconstruct_persistent_obj(meta)`: keeps `meta`, never runs `module_src`."""

    meta = None

    def __init__(self, meta):
        if not isinstance(meta, dict):
            raise OfficialPickleFormatError(f"persistent object meta must be a dict. Received: {type(meta).__name__}")
        self.meta = meta

    def __setstate__(self, state):
        raise OfficialPickleFormatError("a persistent module in the pickle cannot be given state")


# A `torch.<Type>Storage` class, as named in a storage's persistent id (immutable).
_StorageType = collections.namedtuple("_StorageType", ["name", "dtype"])


class _Storage:
    """A torch storage as a flat NumPy array; `data` is filled in once its bytes are read."""

    def __init__(self, storage_type, numel, data=None):
        self.storage_type, self.numel, self.data = storage_type, numel, data

    def __setstate__(self, state):
        raise OfficialPickleFormatError("a torch storage in the pickle cannot be given state")

    def as_array(self):
        """The storage's elements; bfloat16 ones as their uint16 bit patterns (see `_widen`)."""
        if self.data is None:
            raise OfficialPickleFormatError("a torch storage in the pickle has no data")
        return self.data


def _widen(array, storage_type):
    if storage_type.dtype == "bfloat16":  # NumPy has no bfloat16: widen to float32
        _charge(array.nbytes * 2, "a bfloat16 tensor widened to float32")
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _load_from_bytes(data, source="<bytes>"):
    """`torch.storage._load_from_bytes(bytes)`: a storage saved by `torch.save`."""
    if not isinstance(data, bytes):
        raise OfficialPickleFormatError(f"torch storage bytes expected in {source}")
    limits = _LIMITS.get()
    if limits is None:
        raise OfficialPickleFormatError("torch storages are read only inside load_official_pickle")
    if id(data) in limits.storages:  # the same payload named again (memo): one storage, read once
        return limits.storages[id(data)][1]
    if limits.archive_depth:
        raise OfficialPickleFormatError(f"a torch storage in {source} contains another torch storage")
    limits.archive_depth += 1
    try:
        storage = _read_torch_archive(data, f"{source} (inside a torch storage)")
    finally:
        limits.archive_depth -= 1
    if not isinstance(storage, _Storage):
        raise OfficialPickleFormatError("torch.storage._load_from_bytes must hold a storage")
    limits.storages[id(data)] = (data, storage)  # keeps `data` alive, so its id stays unique
    return storage


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """`torch._utils._rebuild_tensor_v2`: a C-contiguous NumPy copy honouring size, stride and offset."""
    if not isinstance(storage, _Storage):
        raise OfficialPickleFormatError("a tensor in the pickle is not backed by a torch storage")
    flat = storage.as_array()
    if not (isinstance(flat, np.ndarray) and flat.ndim == 1 and flat.flags.c_contiguous
            and flat.dtype.kind in _NUMERIC_KINDS):  # the pickle may have replaced it (BUILD)
        raise OfficialPickleFormatError("a torch storage in the pickle is not a flat numeric buffer")
    offset = _index(offset, "a tensor offset")
    size, stride = _shape(size, "a tensor size"), _shape(stride, "a tensor stride")
    if len(size) != len(stride):
        raise OfficialPickleFormatError(f"invalid tensor layout: size {size}, stride {stride}")
    numel = math.prod(size)
    if numel == 0:
        return np.zeros(size, flat.dtype)
    # Overlapping or stride-0 layouts repeat elements: a tensor may not hold more elements than its
    # storage really has, else 300 bytes of pickle could ask for gigabytes.
    if numel > flat.size:
        raise OfficialPickleFormatError(
            f"a tensor of size {size} has {numel:,} elements but its storage holds {flat.size:,} "
            f"(stride {stride} repeats elements)")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:  # as_strided does not check bounds: refuse to read past the storage
        raise OfficialPickleFormatError(f"tensor reads element {last} of a storage of {flat.size}")
    _charge(numel * flat.itemsize, "a tensor")
    view = np.lib.stride_tricks.as_strided(flat[offset:], size, [s * flat.itemsize for s in stride], writeable=False)
    return _widen(np.array(view, order="C"), storage.storage_type)


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
    ("collections", "OrderedDict"): _Dict,
    ("builtins", "set"): _SealedFunction(_set),
    ("_codecs", "encode"): _SealedFunction(_encode),
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _Dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): _Array for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): _SealedFunction(_scalar) for core in ("core", "_core")},
    ("dnnlib.tflib.network", "Network"): _TFNetwork,
    ("dnnlib.util", "EasyDict"): _Dict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _PersistentObject,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,  # bound to the file's name by find_class
    ("torch._utils", "_rebuild_tensor"): _SealedFunction(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v2"): _SealedFunction(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _SealedFunction(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _SealedFunction(_rebuild_parameter),
    **{("torch", name): _StorageType(name, dtype) for name, dtype in _TORCH_STORAGE_DTYPES.items()},
}


_MAX_TUPLE_NODES = 4096  # a tuple unfolded (shared parts counted each time): Python hashes it that way
_MAX_TUPLE_DEPTH = 64  # hashing a deeper tuple recurses in C without a guard


class _RestrictedUnpickler(pickle._Unpickler):
    """Resolves only `ALLOWED_GLOBALS`; `storages` (if given) answers torch.save persistent ids.

    The pure-Python unpickler, so that each tuple is sized as it is made: 900 bytes of memoised
    tuples nest 2**60 deep when unfolded, and hashing one as a dict key would never end.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, source, storages=None):
        super().__init__(file)
        self.source, self.storages = source, storages
        self.tuple_sizes = {}  # id(tuple) -> (nodes, depth), for the tuples this pickle made

    def check_tuple(self):
        value = self.stack[-1]
        nodes, depth = 1, 1
        for item in value:
            if isinstance(item, tuple):
                item_nodes, item_depth = self.tuple_sizes.get(id(item), (len(item) + 1, 2))
                nodes, depth = nodes + item_nodes, max(depth, item_depth + 1)
            else:
                nodes += 1
        if nodes > _MAX_TUPLE_NODES or depth > _MAX_TUPLE_DEPTH:
            raise OfficialPickleFormatError(
                f"{self.source} builds a tuple of {nodes:,} nested parts (depth {depth}); official pickles have "
                f"at most {_MAX_TUPLE_NODES:,}")
        self.tuple_sizes[id(value)] = nodes, depth

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refusing to load global {_brief(f'{module}.{name}')} from {self.source}: not in keras_stylegan's "
                "allow-list"
            )
        value = ALLOWED_GLOBALS[(module, name)]
        return _SealedFunction(value, source=self.source) if value is _load_from_bytes else value

    def persistent_load(self, pid):
        if self.storages is None:
            raise OfficialPickleFormatError(f"unexpected persistent id in {self.source}: {_brief(pid)}")
        return self.storages(pid)


def _sized(load_tuple):
    def load_and_check(unpickler):
        load_tuple(unpickler)
        unpickler.check_tuple()

    return load_and_check


for _opcode in (pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3):
    _RestrictedUnpickler.dispatch[_opcode[0]] = _sized(pickle._Unpickler.dispatch[_opcode[0]])


# ---------------------------------------------------------------------------------------------
# torch.save archives (the bytes inside `_load_from_bytes`).


def _storage_record(pid, source):
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)):
        raise OfficialPickleFormatError(f"unsupported torch persistent id in {source}: {_brief(pid)}")
    return pid[1], pid[2], _index(pid[4], "a torch storage size"), (pid[5] if len(pid) > 5 else None)


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
        if root.storage_type != storage_type or root.numel != numel:
            raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is described two ways")
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3):
            raise OfficialPickleFormatError(f"invalid torch storage view in {source}: {_brief(view)}")
        # old torch: a storage that is a slice of another
        return _StorageView(root, _index(view[1], "a storage view offset"), _index(view[2], "a storage view size"))

    result = _RestrictedUnpickler(stream, source, storage_for).load()
    keys = _RestrictedUnpickler(stream, source).load()
    if not isinstance(keys, list):
        raise OfficialPickleFormatError(f"{source} has no list of torch storage keys")
    for key in keys:
        storage = storages.get(key) if isinstance(key, str) else None
        numel = int.from_bytes(stream.read(8), "little" if little_endian else "big")
        if storage is None or numel != storage.numel:
            raise OfficialPickleFormatError(f"torch storage {_brief(key)} in {source} does not match its record")
        if storage.data is not None:
            raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is stored twice")
        dtype = _numpy_dtype(storage.storage_type, little_endian)
        if numel * dtype.itemsize > len(data) - stream.tell():
            raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is truncated")
        _charge(numel * dtype.itemsize, "a torch storage")
        storage.data = _to_native(np.frombuffer(stream.read(numel * dtype.itemsize), dtype))
    return result


class _StorageView(_Storage):
    def __init__(self, root, offset, numel):
        super().__init__(root.storage_type, numel)
        self.root, self.offset = root, offset

    def as_array(self):
        return self.root.as_array()[self.offset:self.offset + self.numel]


_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


def _zip_member(archive, name, source, what):
    """The bytes of one member, refused before reading if encrypted, oddly compressed or too large."""
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise OfficialPickleFormatError(f"{source}: zip member {name!r} is encrypted")
    if info.compress_type not in _ZIP_METHODS:
        raise OfficialPickleFormatError(
            f"{source}: zip member {name!r} uses compression method {info.compress_type}; torch archives are "
            f"{' or '.join(_ZIP_METHODS.values())}")
    _charge(info.file_size, what)  # the declared size, before anything is decompressed
    with archive.open(info) as member:
        data = member.read(info.file_size)
        if len(data) != info.file_size or member.read(1):
            raise OfficialPickleFormatError(f"{source}: zip member {name!r} does not have its declared size")
    return data


def _read_torch_zip(file, source):
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
        if not pickles:
            raise OfficialPickleFormatError(f"{source} is a zip file without a torch data.pkl")
        prefix = pickles[0][: -len("data.pkl")]
        little_endian = (prefix + "byteorder" not in names
                         or _zip_member(archive, prefix + "byteorder", source, "the byte order") != b"big")
        storages = {}  # key -> _Storage: a storage named by many tensors is read once

        def storage_for(pid):
            storage_type, key, numel, _ = _storage_record(pid, source)
            if key in storages:
                storage = storages[key]
                if storage.storage_type != storage_type or storage.numel != numel:
                    raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is described two ways")
                return storage
            name = f"{prefix}data/{key}"
            if name not in names:
                raise OfficialPickleFormatError(f"{source} has no torch storage {key!r}")
            dtype = _numpy_dtype(storage_type, little_endian)
            if archive.getinfo(name).file_size < numel * dtype.itemsize:
                raise OfficialPickleFormatError(f"torch storage {key!r} in {source} is truncated")
            raw = _zip_member(archive, name, source, "a torch storage")
            storages[key] = _Storage(storage_type, numel, _to_native(np.frombuffer(raw[: numel * dtype.itemsize],
                                                                                   dtype)))
            return storages[key]

        data_pkl = _zip_member(archive, pickles[0], source, "the pickle inside the zip")
        return _RestrictedUnpickler(io.BytesIO(data_pkl), source, storage_for).load()


# ---------------------------------------------------------------------------------------------
# From the unpickled object graph to plain records. Every container is converted once (memo), so a
# graph that shares its parts is walked in time linear in the file, not once per path.


def _plain(obj, memo=None, numpy_scalars=False):
    """Dicts, lists, tuples, arrays and Python scalars from the unpickled graph (cycles and sharing kept)."""
    memo = {} if memo is None else memo
    key = (id(obj), numpy_scalars)
    if key in memo:
        if memo[key] is None and isinstance(obj, _PersistentObject):
            raise OfficialPickleFormatError("a persistent module in the pickle contains itself")
        return memo[key]
    if isinstance(obj, _Array):
        if obj.array is None:
            raise OfficialPickleFormatError("an array in the pickle has no data")
        return obj.array
    if isinstance(obj, np.generic):
        return obj if numpy_scalars else obj.item()
    if isinstance(obj, _PersistentObject):
        memo[key] = None  # a module met again inside its own init_kwargs
        memo[key] = _torch_module(obj, memo)
        return memo[key]
    if isinstance(obj, _TFNetwork):
        raise OfficialPickleFormatError("a TF1 Network is nested where plain data is expected")
    if isinstance(obj, dict):
        memo[key] = result = {}
        result.update((_plain(k, memo), _plain(v, memo, numpy_scalars)) for k, v in obj.items())
        return result
    if isinstance(obj, list):
        memo[key] = result = []
        result.extend(_plain(v, memo, numpy_scalars) for v in obj)
        return result
    if isinstance(obj, (tuple, set, frozenset)):
        memo[key] = result = type(obj)(_plain(v, memo, numpy_scalars) for v in obj)
        return result
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.ndarray)):
        return obj
    raise OfficialPickleFormatError(f"unexpected object in pickle: {type(obj).__name__}")


def _text(value, what):
    if not isinstance(value, str):
        raise OfficialPickleFormatError(f"{what} must be a string. Received: {type(value).__name__}")
    return value


def _tf_network(stub, memo, seen, path="network"):
    """The record of a TF1 Network and its components; `seen` refuses a component met twice (or a cycle)."""
    if id(stub) in seen:
        raise OfficialPickleFormatError(f"TF1 component {path!r} is also {seen[id(stub)]!r}: networks share none")
    seen[id(stub)] = path
    state = stub.state
    if not isinstance(state, dict) or state.get("version") not in (2, 3, 4, 5):
        version = state.get("version") if isinstance(state, dict) else None
        raise OfficialPickleFormatError(f"unsupported TF1 Network state version. Received: {_brief(version)}")
    variables = {}
    for item in state.get("variables", []):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise OfficialPickleFormatError(f"TF1 variables of {path!r} must be (name, value) pairs")
        name, value = _text(item[0], "a TF1 variable name"), item[1]
        value = np.asarray(_plain(value, memo, numpy_scalars=True))
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise OfficialPickleFormatError(f"TF1 variable {_brief(name)} is not a numeric array")
        variables[name] = value
    components = state.get("components") or {}
    if not isinstance(components, dict) or not all(isinstance(c, _TFNetwork) for c in components.values()):
        raise OfficialPickleFormatError("TF1 Network components must be Networks")
    static_kwargs = state.get("static_kwargs") or {}
    if not isinstance(static_kwargs, dict):
        raise OfficialPickleFormatError(f"TF1 static_kwargs of {path!r} must be a dict")
    return {
        "name": _text(state["name"], "a TF1 Network name"),
        "version": int(state["version"]),
        "build_func_name": _text(state["build_func_name"], "a TF1 build_func_name"),
        "static_kwargs": _plain(dict(static_kwargs), memo),
        "variables": variables,
        "components": {_text(k, "a TF1 component name"): _tf_network(c, memo, seen, f"{path}/{k}")
                       for k, c in components.items()},
    }


def _torch_module(record, memo):
    """{class_name, init_kwargs, state_dict} of a persistent module, named as torch's state_dict()."""
    if not isinstance(record.meta, dict):
        raise OfficialPickleFormatError("a persistent module in the pickle has no meta dict")
    class_name = record.meta.get("class_name")
    state_dict = {}
    _collect_tensors(record, "", state_dict, {})
    state = record.meta.get("state") or {}
    return {
        "class_name": _text(class_name, "a module class_name"),
        "init_kwargs": _plain(state.get("_init_kwargs") or {}, memo),
        "state_dict": state_dict,
    }


def _collect_tensors(record, prefix, state_dict, seen):
    """Tensors of `record` and its submodules; each module is visited once (`seen`: id -> its name)."""
    if id(record) in seen:  # also a cycle: a module that contains itself
        raise OfficialPickleFormatError(
            f"module {prefix.rstrip('.') or '<root>'!r} is also {seen[id(record)] or '<root>'!r}: "
            "a network's modules are not shared")
    seen[id(record)] = prefix.rstrip(".")
    state = record.meta.get("state") if isinstance(record.meta, dict) else None
    if not isinstance(state, dict):
        raise OfficialPickleFormatError(f"module {prefix or '<root>'!r} has no state dict")
    skip = state.get("_non_persistent_buffers_set") or set()
    if not isinstance(skip, (set, frozenset, list, tuple)):
        raise OfficialPickleFormatError(f"module {prefix or '<root>'!r} has an invalid non-persistent buffer set")
    parts = [state.get(key) or {} for key in ("_parameters", "_buffers", "_modules")]
    if not all(isinstance(part, dict) for part in parts):
        raise OfficialPickleFormatError(f"module {prefix or '<root>'!r} has an invalid state dict")
    parameters, buffers, modules = parts
    tensors = list(parameters.items()) + [(k, v) for k, v in buffers.items() if k not in skip]
    for name, tensor in tensors:
        if tensor is not None:
            name = _text(name, "a tensor name")
            if not isinstance(tensor, np.ndarray):
                raise OfficialPickleFormatError(f"{prefix}{_brief(name)} is not a tensor")
            state_dict[prefix + name] = tensor
    for name, child in modules.items():
        if child is None:
            continue
        name = _text(name, "a submodule name")
        if not isinstance(child, _PersistentObject):
            raise OfficialPickleFormatError(f"submodule {prefix}{_brief(name)} is not a persistent module")
        _collect_tensors(child, f"{prefix}{name}.", state_dict, seen)


def _check_logical_size(networks, limits):
    """What callers may copy: every named array, counted once per name (names may share an array)."""
    total = 0
    for net in networks.values():
        tensors = net["state_dict"] if "state_dict" in net else flatten_tf_network(net)
        total += sum(array.nbytes for array in tensors.values())
    if total > limits.budget:
        limits.charge(total, "arrays named more than once")

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
        OfficialPickleFormatError: not a pickle, not one of the two official formats, or a file that
            would cost more than the limits above (memory, nesting, shared modules).

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
    if not isinstance(head, bytes):
        raise TypeError(f"file must be opened in binary mode. Received: {type(head).__name__} data")
    file_size = file.seek(0, os.SEEK_END) - start
    file.seek(start)
    is_zip = head[:4] == b"PK\x03\x04"
    if not is_zip and (len(head) < 2 or head[0] != pickle.PROTO[0] or head[1] < 2):
        raise OfficialPickleFormatError(f"{source} is not a pickle file (it starts with {head!r})")
    limits = _LoadLimits(source, file_size)
    token = _LIMITS.set(limits)
    try:
        # A zip is a torch.save'd snapshot dict; official pickles are plain pickle.dump output.
        obj = _read_torch_zip(file, source) if is_zip else _RestrictedUnpickler(file, source).load()
        data = _interpret(obj, source)
        _check_logical_size(data["networks"], limits)
        return data
    except (UnsafePickleError, OfficialPickleFormatError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            RecursionError, OverflowError, MemoryError, zipfile.BadZipFile, zlib.error, struct.error,
            NotImplementedError, RuntimeError, OSError) as error:
        # Zip members may fail as RuntimeError (encrypted), NotImplementedError (compression),
        # zlib.error or OSError (corrupt data); huge numbers as OverflowError.
        raise OfficialPickleFormatError(f"could not read {source} as an official pickle: {_describe(error)}") from None
    finally:
        _LIMITS.reset(token)


def _describe(error):
    """The error's message, kept short: its arguments may be objects from the pickle."""
    args = error.args
    text = args[0] if len(args) == 1 and isinstance(args[0], str) else ", ".join(_brief(a) for a in args)
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = text if len(text) <= 200 else text[:200] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _interpret(obj, source):
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(net, _TFNetwork) for net in obj):
        memo, records = {}, {}
        for net in obj:  # G, D and Gs are separate objects; the same one twice is read once
            if id(net) not in records:
                records[id(net)] = _tf_network(net, memo, {})
        return {"format": "tf1", "networks": {k: records[id(net)] for k, net in zip(("G", "D", "Gs"), obj)}}
    if isinstance(obj, dict) and any(isinstance(obj.get(k), _PersistentObject) for k in ("G", "D", "G_ema")):
        memo = {}
        networks = {k: _plain(v, memo) for k, v in obj.items() if isinstance(v, _PersistentObject)
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
