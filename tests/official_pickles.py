"""Writes small pickles in NVIDIA's two official StyleGAN formats, for tests: no torch, no NVIDIA code.

The byte streams name the same globals, in the same structure, as NVIDIA's published pickles:
- TF1: a tuple `(G, D, Gs)` of `dnnlib.tflib.network.Network` objects (NEWOBJ + BUILD of a state dict),
  arrays through `numpy.core.multiarray._reconstruct` / `numpy.dtype`, 0-d scalars through `scalar`.
- stylegan2-ada-pytorch: a dict of modules pickled through
  `torch_utils.persistence._reconstruct_persistent_obj(meta)`, with torch 1.x module state
  (`_parameters`, `_buffers`, `_modules` as `collections.OrderedDict`, `_init_kwargs` with
  `dnnlib.util.EasyDict`), parameters `torch._utils._rebuild_parameter(_rebuild_tensor_v2(storage, ...))`
  and storages `torch.storage._load_from_bytes(bytes)` whose bytes are a `torch.save` archive
  (legacy layout, as torch writes storages; the zip layout on request).

Globals are written as opcodes (`Global`), never imported, so nothing here pretends to be those modules.
"""
import dataclasses
import functools
import io
import pickle
import zipfile

import numpy as np

PLACEHOLDER_SRC = "# network source not included in this test pickle; a loader must never execute it\n"
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "int64": "LongStorage",
    "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage",
}
TORCH_BUFFER_NAMES = ("noise_const", "w_avg", "resample_filter")  # stylegan2-ada-pytorch's register_buffer names


class _GlobalRef:
    def __init__(self, module, name):
        self.module, self.name = module, name


# The global `module.name`, written as GLOBAL / STACK_GLOBAL; one instance per name, so it memoizes.
Global = functools.lru_cache(maxsize=None)(_GlobalRef)


@dataclasses.dataclass(eq=False)
class Call:
    """`func(*args)` as REDUCE (or `func.__new__(func, *args)` as NEWOBJ), then SETITEMS `items`, BUILD `state`."""

    func: _GlobalRef
    args: tuple = ()
    state: object = None
    items: dict = None
    newobj: bool = False


@dataclasses.dataclass(eq=False)
class Persistent:
    """An object written as a persistent id (BINPERSID), as torch.save writes storages."""

    pid: tuple


@dataclasses.dataclass(eq=False)
class TensorView:
    """A tensor that views `storage` (1-D) with a given offset, shape and stride, in elements."""

    storage: np.ndarray
    offset: int
    shape: tuple
    stride: tuple


