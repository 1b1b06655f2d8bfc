"""Tests for ADA's `augment`, `draw_parameters` and `update_p`.

Each op's random parameters are checked against NVIDIA's formulas (stylegan2-ada-pytorch `AugmentPipe`)
on many draws, and their application against independent NumPy/SciPy references.
"""
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage, stats
from scipy.spatial.transform import Rotation

from keras_stylegan.training.augment import OPS, PIPELINES, augment, draw_parameters, update_p

SEED = tf.constant([3, 7])
MANY = 20000  # draws for parameter statistics: standard errors ~1 % of each std


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def _augment(x, p=1.0, pipeline="bgc", seed=SEED):
    return augment(tf.constant(x), p, seed, pipeline).numpy()


def _params(p, pipeline, batch=MANY, seed=SEED):
    return {name: value.numpy() for name, value in draw_parameters(batch, p, seed, pipeline).items()}


# ---- presets and identity -------------------------------------------------------------------------

def test_pipelines_are_nvidias_presets():
    blit, geom = {"xflip", "rotate90", "xint"}, {"scale", "rotate", "aniso", "xfrac"}
    color = {"brightness", "contrast", "lumaflip", "hue", "saturation"}
    assert set(PIPELINES["blit"]) == blit and set(PIPELINES["geom"]) == geom and set(PIPELINES["color"]) == color
    assert set(PIPELINES["bgc"]) == blit | geom | color  # NVIDIA's default: no filter, noise or cutout
    assert set(PIPELINES["bgcfnc"]) == set(OPS)
    assert {"blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn"} <= set(PIPELINES)
    x = _images([4, 8, 8, 3])
    np.testing.assert_array_equal(augment(tf.constant(x), 1.0, SEED).numpy(), _augment(x, pipeline="bgc"))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_p_zero_returns_input_exactly(channels):
    x = _images([3, 8, 8, channels])
    np.testing.assert_array_equal(_augment(x, p=0.0, pipeline="bgcfnc"), x)  # every op


def test_p_zero_returns_input_exactly_for_every_preset():
    x = _images([3, 8, 8, 3])
    for pipeline in PIPELINES:
        np.testing.assert_array_equal(_augment(x, p=0.0, pipeline=pipeline), x, err_msg=pipeline)


def test_cutout_off_by_default():
    x = _images([64, 8, 8, 3]) + 3.0  # no zeros in the input: a cutout would create some
    assert (_augment(x, p=1.0, pipeline="color") != 0).all()
    assert (_augment(x, p=1.0) != 0).all()  # default pipeline
    assert (_augment(x, p=1.0, pipeline="bgcfnc") == 0).any()


# ---- blit: non-leaking orientation ----------------------------------------------------------------

def _orientations(x, out):
    """Frequencies of the 8 dihedral transforms (k quarter turns, then an x-flip for index >= 4) in `out`."""
    candidates = [np.rot90(x, k, axes=(1, 2)) for k in range(4)]
    candidates = np.stack(candidates + [c[:, :, ::-1] for c in candidates], 1)  # [batch, 8, h, w, c]
    match = (candidates == out[:, None]).reshape(len(x), 8, -1).all(-1)
    assert (match.sum(1) == 1).all()  # every output is exactly one orientation of its input
    return match.mean(0)


@pytest.mark.parametrize("p", [0.5, 0.75])
def test_flip_and_rotation_never_leak(p):
    # 3x3 images: 8 distinct orientations, and too small for an integer shift (0.125 * 3 rounds to 0).
    x = np.tile(np.arange(9, dtype="float32").reshape(1, 3, 3, 1), [4000, 1, 1, 1])
    flips = _orientations(x, _augment(x, p, ("xflip",)))
    np.testing.assert_allclose(flips[[0, 4]], [1 - p / 2, p / 2], atol=0.03)  # NVIDIA: flip = randint(2)
    turns = _orientations(x, _augment(x, p, ("rotate90",)))
    np.testing.assert_allclose(turns[:4], [1 - 3 * p / 4, p / 4, p / 4, p / 4], atol=0.03)  # k = randint(4)
    both = _orientations(x, _augment(x, p, "blit"))
    for frequencies in (flips, turns, both):
        assert frequencies[0] > frequencies[1:].max()  # identity orientation stays the most frequent


