"""Tests for ADA's `augment` and `update_p`, checked against NumPy references and invariants."""
import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan.training.augment import AUGMENTATIONS, augment, update_p

SEED = tf.constant([3, 7])
COLOR_OPS = ("brightness", "contrast", "saturation", "hue")


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def _augment(x, p=1.0, ops=AUGMENTATIONS, seed=SEED):
    return augment(tf.constant(x), p, seed, ops).numpy()


def _np_shift(image, tx, ty):
    """NumPy reference of an integer translation by (tx, ty) pixels with reflect padding."""
    pad = max(abs(tx), abs(ty))
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    height, width = image.shape[:2]
    return padded[pad - ty:pad - ty + height, pad - tx:pad - tx + width]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_p_zero_returns_input_exactly(channels):
    x = _images([3, 8, 8, channels])
    np.testing.assert_array_equal(_augment(x, p=0.0), x)


def test_xflip_p1_flips_every_image():
    x = _images([4, 6, 8, 3])
    np.testing.assert_array_equal(_augment(x, ops=("xflip",)), x[:, :, ::-1])


def test_rotate90_gives_exact_quarter_turns():
    x = _images([32, 5, 5, 2])
    out = _augment(x, ops=("rotate90",))
    turns = []
    for image, result in zip(x, out):
        assert not np.array_equal(result, image)
        turns += [k for k in (1, 2, 3) if np.array_equal(result, np.rot90(image, k))]
    assert len(turns) == len(x) and set(turns) == {1, 2, 3}


def test_rotate90_non_square_uses_half_turns_only():
    x = _images([4, 4, 6, 1])
    np.testing.assert_array_equal(_augment(x, ops=("rotate90",)), x[:, ::-1, ::-1])


def test_xint_matches_numpy_reflect_shift():
    x = _images([48, 8, 16, 3])  # shifts up to 0.125 * side: |ty| <= 1, |tx| <= 2
    out = _augment(x, ops=("xint",))
    shifts = []
    for image, result in zip(x, out):
        shifts += [(tx, ty) for tx in range(-2, 3) for ty in range(-1, 2)
                   if np.array_equal(result, _np_shift(image, tx, ty))]
    assert len(shifts) == len(x)  # every output is an allowed reflect-padded shift
    assert {tx for tx, _ in shifts} == {-2, -1, 0, 1, 2} and {ty for _, ty in shifts} == {-1, 0, 1}


@pytest.mark.parametrize("op", COLOR_OPS)
def test_color_ops_leave_alpha_untouched(op):
    x = _images([4, 6, 6, 4])
    out = _augment(x, ops=(op,))
    np.testing.assert_array_equal(out[..., 3], x[..., 3])
    assert np.abs(out[..., :3] - x[..., :3]).max() > 1e-3


@pytest.mark.parametrize("op", COLOR_OPS)
def test_color_ops_on_gray_and_gray_alpha(op):
    x = _images([4, 6, 6, 2])
    out = _augment(x, ops=(op,))
    np.testing.assert_array_equal(out[..., 1], x[..., 1])
    if op in ("saturation", "hue"):
        np.testing.assert_array_equal(out, x)
        np.testing.assert_array_equal(_augment(x[..., :1], ops=(op,)), x[..., :1])
    else:
        assert np.abs(out[..., 0] - x[..., 0]).max() > 1e-3


def test_color_ops_keep_gray_rgb_gray():
    x = np.repeat(_images([6, 5, 5, 1]), 3, axis=-1)
    out = _augment(x, ops=COLOR_OPS)
    np.testing.assert_allclose(out[..., 1:], out[..., :1].repeat(2, axis=-1), atol=1e-5)
    assert np.abs(out - x).max() > 1e-3


def test_hue_rotation_preserves_luma_and_chroma_length():
    x = _images([6, 5, 5, 3])
    out = _augment(x, ops=("hue",))
    luma_in, luma_out = x.mean(-1, keepdims=True), out.mean(-1, keepdims=True)
    np.testing.assert_allclose(luma_out, luma_in, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out - luma_out, axis=-1), np.linalg.norm(x - luma_in, axis=-1),
                               atol=1e-5)
    assert np.abs(out - x).max() > 1e-2


