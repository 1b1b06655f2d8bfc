"""The safe reader of NVIDIA's official pickles, on small pickles written in both official formats."""
import io
import pickle
import zipfile

import numpy as np
import pytest

from keras_stylegan.zoo.pickles import (
    OfficialPickleFormatError,
    UnsafePickleError,
    flatten_tf_network,
    load_official_pickle,
)
from official_pickles import (
    Call,
    Global,
    Persistent,
    TORCH_LEGACY_MAGIC,
    TensorView,
    dumps,
    persistent_module,
    tf1_network,
    torch_storage_bytes,
    torch_tensor,
    write_pytorch_pickle,
    write_tf1_pickle,
)


def _tf1_generator_spec(name, rng, scalar_dtype=np.float32):
    mapping = {"name": "G_mapping", "build_func_name": "G_mapping", "static_kwargs": {"mapping_layers": 2},
               "variables": {"Dense0/weight": rng.standard_normal((4, 4)).astype("float32"),
                             "Dense0/bias": rng.standard_normal(4).astype("float32")}}
    synthesis = {"name": "G_synthesis", "build_func_name": "G_synthesis", "static_kwargs": {"resolution": 8},
                 "variables": {"noise0": rng.standard_normal((1, 1, 4, 4)).astype("float32"),
                               "4x4/Conv/weight": rng.standard_normal((3, 3, 2, 2)).astype("float32"),
                               "4x4/Conv/noise_strength": np.zeros((), "float32")}}
    return {"name": name, "build_func_name": "G_main", "static_kwargs": {"resolution": 8, "conv_clamp": None},
            "variables": {"lod": scalar_dtype(0), "dlatent_avg": rng.standard_normal(4).astype("float32")},
            "components": {"mapping": mapping, "synthesis": synthesis}}


def _tf1_networks(rng):
    discriminator = {"name": "D", "build_func_name": "D_basic", "static_kwargs": {"resolution": 8},
                     "variables": {"8x8/Conv0/weight": rng.standard_normal((3, 3, 3, 2)).astype("float32"),
                                   "Output/bias": np.arange(1, dtype="float64")}}
    return {"G": _tf1_generator_spec("G", rng), "D": discriminator, "Gs": _tf1_generator_spec("Gs", rng)}


def _assert_tf_network_equal(loaded, spec, version):
    assert loaded["name"] == spec["name"] and loaded["version"] == version
    assert loaded["build_func_name"] == spec["build_func_name"]
    assert loaded["static_kwargs"] == spec["static_kwargs"]
    assert list(loaded["variables"]) == list(spec["variables"])
    for name, value in spec["variables"].items():
        array = loaded["variables"][name]
        assert isinstance(array, np.ndarray) and array.shape == np.shape(value)
        assert array.dtype == np.asarray(value).dtype
        np.testing.assert_array_equal(array, value)
    assert set(loaded["components"]) == set(spec.get("components", {}))
    for key, component in spec.get("components", {}).items():
        _assert_tf_network_equal(loaded["components"][key], component, version)


@pytest.mark.parametrize(
    "version, protocol, numpy_module",
    [(3, 4, "numpy.core.multiarray"), (4, 3, "numpy.core.multiarray"), (5, 3, "numpy._core.multiarray"),
     (5, 2, "numpy.core.multiarray")],  # protocol 2 stores bytes through _codecs.encode
)
def test_tf1_round_trip(tmp_path, version, protocol, numpy_module):
    networks = _tf1_networks(np.random.default_rng(version))
    path = write_tf1_pickle(tmp_path / "net.pkl", networks, version, protocol, numpy_module)
    data = load_official_pickle(path)
    assert data["format"] == "tf1" and list(data["networks"]) == ["G", "D", "Gs"]
    for key, spec in networks.items():
        _assert_tf_network_equal(data["networks"][key], spec, version)
    flat = flatten_tf_network(data["networks"]["Gs"])
    assert list(flat) == ["lod", "dlatent_avg", "mapping/Dense0/weight", "mapping/Dense0/bias", "synthesis/noise0",
                          "synthesis/4x4/Conv/weight", "synthesis/4x4/Conv/noise_strength"]
    mapping_variables = networks["Gs"]["components"]["mapping"]["variables"]
    np.testing.assert_array_equal(flat["mapping/Dense0/weight"], mapping_variables["Dense0/weight"])


