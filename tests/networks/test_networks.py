"""Generator, discriminator and mapping network: structure, truncation, mixing, noise, saving."""
import keras
import numpy as np
import pytest

from keras_stylegan import Discriminator, Generator
from keras_stylegan.networks.synthesis import synthesis_noise_layers

TINY = dict(z_dim=16, w_dim=16, channel_base=128, channel_max=16, mapping_layers=2)


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def latents(n, dim=16, seed=0):
    return np.random.RandomState(seed).randn(n, dim).astype("float32")


# Learned-parameter counts as NVIDIA's code counts them (PyTorch parameters / TF trainables).
@pytest.mark.large
@pytest.mark.parametrize("kwargs, g_params, d_params", [
    (dict(architecture="stylegan2", resolution=1024), 30_370_060, 29_012_513),
    (dict(architecture="stylegan2", resolution=32, channel_base=1024, channel_max=64, z_dim=128, w_dim=128),
     428_723, 288_993),
    (dict(architecture="stylegan", resolution=1024), 26_219_627, 23_087_249),
])
def test_parameter_counts_match_nvidia(kwargs, g_params, d_params):
    g = Generator(**kwargs)
    d_kwargs = {k: v for k, v in kwargs.items() if k not in ("z_dim", "w_dim")}
    if kwargs["architecture"] == "stylegan":
        d_kwargs["channel_base"] = 16384
    d = Discriminator(**d_kwargs)
    assert count(g) == g_params
    assert count(d) == d_params
    if kwargs["architecture"] == "stylegan":  # NVIDIA: mapping 2,101,248 + synthesis 24,118,379
        assert count(g.mapping) == 2_101_248


