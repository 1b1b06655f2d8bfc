"""Conversion of official-format pickles, built here from our own random networks.

Our weights are exported under NVIDIA's names and layouts, written as NVIDIA's pickles
(PyTorch and TF1 formats, by `official_pickles`), read back by the safe reader and
converted: the converted networks must compute exactly what the originals compute.
(Agreement with NVIDIA's own code is shown by `benchmarks/parity.py` on official fixtures.)
"""
import re

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan import Discriminator, Generator
from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import load
from keras_stylegan.zoo.convert import ConversionError, convert_pickle, export_weights
from official_pickles import write_pytorch_pickle, write_tf1_pickle


def randomize(model, seed):
    rng = np.random.RandomState(seed)
    for v in model.weights:
        if "seed_generator" not in v.path and "lod" not in v.path:
            v.assign(np.asarray(rng.randn(*v.shape), "float32") * 0.5)


def outputs(g, d, z):
    images = np.asarray(g(z, psi=0.7, noise_mode="const"))
    return images, np.asarray(d(images))


def stylegan2_pair(conv_clamp=None):
    g = Generator(resolution=16, channels=4, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2,
                  conv_clamp=conv_clamp)
    d = Discriminator(resolution=16, channels=4, channel_base=64, channel_max=8, mbstd_group_size=2,
                      conv_clamp=conv_clamp)
    randomize(g, 1)
    randomize(d, 2)
    return g, d


