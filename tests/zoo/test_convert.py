"""Conversion of official-format pickles, built here from our own random networks.

Our weights are exported under NVIDIA's names and layouts, written as NVIDIA's pickles
(PyTorch and TF1 formats, by `official_pickles`), read back by the safe reader and
converted: the converted networks must compute exactly what the originals compute.
(Agreement with NVIDIA's own code is shown by `benchmarks/parity.py` on official fixtures.)
"""
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