def test_blit_matches_numpy_flip_turn_and_reflect_shift():
    x = _images([48, 8, 8, 2])
    out = _augment(x, 1.0, "blit")
    params = _params(1.0, "blit", batch=len(x))
    for image, result, flip, turns, shift in zip(x, out, params["xflip"], params["rotate90"], params["xint"]):
        expected = np.rot90(image[:, ::-1] if flip else image, turns)
        tx, ty = np.round(shift * [8, 8]).astype(int)  # integer translation in pixels
        padded = np.pad(expected, ((8, 8), (8, 8), (0, 0)), mode="reflect")
        expected = padded[8 - ty:16 - ty, 8 - tx:16 - tx]
        np.testing.assert_array_equal(result, expected)
    assert set(params["rotate90"]) == {0, 1, 2, 3} and set(params["xflip"]) == {0, 1}


def test_non_square_rotation_uses_half_turns_only():
    x = _images([64, 4, 6, 1])
    out = _augment(x, 1.0, ("rotate90",))
    half = [np.array_equal(result, image[::-1, ::-1]) for image, result in zip(x, out)]
    same = [np.array_equal(result, image) for image, result in zip(x, out)]
    assert all(h or s for h, s in zip(half, same)) and 0.3 < np.mean(half) < 0.7


# ---- parameter statistics (NVIDIA's formulas) -----------------------------------------------------

def test_blit_parameter_statistics():
    params = _params(0.6, "blit")
    shift = params["xint"]
    applied = (shift != 0).any(-1)
    assert abs(applied.mean() - 0.6) < 0.015 and np.abs(shift).max() <= 0.125
    assert stats.kstest(shift[applied].ravel(), stats.uniform(-0.125, 0.25).cdf).pvalue > 1e-3


