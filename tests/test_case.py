"""Shared test helpers: a generic layer check and NumPy references of NVIDIA's ops.

`run_layer_test` checks what every layer must do (shape, config and `.keras` round-trips,
finite gradients). The `np_*` functions are float64 references written from the papers'
formulas and from the documented semantics of NVIDIA's `upfirdn2d` / `conv2d_resample`;
they share no code with the library, so the tests compare two independent computations.
"""
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf
from scipy import signal


def _as_list(data):
    return list(data) if isinstance(data, (list, tuple)) else [data]


def _shapes(data):
    shapes = [tuple(np.shape(x)) for x in _as_list(data)]
    return shapes if isinstance(data, (list, tuple)) else shapes[0]


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def run_layer_test(layer_cls, init_kwargs, input_data, expected_output_shape, call_kwargs=None,
                   rtol=1e-6, atol=1e-6):
    """Checks a layer's shape, config round-trip, `.keras` round-trip and gradients.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_data: a NumPy array, or a list of them for multi-input layers (`[x, w]`).
        expected_output_shape: the output shape for `input_data`.
        call_kwargs: extra call arguments (must make the output deterministic).
        rtol, atol: tolerances when comparing outputs of the copies.

    Returns:
        The built layer, for further checks.

    Example:
    >>> layer = run_layer_test(keras.layers.Dense, {"units": 2}, np.ones([3, 4], "float32"), (3, 2))
    """
    call_kwargs = call_kwargs or {}
    inputs = [np.asarray(x) for x in _as_list(input_data)]
    call_inputs = inputs if isinstance(input_data, (list, tuple)) else inputs[0]

    layer = layer_cls(**init_kwargs)
    output = _numpy(layer(call_inputs, **call_kwargs))
    assert output.shape == tuple(expected_output_shape), (output.shape, expected_output_shape)
    assert np.all(np.isfinite(output)), "non-finite output"

    # compute_output_shape must agree with the real output (Keras uses it for symbolic calls).
    if type(layer).compute_output_shape is not keras.layers.Layer.compute_output_shape:
        shape = layer.compute_output_shape(_shapes(input_data))
        assert tuple(shape) == output.shape, (tuple(shape), output.shape)

    # get_config -> from_config gives the same config, and the same outputs with the same weights.
    config = layer.get_config()
    restored = layer_cls.from_config(config)
    assert restored.get_config() == config
    restored(call_inputs, **call_kwargs)
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(_numpy(restored(call_inputs, **call_kwargs)), output, rtol=rtol, atol=atol)

    # `.keras` file round-trip of a tiny functional model around a fresh copy of the layer.
    symbolic = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
    symbolic_call = symbolic if isinstance(input_data, (list, tuple)) else symbolic[0]
    copy = layer_cls.from_config(config)
    model = keras.Model(symbolic_call, copy(symbolic_call, **call_kwargs))
    copy.set_weights(layer.get_weights())
    assert model.output.shape[1:] == output.shape[1:], (model.output.shape, output.shape)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    loaded_output = _numpy(loaded(call_inputs))
    np.testing.assert_allclose(loaded_output, output, rtol=rtol, atol=atol)

    # Gradients: every trainable weight gets a finite gradient; weightless layers pass one to an input.
    watched = [tf.convert_to_tensor(x) for x in inputs]
    probe = np.random.RandomState(0).randn(*output.shape).astype(output.dtype)
    with tf.GradientTape() as tape:
        tape.watch([x for x in watched if x.dtype.is_floating])
        y = layer(watched if isinstance(input_data, (list, tuple)) else watched[0], **call_kwargs)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * probe)
    weights = layer.trainable_weights
    grads = tape.gradient(loss, list(weights) + watched)
    for weight, grad in zip(weights, grads):
        assert grad is not None, f"no gradient for {weight.path}"
        assert np.all(np.isfinite(_numpy(grad))), f"non-finite gradient for {weight.path}"
    if not weights:
        input_grads = [g for g in grads if g is not None]
        assert input_grads, "no gradient reaches the inputs of a weightless layer"
        assert all(np.all(np.isfinite(_numpy(g))) for g in input_grads)
    return layer