def nvidia_conditional_orig_d_params(res, channel_base, channel_max, rgb, c_dim, cmap_dim, mapping_layers):
    """stylegan2-ada-pytorch's Discriminator(architecture='orig'), counted layer by layer."""
    ch = lambda r: min(channel_base // r, channel_max)  # noqa: E731
    dense = lambda i, o: i * o + o  # noqa: E731
    conv = lambda i, o, k=3: i * o * k * k + o  # noqa: E731
    total = conv(rgb, ch(res), k=1)  # b{res}.fromrgb
    r = res
    while r > 4:
        total += conv(ch(r), ch(r)) + conv(ch(r), ch(r // 2))  # conv0, conv1
        r //= 2
    total += conv(ch(4) + 1, ch(4)) + dense(ch(4) * 16, ch(4)) + dense(ch(4), cmap_dim)  # b4: conv, fc, out
    return total + dense(c_dim, cmap_dim) + mapping_layers * dense(cmap_dim, cmap_dim)  # mapping: embed, fc*


def test_conditional_d_with_label_only_mapping():
    # NVIDIA's CIFAR-10 D: the labels pass only the class embedding (mapping_layers=0).
    d = Discriminator(resolution=32, num_classes=10, block_architecture="orig", channel_base=16384,
                      mbstd_group_size=32, cmap_dim=512, mapping_layers=0, conv_clamp=256)
    assert count(d) == nvidia_conditional_orig_d_params(32, 16384, 512, 3, 10, 512, 0) == 20_988_416
    assert d.mapping.fcs == [] and count(d.mapping) == 10 * 512 + 512
    tiny = dict(resolution=8, num_classes=3, block_architecture="orig", channel_base=64, channel_max=8, cmap_dim=6,
                mbstd_group_size=2)
    for layers in (2, 0):
        small = Discriminator(mapping_layers=layers, **tiny)
        assert count(small) == nvidia_conditional_orig_d_params(8, 64, 8, 3, 3, 6, layers)
        assert Discriminator.from_config(small.get_config()).get_config() == small.get_config()
    # The cmap is the normalized class embedding (equalized lr: weights scaled by 1/sqrt(fan_in)).
    rng = np.random.RandomState(3)
    embed = small.mapping.embed
    embed.kernel.assign(rng.randn(3, 6).astype("float32"))
    embed.bias.assign(rng.randn(6).astype("float32"))
    y = np.eye(3, dtype="float32")[[0, 2]] @ embed.kernel.numpy() / np.sqrt(3) + embed.bias.numpy()
    want = y / np.sqrt(np.mean(y ** 2, axis=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(small.mapping(np.array([0, 2])), want, rtol=1e-5, atol=1e-6)
    images = rng.randn(2, 8, 8, 3).astype("float32")
    scores = [float(small(images, labels=np.array([c, c]))[0, 0]) for c in (0, 1)]
    assert abs(scores[0] - scores[1]) > 1e-4


@pytest.mark.parametrize("kwargs, match", [
    (dict(z_dim=16, num_classes=3, num_layers=0), "num_layers=0.*z_dim=16"),
    (dict(z_dim=0, num_classes=0, num_layers=0), "z_dim > 0 or num_classes > 0"),
    (dict(z_dim=0, num_classes=3, num_layers=-1), "num_layers.*-1"),
])
def test_mapping_network_bad_layer_counts(kwargs, match):
    from keras_stylegan.networks.mapping import MappingNetwork
    with pytest.raises(ValueError, match=match):
        MappingNetwork(w_dim=8, num_ws=None, **kwargs)


@pytest.mark.parametrize("architecture", ["stylegan", "stylegan2"])
@pytest.mark.parametrize("resolution, channels", [(16, 1), (16, 3), (16, 4), ((8, 16), 4), ((16, 8), 3), (8, 2)])
def test_shapes_gray_rgb_rgba_and_non_square(architecture, resolution, channels):
    g = Generator(architecture=architecture, resolution=resolution, channels=channels, **TINY)
    d = Discriminator(architecture=architecture, resolution=resolution, channels=channels, channel_base=128,
                      channel_max=16, mbstd_group_size=2)
    h, w = (resolution, resolution) if isinstance(resolution, int) else resolution
    images = g(latents(2), noise_mode="random")
    assert tuple(images.shape) == (2, h, w, channels)
    assert np.all(np.isfinite(images))
    assert tuple(d(images).shape) == (2, 1)
    # The base block is non-square too: 16 wide x 8 high starts at 4x2.
    assert g.synthesis.blocks[0].resolution == (h * 4 // max(h, w), w * 4 // max(h, w))


@pytest.mark.parametrize("block", ["orig", "skip", "resnet"])
def test_stylegan2_variants(block):
    g = Generator(block_architecture=block, resolution=16, **TINY)
    d = Discriminator(block_architecture=block, resolution=16, channel_base=128, channel_max=16)
    assert tuple(d(g(latents(4))).shape) == (4, 1)
    torgbs = [b for b in g.synthesis.blocks if b.torgb is not None]
    assert len(torgbs) == (3 if block == "skip" else 1)
    assert [b.skip is not None for b in g.synthesis.blocks[1:]] == [block == "resnet"] * 2
    assert [b.fromrgb is not None for b in d.blocks] == [True, block == "skip"]


def test_truncation_psi_0_gives_w_avg_and_psi_1_gives_w():
    g = Generator(resolution=8, **TINY)
    g.mapping.w_avg.assign(np.random.RandomState(1).randn(16).astype("float32"))
    z = latents(3)
    w = np.asarray(g.mapping(z))
    w0 = np.asarray(g.mapping(z, psi=0.0))
    np.testing.assert_allclose(w0, np.broadcast_to(g.mapping.w_avg.numpy(), w0.shape), atol=1e-6)
    np.testing.assert_allclose(np.asarray(g.mapping(z, psi=1.0)), w, atol=1e-6)
    half = np.asarray(g.mapping(z, psi=0.5, truncation_cutoff=2))
    w_avg = g.mapping.w_avg.numpy()
    np.testing.assert_allclose(half[:, :2], w_avg + 0.5 * (w[:, :2] - w_avg), atol=1e-5)
    np.testing.assert_allclose(half[:, 2:], w[:, 2:], atol=1e-6)


def test_w_avg_tracks_moving_average():
    g = Generator(resolution=8, w_avg_beta=0.9, **TINY)
    z = latents(4)
    w = np.asarray(g.mapping(z))[:, 0]
    g.mapping(z, update_w_avg=True)
    np.testing.assert_allclose(g.mapping.w_avg.numpy(), 0.1 * w.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_mixing_switches_styles_exactly_at_the_crossover():
    g = Generator(resolution=16, **TINY)
    z1, z2 = latents(2, seed=1), latents(2, seed=2)
    ws1, ws2 = np.asarray(g.mapping(z1)), np.asarray(g.mapping(z2))
    for cutoff in (1, 3, g.num_ws - 1):
        mixed = np.asarray(Generator.mix(ws1, ws2, cutoff))
        np.testing.assert_array_equal(mixed[:, :cutoff], ws1[:, :cutoff])
        np.testing.assert_array_equal(mixed[:, cutoff:], ws2[:, cutoff:])
        # The generator's own mixing equals synthesis of the mixed ws.
        direct = g(z1, mix_z=z2, mix_cutoff=cutoff, noise_mode="const")
        np.testing.assert_allclose(direct, g.synthesis(mixed, noise_mode="const"), atol=1e-5)


@pytest.mark.parametrize("architecture", ["stylegan", "stylegan2"])
def test_noise_modes(architecture):
    g = Generator(architecture=architecture, resolution=16, **TINY)
    for layer in (b.conv1 for b in g.synthesis.blocks):
        layer.noise.noise_strength.assign(np.ones(layer.noise.noise_strength.shape, "float32"))
    z = latents(2)
    const_a, const_b = g(z, noise_mode="const"), g(z, noise_mode="const")
    np.testing.assert_array_equal(const_a, const_b)
    random_a, random_b = g(z, noise_mode="random"), g(z, noise_mode="random")
    assert np.abs(np.asarray(random_a) - np.asarray(random_b)).max() > 1e-3
    none_a = g(z, noise_mode="none")
    assert np.abs(np.asarray(none_a) - np.asarray(const_a)).max() > 1e-3
    for layer in (b.conv1 for b in g.synthesis.blocks):
        layer.noise.noise_strength.assign(np.zeros(layer.noise.noise_strength.shape, "float32"))
    np.testing.assert_allclose(g(z, noise_mode="random"), g(z, noise_mode="none"), atol=1e-6)


@pytest.mark.parametrize("architecture", ["stylegan", "stylegan2"])
def test_explicit_noise_maps_reach_every_noise_layer_in_order(architecture):
    g = Generator(architecture=architecture, resolution=16, **TINY)
    layers = synthesis_noise_layers(g)
    for layer in layers:
        layer.noise_strength.assign(np.ones(layer.noise_strength.shape, "float32"))
    z = latents(2)
    # The stored maps passed explicitly, in noise_layers_by_block order, give the "const" image ...
    stored = [np.broadcast_to(layer.noise_const.numpy()[None, :, :, None], (2,) + tuple(layer.noise_const.shape)
                              + (1,)) for layer in layers]
    np.testing.assert_allclose(g(z, noise=stored), g(z, noise_mode="const"), atol=1e-5)
    # ... and changing one map changes the image: each map lands in its own layer.
    stored[-1] = stored[-1] + 1.0
    assert np.abs(np.asarray(g(z, noise=stored)) - np.asarray(g(z, noise_mode="const"))).max() > 1e-3
    with pytest.raises(ValueError, match="one per noise layer"):
        g(z, noise=stored[:-1])


@pytest.mark.parametrize("architecture", ["stylegan", "stylegan2"])
def test_keras_save_load_round_trip(tmp_path, architecture):
    g = Generator(architecture=architecture, resolution=(8, 16), channels=4, num_classes=3, **TINY)
    d = Discriminator(architecture=architecture, resolution=(8, 16), channels=4, num_classes=3, channel_base=128,
                      channel_max=16, mbstd_group_size=2)
    z, labels = latents(2), np.array([0, 2])
    g.mapping.w_avg.assign(np.full([16], 0.3, "float32"))
    expected = g(z, labels=labels, psi=0.7, noise_mode="const")
    g.save(tmp_path / "g.keras")
    d.save(tmp_path / "d.keras")
    g2 = keras.saving.load_model(tmp_path / "g.keras")
    d2 = keras.saving.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(g2(z, labels=labels, psi=0.7, noise_mode="const"), expected, atol=1e-6)
    np.testing.assert_allclose(d2(expected, labels=labels), d(expected, labels=labels), atol=1e-6)
    assert g2.get_config() == g.get_config()
    assert Generator.from_config(g.get_config()).get_config() == g.get_config()
    assert Discriminator.from_config(d.get_config()).get_config() == d.get_config()


def test_progressive_lod_fades_between_resolutions():
    g = Generator(architecture="stylegan", resolution=16, **TINY)
    ws = g.mapping(latents(1))
    full = np.asarray(g.synthesis(ws, lod=0.0, noise_mode="const"))
    half = np.asarray(g.synthesis(ws, lod=1.0, noise_mode="const"))
    mid = np.asarray(g.synthesis(ws, lod=0.5, noise_mode="const"))
    np.testing.assert_allclose(mid, 0.5 * (full + half), atol=1e-5)
    # lod 1: the 8x8 image upscaled by nearest neighbour: 2x2 blocks are constant.
    np.testing.assert_allclose(half[:, ::2, ::2], half[:, 1::2, 1::2], atol=1e-5)
    # At lod 1 the discriminator sees only the 2x2-averaged image: adding a pattern
    # with zero mean in every 2x2 cell changes the score at lod 0, not at lod 1.
    d = Discriminator(architecture="stylegan", resolution=16, channel_base=128, channel_max=16)
    checker = np.indices((16, 16)).sum(axis=0) % 2 * 2.0 - 1.0
    other = full + 0.5 * checker[None, :, :, None].astype("float32")
    assert abs(float(d(full, lod=0.0)[0, 0]) - float(d(other, lod=0.0)[0, 0])) > 1e-4
    np.testing.assert_allclose(d(full, lod=1.0), d(other, lod=1.0), atol=1e-5)


def test_min_lod_skips_hidden_blocks_with_the_same_outputs():
    g = Generator(architecture="stylegan", resolution=16, **TINY)
    d = Discriminator(architecture="stylegan", resolution=16, channel_base=128, channel_max=16)
    ws = g.mapping(latents(2))
    for lod in (2.0, 1.5, 1.0, 0.25):
        full = np.asarray(g.synthesis(ws, lod=lod, noise_mode="const"))
        for min_lod in range(1, int(lod) + 1):
            np.testing.assert_allclose(g.synthesis(ws, lod=lod, noise_mode="const", min_lod=min_lod), full, atol=1e-5)
            np.testing.assert_allclose(d(full, lod=lod, min_lod=min_lod), d(full, lod=lod), atol=1e-5)
    for bad in (3, -1, 1.0):
        with pytest.raises(ValueError, match="min_lod"):
            g.synthesis(ws, lod=2.0, min_lod=bad)
        with pytest.raises(ValueError, match="min_lod"):
            d(full, lod=2.0, min_lod=bad)


@pytest.mark.parametrize("kwargs, match", [
    (dict(resolution=48), "resolution"),
    (dict(resolution=2), "resolution"),
    (dict(resolution="64xabc"), "resolution"),
    (dict(resolution=(64, 8)), "aspect"),
    (dict(channels=5), "channels"),
    (dict(channels=0), "channels"),
    (dict(architecture="stylegan4"), "architecture"),
    (dict(block_architecture="unet"), "architecture"),
])
def test_bad_arguments_name_the_argument_and_value(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        Generator(**{**dict(resolution=8, **TINY), **kwargs})
    assert repr(list(kwargs.values())[0]) in str(info.value) or str(list(kwargs.values())[0]) in str(info.value)


def test_bad_call_inputs():
    g = Generator(resolution=8, **TINY)
    with pytest.raises(ValueError, match=r"`z` must have shape \[N, 16\]"):
        g(latents(2, dim=15))
    for psi in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="psi"):
            g(latents(2), psi=psi)
    with pytest.raises(ValueError, match="noise_mode"):
        g(latents(2), noise_mode="fixed")
    d = Discriminator(resolution=8, channel_base=128, channel_max=16)
    with pytest.raises(ValueError, match="images"):
        d(np.zeros([2, 16, 16, 3], "float32"))