def test_geometric_parameter_statistics():
    p = 0.8
    params = _params(p, "geom")
    for name, std in (("scale", 0.2), ("aniso", 0.2)):
        applied = params[name] != 1
        assert abs(applied.mean() - p) < 0.015, name
        np.testing.assert_allclose(np.log2(params[name][applied]).std(), std, rtol=0.03, err_msg=name)
    # Pre- and post-rotation each with 1 - sqrt(1 - p), so that some rotation happens with probability p.
    pre, post = params["rotate_pre"] != 0, params["rotate_post"] != 0
    assert abs(pre.mean() - (1 - math.sqrt(1 - p))) < 0.015 and abs(post.mean() - pre.mean()) < 0.02
    assert abs((pre | post).mean() - p) < 0.015
    angles = np.concatenate([params["rotate_pre"][pre], params["rotate_post"][post]])
    assert stats.kstest(angles, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    shift = params["xfrac"]
    applied = (shift != 0).any(-1)
    assert abs(applied.mean() - p) < 0.015 and (shift[applied] != 0).all()  # one draw for x and y
    np.testing.assert_allclose(shift[applied].std(0), [0.125, 0.125], rtol=0.03)


def test_color_parameter_statistics():
    p = 0.7
    params = _params(p, "color")
    brightness = params["brightness"][params["brightness"] != 0]
    np.testing.assert_allclose([len(brightness) / MANY, brightness.std()], [p, 0.2], rtol=0.03)
    for name, std in (("contrast", 0.5), ("saturation", 1.0)):
        applied = params[name][params[name] != 1]
        np.testing.assert_allclose([len(applied) / MANY, np.log2(applied).std()], [p, std], rtol=0.03)
    assert abs(params["lumaflip"].mean() - p / 2) < 0.015  # applied: flip or not, 1/2 each
    hue = params["hue"][params["hue"] != 0]
    assert abs(len(hue) / MANY - p) < 0.015
    assert stats.kstest(hue, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3


def test_op_draws_do_not_depend_on_the_other_ops():
    alone, together = _params(0.5, ("brightness",), 64), _params(0.5, "bgcfnc", 64)
    np.testing.assert_array_equal(alone["brightness"], together["brightness"])
    np.testing.assert_array_equal(alone["contrast"], np.ones(64))  # not in the pipeline: identity


# ---- colour ops: statistics measured on outputs and NVIDIA's colour matrix ------------------------

def test_color_ops_measured_on_outputs():
    x = np.full([4000, 2, 2, 3], 0.25, "float32")
    offset = _augment(x, 1.0, ("brightness",))[:, 0, 0, 0] - 0.25
    np.testing.assert_allclose(offset.std(), 0.2, rtol=0.05)
    gain = _augment(x, 1.0, ("contrast",))[:, 0, 0, 0] / 0.25  # about 0 = mid-gray, not the image mean
    np.testing.assert_allclose(np.log2(gain).std(), 0.5, rtol=0.05)
    flipped = _augment(x, 0.5, ("lumaflip",))[:, 0, 0, 0]
    assert set(np.round(flipped, 5)) == {0.25, -0.25} and abs((flipped < 0).mean() - 0.25) < 0.03
    color = np.tile(np.array([0.6, -0.2, 0.1], "float32"), [4000, 2, 2, 1])
    gray = color.mean(-1, keepdims=True)
    out = _augment(color, 1.0, ("saturation",))
    gain = np.linalg.norm(out - gray, axis=-1) / np.linalg.norm(color - gray, axis=-1)
    np.testing.assert_allclose(np.log2(gain[:, 0, 0]).std(), 1.0, rtol=0.05)
    out = _augment(color, 1.0, ("hue",))
    np.testing.assert_allclose(out.mean(-1, keepdims=True), gray, atol=1e-5)  # luma kept
    a, b = (color - gray)[:, 0, 0], (out - gray)[:, 0, 0]
    angle = np.arctan2(np.cross(a, b) @ (np.ones(3) / math.sqrt(3)), (a * b).sum(-1))
    assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3


def _nvidia_color_matrix(params, i, with_hue=True):
    """NVIDIA's 4x4 colour matrix for image i, built independently (SciPy's rotation for hue)."""
    v = np.array([1, 1, 1, 0]) / math.sqrt(3)
    b, c = params["brightness"][i], params["contrast"][i]
    matrix = np.eye(4)
    matrix[:3, 3] = b
    matrix = np.diag([c, c, c, 1]) @ matrix
    matrix = (np.eye(4) - 2 * np.outer(v, v) * params["lumaflip"][i]) @ matrix
    if with_hue:
        hue = np.eye(4)
        hue[:3, :3] = Rotation.from_rotvec(v[:3] * params["hue"][i]).as_matrix()
        saturation = np.outer(v, v) + (np.eye(4) - np.outer(v, v)) * params["saturation"][i]
        matrix = saturation @ hue @ matrix
    return matrix


def test_color_matches_nvidia_matrix_for_rgb_rgba_gray():
    x = _images([16, 3, 3, 4])
    params = _params(1.0, "color", batch=len(x))
    rgba = _augment(x, 1.0, "color")
    gray_alpha = _augment(x[..., 2:], 1.0, "color")
    for i in range(len(x)):
        matrix = _nvidia_color_matrix(params, i)
        np.testing.assert_allclose(rgba[i, ..., :3], x[i, ..., :3] @ matrix[:3, :3].T + matrix[:3, 3], atol=1e-5)
        rows = _nvidia_color_matrix(params, i, with_hue=False)[:3].mean(0)  # NVIDIA's 1-channel rule
        np.testing.assert_allclose(gray_alpha[i, ..., 0], x[i, ..., 2] * rows[:3].sum() + rows[3], atol=1e-5)
    np.testing.assert_array_equal(rgba[..., 3], x[..., 3])  # alpha untouched
    np.testing.assert_array_equal(gray_alpha[..., 1], x[..., 3])
    np.testing.assert_array_equal(_augment(x[..., :1], 1.0, ("hue", "saturation")), x[..., :1])  # need colour


# ---- geometric ops against SciPy ------------------------------------------------------------------

def _rotate(t):
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]])


