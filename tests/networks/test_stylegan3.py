"""StyleGAN3 networks: filtered leaky ReLU and filter design against NumPy/SciPy, configs, presets.

Parity with NVIDIA's own code is in tests/zoo/test_convert_stylegan3.py (fixtures made by it).
"""
import keras
import numpy as np
import pytest
import scipy.signal
import scipy.special

from keras_stylegan import Generator
from keras_stylegan.layers.filtered_lrelu import bessel_j1, design_lowpass_filter, filtered_lrelu
from keras_stylegan.networks.stylegan3 import SynthesisNetwork3, layer_specs, make_transform

TINY3 = dict(architecture="stylegan3", resolution=16, z_dim=8, w_dim=6, channel_base=64, channel_max=4,
             conv_clamp=256)


# ---------------------------------------------------------------------------------------------
# Independent references, in float64 NumPy/SciPy, written from the definitions.


def reference_upfirdn(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """[N, H, W, C]: zero insertion, pad or crop, true convolution with the 2-D filter, decimation."""
    px0, px1, py0, py1 = padding
    n, h, w, c = x.shape
    u = np.zeros((n, h * up, w * up, c))
    u[:, ::up, ::up] = x
    u = np.pad(u, ((0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0)), (0, 0)))
    u = u[:, max(-py0, 0): u.shape[1] - max(-py1, 0), max(-px0, 0): u.shape[2] - max(-px1, 0)]
    f2 = np.outer(f, f) if f.ndim == 1 else f
    out = np.stack([np.stack([scipy.signal.convolve2d(u[i, :, :, k], f2 * gain, mode="valid")
                              for k in range(c)], axis=-1) for i in range(n)])
    return out[:, ::down, ::down]


def reference_filtered_lrelu(x, fu, fd, bias, up, down, padding, gain, slope, clamp):
    x = x + bias
    x = reference_upfirdn(x, fu, up=up, padding=padding, gain=up * up)
    x = np.where(x >= 0, x, x * slope) * gain
    x = np.clip(x, -clamp, clamp)
    return reference_upfirdn(x, fd, down=down)


def scipy_kaiser_lowpass(numtaps, cutoff, width, fs):
    return scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)


def scipy_jinc_lowpass(numtaps, cutoff, width, fs):
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * np.pi * cutoff * r) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = scipy.signal.get_window(("kaiser", beta), numtaps, fftbins=False)
    f = f * np.outer(window, window)
    return f / f.sum()


# ---------------------------------------------------------------------------------------------


def test_bessel_j1_matches_scipy():
    x = np.linspace(-60, 60, 301)
    np.testing.assert_allclose(bessel_j1(x), scipy.special.j1(x), atol=1e-12)


@pytest.mark.parametrize("numtaps,cutoff,width,fs", [(12, 2.0, 4.6, 32), (24, 5.3, 3.1, 64), (12, 8.0, 8.0, 32)])
def test_filter_design_matches_scipy(numtaps, cutoff, width, fs):
    np.testing.assert_allclose(design_lowpass_filter(numtaps, cutoff, width, fs),
                               scipy_kaiser_lowpass(numtaps, cutoff, width, fs), atol=1e-7)
    np.testing.assert_allclose(design_lowpass_filter(numtaps, cutoff, width, fs, radial=True),
                               scipy_jinc_lowpass(numtaps, cutoff, width, fs), atol=1e-7)
    assert design_lowpass_filter(1, cutoff, width, fs) is None


@pytest.mark.parametrize("radial,up,padding", [
    (False, 2, (11, 10, 11, 10)),   # separable Kaiser down filter, as StyleGAN3-T
    (True, 2, (9, 12, 10, 11)),     # radially symmetric 2-D down filter, as StyleGAN3-R
    (False, 4, (-3, 15, 17, -1)),   # up 4 (the sampling rate doubles), crops on two sides
    (True, 4, (20, 5, 6, 19)),
])
def test_filtered_lrelu_matches_numpy_reference(radial, up, padding):
    rng = np.random.RandomState(up + radial)
    x = rng.randn(2, 9, 8, 3) * 60  # large enough for the clamp (16) to act
    bias = rng.randn(3)
    fu = design_lowpass_filter(6 * up, 3.0, 4.0, 16 * up)
    fd = design_lowpass_filter(12, 2.5, 3.0, 16 * up, radial=radial)
    assert fd.ndim == (2 if radial else 1)
    want = reference_filtered_lrelu(x, fu.astype(np.float64), fd.astype(np.float64), bias, up, 2, padding,
                                    np.sqrt(2), 0.2, 16.0)
    got = np.asarray(filtered_lrelu(x.astype("float32"), fu, fd, bias.astype("float32"), up=up, down=2,
                                    padding=padding, gain=np.sqrt(2), slope=0.2, clamp=16.0))
    assert got.shape == want.shape
    unclamped = reference_filtered_lrelu(x, fu.astype(np.float64), fd.astype(np.float64), bias, up, 2, padding,
                                         np.sqrt(2), 0.2, np.inf)
    assert np.abs(unclamped - want).max() > 1.0  # the clamp acted
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