def test_tf1_version_2_has_no_components(tmp_path):
    spec = {"name": "G", "build_func_name": "G_paper", "variables": {"lod": np.float32(1.5)}}
    data = load_official_pickle(write_tf1_pickle(tmp_path / "pgan.pkl", {"G": spec, "D": spec, "Gs": spec}, version=2))
    assert data["networks"]["Gs"]["components"] == {} and data["networks"]["Gs"]["version"] == 2
    assert data["networks"]["Gs"]["variables"]["lod"].shape == () and data["networks"]["Gs"]["variables"]["lod"] == 1.5


def _torch_networks(rng):
    def generator():
        return {
            "class_name": "Generator",
            "init_kwargs": {"z_dim": 4, "w_dim": 4, "mapping_kwargs": {"num_layers": 1},
                            "synthesis_kwargs": {"channel_base": 16, "lr": np.float64(0.01)}},
            "state_dict": {
                "synthesis.b4.const": rng.standard_normal((2, 4, 4)).astype("float32"),
                "synthesis.b4.resample_filter": np.full((4, 4), 1 / 16, "float32"),  # a buffer, listed first
                "synthesis.b4.conv1.weight": rng.standard_normal((2, 2, 3, 3)).astype("float16"),
                "synthesis.b4.conv1.noise_strength": np.zeros((), "float32"),
                "synthesis.b4.conv1.noise_const": rng.standard_normal((4, 4)).astype("float32"),
                "mapping.fc0.weight": rng.standard_normal((4, 4)).astype("float32"),
                "mapping.w_avg": rng.standard_normal(4).astype("float32"),
                "mapping.num_steps": np.array([7], "int64"),
            },
            "buffers": ["synthesis.b4.resample_filter", "synthesis.b4.conv1.noise_const", "mapping.w_avg",
                        "mapping.num_steps"],
            "attributes": {"z_dim": 4, "act_gain": np.float64(1.4142135623730951)},
        }

    discriminator = {"class_name": "Discriminator", "init_kwargs": {"c_dim": 0, "epilogue_kwargs": {}},
                     "state_dict": {"b4.out.weight": rng.standard_normal((1, 8)).astype("float32"),
                                    "b4.out.bias": np.zeros(1, "float32")}}
    return {"G": generator(), "D": discriminator, "G_ema": generator()}


@pytest.mark.parametrize("storage_layout, protocol", [("legacy", 4), ("legacy", 3), ("zip", 4)])
def test_pytorch_round_trip(tmp_path, storage_layout, protocol):
    networks = _torch_networks(np.random.default_rng(0))
    extra = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "resolution": 4},
             "augment_pipe": None}
    path = write_pytorch_pickle(tmp_path / "net.pkl", networks, extra, protocol, storage_layout)
    data = load_official_pickle(str(path))
    assert data["format"] == "pytorch" and list(data["networks"]) == ["G", "D", "G_ema"]
    assert data["extra"] == extra
    for key, spec in networks.items():
        module = data["networks"][key]
        assert module["class_name"] == spec["class_name"]
        assert set(module["state_dict"]) == set(spec["state_dict"])
        for name, value in spec["state_dict"].items():
            array = module["state_dict"][name]
            assert array.dtype == value.dtype and array.shape == value.shape and array.flags.c_contiguous
            np.testing.assert_array_equal(array, value)
    generator = data["networks"]["G_ema"]
    assert generator["init_kwargs"] == {"z_dim": 4, "w_dim": 4, "mapping_kwargs": {"num_layers": 1},
                                        "synthesis_kwargs": {"channel_base": 16, "lr": 0.01}}
    assert type(generator["init_kwargs"]["synthesis_kwargs"]) is dict
    # torch's state_dict() order: a module's parameters, then its buffers, then its submodules.
    assert list(generator["state_dict"]) == [
        "synthesis.b4.const", "synthesis.b4.resample_filter", "synthesis.b4.conv1.weight",
        "synthesis.b4.conv1.noise_strength", "synthesis.b4.conv1.noise_const",
        "mapping.w_avg", "mapping.num_steps", "mapping.fc0.weight",
    ]