class _Pickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can take our types
    dispatch = dict(pickle._Pickler.dispatch)

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Persistent) else None

    def _save_global_ref(self, ref):
        if self.proto >= 4:
            self.save(ref.module)
            self.save(ref.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{ref.module}\n{ref.name}\n".encode())
        self.memoize(ref)

    def _save_call(self, call):
        self.save(call.func)
        self.save(tuple(call.args))
        self.write(pickle.NEWOBJ if call.newobj else pickle.REDUCE)
        self.memoize(call)
        if call.items:
            self._batch_setitems(iter(call.items.items()))
        if call.state is not None:
            self.save(call.state)
            self.write(pickle.BUILD)

    dispatch[_GlobalRef] = _save_global_ref
    dispatch[Call] = _save_call


def dumps(obj, protocol=4):
    """Pickle bytes of `obj`, which may contain `Global`, `Call` and `Persistent` objects."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol).dump(obj)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# TF1 format.


@functools.lru_cache(maxsize=None)
def numpy_dtype(dtype):
    """`numpy.dtype` as numpy pickles it (one instance per dtype, so it memoizes)."""
    dtype = np.dtype(dtype)
    byteorder = "|" if dtype.itemsize == 1 else "<"
    state = (3, byteorder, None, None, None, -1, -1, 0)
    return Call(Global("numpy", "dtype"), (f"{dtype.kind}{dtype.itemsize}", False, True), state=state)


def numpy_value(value, numpy_module="numpy.core.multiarray"):
    """An ndarray (or NumPy scalar) as numpy pickles it; `numpy_module` is `numpy._core.multiarray` for NumPy 2."""
    if isinstance(value, np.generic):
        data = value.astype(value.dtype.newbyteorder("<")).tobytes()
        return Call(Global(numpy_module, "scalar"), (numpy_dtype(value.dtype), data))
    array = np.asarray(value)
    data = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"))).tobytes()
    state = (1, array.shape, numpy_dtype(array.dtype), False, data)
    args = (Global("numpy", "ndarray"), tuple([0]), b"b")  # numpy writes a fresh (0,) each time
    return Call(Global(numpy_module, "_reconstruct"), args, state=state)


def tf1_network(spec, version=5, numpy_module="numpy.core.multiarray"):
    """A `dnnlib.tflib.network.Network` with the state dict of the given version (2-5)."""
    state = {"version": version, "name": spec["name"], "static_kwargs": dict(spec.get("static_kwargs", {}))}
    if version >= 3:
        components = spec.get("components", {})
        state["components"] = {k: tf1_network(c, version, numpy_module) for k, c in components.items()}
    state["build_module_src"] = spec.get("build_module_src", PLACEHOLDER_SRC)
    state["build_func_name"] = spec["build_func_name"]
    state["variables"] = [(name, numpy_value(v, numpy_module)) for name, v in spec["variables"].items()]
    if version >= 5:
        for key in ("input_shapes", "output_shapes", "input_names", "output_names"):
            state[key] = spec.get(key, [])
    return Call(Global("dnnlib.tflib.network", "Network"), (), state=state, newobj=True)


def write_tf1_pickle(path, networks, version=5, protocol=3, numpy_module="numpy.core.multiarray"):
    """Writes `(G, D, Gs)` as NVIDIA's TF1 releases pickle them.

    Args:
        path: file to write.
        networks: {"G": spec, "D": spec, "Gs": spec}; spec = {"name", "build_func_name", "static_kwargs",
            "variables": {name: ndarray or NumPy scalar}, "components": {"mapping": spec, ...} (optional),
            "build_module_src" (optional)}.
        version: Network state version (3 StyleGAN, 4 StyleGAN2, 5 StyleGAN2-ADA TF).
        protocol: pickle protocol.
        numpy_module: where `_reconstruct` lives (`numpy._core.multiarray` in NumPy 2 pickles).

    Example:
    >>> spec = {"name": "G", "build_func_name": "G_main", "variables": {"lod": np.float32(0)}}
    >>> write_tf1_pickle("/tmp/g.pkl", {"G": spec, "D": spec, "Gs": spec})
    '/tmp/g.pkl'
    """
    nets = tuple(tf1_network(networks[k], version, numpy_module) for k in ("G", "D", "Gs"))
    with open(path, "wb") as file:
        file.write(dumps(nets, protocol))
    return path


# ---------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch format.


def torch_storage_bytes(flat, layout="legacy", storage_name=None):
    """`torch.save(storage)` bytes of a 1-D array, in the legacy layout (as `Storage.__reduce__`) or zip.

    `storage_name` overrides the storage class, e.g. "BFloat16Storage" for uint16 bit patterns.
    """
    flat = np.ascontiguousarray(flat).reshape(-1)
    storage_type = Global("torch", storage_name or TORCH_STORAGE_NAMES[flat.dtype.name])
    data = flat.astype(flat.dtype.newbyteorder("<")).tobytes()
    if layout == "zip":
        pid = ("storage", storage_type, "0", "cpu", flat.size)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("archive/data.pkl", dumps(Persistent(pid), 2))
            archive.writestr("archive/byteorder", "little")
            archive.writestr("archive/data/0", data)
            archive.writestr("archive/version", "3\n")
        return buffer.getvalue()
    pid = ("storage", storage_type, "94447625636112", "cpu", flat.size, None)
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    header = b"".join(dumps(obj, 2) for obj in (TORCH_LEGACY_MAGIC, 1001, sys_info, Persistent(pid), [pid[2]]))
    return header + flat.size.to_bytes(8, "little") + data


def torch_tensor(value, parameter=True, storage_layout="legacy"):
    """`_rebuild_parameter(_rebuild_tensor_v2(_load_from_bytes(...), offset, size, stride, ...), ...)`."""
    if isinstance(value, TensorView):
        storage, offset, shape, stride = value.storage, value.offset, tuple(value.shape), tuple(value.stride)
    else:
        storage, offset, shape = np.asarray(value), 0, np.shape(value)
        stride = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))  # C order, in elements
    empty_hooks = Call(Global("collections", "OrderedDict"))
    load = Call(Global("torch.storage", "_load_from_bytes"), (torch_storage_bytes(storage, storage_layout),))
    tensor = Call(Global("torch._utils", "_rebuild_tensor_v2"), (load, offset, shape, stride, False, empty_hooks))
    if not parameter:
        return tensor
    hooks = Call(Global("collections", "OrderedDict"))
    return Call(Global("torch._utils", "_rebuild_parameter"), (tensor, True, hooks))


def _kwarg(value):  # nested dicts become dnnlib.util.EasyDict, NumPy scalars numpy's scalar pickles
    if isinstance(value, dict):
        return Call(Global("dnnlib.util", "EasyDict"), (), items={k: _kwarg(v) for k, v in value.items()}, newobj=True)
    return numpy_value(value) if isinstance(value, np.generic) else value


def _ordered(items):
    return Call(Global("collections", "OrderedDict"), (), items=items)


def persistent_module(class_name, tensors, init_kwargs=None, module_classes=None, buffers=None,
                      module_src=PLACEHOLDER_SRC, storage_layout="legacy", attributes=None, prefix=""):
    """A module as `torch_utils.persistence` pickles it, from {dotted name: array} under `prefix`.

    `attributes` are extra entries of the root module's state (like NVIDIA's `z_dim`, `act_gain`).
    """
    buffers = {n for n in tensors if n.rsplit(".", 1)[-1] in TORCH_BUFFER_NAMES} if buffers is None else set(buffers)
    own, children = {}, {}
    for name, value in tensors.items():
        head, _, rest = name.partition(".")
        if rest:
            children.setdefault(head, {})[rest] = value
        else:
            own[head] = value
    parameters = {k: torch_tensor(v, True, storage_layout) for k, v in own.items() if prefix + k not in buffers}
    own_buffers = {k: torch_tensor(v, False, storage_layout) for k, v in own.items() if prefix + k in buffers}
    modules = {
        name: persistent_module((module_classes or {}).get(prefix + name, "Module"), sub, None, module_classes,
                                buffers, module_src, storage_layout, None, f"{prefix}{name}.")
        for name, sub in children.items()
    }
    state = {"training": False, "_parameters": _ordered(parameters), "_buffers": _ordered(own_buffers),
             "_non_persistent_buffers_set": set()}
    for hooks in ("_backward_hooks", "_forward_hooks", "_forward_pre_hooks", "_state_dict_hooks",
                  "_load_state_dict_pre_hooks"):
        state[hooks] = _ordered({})
    state["_modules"] = _ordered(modules)
    state["_init_args"] = ()
    state["_init_kwargs"] = {k: _kwarg(v) for k, v in (init_kwargs or {}).items()}
    state.update((k, _kwarg(v)) for k, v in (attributes or {}).items())
    meta = {"type": "class", "version": 6, "module_src": module_src, "class_name": class_name, "state": state}
    return Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))


def write_pytorch_pickle(path, networks, extra=None, protocol=4, storage_layout="legacy"):
    """Writes a stylegan2-ada-pytorch snapshot dict: `extra` entries and the persistent modules.

    Args:
        path: file to write.
        networks: {"G": mod, "D": mod, "G_ema": mod} (any subset); mod = {"class_name", "init_kwargs",
            "state_dict": {dotted name: ndarray or TensorView}, optional "buffers" (names; default: names
            ending in noise_const / w_avg / resample_filter), "module_classes" ({dotted prefix: class name}),
            "module_src", "attributes" (extra root-module state)}.
        extra: other top-level entries (plain data), e.g. {"training_set_kwargs": {...}, "augment_pipe": None}.
        protocol: pickle protocol.
        storage_layout: "legacy" (what torch writes inside pickles) or "zip".

    Example:
    >>> mod = {"class_name": "Generator", "init_kwargs": {"z_dim": 4}, "state_dict": {"fc.weight": np.ones((2, 4))}}
    >>> write_pytorch_pickle("/tmp/g.ada.pkl", {"G_ema": mod})
    '/tmp/g.ada.pkl'
    """
    snapshot = dict(extra or {})
    for key, mod in networks.items():
        snapshot[key] = persistent_module(
            mod["class_name"], mod["state_dict"], mod.get("init_kwargs"), mod.get("module_classes"),
            mod.get("buffers"), mod.get("module_src", PLACEHOLDER_SRC), storage_layout, mod.get("attributes"),
        )
    with open(path, "wb") as file:
        file.write(dumps(snapshot, protocol))
    return path
