"""keras_stylegan.sampling: seeds, grids, image files, style mixing, interpolation, noise variation."""
import os
import sys
import types

import numpy as np
import pytest
from keras import ops
from PIL import Image

from keras_stylegan import Generator, sampling
from test_case import assert_same_pixels

TINY = dict(z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)


def make_generator(resolution=16, channels=4, num_classes=0):
    """A tiny generator with noise switched on and a real w_avg (a fresh one has zero noise strength and w_avg)."""
    g = Generator(resolution=resolution, channels=channels, num_classes=num_classes, **TINY)
    for variable in g.weights:
        if variable.path.endswith("noise_strength"):
            variable.assign(np.full(variable.shape, 0.2, "float32"))
    z = np.random.RandomState(99).randn(64, 16).astype("float32")
    labels = np.arange(64) % num_classes if num_classes else None
    g.mapping.w_avg.assign(np.mean(ops.convert_to_numpy(g.mapping(z, labels=labels))[:, 0], axis=0))
    return g


def as_uint8(images):
    """Reference conversion, written out independently of the code under test."""
    return np.clip(np.asarray(ops.convert_to_numpy(images)) * 127.5 + 128, 0, 255).astype(np.uint8)


def z_of(seed):
    return np.random.RandomState(seed).randn(1, 16).astype("float32")


@pytest.fixture(scope="module")
def g():
    return make_generator()


def test_parse_seeds():
    assert sampling.parse_seeds("0-15") == list(range(16))
    assert sampling.parse_seeds("1,5,9") == [1, 5, 9]
    assert sampling.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert sampling.parse_seeds([4, 2]) == [4, 2] and sampling.parse_seeds(7) == [7]


@pytest.mark.parametrize("text, match", [
    ("3-1", "'3-1' runs backwards"), ("abc", "'0-15'"), ("", "'0-15'"), ("-1", "'0-15'"), ("1,,2", "'0-15'"),
    ([1.5], "ints"), ([], "at least one"), (2**32, "must be in"),
])
def test_parse_seeds_errors(text, match):
    with pytest.raises(ValueError, match=match):
        sampling.parse_seeds(text)


def test_seeds_are_nvidia_latents_and_reproduce(g):
    np.testing.assert_array_equal(sampling.seeds_to_z([5, 6], 16), np.concatenate([z_of(5), z_of(6)]))
    images = sampling.generate_images(g, [3, 4, 5], psi=0.7, batch_size=2)
    assert images.shape == (3, 16, 16, 4) and images.dtype == np.uint8
    assert_same_pixels(images, sampling.generate_images(g, [3, 4, 5], psi=0.7, batch_size=2))
    assert_same_pixels(images[1], sampling.generate_images(g, [4], psi=0.7)[0])  # batching changes nothing
    assert_same_pixels(images[2], as_uint8(g(z_of(5), psi=0.7, noise_mode="const"))[0])
    assert not np.array_equal(images[0], images[1])