def test_pytorch_tensor_honours_offset_and_stride(tmp_path):
    storage = np.arange(30, dtype="float32")
    view = TensorView(storage, offset=3, shape=(2, 3, 4), stride=(1, 8, 2))
    mod = {"class_name": "M", "init_kwargs": {}, "state_dict": {"x": view, "y": TensorView(storage, 29, (2,), (0,))}}
    data = load_official_pickle(write_pytorch_pickle(tmp_path / "s.pkl", {"G": mod}))
    state_dict = data["networks"]["G"]["state_dict"]
    expected = np.empty((2, 3, 4), "float32")
    for i in range(2):
        for j in range(3):
            for k in range(4):
                expected[i, j, k] = storage[3 + i + 8 * j + 2 * k]
    np.testing.assert_array_equal(state_dict["x"], expected)
    np.testing.assert_array_equal(state_dict["y"], [29, 29])
    assert state_dict["x"].flags.c_contiguous and state_dict["x"].flags.writeable


def test_pytorch_tensor_reading_past_its_storage_is_refused(tmp_path):
    mod = {"class_name": "M", "init_kwargs": {}, "state_dict": {"x": TensorView(np.zeros(4, "float32"), 2, (3,), (1,))}}
    with pytest.raises(OfficialPickleFormatError, match="storage"):
        load_official_pickle(write_pytorch_pickle(tmp_path / "oob.pkl", {"G": mod}))


def test_torch_save_zip_snapshot(tmp_path):
    # A snapshot saved with torch.save (zip layout): tensors name their storage by persistent id -> data/<key>.
    storage = Persistent(("storage", Global("torch", "DoubleStorage"), "7", "cpu", 6))
    tensor = Call(Global("torch._utils", "_rebuild_tensor_v2"), (storage, 1, (2, 2), (1, 2), False, None))
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "Generator",
            "state": {"_parameters": {"w": tensor}, "_buffers": {}, "_modules": {}, "_init_kwargs": {"z_dim": 2}}}
    path = tmp_path / "snapshot.pt"
    with zipfile.ZipFile(path, "w") as archive:
        module = Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))
        archive.writestr("snapshot/data.pkl", dumps({"G_ema": module}, 2))
        archive.writestr("snapshot/data/7", np.arange(6, dtype="<f8").tobytes())
    generator = load_official_pickle(path)["networks"]["G_ema"]
    assert generator["init_kwargs"] == {"z_dim": 2}
    np.testing.assert_array_equal(generator["state_dict"]["w"], [[1.0, 3.0], [2.0, 4.0]])
    assert generator["state_dict"]["w"].dtype == np.float64


def test_bfloat16_storage_widens_to_float32(tmp_path):
    bits = np.array([0x3F80, 0xC020, 0x0000], "uint16")  # the top halves of float32 1.0, -2.5, 0.0
    storage_bytes = torch_storage_bytes(bits, storage_name="BFloat16Storage")
    load = Call(Global("torch.storage", "_load_from_bytes"), (storage_bytes,))
    tensor = Call(Global("torch._utils", "_rebuild_tensor_v2"), (load, 0, (3,), (1,), False, None))
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "M",
            "state": {"_parameters": {"w": tensor}, "_buffers": {}, "_modules": {}}}
    path = tmp_path / "bf16.pkl"
    path.write_bytes(dumps({"G": Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))}))
    weight = load_official_pickle(path)["networks"]["G"]["state_dict"]["w"]
    assert weight.dtype == np.float32
    np.testing.assert_array_equal(weight, [1.0, -2.5, 0.0])


