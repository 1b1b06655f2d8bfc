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
# Sublayers kept in float32 under mixed precision: the styles (they set the demodulation
# coefficients), the constant input (features start float32) and the ToRGB layers, whose outputs
# are summed across resolutions into the image.
FLOAT32_SUBLAYERS = ("affine", "style", "torgb", "const")


def set_mixed_precision(network, policy):
    """Gives `network` and its sublayers the dtype policy `policy` (e.g. `"mixed_bfloat16"`),
    except the sublayers named in `FLOAT32_SUBLAYERS`, which stay float32. Call before building.

    The mixed layers do not cast their inputs: features, ws and the image stay float32 between
    layers, and only the convolutions round their inputs to the compute dtype and compute in it
    (with float32 accumulation); modulation, demodulation, noise, bias, activation, clamp,
    resampling of the image and normalizations run in float32.
    """
    for layer in network._flatten_layers(include_self=True, recursive=True):
        float32 = layer.name in FLOAT32_SUBLAYERS
        layer.dtype_policy = "float32" if float32 else policy
        layer.autocast = float32


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
