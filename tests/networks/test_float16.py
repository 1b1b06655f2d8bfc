"""NVIDIA's float16 recipe for GPUs (issue 18), checked for numerics on the CPU: the blocks at the
`num_fp16_res` highest resolutions of G and D convolve in float16 (stylegan2-ada's
`fp16_resolution = max(2 ** (log2(res) + 1 - num_fp16_res), 8)`), features stay float32 between
layers and are clamped by `conv_clamp`, gradients are cleaned of NaN/Inf instead of loss scaling."""
import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan import Discriminator, Generator
from keras_stylegan.layers.modulation import modulated_conv2d
from keras_stylegan.networks.common import float16_side
from keras_stylegan.training.config import ConfigError, TrainingConfig
from keras_stylegan.training.stylegan import StyleGAN, finite_gradients

NET = dict(channel_base=1024, channel_max=32, conv_clamp=256)


def nvidia_fp16_resolution(resolution, num_fp16_res):
    """stylegan2-ada-pytorch's networks.py, written out: blocks with res >= this run in float16."""
    return max(2 ** (int(np.log2(resolution)) + 1 - num_fp16_res), 8)


@pytest.mark.parametrize("resolution, num_fp16_res", [(1024, 4), (256, 4), (64, 2), (16, 4), (32, 1)])
def test_float16_blocks_are_nvidias(resolution, num_fp16_res):
    side = nvidia_fp16_resolution(resolution, num_fp16_res)
    assert float16_side((resolution, resolution), num_fp16_res) == side
    assert float16_side((resolution, resolution), 0) is None
    if resolution > 64:
        return  # the formula is enough; the networks below stay small
    g = Generator(resolution=resolution, z_dim=16, w_dim=16, num_fp16_res=num_fp16_res, **NET)
    d = Discriminator(resolution=resolution, num_fp16_res=num_fp16_res, **NET)
    for network, blocks in ((g, g.synthesis.blocks), (d, d.blocks)):
        got = {block.name: block.compute_dtype for block in blocks}
        assert got == {block.name: "float16" if int(block.name[1:]) >= side else "float32" for block in blocks}
    assert d.epilogue.compute_dtype == "float32" and g.mapping.compute_dtype == "float32"
    assert all(block.torgb is None or block.torgb.compute_dtype == "float32" for block in g.synthesis.blocks)
    assert Generator.from_config(g.get_config()).num_fp16_res == num_fp16_res
    assert Discriminator.from_config(d.get_config()).num_fp16_res == num_fp16_res


@pytest.mark.parametrize("resolution", [16, 32])
def test_float16_generator_and_discriminator_stay_close_to_float32(resolution):
    g = Generator(resolution=resolution, z_dim=32, w_dim=32, **NET)
    g16 = Generator(resolution=resolution, z_dim=32, w_dim=32, num_fp16_res=4, **NET)
    g16.set_weights(g.get_weights())
    z = np.random.RandomState(0).randn(8, 32).astype("float32")
    want, got = np.asarray(g(z, noise_mode="const")), np.asarray(g16(z, noise_mode="const"))
    error = np.abs(got - want) / want.std()
    assert got.dtype == np.float32 and 1e-5 < error.max() <= 2e-2 and error.mean() <= 2e-3, (error.max(), error.mean())
    d = Discriminator(resolution=resolution, **NET)
    d16 = Discriminator(resolution=resolution, num_fp16_res=4, **NET)
    d16.set_weights(d.get_weights())
    scores, scores16 = np.asarray(d(want)), np.asarray(d16(want))
    assert 0 < np.abs(scores16 - scores).max() <= 1e-2 * np.abs(scores).max()


def test_float16_modulated_conv_does_not_overflow():
    # 3x3x512 inputs of 200 against all-one weights: 921,600 per output before demodulation, beyond
    # float16's 65,504 unless the weights are scaled down for the convolution.
    x = np.full([1, 4, 4, 512], 200.0, "float32")
    weight = np.ones([3, 3, 512, 8], "float32")
    styles = np.ones([1, 512], "float32")
    for demodulate in (True, False):
        want = np.asarray(modulated_conv2d(x, weight, styles, demodulate=demodulate, padding=1))
        got = np.asarray(modulated_conv2d(x, weight, styles, demodulate=demodulate, padding=1,
                                          compute_dtype="float16"))
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=2e-3)


def test_float16_needs_a_float32_stylegan2_network():
    with pytest.raises(ValueError, match="applies to StyleGAN2"):
        Generator(architecture="stylegan", resolution=16, num_fp16_res=2, **NET)
    with pytest.raises(ValueError, match="needs dtype float32"):
        Generator(resolution=16, num_fp16_res=2, dtype="mixed_bfloat16", **NET)
    with pytest.raises(ValueError, match="num_fp16_res"):
        Discriminator(resolution=16, num_fp16_res=-1, **NET)


def test_gradients_are_cleaned_as_nvidias_nan_to_num():
    grads = finite_gradients([tf.constant([np.nan, np.inf, -np.inf, 3.0, -2e6])])
    np.testing.assert_array_equal(grads[0].numpy(), [0.0, 1e5, -1e5, 3.0, -2e6])


def test_training_config_uses_float16_like_nvidia():
    assert TrainingConfig(cfg="auto").resolve((64, 64), 3, gpu=True).num_fp16_res == 4
    assert TrainingConfig(cfg="auto").resolve((64, 64), 3, gpu=False).num_fp16_res == 0
    assert TrainingConfig(cfg="auto", fp32=True).resolve((64, 64), 3, gpu=True).num_fp16_res == 0
    assert TrainingConfig(architecture="stylegan3", cfg="t").resolve((64, 64), 3, gpu=True).num_fp16_res == 0
    assert TrainingConfig(cfg="cpu", num_fp16_res=2).resolve((64, 64), 3).num_fp16_res == 2
    assert "fp16_res=2" in TrainingConfig(cfg="cpu", num_fp16_res=2).resolve((64, 64), 3).describe()
    with pytest.raises(ConfigError, match="`fp32` is set"):
        TrainingConfig(fp32=True, num_fp16_res=4)
    with pytest.raises(ConfigError, match="architecture is 'stylegan'"):
        TrainingConfig(architecture="stylegan", num_fp16_res=4)
    assert TrainingConfig.from_json(TrainingConfig(num_fp16_res=3).to_json()).num_fp16_res == 3


def test_a_float16_training_step_trains_without_loss_scaling():
    g = Generator(resolution=16, channels=3, z_dim=8, w_dim=8, mapping_layers=2, num_fp16_res=2, **NET)
    d = Discriminator(resolution=16, channels=3, mbstd_group_size=2, num_fp16_res=2, **NET)
    gan = StyleGAN(g, d, r1_gamma=1.0, r1_interval=2, pl_interval=2)
    gan.compile()
    assert type(gan.g_optimizer).__name__ != "LossScaleOptimizer"
    before = [v.numpy().copy() for v in g.trainable_variables + d.trainable_variables]
    reals = np.random.RandomState(0).uniform(-1, 1, [8, 16, 16, 3]).astype("float32")
    history = gan.fit(reals, batch_size=4, epochs=1, verbose=0)
    for name in ("g_loss", "d_loss", "r1", "pl"):
        assert np.isfinite(history.history[name]).all(), name
    after = [v.numpy() for v in g.trainable_variables + d.trainable_variables]
    assert all(np.isfinite(v).all() for v in after)
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) > len(after) // 2