def test_reads_binary_file_objects(tmp_path):
    networks = _tf1_networks(np.random.default_rng(1))
    raw = open(write_tf1_pickle(tmp_path / "net.pkl", networks), "rb").read()
    data = load_official_pickle(io.BytesIO(raw))
    np.testing.assert_array_equal(data["networks"]["D"]["variables"]["8x8/Conv0/weight"],
                                  networks["D"]["variables"]["8x8/Conv0/weight"])
    with open(tmp_path / "net.pkl", "rb") as file:
        assert load_official_pickle(file)["networks"]["Gs"]["name"] == "Gs"


# ---------------------------------------------------------------------------------------------
# Security: nothing from the file runs.


def _shell_marker_payload(marker):
    return Call(Global("os", "system"), (f"touch {marker}",))


def test_reduce_of_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(dumps(_shell_marker_payload(marker), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"refusing to load global 'os\.system' from model\.pkl: not in"):
        load_official_pickle(path)
    assert not marker.exists()
    assert issubclass(UnsafePickleError, pickle.UnpicklingError)


def test_exec_hidden_in_a_tf1_network_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    spec = {"name": "G", "build_func_name": "G_main", "variables": {},
            "static_kwargs": {"x": Call(Global("builtins", "exec"), (f"open({str(marker)!r}, 'w').write('x')",))}}
    path = write_tf1_pickle(tmp_path / "evil.pkl", {"G": spec, "D": spec, "Gs": spec})
    with pytest.raises(UnsafePickleError, match=r"'builtins\.exec' from evil\.pkl"):
        load_official_pickle(path)
    assert not marker.exists()


def test_code_inside_a_torch_storage_archive_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    inner = b"".join(dumps(obj, 2) for obj in (TORCH_LEGACY_MAGIC, 1001, {"little_endian": True},
                                                _shell_marker_payload(marker)))
    tensor = Call(Global("torch._utils", "_rebuild_tensor_v2"),
                  (Call(Global("torch.storage", "_load_from_bytes"), (inner,)), 0, (1,), (1,), False, None))
    path = tmp_path / "evil.ada.pkl"
    path.write_bytes(dumps({"G": tensor}))
    with pytest.raises(UnsafePickleError, match=r"'os\.system' from evil\.ada\.pkl \(inside a torch storage\)"):
        load_official_pickle(path)
    assert not marker.exists()


def test_embedded_source_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    source = f"open({str(marker)!r}, 'w').write('ran')\n"
    mod = {"class_name": "Generator", "init_kwargs": {}, "module_src": source,
           "state_dict": {"fc.weight": np.ones((2, 2), "float32")}}
    data = load_official_pickle(write_pytorch_pickle(tmp_path / "src.ada.pkl", {"G_ema": mod}))
    np.testing.assert_array_equal(data["networks"]["G_ema"]["state_dict"]["fc.weight"], np.ones((2, 2)))
    spec = {"name": "G", "build_func_name": "G_main", "build_module_src": source, "variables": {}}
    data = load_official_pickle(write_tf1_pickle(tmp_path / "src.pkl", {"G": spec, "D": spec, "Gs": spec}))
    assert data["networks"]["G"]["build_func_name"] == "G_main"
    assert not marker.exists()


@pytest.mark.parametrize("module, name", [("torch_utils.persistence", "_reconstruct_persistent_obj"),
                                          ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage")])
def test_build_cannot_alter_allowed_globals(tmp_path, module, name):
    # GLOBAL, then BUILD with slot state {"__init__": set}: pickle would setattr() it onto the global.
    evil = tmp_path / "evil.pkl"
    build = b"N}X\x08\x00\x00\x00__init__cbuiltins\nset\ns\x86b."  # NONE, {"__init__": set}, TUPLE2, BUILD
    evil.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + build)
    with pytest.raises((UnsafePickleError, OfficialPickleFormatError)):
        load_official_pickle(evil)
    mod = {"class_name": "Generator", "init_kwargs": {}, "state_dict": {"fc.weight": np.ones(3, "float32")}}
    data = load_official_pickle(write_pytorch_pickle(tmp_path / "ok.pkl", {"G": mod}))  # later loads unaffected
    np.testing.assert_array_equal(data["networks"]["G"]["state_dict"]["fc.weight"], np.ones(3))


def _storage_swapped_for_2d_tensor():
    tensor = torch_tensor(np.zeros((4, 4), "float32"), parameter=False)
    load = Global("torch.storage", "_load_from_bytes")
    return Call(load, (torch_storage_bytes(np.zeros(2, "float32")),), state=(None, {"data": tensor}))


@pytest.mark.parametrize(
    "obj, message",
    [
        (Call(Global("numpy", "dtype"), ("O8", False, True)), "unsupported array dtype"),
        (Call(Global("numpy.core.multiarray", "_reconstruct"), (Global("dnnlib.util", "EasyDict"), (0,), b"b")),
         "_reconstruct may only build numpy.ndarray"),
        (Persistent(("storage", Global("torch", "FloatStorage"), "0", "cpu", 1)), "unexpected persistent id"),
        (Call(Global("torch._utils", "_rebuild_tensor_v2"), (_storage_swapped_for_2d_tensor(), 1, (4,), (1,))),
         "cannot be given state"),  # swapping the data (rows as elements) would read past the buffer
    ],
)
def test_allowed_globals_cannot_be_misused(tmp_path, obj, message):
    path = tmp_path / "odd.pkl"
    path.write_bytes(dumps((obj,)))
    with pytest.raises(OfficialPickleFormatError, match=message):
        load_official_pickle(path)


# ---------------------------------------------------------------------------------------------
# Files that are not official pickles.


def test_non_pickle_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "notes.pkl"
    path.write_text("just some text\n")
    with pytest.raises(OfficialPickleFormatError, match=r"notes\.pkl is not a pickle file"):
        load_official_pickle(path)


def test_other_pickles_give_a_clear_error(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=4))
    with pytest.raises(OfficialPickleFormatError, match="not an official StyleGAN network pickle"):
        load_official_pickle(path)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(dumps((tf1_network({"name": "G", "build_func_name": "G", "variables": {}}),) * 3)[:-20])
    with pytest.raises(OfficialPickleFormatError, match=r"could not read truncated\.pkl"):
        load_official_pickle(truncated)



# ---------------------------------------------------------------------------------------------
# Bounded cost (issue 16): what a hostile pickle can make the reader allocate or walk. The worst
# cases run in a subprocess under a time and memory bound in tests/robustness/test_hostile_pickles.py.


def _module_pickle(path, tensors, extra=None):
    mod = {"class_name": "M", "init_kwargs": {}, "state_dict": tensors}
    return write_pytorch_pickle(path, {"G": mod}, extra)


def test_stride_zero_tensor_larger_than_its_storage_is_refused(tmp_path):
    path = _module_pickle(tmp_path / "s0.pkl", {"x": TensorView(np.zeros(4, "float32"), 0, (1000,), (0,))})
    with pytest.raises(OfficialPickleFormatError, match=r"1,000 elements but its storage holds 4 \(stride \(0,\)"):
        load_official_pickle(path)


def test_overlapping_tensor_is_read_only_within_its_storage_size(tmp_path):
    storage = np.arange(4, dtype="float32")
    path = _module_pickle(tmp_path / "ov.pkl", {"x": TensorView(storage, 0, (2, 2), (1, 1))})
    np.testing.assert_array_equal(load_official_pickle(path)["networks"]["G"]["state_dict"]["x"], [[0, 1], [1, 2]])
    path = _module_pickle(tmp_path / "ov6.pkl", {"x": TensorView(storage, 0, (3, 2), (1, 1))})  # in bounds, 6 > 4
    with pytest.raises(OfficialPickleFormatError, match="6 elements but its storage holds 4"):
        load_official_pickle(path)


def _nested(depth):
    value = ("leaf",)
    for _ in range(depth):
        value = (value, value)
    return value


def test_shared_tuples_are_converted_once(tmp_path):
    path = _module_pickle(tmp_path / "t.pkl", {"w": np.zeros(1, "float32")}, extra={"x": _nested(8)})
    x = load_official_pickle(path)["extra"]["x"]
    assert x == _nested(8)
    assert x[0] is x[1] and x[0][0] is x[0][1]  # walked once per tuple, not once per path


def test_tuples_that_unfold_past_the_limit_are_refused(tmp_path):
    # Python hashes a tuple by walking every path: 2**60 for 900 bytes of memoised tuples.
    data = b")\x940"  # EMPTY_TUPLE, MEMOIZE, POP; then t = (t, t) 13 times (8,192 parts unfolded)
    for i in range(13):
        data += b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86\x940"
    path = tmp_path / "key.pkl"
    path.write_bytes(b"\x80\x04}" + data + b"h\x0dNs.")  # ... used as a dict key
    with pytest.raises(OfficialPickleFormatError, match="builds a tuple of 8,191 nested parts"):
        load_official_pickle(path)


def test_a_submodule_shared_by_two_parents_is_refused(tmp_path):
    leaf = persistent_module("Leaf", {"w": np.ones(2, "float32")})
    root = persistent_module("Generator", {}, {"z_dim": 4})
    root.args[0]["state"]["_modules"].items.update(a=leaf, b=leaf)
    path = tmp_path / "shared.pkl"
    path.write_bytes(dumps({"G_ema": root}))
    with pytest.raises(OfficialPickleFormatError, match="module 'b' is also 'a'"):
        load_official_pickle(path)


def test_a_tf1_component_shared_twice_is_refused(tmp_path):
    spec = {"name": "G", "build_func_name": "G_main", "variables": {"x": np.ones(2, "float32")}}
    shared = tf1_network(spec)
    root = tf1_network(spec)
    root.state["components"] = {"mapping": shared, "synthesis": shared}
    path = tmp_path / "shared_tf.pkl"
    path.write_bytes(dumps((root, tf1_network(spec), tf1_network(spec))))
    with pytest.raises(OfficialPickleFormatError, match="'network/synthesis' is also 'network/mapping'"):
        load_official_pickle(path)


def _zip_with_storage_named(times, path):
    tensors = {f"w{i}": Call(Global("torch._utils", "_rebuild_tensor_v2"),
                             (Persistent(("storage", Global("torch", "FloatStorage"), "7", "cpu", 4)), 0, (4,), (1,)))
               for i in range(times)}
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "Generator",
            "state": {"_parameters": tensors, "_buffers": {}, "_modules": {}, "_init_kwargs": {}}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("snapshot/data.pkl", dumps({"G_ema": Call(
            Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))}, 4))
        archive.writestr("snapshot/data/7", np.arange(4, dtype="<f4").tobytes())
    return path