def test_geometric_matches_scipy_affine_transform():
    size, batch = 24, 12
    rows, cols = np.mgrid[0:size, 0:size] / size
    smooth = 0.8 * np.sin(2 * np.pi * (rows + 0.3)) * np.cos(2 * np.pi * (0.8 * cols + 0.1))
    x = np.stack([smooth, -smooth], -1)[None].repeat(batch, 0).astype("float32")  # 2 channels
    out = _augment(x, 1.0, "bg")
    params = _params(1.0, "bg", batch=batch)
    centre = (size - 1) / 2
    checked = 0
    for i in range(batch):
        # NVIDIA's output -> input map in centred (x, y) pixels: blit (flip, turns, integer shift), then
        # scale, pre-rotation, anisotropic scale, post-rotation, fractional shift.
        s, a, shift = params["scale"][i], params["aniso"][i], params["xint"][i]
        blit = np.diag([1 - 2 * params["xflip"][i], 1, 1]) @ _rotate(np.pi / 2 * params["rotate90"][i])
        blit = blit @ np.array([[1, 0, -np.round(shift[0] * size)], [0, 1, -np.round(shift[1] * size)], [0, 0, 1]])
        geom = np.diag([1 / s, 1 / s, 1]) @ _rotate(params["rotate_pre"][i]) @ np.diag([1 / a, a, 1])
        geom = geom @ _rotate(params["rotate_post"][i])
        geom = geom @ np.array([[1, 0, -params["xfrac"][i, 0] * size], [0, 1, -params["xfrac"][i, 1] * size],
                                [0, 0, 1]])
        swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1.0]])  # (x, y) <-> (row, col)
        to_centre = np.array([[1, 0, -centre], [0, 1, -centre], [0, 0, 1]])
        matrix = np.linalg.inv(to_centre) @ swap @ blit @ geom @ swap @ to_centre  # (row, col) -> (row, col)
        expected = ndimage.affine_transform(smooth, matrix[:2, :2], offset=matrix[:2, 2], order=3, mode="mirror")
        source = np.einsum("ij,jhw->ihw", matrix, np.stack([*np.mgrid[0:size, 0:size], np.ones([size, size])]))
        interior = ((source[:2] > 3) & (source[:2] < size - 4)).all(0)  # away from borders and padding
        interior[:3] = interior[-3:] = interior[:, :3] = interior[:, -3:] = False
        np.testing.assert_allclose(out[i, ..., 0][interior], expected[interior], atol=0.03)
        np.testing.assert_allclose(out[i, ..., 1], -out[i, ..., 0], atol=1e-6)  # every channel alike
        checked += interior.sum()
    assert checked > 1000 and np.abs(out - x).max() > 0.5


def test_pure_pixel_moves_are_exact_under_geom_pipelines():
    """Images whose draw has no scale/rotation/fractional shift are moved exactly, not resampled."""
    x = _images([256, 8, 8, 3])
    out = _augment(x, 0.3, "bg")
    params = _params(0.3, "bg", batch=len(x))
    exact = ((params["scale"] == 1) & (params["aniso"] == 1) & (params["rotate_pre"] == 0)
             & (params["rotate_post"] == 0) & (params["xfrac"] == 0).all(-1))
    np.testing.assert_array_equal(out[exact], _augment(x, 0.3, "blit")[exact])
    assert 0 < exact.sum() < len(x) and np.abs(out[~exact] - x[~exact]).max() > 0.1


# ---- filter, noise, cutout ------------------------------------------------------------------------

def test_imgfilter_statistics_and_bank():
    gains = _params(1.0, "filter")["imgfilter"]
    # NVIDIA: band i gets 2^N(0, 1), then the whole gain vector is rescaled to keep the expected power of a
    # 1/f spectrum; the rescalings are common to all bands, so ratios of two bands are 2^(N_i - N_j).
    for i, j in ((1, 0), (3, 2)):
        log_ratio = np.log2(gains[:, i] / gains[:, j])
        np.testing.assert_allclose([log_ratio.mean(), log_ratio.std()], [0, math.sqrt(2)], atol=0.04)
    # The 1-D filter runs along rows and columns: a constant image only passes the low band (gain^2), a
    # checkerboard only the highest band.
    low, high = _params(1.0, "filter", 1)["imgfilter"][0, [0, 3]]
    x = np.full([1, 16, 16, 1], 0.5, "float32")
    np.testing.assert_allclose(_augment(x, 1.0, "filter"), 0.5 * low ** 2 + 0 * x, rtol=1e-4)
    checker = (np.indices([16, 16]).sum(0)[None, ..., None] % 2 - 0.5).astype("float32")
    np.testing.assert_allclose(_augment(checker, 1.0, "filter"), checker * high ** 2, atol=1e-4)