def test_linear_torgb_path_is_bias_only():
    x = np.random.RandomState(0).randn(1, 5, 5, 2).astype("float32")
    got = filtered_lrelu(x, None, None, np.array([1.0, -2.0], "float32"), gain=1.0, slope=1.0, clamp=None)
    np.testing.assert_allclose(np.asarray(got), x + np.array([1.0, -2.0]), atol=1e-6)


def test_layer_geometry_follows_the_paper_schedule():
    spec = layer_specs(1024, 3)  # NVIDIA's FFHQ-1024 T: 36x36 input of 512 features, 1024 output
    assert spec["sizes"][0] == 36 and spec["sizes"][-1] == 1024 and spec["sizes"][-3] == 1044
    assert spec["channels"][0] == 512 and spec["channels"][-1] == 3
    np.testing.assert_allclose(spec["cutoffs"][[0, -1]], [2, 512])
    assert list(spec["sampling_rates"][:2]) == [16, 16] and spec["sampling_rates"][-1] == 1024


@pytest.mark.parametrize("config", ["t", "r"])
def test_generator_config_round_trip_and_noise_mode_ignored(config):
    g = Generator(block_architecture=config, **TINY3)
    assert g.num_ws == 16 and g.mapping.num_layers == 2 and g.mapping.w_avg_beta == 0.998
    layer = g.synthesis.synthesis_layers[0]
    assert layer.conv_kernel == (1 if config == "r" else 3)
    assert (layer.down_filter.shape.__len__() == 2) == (config == "r")
    clone = Generator.from_config(g.get_config())
    assert clone.get_config() == g.get_config()
    for src, dst in zip(g.weights, clone.weights):
        dst.assign(src)
    z = np.random.RandomState(1).randn(2, 8).astype("float32")
    image = np.asarray(g(z, psi=0.7, noise_mode="const"))
    assert image.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(np.asarray(clone(z, psi=0.7, noise_mode="random")), image)


def test_stylegan3_defaults_follow_nvidia_recipes():
    small = dict(architecture="stylegan3", resolution=16, z_dim=4, w_dim=4, channel_base=64)
    r = Generator(block_architecture="r", **small)  # R doubles T's channel_max (and channel_base)
    assert (r.channel_max, r.synthesis.conv_kernel, r.synthesis.use_radial_filters) == (1024, 1, True)
    t = Generator(channel_max=4, **dict(small, channel_base=None))
    assert (t.channel_base, t.channel_max, t.synthesis.conv_kernel, t.synthesis.use_radial_filters) == (
        32768, 4, 3, False)
    g2 = Generator(resolution=8, z_dim=4, w_dim=4, channel_base=32, channel_max=4)
    assert (g2.mapping_layers, g2.w_avg_beta, g2.channel_max, g2.block_architecture) == (8, 0.995, 4, "skip")


def test_transform_moves_the_image_and_is_stylegan3_only():
    keras.utils.set_random_seed(3)  # a fixed network: its output's size must not depend on test order
    g = Generator(**TINY3)
    z = np.random.RandomState(2).randn(1, 8).astype("float32")
    plain = np.asarray(g(z))
    np.testing.assert_allclose(np.asarray(g(z, transform=np.eye(3, dtype="float32"))), plain, atol=1e-6)
    moved = np.asarray(g(z, transform=make_transform(translate=(0.25, 0), rotate=10)))
    assert np.abs(moved - plain).max() > 0.05 * plain.std() > 0
    with pytest.raises(ValueError, match="`transform` needs a StyleGAN3 generator"):
        Generator(resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=4)(z, transform=np.eye(3))


def test_bad_stylegan3_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="block_architecture"):
        Generator(block_architecture="skip", **TINY3)
    with pytest.raises(ValueError, match="square"):
        SynthesisNetwork3(w_dim=4, resolution=(16, 32), channel_base=64, channel_max=4)
    with pytest.raises(ValueError, match="resample_filter"):
        Generator(resample_filter=[1, 3, 3, 1], **TINY3)
    with pytest.raises(ValueError, match="no noise inputs"):
        Generator(**TINY3)(np.zeros([1, 8], "float32"), noise=[np.zeros([1, 16, 16, 1])])


def test_preset_round_trip(tmp_path):
    from keras_stylegan.zoo import load
    from keras_stylegan.zoo.presets import save_preset

    g = Generator(block_architecture="r", **TINY3)
    path = save_preset(tmp_path / "sg3", g, metadata={"source": "test"})
    loaded = load(str(path))
    assert loaded.architecture == "stylegan3" and loaded.block_architecture == "r"
    z = np.random.RandomState(3).randn(2, 8).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(z)), np.asarray(g(z)))


def test_transform_frames_start_untransformed_and_end_at_the_full_transform():
    from keras_stylegan.networks.stylegan3 import transform_frames

    g = Generator(**TINY3)
    ws = g.mapping(np.random.RandomState(4).randn(1, 8).astype("float32"))
    frames = transform_frames(g, ws, frames=3, translate=(0.2, 0.1), rotate=30)
    assert frames.shape == (3, 16, 16, 3)
    np.testing.assert_allclose(frames[0], np.asarray(g.synthesis(ws))[0], atol=1e-5)
    end = np.asarray(g.synthesis(ws, transform=make_transform((0.2, 0.1), 30)))[0]
    np.testing.assert_allclose(frames[-1], end, atol=1e-5)
    with pytest.raises(ValueError, match="frames"):
        transform_frames(g, ws, frames=1)