def test_a_zip_storage_named_by_many_tensors_is_read_once(tmp_path, monkeypatch):
    path = _zip_with_storage_named(5, tmp_path / "z.pt")
    opened = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(
        getattr(name, "filename", name)) or original(self, name, *a, **k))
    state_dict = load_official_pickle(path)["networks"]["G_ema"]["state_dict"]
    assert sorted(state_dict) == [f"w{i}" for i in range(5)]
    np.testing.assert_array_equal(state_dict["w4"], [0, 1, 2, 3])
    assert opened.count("snapshot/data/7") == 1


def test_a_storage_payload_named_twice_is_read_once(tmp_path, monkeypatch):
    import keras_stylegan.zoo.pickles as pickles

    reads = []
    original = pickles._read_torch_archive
    monkeypatch.setattr(pickles, "_read_torch_archive", lambda *args: reads.append(1) or original(*args))
    load = Call(Global("torch.storage", "_load_from_bytes"), (torch_storage_bytes(np.arange(3, dtype="float32")),))
    tensors = {name: Call(Global("torch._utils", "_rebuild_tensor_v2"), (Call(load.func, load.args), 0, (3,), (1,)))
               for name in ("a", "b")}  # two calls, one memoised bytes payload
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "M",
            "state": {"_parameters": tensors, "_buffers": {}, "_modules": {}}}
    path = tmp_path / "twice.pkl"
    path.write_bytes(dumps({"G": Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))}))
    state_dict = load_official_pickle(path)["networks"]["G"]["state_dict"]
    np.testing.assert_array_equal(state_dict["b"], [0, 1, 2])
    assert len(reads) == 1