# ----------------------------------------------------------------------------------------
# NumPy references (float64, NHWC). Filters are used exactly as given (no normalization).


def parse_padding(padding):
    """`int`, `(px, py)` or `(px0, px1, py0, py1)` -> `(px0, px1, py0, py1)`."""
    if np.isscalar(padding):
        return (int(padding),) * 4
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    return tuple(padding)


def filter_2d(f):
    """A 1-D (separable) filter as its 2-D outer product; a 2-D filter unchanged."""
    f = np.asarray(f, np.float64)
    return np.outer(f, f) if f.ndim == 1 else f


def np_upfirdn2d(x, f, up=1, down=1, padding=0, gain=1.0, flip_filter=False):
    """Zero-stuff by `up`, pad (negative crops), convolve with `f * gain`, keep every `down`-th."""
    upx, upy = (up, up) if np.isscalar(up) else up
    downx, downy = (down, down) if np.isscalar(down) else down
    px0, px1, py0, py1 = parse_padding(padding)
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    z = np.zeros([n, h * upy, w * upx, c])
    z[:, ::upy, ::upx, :] = x
    z = np.pad(z, [(0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0)), (0, 0)])
    z = z[:, max(-py0, 0): z.shape[1] - max(-py1, 0), max(-px0, 0): z.shape[2] - max(-px1, 0), :]
    kernel = filter_2d(f) * gain
    op = signal.correlate2d if flip_filter else signal.convolve2d
    out = np.stack([np.stack([op(z[i, :, :, j], kernel, mode="valid") for j in range(c)], -1)
                    for i in range(n)])
    return out[:, ::downy, ::downx, :]


def np_correlate(x, w, mode="valid"):
    """Cross-correlation of NHWC `x` with an HWIO kernel `w`, per (input, output) channel pair."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, _, _, cin = x.shape
    cout = w.shape[3]
    return np.stack([
        np.stack([sum(signal.correlate2d(x[i, :, :, k], w[:, :, k, o], mode=mode) for k in range(cin))
                  for o in range(cout)], -1)
        for i in range(n)])


def np_conv2d_resample(x, w, f=(1.0,), up=1, down=1, padding=0):
    """NVIDIA's conv2d_resample semantics, written as its plain reference computation.

    up: zero-stuff, pad once (filter + `padding`), FIR-filter with gain up^2, then a valid
    correlation. down: pad, valid correlation, then FIR-filter and keep every other sample.
    """
    f2 = filter_2d(f)
    fh, fw = f2.shape
    px0 = px1 = py0 = py1 = padding
    if up > 1:
        px0, px1 = px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2
        py0, py1 = py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2
    if down > 1:
        px0, px1 = px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2
        py0, py1 = py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2
    x = np_upfirdn2d(x, f2 if up > 1 else [[1.0]], up=up, padding=(px0, px1, py0, py1), gain=up * up)
    x = np_correlate(x, w, mode="valid")
    if down > 1:
        x = np_upfirdn2d(x, f2, down=down)
    return x


def np_bias_act(x, bias=None, activation="linear", gain=None, clamp=None):
    """Bias, leaky ReLU (slope 0.2), gain (default sqrt(2) for lrelu, 1 for linear), clamp."""
    if bias is not None:
        x = x + bias
    if activation == "lrelu":
        x = np.where(x >= 0, x, 0.2 * x)
    x = x * ((np.sqrt(2.0) if activation == "lrelu" else 1.0) if gain is None else gain)
    return x if clamp is None else np.clip(x, -clamp, clamp)


def randn(*shape, seed=0):
    """Float32 standard-normal test data."""
    return np.random.RandomState(seed).randn(*shape).astype("float32")


def assert_same_pixels(actual, expected):
    """Two uint8 images from the same latents, computed in different batches.

    oneDNN's convolutions sum in an order that depends on the batch, so a value that lands
    within ~1e-6 of a rounding boundary may round to the neighbouring level: allow one level,
    on at most 1 % of the values (a wrong latent, layer or seed changes far more).
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    difference = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    assert difference.max(initial=0) <= 1, f"pixels differ by up to {difference.max()} levels"
    assert np.mean(difference > 0) <= 0.01, f"{np.mean(difference > 0):.1%} of the values differ"
