"""ConstantInput: one learned [H, W, C] tensor repeated over the batch."""
import numpy as np
import pytest

from keras_stylegan.layers import ConstantInput
from test_case import randn, run_layer_test


def test_constant_is_broadcast_over_the_batch():
    layer = ConstantInput(5, shape=(4, 2))
    y = np.asarray(layer(randn(3, 16)))
    const = layer.const.numpy()
    assert const.shape == (4, 2, 5) and const.std() > 0
    np.testing.assert_array_equal(y, np.broadcast_to(const, (3, 4, 2, 5)))


def test_ones_initializer_and_bad_initializer():
    np.testing.assert_array_equal(np.asarray(ConstantInput(2, initializer="ones")(randn(2, 3))), 1.0)
    with pytest.raises(ValueError, match="'zeros'"):
        ConstantInput(2, initializer="zeros")


def test_constant_input_layer_contract():
    run_layer_test(ConstantInput, dict(channels=3, shape=(4, 2)), randn(2, 8), (2, 4, 2, 3))
