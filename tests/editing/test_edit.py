"""Editing: strength 0 is the original image; only the chosen style layers move."""
import numpy as np
import pytest

from keras_stylegan import sampling
from keras_stylegan.editing import edit, load_direction, parse_strengths
from test_case import assert_same_pixels


@pytest.fixture(scope="module")
def w(generator):
    return sampling.map_seeds(generator, [7])[0]  # [num_ws, w_dim]


def test_strength_zero_is_the_original_image(generator, w):
    direction = np.random.RandomState(1).randn(16)
    images = edit(generator, w, direction, [-3, 0, 3], layers="0-2")
    original = sampling.synthesize(generator, w[None])[0]
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.uint8
    assert_same_pixels(images[1], original)
    assert np.abs(images[0].astype(int) - original).max() > 0 and np.abs(images[2].astype(int) - original).max() > 0
    assert_same_pixels(edit(generator, w[0], direction, [0.0])[0], original)  # one w [w_dim]


def test_only_the_chosen_layers_move(generator, w):
    direction = np.random.RandomState(2).randn(16)
    unit = direction / np.linalg.norm(direction)
    by_hand = w.copy()
    by_hand[[1, 4]] += 2.5 * unit
    assert_same_pixels(edit(generator, w[None], direction * 7, [2.5], layers=[1, 4])[0],
                                  sampling.synthesize(generator, by_hand[None])[0])


@pytest.mark.parametrize("kwargs, words", [
    (dict(direction=np.zeros(16)), "finite non-zero"),
    (dict(direction=np.ones(8)), r"\[w_dim\] = \[16\]"),
    (dict(w=np.zeros([2, 6, 16])), "one finite latent"),
    (dict(strengths=[]), "one or more finite"),
    (dict(layers="0-9"), "layer 6 is out of range"),
])
def test_bad_arguments(generator, w, kwargs, words):
    arguments = dict(dict(w=w, direction=np.ones(16), strengths=[1.0]), **kwargs)
    with pytest.raises(ValueError, match=words):
        edit(generator, **arguments)


def test_parse_strengths_and_load_direction(tmp_path):
    np.testing.assert_allclose(parse_strengths("-3,3", 7), np.arange(-3, 4))
    np.testing.assert_allclose(parse_strengths("2", 3), [-2, 0, 2])
    with pytest.raises(ValueError, match="strength must be 'MIN,MAX'"):
        parse_strengths("a,b", 3)
    directions = np.random.RandomState(0).randn(4, 16).astype(np.float32)
    np.savez(tmp_path / "dirs.npz", directions=directions)
    np.testing.assert_array_equal(load_direction(f"{tmp_path}/dirs.npz:2"), directions[2])
    np.testing.assert_array_equal(load_direction(tmp_path / "dirs.npz"), directions[0])
    with pytest.raises(ValueError, match="index 4 is out of range"):
        load_direction(f"{tmp_path}/dirs.npz:4")
    with pytest.raises(FileNotFoundError, match="direction file not found"):
        load_direction(f"{tmp_path}/none.npz:0")