def test_brightness_contrast_saturation_formulas():
    x = _images([6, 5, 5, 3])
    offset = _augment(x, ops=("brightness",)) - x  # one offset per image
    np.testing.assert_allclose(offset, offset[:, :1, :1, :1] + 0 * offset, atol=1e-6)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    gain = (_augment(x, ops=("contrast",)) - mean) / (x - mean)  # one gain per image, about the image mean
    np.testing.assert_allclose(gain, gain[:, :1, :1, :1] + 0 * gain, rtol=1e-3)
    gray = x.mean(-1, keepdims=True)
    out = _augment(x, ops=("saturation",))
    np.testing.assert_allclose(out.mean(-1, keepdims=True), gray, atol=1e-5)
    gain = (out - gray) / (x - gray)
    np.testing.assert_allclose(gain, gain[:, :1, :1, :1] + 0 * gain, rtol=1e-3)


def test_cutout_zeroes_a_half_size_rectangle():
    x = _images([8, 8, 12, 2]) + 2.0  # no zeros in the input
    out = _augment(x, ops=("cutout",))
    for image, result in zip(x, out):
        hole = result == 0
        np.testing.assert_array_equal(result[~hole], image[~hole])
        rows, cols = np.nonzero(hole.all(-1))
        assert hole.any(-1).sum() == hole.all(-1).sum()  # all channels together
        assert rows.max() - rows.min() + 1 <= 4 and cols.max() - cols.min() + 1 <= 6
        assert hole.all(-1).sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_seed_determinism():
    x = _images([4, 8, 8, 3])
    np.testing.assert_array_equal(_augment(x, 0.5), _augment(x, 0.5))
    assert not np.array_equal(_augment(x, 0.5), _augment(x, 0.5, seed=tf.constant([3, 8])))


def test_gradient_is_finite_and_nonzero():
    x = tf.constant(_images([3, 8, 8, 4]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment(x, 1.0, SEED))
    grad = tape.gradient(total, x).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    with tf.GradientTape() as tape:  # flips and rotations are permutations: every pixel counts once
        tape.watch(x)
        total = tf.reduce_sum(augment(x, 1.0, SEED, ("xflip", "rotate90")))
    np.testing.assert_array_equal(tape.gradient(total, x).numpy(), np.ones(x.shape))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_non_square_keeps_shape_and_dtype(channels):
    x = _images([3, 8, 16, channels])
    out = augment(tf.constant(x, tf.float16), 1.0, SEED)
    assert out.shape == x.shape and out.dtype == tf.float16
    assert _augment(x).shape == x.shape


def test_tf_function_with_unknown_batch():
    fn = tf.function(augment, input_signature=[tf.TensorSpec([None, 8, 8, 3]), tf.TensorSpec([]),
                                               tf.TensorSpec([2], tf.int32)])
    for batch in (2, 5):
        x = _images([batch, 8, 8, 3])
        np.testing.assert_allclose(fn(x, 0.5, SEED).numpy(), _augment(x, 0.5), atol=1e-6)


def test_mirrored_strategy_replica_function():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    x = _images([4, 8, 8, 3])
    out = strategy.run(tf.function(lambda images: augment(images, 0.5, SEED)), args=(tf.constant(x),))
    np.testing.assert_allclose(strategy.experimental_local_results(out)[0].numpy(), _augment(x, 0.5), atol=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="augmentations"):
        augment(tf.zeros([1, 4, 4, 3]), 0.5, SEED, ("xflip", "blur"))
    with pytest.raises(ValueError, match="channels"):
        augment(tf.zeros([1, 4, 4, 5]), 0.5, SEED)
    with pytest.raises(ValueError, match="p must be"):
        augment(tf.zeros([1, 4, 4, 3]), 1.5, SEED)


def test_update_p_steps_and_clips():
    step = 2000 / (250.0 * 1000)
    up = update_p(0.3, real_sign_mean=0.8, num_images=2000, target=0.6, speed_kimg=250.0)
    down = update_p(tf.constant(0.3), real_sign_mean=0.1, num_images=2000, target=0.6, speed_kimg=250.0)
    assert up.dtype == tf.float32
    np.testing.assert_allclose([float(up), float(down)], [0.3 + step, 0.3 - step], rtol=1e-6)
    assert float(update_p(0.3, 0.6, 2000)) == pytest.approx(0.3)
    assert float(update_p(0.999, 1.0, 10_000)) == 1.0
    assert float(update_p(0.001, -1.0, 10_000)) == 0.0


def test_xflip_probability_half():
    x = np.tile(np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1), [2000, 1, 1, 1])
    flipped = _augment(x, p=0.5, ops=("xflip",))[:, 0, 0, 0] == 1.0
    assert 0.45 <= flipped.mean() <= 0.55