def test_arrays_are_bounded_by_the_file_size(tmp_path, monkeypatch):
    import keras_stylegan.zoo.pickles as pickles

    load = Call(Global("torch.storage", "_load_from_bytes"), (torch_storage_bytes(np.zeros(4096, "float32")),))
    tensors = {f"w{i}": Call(Global("torch._utils", "_rebuild_tensor_v2"), (load, 0, (4096,), (1,)))
               for i in range(8)}  # one 16 KB storage, copied by 8 tensors: 144 KB of arrays from a 17 KB file
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "M",
            "state": {"_parameters": tensors, "_buffers": {}, "_modules": {}}}
    path = tmp_path / "copies.pkl"
    path.write_bytes(dumps({"G": Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))}))
    assert len(load_official_pickle(path)["networks"]["G"]["state_dict"]) == 8  # within 4x + 8 MiB
    monkeypatch.setattr(pickles, "SMALL_FILE_ALLOWANCE", 0)
    with pytest.raises(OfficialPickleFormatError, match=r"copies\.pkl asks for more than [\d,]+ bytes of arrays"):
        load_official_pickle(path)


def _patched_zip(path, flags=None, method=None, garbage=False):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("snapshot/data.pkl", dumps({"G_ema": None}, 4))
    data = bytearray(path.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    if flags is not None:
        data[local + 6:local + 8] = data[central + 8:central + 10] = flags.to_bytes(2, "little")
    if method is not None:
        data[local + 8:local + 10] = data[central + 10:central + 12] = method.to_bytes(2, "little")
    if garbage:
        start = local + 30 + len("snapshot/data.pkl")
        data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("change, message", [
    (dict(flags=1), "zip member 'snapshot/data.pkl' is encrypted"),
    (dict(method=99), "compression method 99"),
    (dict(method=zipfile.ZIP_BZIP2), "compression method 12"),
    (dict(garbage=True), r"could not read z\.pt as an official pickle: error: Error -3"),
])
def test_odd_zip_members_are_refused(tmp_path, change, message):
    with pytest.raises(OfficialPickleFormatError, match=message):
        load_official_pickle(_patched_zip(tmp_path / "z.pt", **change))


def _tensor_pickle(path, offset, size, stride):
    load = Call(Global("torch.storage", "_load_from_bytes"), (torch_storage_bytes(np.zeros(2, "float32")),))
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "M", "state": {
        "_parameters": {"w": Call(Global("torch._utils", "_rebuild_tensor_v2"), (load, offset, size, stride))},
        "_buffers": {}, "_modules": {}}}
    path.write_bytes(dumps({"G": Call(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))}))
    return path