def test_pytorch_pickle_round_trip(tmp_path):
    g, d = stylegan2_pair(conv_clamp=256)
    g_kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=4, mapping_kwargs=dict(num_layers=2),
                    synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=2, conv_clamp=256))
    d_kwargs = dict(c_dim=0, img_resolution=16, img_channels=4, architecture="resnet", channel_base=64, channel_max=8,
                    num_fp16_res=2, conv_clamp=256, epilogue_kwargs=dict(mbstd_group_size=2))
    g_state, d_state = export_weights(g), export_weights(d)
    assert g_state["synthesis.b8.conv0.weight"].shape == (8, 8, 3, 3)  # NVIDIA's OIHW layout
    nets = {"G": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=g_state),
            "D": dict(class_name="Discriminator", init_kwargs=d_kwargs, state_dict=d_state),
            "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=g_state)}
    write_pytorch_pickle(tmp_path / "net.pkl", nets)
    out = convert_pickle(tmp_path / "net.pkl")
    z = np.random.RandomState(0).randn(2, 8).astype("float32")
    for got, want in zip(outputs(out["generator"], out["discriminator"], z), outputs(g, d, z)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert any("float16" in note for note in out["metadata"]["notes"])
    # A missing array is an error naming it, never a silently random weight.
    del g_state["synthesis.b16.torgb.bias"]
    write_pytorch_pickle(tmp_path / "broken.pkl", {"G_ema": nets["G_ema"]})
    with pytest.raises(ConversionError, match="synthesis.b16.torgb.bias"):
        convert_pickle(tmp_path / "broken.pkl")


# ---------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch names -> TF1 StyleGAN2 names and layouts: the inverse of NVIDIA's legacy.py,
# written here (not in the library) so the library's TF1 tables are checked against it.


def _tf_conv(w, flip=False):  # [O, I, kh, kw] -> [kh, kw, I, O]; legacy.py flips Conv0_up and G's Skip
    w = np.transpose(w, (2, 3, 1, 0))
    return np.ascontiguousarray(w[::-1, ::-1] if flip else w)


def torch_to_tf_stylegan2_generator(state):
    """A PyTorch G state dict -> `(Gs own variables, mapping variables, synthesis variables)`."""
    own, mapping, synthesis = {}, {}, {}
    for name, value in state.items():
        value = np.asarray(value, "float32")
        if name == "mapping.w_avg":
            own["dlatent_avg"] = value
        elif m := re.fullmatch(r"mapping\.(fc(\d+)|embed)\.(weight|bias)", name):
            scope = "LabelEmbed" if m[1] == "embed" else f"Dense{m[2]}"
            mapping[f"{scope}/{m[3]}"] = value.T if m[3] == "weight" else value
        elif name == "synthesis.b4.const":
            synthesis["4x4/Const/const"] = value[None]
        elif m := re.fullmatch(r"synthesis\.b(\d+)\.(conv0|conv1|torgb|skip)\.(.+)", name):
            res, layer, field = int(m[1]), m[2], m[3]
            scope = f"{res}x{res}/" + {"conv0": "Conv0_up", "conv1": "Conv" if res == 4 else "Conv1",
                                      "torgb": "ToRGB", "skip": "Skip"}[layer]
            if field == "weight":
                synthesis[f"{scope}/weight"] = _tf_conv(value, flip=layer in ("conv0", "skip"))
            elif field == "affine.weight":
                synthesis[f"{scope}/mod_weight"] = value.T
            elif field == "affine.bias":
                synthesis[f"{scope}/mod_bias"] = value - 1  # TF adds the 1 at run time
            elif field == "noise_const":  # noise{k}: layer k of the synthesis network, 4x4 first
                k = 0 if res == 4 else 2 * int(np.log2(res)) - (5 if layer == "conv0" else 4)
                synthesis[f"noise{k}"] = value[None, None]
            else:
                synthesis[f"{scope}/{field}"] = value
        else:
            raise KeyError(name)
    return own, mapping, synthesis


def torch_to_tf_stylegan2_discriminator(state):
    """A PyTorch D state dict -> flat TF1 `D_main` variables."""
    tf_names = {"fromrgb": "FromRGB", "conv0": "Conv0", "conv1": "Conv1_down", "skip": "Skip", "conv": "Conv",
                "fc": "Dense0"}
    out = {}
    for name, value in state.items():
        value = np.asarray(value, "float32")
        m = re.fullmatch(r"(b(\d+)\.(\w+)|mapping\.(embed|fc\d+))\.(weight|bias)", name)
        if m[2] and m[3] == "out":
            scope = "Output"
        elif m[2]:
            scope = f"{m[2]}x{m[2]}/{tf_names[m[3]]}"
        else:
            scope = "LabelEmbed" if m[4] == "embed" else f"Mapping{m[4][2:]}"
        if m[5] == "weight":
            value = _tf_conv(value) if value.ndim == 4 else value.T
        out[f"{scope}/{m[5]}"] = value
    return out


def write_tf1_stylegan2(path, g, d, g_kwargs, d_kwargs, version):
    own, mapping, synthesis = torch_to_tf_stylegan2_generator(export_weights(g))
    gs = dict(name="Gs", build_func_name="G_main", static_kwargs=g_kwargs, variables=own,
              components={"mapping": dict(name="G_mapping", build_func_name="G_mapping", static_kwargs=g_kwargs,
                                          variables=mapping),
                          "synthesis": dict(name="G_synthesis", build_func_name="G_synthesis",
                                            static_kwargs=g_kwargs, variables=synthesis)})
    dnet = dict(name="D", build_func_name="D_main", static_kwargs=d_kwargs,
                variables=torch_to_tf_stylegan2_discriminator(export_weights(d)))
    return write_tf1_pickle(path, {"G": gs, "D": dnet, "Gs": gs}, version=version)


@pytest.mark.parametrize("g_arch, d_arch, clamp, version", [("skip", "resnet", 0.5, 5), ("orig", "orig", None, 4)])
def test_tf1_stylegan2_pickle_round_trip(tmp_path, g_arch, d_arch, clamp, version):
    g = Generator(resolution=16, channels=3, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2,
                  block_architecture=g_arch, conv_clamp=clamp)
    d = Discriminator(resolution=16, channels=3, channel_base=64, channel_max=8, mbstd_group_size=2,
                      block_architecture=d_arch, conv_clamp=clamp)
    randomize(g, 5)
    randomize(d, 6)
    common = dict(num_channels=3, resolution=16, label_size=0, fmap_base=32, fmap_max=8, architecture=g_arch,
                  conv_clamp=clamp)
    g_kwargs = dict(common, latent_size=8, dlatent_size=8, mapping_layers=2)
    d_kwargs = dict(common, architecture=d_arch, mbstd_group_size=2)
    path = write_tf1_stylegan2(tmp_path / "sg2.pkl", g, d, g_kwargs, d_kwargs, version)
    g2, d2 = load(str(path), discriminator=True)
    assert (g2.block_architecture, d2.block_architecture, g2.conv_clamp, d2.conv_clamp) == (
        g_arch, d_arch, clamp, clamp)
    z = np.random.RandomState(0).randn(4, 8).astype("float32")
    for got, want in zip(outputs(g2, d2, z), outputs(g, d, z)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def conditional_pair(mapping_layers, mapping_lr_multiplier=0.01):
    """A conditional G and a conditional 'orig' D (as NVIDIA's CIFAR-10), 3 classes."""
    g = Generator(resolution=8, channels=3, z_dim=8, w_dim=8, num_classes=3, channel_base=32, channel_max=8,
                  mapping_layers=2)
    d = Discriminator(resolution=8, channels=3, num_classes=3, block_architecture="orig", channel_base=32,
                      channel_max=8, mbstd_group_size=2, cmap_dim=6, mapping_layers=mapping_layers,
                      mapping_lr_multiplier=mapping_lr_multiplier)
    randomize(g, 7)
    randomize(d, 8)
    return g, d


def conditional_outputs(g, d):
    z = np.random.RandomState(1).randn(4, 8).astype("float32")
    labels = np.array([0, 2, 1, 2])
    images = np.asarray(g(z, labels=labels, psi=0.7, noise_mode="const"))
    return images, np.asarray(d(images, labels=labels))


def test_pytorch_pickle_conditional_d_with_label_only_mapping(tmp_path):
    g, d = conditional_pair(mapping_layers=0)
    g_kwargs = dict(z_dim=8, c_dim=3, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=2),
                    synthesis_kwargs=dict(channel_base=32, channel_max=8))
    d_kwargs = dict(c_dim=3, img_resolution=8, img_channels=3, architecture="orig", channel_base=32, channel_max=8,
                    cmap_dim=6, mapping_kwargs=dict(num_layers=0, lr_multiplier=0.1),
                    epilogue_kwargs=dict(mbstd_group_size=2))
    d_state = export_weights(d)
    # NVIDIA's D.mapping with num_layers=0: the class embedding only, no fc layers, no w_avg.
    assert sorted(k for k in d_state if k.startswith("mapping.")) == ["mapping.embed.bias", "mapping.embed.weight"]
    assert d_state["mapping.embed.weight"].shape == (6, 3)
    write_pytorch_pickle(tmp_path / "cond.pkl", {
        "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=export_weights(g)),
        "D": dict(class_name="Discriminator", init_kwargs=d_kwargs, state_dict=d_state)})
    g2, d2 = load(str(tmp_path / "cond.pkl"), discriminator=True)
    assert (d2.mapping_layers, d2.cmap_dim, d2.num_classes) == (0, 6, 3)
    for got, want in zip(conditional_outputs(g2, d2), conditional_outputs(g, d)):
        np.testing.assert_allclose(got, want, atol=1e-5)


# D_main's defaults: mapping_layers 0 (CIFAR-10) and, when there are mapping layers, mapping_lrmul 0.1.
@pytest.mark.parametrize("mapping_layers", [0, 1])
def test_tf1_pickle_conditional_d(tmp_path, mapping_layers):
    g, d = conditional_pair(mapping_layers, mapping_lr_multiplier=0.1)
    common = dict(num_channels=3, resolution=8, label_size=3, fmap_base=16, fmap_max=8)
    g_kwargs = dict(common, latent_size=8, dlatent_size=8, mapping_layers=2)
    d_kwargs = dict(common, architecture="orig", mbstd_group_size=2)
    if mapping_layers:
        d_kwargs.update(mapping_layers=mapping_layers)
    d_kwargs["mapping_fmaps"] = 6
    path = write_tf1_stylegan2(tmp_path / "cond_tf.pkl", g, d, g_kwargs, d_kwargs, version=5)
    out = convert_pickle(path)
    config = out["metadata"]["discriminator_config"]
    assert (config["num_classes"], config["cmap_dim"], config["mapping_layers"]) == (3, 6, mapping_layers)
    for got, want in zip(conditional_outputs(out["generator"], out["discriminator"]), conditional_outputs(g, d)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_tf1_stylegan_2019_pickle_round_trip(tmp_path):
    g = Generator(architecture="stylegan", resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8,
                  mapping_layers=2)
    d = Discriminator(architecture="stylegan", resolution=16, channel_base=64, channel_max=8, mbstd_group_size=2)
    randomize(g, 3)
    randomize(d, 4)
    flat = export_weights(g)

    def component(prefix):
        return {k[len(prefix) + 1:]: v for k, v in flat.items() if k.startswith(prefix + "/")}

    kwargs = dict(num_channels=3, resolution=16, fmap_base=32, fmap_max=8, latent_size=8, dlatent_size=8,
                  mapping_layers=2)
    gs = dict(name="Gs", build_func_name="G_style", static_kwargs=kwargs,
              variables={"dlatent_avg": flat["dlatent_avg"], "lod": np.float32(0)},
              components={"mapping": dict(name="G_mapping", build_func_name="G_mapping", static_kwargs=kwargs,
                                          variables=component("mapping")),
                          "synthesis": dict(name="G_synthesis", build_func_name="G_synthesis", static_kwargs=kwargs,
                                            variables=component("synthesis"))})
    dnet = dict(name="D", build_func_name="D_basic", static_kwargs=dict(mbstd_group_size=2),
                variables=export_weights(d))
    write_tf1_pickle(tmp_path / "sg1.pkl", {"G": gs, "D": dnet, "Gs": gs}, version=3)
    out = convert_pickle(tmp_path / "sg1.pkl")
    assert out["metadata"]["generator_config"]["architecture"] == "stylegan"
    z = np.random.RandomState(0).randn(2, 8).astype("float32")
    for got, want in zip(outputs(out["generator"], out["discriminator"], z), outputs(g, d, z)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_cli_convert_then_zoo_load(tmp_path):
    g, d = stylegan2_pair()
    g_kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=4, mapping_kwargs=dict(num_layers=2),
                    synthesis_kwargs=dict(channel_base=64, channel_max=8))
    d_kwargs = dict(c_dim=0, img_resolution=16, img_channels=4, channel_base=64, channel_max=8,
                    epilogue_kwargs=dict(mbstd_group_size=2))
    write_pytorch_pickle(tmp_path / "net.pkl", {
        "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=export_weights(g)),
        "D": dict(class_name="Discriminator", init_kwargs=d_kwargs, state_dict=export_weights(d))})
    result = CliRunner().invoke(cli, ["zoo", "convert", str(tmp_path / "net.pkl"), str(tmp_path / "preset")])
    assert result.exit_code == 0, result.output
    g2, d2 = load(str(tmp_path / "preset"), discriminator=True)
    z = np.random.RandomState(5).randn(4, 8).astype("float32")
    for got, want in zip(outputs(g2, d2, z), outputs(g, d, z)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    g3 = Generator.from_preset(str(tmp_path / "net.pkl"))  # a pickle path works too
    np.testing.assert_allclose(g3(z, noise_mode="const"), g(z, noise_mode="const"), atol=1e-5)


def test_cli_errors_are_one_line_exit_2(tmp_path):
    runner = CliRunner()
    (tmp_path / "notes.pkl").write_text("just text\n")
    for args in (["zoo", "info", "ffhk"], ["zoo", "convert", str(tmp_path / "missing.pkl"), str(tmp_path / "o")],
                 ["zoo", "convert", str(tmp_path / "notes.pkl"), str(tmp_path / "o")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_zoo_load_card_downloads_converts_and_caches(tmp_path, monkeypatch):
    """A card whose pickle is served by a local HTTP server: download, convert, cache, reuse."""
    import http.server
    import threading

    from keras_stylegan.zoo import ModelCard, register, unregister

    g, d = stylegan2_pair()
    g_kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=4, mapping_kwargs=dict(num_layers=2),
                    synthesis_kwargs=dict(channel_base=64, channel_max=8))
    write_pytorch_pickle(tmp_path / "net.pkl", {
        "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=export_weights(g))})
    payload = (tmp_path / "net.pkl").read_bytes()
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("KERAS_STYLEGAN_CACHE", str(tmp_path / "cache"))
    card = ModelCard(name="local-tiny", architecture="stylegan2", resolution="16x16", channels=4,
                     generator=dict(architecture="stylegan2", resolution=16, channels=4, z_dim=8, w_dim=8,
                                    channel_base=64, channel_max=8, mapping_layers=2),
                     urls=[f"http://127.0.0.1:{server.server_address[1]}/net.pkl"],
                     source_format="pytorch-pickle", license="test")
    register(card)
    try:
        z = np.random.RandomState(7).randn(2, 8).astype("float32")
        first = load("local-tiny", progress=False)
        second = load("local-tiny", progress=False)  # from the converted preset: no request
        for g2 in (first, second):
            np.testing.assert_allclose(g2(z, noise_mode="const"), g(z, noise_mode="const"), atol=1e-5)
        assert requests == ["/net.pkl"]
        assert (tmp_path / "cache" / "presets" / "local-tiny" / "config.json").exists()
    finally:
        unregister("local-tiny")
        server.shutdown()


# ---------------------------------------------------------------------------------------------
# Malformed settings (issue 16): refused with one clear error before any network is built.


def _tiny_g_kwargs(**changes):
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=4, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=64, channel_max=8))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        kwargs[section] = dict(kwargs[section], **{name: value}) if name else value
    return kwargs


@pytest.fixture
def forbid_building(monkeypatch):
    """Call it once the pickle is written: from then on, building a network fails the test."""
    import keras_stylegan.networks as networks

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from settings that should have been refused")

    def forbid():
        monkeypatch.setattr(networks, "Generator", refuse)
        monkeypatch.setattr(networks, "Discriminator", refuse)

    return forbid


@pytest.mark.parametrize("changes, message", [
    (dict(img_resolution=None), "G_ema init_kwargs has no img_resolution"),
    (dict(img_resolution="1024"), "img_resolution must be an integer from 4 to 16384. Received: '1024'"),
    (dict(img_resolution=float("inf")), "img_resolution must be an integer.*Received: inf"),
    (dict(img_resolution=10**400), "img_resolution must be an integer from 4 to 16384"),
    (dict(img_resolution=48), "img_resolution must be a power of two. Received: 48"),
    (dict(mapping_kwargs=5), "G_ema init_kwargs mapping_kwargs must be a dict. Received: 5"),
    (dict(mapping_kwargs__lr_multiplier=0), "lr_multiplier must be a finite number above 0.0. Received: 0"),
    (dict(mapping_kwargs__lr_multiplier=float("nan")), "lr_multiplier must be a finite number"),
    (dict(mapping_kwargs__num_layers=2**31), "num_layers must be an integer from 0 to 64. Received: 2147483648"),
    (dict(synthesis_kwargs__channel_max=2**20), "channel_max must be an integer from 1 to 65536"),
    (dict(synthesis_kwargs__channel_max=4096, synthesis_kwargs__channel_base=2**16),
     r"G_ema: its settings describe a network of at least [\d,]+ weights, but the pickle holds [\d,]+"),
    (dict(w_dim=-4), "w_dim must be an integer from 1 to 65536. Received: -4"),
    (dict(c_dim=True), "c_dim must be an integer"),
    (dict(synthesis_kwargs__architecture="exec"), "architecture must be one of 'orig', 'skip', 'resnet'"),
    (dict(synthesis_kwargs__conv_clamp=float("inf")), "conv_clamp must be a finite number"),
])
def test_malformed_init_kwargs_are_refused_before_building(tmp_path, forbid_building, changes, message):
    tensors = {"mapping.fc0.weight": np.zeros((8, 8), "float32")}  # refused before any tensor is looked up
    write_pytorch_pickle(tmp_path / "bad.pkl", {
        "G_ema": dict(class_name="Generator", init_kwargs=_tiny_g_kwargs(**changes), state_dict=tensors)})
    forbid_building()
    with pytest.raises(ConversionError, match=message):
        convert_pickle(tmp_path / "bad.pkl")


def test_init_kwargs_that_are_not_a_dict_are_refused(tmp_path, forbid_building):
    from official_pickles import dumps, persistent_module

    module = persistent_module("Generator", {"mapping.fc0.weight": np.zeros((8, 8), "float32")})
    module.args[0]["state"]["_init_kwargs"] = [1, 2]
    (tmp_path / "list.pkl").write_bytes(dumps({"G_ema": module}))
    forbid_building()
    with pytest.raises(ConversionError, match=r"G_ema init_kwargs must be a dict. Received: \[1, 2\]"):
        convert_pickle(tmp_path / "list.pkl")


def test_tf1_names_of_a_huge_resolution_are_refused_before_building(tmp_path, forbid_building):
    spec = {"name": "Gs", "build_func_name": "G_main", "static_kwargs": {}, "variables": {
        "mapping/Dense0/weight": np.zeros((4, 4), "float32"),
        "synthesis/8192x8192/Conv/weight": np.zeros((3, 3, 1, 1), "float32"),
        "synthesis/8192x8192/ToRGB/weight": np.zeros((1, 1, 1, 3), "float32")}}
    write_tf1_pickle(tmp_path / "huge.pkl", {"G": spec, "D": spec, "Gs": spec}, version=4)
    forbid_building()
    with pytest.raises(ConversionError, match=r"Gs: its settings describe a network of at least [\d,]+ weights, "
                                              "but the pickle holds 28"):
        convert_pickle(tmp_path / "huge.pkl", discriminator=False)


def test_malformed_settings_through_the_cli_are_one_line_exit_2(tmp_path):
    write_pytorch_pickle(tmp_path / "bad.pkl", {"G_ema": dict(
        class_name="Generator", init_kwargs=_tiny_g_kwargs(mapping_kwargs=5), state_dict={"w": np.zeros(1, "float32")})})
    result = CliRunner().invoke(cli, ["zoo", "convert", str(tmp_path / "bad.pkl"), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output == "Error: G_ema init_kwargs mapping_kwargs must be a dict. Received: 5\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("architecture", ["stylegan2", "stylegan"])
def test_minimum_weights_are_a_lower_bound(architecture):
    from keras_stylegan.zoo.convert import minimum_discriminator_weights, minimum_generator_weights

    common = dict(architecture=architecture, resolution=16, channels=3, num_classes=3, channel_base=64,
                  channel_max=8)
    g_config = dict(common, z_dim=8, w_dim=6, mapping_layers=2)
    d_config = dict(common, mbstd_group_size=2, mbstd_num_channels=1, cmap_dim=5, mapping_layers=1)
    if architecture == "stylegan":
        g_config["num_classes"] = d_config["num_classes"] = 0
    for config, build, minimum in ((g_config, Generator, minimum_generator_weights),
                                   (d_config, Discriminator, minimum_discriminator_weights)):
        loaded = sum(int(np.size(v)) for v in export_weights(build(**config)).values())
        assert 0.3 * loaded <= minimum(config) <= loaded, (build.__name__, minimum(config), loaded)


# ---------------------------------------------------------------------------------------------
# A bad .keras file given to zoo.load (and `--model`).


def _keras_file(tmp_path, **config_changes):
    import json
    import zipfile

    g = Generator(resolution=8, channels=3, z_dim=4, w_dim=4, channel_base=16, channel_max=4, mapping_layers=1)
    path = str(tmp_path / "g.keras")
    g.save(path)
    if not config_changes:
        return path, g
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"].update(config_changes)
    members["config.json"] = json.dumps(config).encode()
    bad = str(tmp_path / "bomb.keras")
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return bad, g


def test_a_keras_generator_file_loads(tmp_path):
    path, g = _keras_file(tmp_path)
    loaded = load(path)
    z = np.random.RandomState(0).randn(2, 4).astype("float32")
    np.testing.assert_allclose(loaded(z, noise_mode="const"), g(z, noise_mode="const"), atol=1e-6)


def test_bad_keras_files_are_one_clear_error(tmp_path, monkeypatch):
    import zipfile

    import keras

    text = tmp_path / "text.keras"
    text.write_text("not a zip\n")
    path, _ = _keras_file(tmp_path)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(open(path, "rb").read()[:2000])
    empty_zip = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("x", "y")
    other = tmp_path / "other.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(other)
    bomb, _ = _keras_file(tmp_path, channel_max=4096, channel_base=2**16)
    huge, _ = _keras_file(tmp_path, mapping_layers=2**31)
    cases = {str(text): r"text\.keras is not a valid \.keras file \(BadZipFile",
             str(truncated): r"truncated\.keras is not a valid \.keras file",
             str(empty_zip): r"empty\.keras is not a Keras model file: it has no config\.json or model\.weights\.h5",
             str(other): r"other\.keras holds a Sequential, not a keras_stylegan Generator",
             bomb: r"bomb\.keras: its settings describe at least [\d,]+ weights, but model\.weights\.h5 has",
             huge: r"invalid Generator settings: .*mapping_layers must be an integer from 0 to 64"}
    original = keras.saving.load_model
    monkeypatch.setattr(keras.saving, "load_model", lambda p, *a, **k: (
        original(p, *a, **k) if p == str(other) else pytest.fail(f"Keras asked to build {p}")))
    for model, message in cases.items():
        with pytest.raises(ValueError, match=message):
            load(model)
    result = CliRunner().invoke(cli, ["sample", "--model", bomb, "--n", "1", "--outdir", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and result.output.startswith("Error: ")