def test_generate_images_options(g):
    at_average = sampling.generate_images(g, [1, 2], psi=0.0)  # psi 0: every seed maps to w_avg
    assert_same_pixels(at_average[0], at_average[1])
    cut = sampling.generate_images(g, [1], psi=0.0, truncation_cutoff=2)[0]
    assert_same_pixels(cut, as_uint8(g(z_of(1), psi=0.0, truncation_cutoff=2, noise_mode="const"))[0])
    quiet = sampling.generate_images(g, [1], noise_mode="none")[0]
    assert_same_pixels(quiet, as_uint8(g(z_of(1), noise_mode="none"))[0])
    assert not np.array_equal(quiet, sampling.generate_images(g, [1])[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"), (dict(psi="abc"), "psi"), (dict(psi=float("nan")), "psi"),
    (dict(noise_mode="loud"), "noise_mode"), (dict(class_label=1), "unconditional"),
])
def test_generate_images_errors(g, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sampling.generate_images(g, [0], **kwargs)


def test_conditional_generator():
    cg = make_generator(channels=3, num_classes=3)
    with pytest.raises(ValueError, match="class_label"):
        sampling.generate_images(cg, [0], class_label=3)
    image = sampling.generate_images(cg, [0], class_label=2)[0]
    assert_same_pixels(image, as_uint8(cg(z_of(0), labels=np.array([2]), noise_mode="const"))[0])
    # Without a class, seed s takes class s % 3: seed 5 is class 2, seed 4 is class 1.
    unlabelled = sampling.generate_images(cg, [5, 4])
    assert_same_pixels(unlabelled[0], as_uint8(cg(z_of(5), labels=np.array([2]), noise_mode="const"))[0])
    assert_same_pixels(unlabelled[1], as_uint8(cg(z_of(4), labels=np.array([1]), noise_mode="const"))[0])
    assert not np.array_equal(unlabelled[1], sampling.generate_images(cg, [4], class_label=2)[0])


def test_image_grid_layout():
    images = np.arange(1, 6, dtype=np.uint8)[:, None, None, None] * np.ones([5, 8, 16, 4], np.uint8)
    grid = sampling.image_grid(images, cols=3)
    assert grid.shape == (16, 48, 4)
    np.testing.assert_array_equal(grid[8:16, 0:16], images[3])
    np.testing.assert_array_equal(grid[0:8, 32:48], images[2])
    assert np.all(grid[8:16, 32:48] == 0)  # the empty cell is transparent black
    assert sampling.image_grid(images[:4, ..., :1]).shape == (16, 32, 1)  # default cols: square-ish; gray kept
    with pytest.raises(ValueError, match="cols"):
        sampling.image_grid(images, cols=0)


def test_non_square_generator_keeps_its_shape():
    wide = make_generator(resolution="16x8", channels=3)  # 16 wide, 8 high
    images = sampling.generate_images(wide, [0, 1, 2])
    assert images.shape == (3, 8, 16, 3)
    grid = sampling.image_grid(images, cols=2)
    assert grid.shape == (16, 32, 3)
    np.testing.assert_array_equal(grid[8:16, 0:16], images[2])


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_save_image_modes(tmp_path, channels, mode):
    array = np.random.RandomState(channels).randint(0, 256, [8, 16, channels]).astype(np.uint8)
    path = sampling.save_image(array, str(tmp_path / "x.png"))
    with Image.open(path) as image:
        assert image.mode == mode and image.size == (16, 8)
        np.testing.assert_array_equal(np.asarray(image).reshape(array.shape), array)
    assert os.listdir(tmp_path) == ["x.png"]  # no temporary file left behind


def test_generated_png_modes(g, tmp_path):
    gray = make_generator(channels=1)
    for generator, mode in [(g, "RGBA"), (gray, "L")]:
        path = sampling.save_image(sampling.image_grid(sampling.generate_images(generator, "0-3")), tmp_path / "g.png")
        with Image.open(path) as image:
            assert image.mode == mode and image.size == (32, 32)


def test_save_image_errors_leave_nothing(tmp_path):
    rgba = np.zeros([8, 8, 4], np.uint8)
    with pytest.raises(ValueError, match="does not exist"):
        sampling.save_image(rgba, tmp_path / "missing" / "x.png")
    with pytest.raises(ValueError, match="extension"):
        sampling.save_image(rgba, tmp_path / "x.nope")
    with pytest.raises(ValueError, match="is a directory"):
        sampling.save_image(rgba, tmp_path)
    with pytest.raises(ValueError, match="uint8"):
        sampling.save_image(rgba.astype("float32"), tmp_path / "x.png")
    with pytest.raises(OSError):  # JPEG has no alpha: fails while writing, after the temp file exists
        sampling.save_image(rgba, tmp_path / "x.jpg")
    assert os.listdir(tmp_path) == []


def test_style_ranges_follow_the_paper():
    # Karras et al. 2019: coarse 4²-8², middle 16²-32², fine 64²-1024² (18 ws at 1024²).
    ffhq = types.SimpleNamespace(resolution=(1024, 1024), num_ws=18)
    assert sampling.style_ranges(ffhq) == {"coarse": [0, 1, 2, 3], "middle": [4, 5, 6, 7], "fine": list(range(8, 18))}
    wide = types.SimpleNamespace(resolution=(64, 128), num_ws=12)  # blocks go by their long side
    assert sampling.style_ranges(wide) == {"coarse": [0, 1, 2, 3], "middle": [4, 5, 6, 7], "fine": [8, 9, 10, 11]}
    assert sampling.parse_styles("middle,0-1", ffhq) == [0, 1, 4, 5, 6, 7]
    assert sampling.parse_styles("0-6", ffhq) == list(range(7))


def test_parse_styles_errors(g):
    with pytest.raises(ValueError, match="no fine layers"):
        sampling.parse_styles("fine", g)  # 16x16: no 64² blocks
    with pytest.raises(ValueError, match="layer 6 is out of range"):
        sampling.parse_styles("0-6", g)
    with pytest.raises(ValueError, match="runs backwards"):
        sampling.parse_styles("3-1", g)


def test_style_mixing_grid(g):
    rows, cols = [1, 2], [3, 4, 5]
    grid = sampling.style_mixing_grid(g, rows, cols, styles="0-1", psi=0.7)
    assert grid.shape == (3 * 16, 4 * 16, 4)
    assert np.all(grid[:16, :16] == 0)
    cell = lambda r, c: grid[16 * r: 16 * (r + 1), 16 * c: 16 * (c + 1)]  # noqa: E731
    for i, seed in enumerate(cols):  # top row: the column seeds
        assert_same_pixels(cell(0, i + 1), sampling.generate_images(g, [seed], psi=0.7)[0])
    for i, seed in enumerate(rows):  # left column: the row seeds
        assert_same_pixels(cell(i + 1, 0), sampling.generate_images(g, [seed], psi=0.7)[0])
    ws_row = ops.convert_to_numpy(g.mapping(z_of(2), psi=0.7))
    ws_col = ops.convert_to_numpy(g.mapping(z_of(5), psi=0.7))
    mixed = np.concatenate([ws_col[:, :2], ws_row[:, 2:]], axis=1)
    assert_same_pixels(cell(2, 3), as_uint8(g.synthesis(mixed, noise_mode="const"))[0])
    assert not np.array_equal(cell(2, 3), cell(2, 0)) and not np.array_equal(cell(2, 3), cell(0, 3))


def test_slerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_array_equal(sampling.slerp(a, b, 0.0), a)
    np.testing.assert_array_equal(sampling.slerp(a, b, 1.0), b)
    np.testing.assert_allclose(sampling.slerp(a, b, 0.5), [np.sqrt(0.5), 2 * np.sqrt(0.5)])  # the angle halves
    np.testing.assert_allclose(sampling.slerp(a, 3 * a, 0.5), 2 * a)  # parallel: linear


@pytest.mark.parametrize("space", ["z", "w"])
def test_interpolation_passes_through_the_seeds(g, space):
    frames = sampling.interpolate(g, [1, 2, 3], frames=6, space=space, psi=0.7)
    assert len(frames) == 6 and frames[0].shape == (16, 16, 4)
    seed_images = sampling.generate_images(g, [1, 2, 3], psi=0.7)
    for i in range(3):
        assert_same_pixels(frames[2 * i], seed_images[i])
    assert not any(np.array_equal(frames[1], image) for image in seed_images)


@pytest.mark.parametrize("space", ["z", "w"])
def test_conditional_interpolation_passes_through_each_seeds_class(space):
    cg = make_generator(channels=3, num_classes=3)
    frames = sampling.interpolate(cg, [1, 2], frames=4, space=space)
    seed_images = sampling.generate_images(cg, [1, 2])  # classes 1 and 2
    assert_same_pixels(frames[0], seed_images[0])
    assert_same_pixels(frames[2], seed_images[1])


def test_w_interpolation_is_linear(g):
    ws = np.concatenate([ops.convert_to_numpy(g.mapping(z_of(s))) for s in (1, 2)])
    middle = sampling.interpolate(g, [1, 2], frames=4, space="w")[1]
    expected = as_uint8(g.synthesis(ws.mean(0, keepdims=True), noise_mode="const"))[0]
    assert np.abs(middle.astype(int) - expected).max() <= 1  # (a+b)/2 and a+(b-a)/2 round differently


@pytest.mark.parametrize("kwargs, match", [
    (dict(seeds=[1]), "at least two"), (dict(frames=0), "frames"), (dict(space="x"), "space"),
])
def test_interpolate_errors(g, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sampling.interpolate(g, **dict(dict(seeds=[1, 2], frames=4), **kwargs))


def test_save_animation(tmp_path, monkeypatch):
    frames = [np.full([8, 16, c], 40 * i, np.uint8) for c in (4,) for i in range(3)]
    path = sampling.save_animation(frames, tmp_path / "walk.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.size == (16, 8) and gif.info["loop"] == 0
    sampling.save_animation([f[..., :2] for f in frames], tmp_path / "gray.gif")  # gray+alpha has no GIF mode
    monkeypatch.setitem(sys.modules, "imageio", None)  # as if the video extra were not installed
    with pytest.raises(ValueError, match=r"imageio.*keras-stylegan\[video\]"):
        sampling.save_animation(frames, tmp_path / "walk.mp4")
    with pytest.raises(ValueError, match="extension"):
        sampling.save_animation(frames, tmp_path / "walk.avi")
    assert sorted(os.listdir(tmp_path)) == ["gray.gif", "walk.gif"]


def test_noise_variation(g):
    stored = [v.numpy().copy() for v in g.weights if v.path.endswith("noise_const")]
    images, std_map = sampling.noise_variation(g, seed=3, num_draws=4)
    assert images.shape == (4, 16, 16, 4) and std_map.shape == (16, 16) and std_map.dtype == np.uint8
    assert std_map.max() > 0 and not np.array_equal(images[0], images[1])
    np.testing.assert_array_equal(images, sampling.noise_variation(g, seed=3, num_draws=4)[0])  # reproducible
    for mode in ("none", "const"):
        assert np.all(sampling.noise_variation(g, seed=3, num_draws=4, noise_mode=mode)[1] == 0)
    none_everywhere = sampling.noise_variation(g, seed=3, num_draws=1, noise_mode="none", hold="none")[0][0]
    assert_same_pixels(none_everywhere, as_uint8(g(z_of(3), noise_mode="none"))[0])
    assert all(np.array_equal(v.numpy(), s) for v, s in zip(
        [v for v in g.weights if v.path.endswith("noise_const")], stored))  # the stored maps are restored


def test_per_block_noise_variation(g):
    for block in (0, "b8", 2):
        images, std_map = sampling.noise_variation(g, seed=3, num_draws=3, block=block, hold="none")
        assert std_map.max() > 0
    with pytest.raises(ValueError, match="block"):
        sampling.noise_variation(g, seed=3, block="b64")
    figure = sampling.noise_figure(g, seed=3, num_draws=2)
    assert figure.shape == (4 * 16, 3 * 16, 4)  # rows: all blocks, b4, b8, b16; columns: 2 draws + std
    assert np.all(figure[:, 32:, 3] == 255)  # the std column is opaque