def test_noise_and_cutout():
    x = np.zeros([2000, 4, 4, 4], "float32")
    out = _augment(x, 1.0, "noise")
    sigma = out[..., :3].reshape(len(x), -1).std(-1)
    np.testing.assert_allclose(sigma.mean(), 0.1 * math.sqrt(2 / math.pi), rtol=0.1)  # |N(0, 0.1^2)|
    np.testing.assert_array_equal(out[..., 3], 0)  # alpha untouched
    x = _images([16, 8, 12, 2]) + 3.0
    out = _augment(x, 1.0, "cutout")
    for image, result in zip(x, out):
        hole = (result == 0).all(-1)
        rows, cols = np.nonzero(hole)
        np.testing.assert_array_equal(result[~hole], image[~hole])
        assert rows.max() - rows.min() + 1 <= 4 and cols.max() - cols.min() + 1 <= 6
        assert hole.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


# ---- API: gradients, shapes, graphs ---------------------------------------------------------------

def test_gradient_flows():
    x = tf.constant(_images([4, 8, 8, 4]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment(x, 1.0, SEED, "bgcfn") ** 2)
    grad = tape.gradient(total, x).numpy()
    assert np.isfinite(grad).all() and (np.abs(grad).reshape(4, -1).max(-1) > 0).all()
    with tf.GradientTape() as tape:  # flips and quarter turns are permutations: every pixel counts once
        tape.watch(x)
        total = tf.reduce_sum(augment(x, 1.0, SEED, ("xflip", "rotate90")))
    np.testing.assert_array_equal(tape.gradient(total, x).numpy(), np.ones(x.shape))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_shapes_and_dtypes(channels):
    x = _images([3, 8, 16, channels])
    out = augment(tf.constant(x, tf.float16), 1.0, SEED, "bgcfnc")
    assert out.shape == x.shape and out.dtype == tf.float16
    assert np.isfinite(_augment(x, 1.0, "bgcfnc")).all()


def test_seed_determinism():
    x = _images([4, 8, 8, 3])
    np.testing.assert_array_equal(_augment(x, 0.5), _augment(x, 0.5))
    assert not np.array_equal(_augment(x, 0.5), _augment(x, 0.5, seed=tf.constant([3, 8])))


def test_tf_function_with_unknown_batch():
    spec = [tf.TensorSpec([None, 8, 8, 3]), tf.TensorSpec([]), tf.TensorSpec([2], tf.int32)]
    graph = tf.function(augment, input_signature=spec)
    for batch in (2, 5):
        x = _images([batch, 8, 8, 3])
        np.testing.assert_allclose(graph(x, 0.5, SEED).numpy(), _augment(x, 0.5), atol=1e-5)


@pytest.mark.large
def test_xla_compiles_every_op():
    compiled = tf.function(lambda images: augment(images, 0.7, SEED, "bgcfnc"), jit_compile=True)
    out = compiled(tf.constant(_images([3, 8, 8, 3]))).numpy()
    assert out.shape == (3, 8, 8, 3) and np.isfinite(out).all()


def test_mirrored_strategy_replica_function():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    x = _images([4, 8, 8, 3])
    out = strategy.run(tf.function(lambda images: augment(images, 0.5, SEED)), args=(tf.constant(x),))
    np.testing.assert_allclose(strategy.experimental_local_results(out)[0].numpy(), _augment(x, 0.5), atol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="pipeline must be one of"):
        augment(tf.zeros([1, 4, 4, 3]), 0.5, SEED, "bgcx")
    with pytest.raises(ValueError, match="pipeline ops"):
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
