"""Argument checks and defaults shared by the networks."""
import math

from keras import ops

from keras_stylegan.utils.checks import check_positive_int  # noqa: F401 - re-exported for the networks

ARCHITECTURES = ("stylegan", "stylegan2")
SYNTHESIS_ARCHITECTURES = ("orig", "skip", "resnet")
DISCRIMINATOR_ARCHITECTURES = ("orig", "skip", "resnet")
# StyleGAN (2019) blurs with [1, 2, 1] around nearest/box resampling; StyleGAN2 resamples with [1, 3, 3, 1].
DEFAULT_FILTERS = {"stylegan": (1, 2, 1), "stylegan2": (1, 3, 3, 1)}
BOX_FILTER = (1, 1)
SQRT2 = math.sqrt(2.0)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {value!r}")
    return value


def check_channels(channels):
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 4:
        raise ValueError(f"`channels` must be 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). Received: {channels!r}")
    return channels


def fused_scale_at(fused_scale, shape):
    """StyleGAN 2019's 'auto' fuses resampling into the conv from 128 pixels on."""
    if fused_scale == "auto":
        return min(shape) >= 128
    return bool(fused_scale)


def check_min_lod(min_lod, max_lod):
    """`min_lod` must be a Python int in [0, max_lod]: it decides which blocks exist in the graph."""
    if isinstance(min_lod, bool) or not isinstance(min_lod, int) or not 0 <= min_lod <= max_lod:
        raise ValueError(f"`min_lod` must be an int from 0 to {max_lod}. Received: {min_lod!r}")
    return min_lod


def upscale_nearest(images, factor):
    """NHWC nearest-neighbour upscaling by an integer factor (NVIDIA's `upscale2d`)."""
    if factor == 1:
        return images
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)