@pytest.mark.parametrize("offset, size, stride, message", [
    (float("inf"), (1,), (1,), "a tensor offset must be an integer. Received: inf"),
    (0, (10**30, 0), (1, 1), r"a tensor size must be in \[0, 2\*\*48\]"),
    (0, (1,), (-1,), r"a tensor stride must be in"),
    (1.5, (1,), (1,), "a tensor offset must be an integer"),
])
def test_huge_or_odd_numbers_in_a_tensor_layout_are_refused(tmp_path, offset, size, stride, message):
    with pytest.raises(OfficialPickleFormatError, match=message):
        load_official_pickle(_tensor_pickle(tmp_path / "n.pkl", offset, size, stride))


@pytest.mark.parametrize("data", [b"\x80\x04\x8e" + (2**63 - 1).to_bytes(8, "little") + b".",  # BINBYTES8
                                  b"\x80\x04\x95" + (2**62).to_bytes(8, "little") + b"N.",  # FRAME
                                  b"\x80\x02L" + b"9" * 100000 + b"L\n."])  # LONG of 100,000 digits
def test_huge_lengths_and_numbers_in_opcodes_are_refused(tmp_path, data):
    path = tmp_path / "huge.pkl"
    path.write_bytes(data)
    with pytest.raises(OfficialPickleFormatError, match=r"could not read huge\.pkl as an official pickle"):
        load_official_pickle(path)
