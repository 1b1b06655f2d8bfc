"""Image arrays <-> Pillow images, in one place (NumPy and Pillow only: no Keras, no TensorFlow).

Generators output floats in about [-1, 1]; files hold uint8. `to_uint8` is the one conversion
(NVIDIA's rounding) and `to_pil_image` the one way from a uint8 array to a Pillow image, used by
sampling, projection, the training snapshots and the CLI.

Example:
>>> pixels = to_uint8(np.array([[[-1.0], [0.0], [1.0]]]))
>>> pixels[..., 0].tolist()
[[0, 128, 255]]
>>> to_pil_image(pixels).mode
'L'
"""
import numpy as np

MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # channel count -> Pillow mode


def to_uint8(images):
    """[-1, 1] images -> uint8 with NVIDIA's `(x * 127.5 + 128).clip(0, 255)`, truncated by the cast.

    This is what NVIDIA's `generate.py` writes, so a seed gives the same bytes here as there.
    """
    return np.clip(np.asarray(images, "float32") * 127.5 + 128, 0, 255).astype(np.uint8)


def check_image_array(array):
    """`array` as uint8 `[H, W, C]` (C in 1-4; `[H, W]` gains C = 1), else a clear error."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in MODES:
        raise ValueError(f"`array` must be [H, W] or [H, W, C] with C in 1-4. Received shape: {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"`array` must be uint8 (see `to_uint8`). Received dtype: {array.dtype}")
    return array


def to_pil_image(array):
    """A uint8 `[H, W]` or `[H, W, C]` array as a Pillow image whose mode follows C (L, LA, RGB, RGBA).

    Example:
    >>> to_pil_image(np.zeros([4, 6, 4], np.uint8)).size
    (6, 4)
    """
    from PIL import Image

    array = check_image_array(array)
    mode = MODES[array.shape[-1]]
    return Image.fromarray(array[..., 0] if mode == "L" else array, mode)
