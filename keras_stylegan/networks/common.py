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


def float16_side(resolution, num_fp16_res):
    """The smallest block side that runs in float16 when the `num_fp16_res` highest resolutions do
    (stylegan2-ada's `fp16_resolution`: never the 4x4 block); `None` when none does."""
    if not num_fp16_res:
        return None
    return max(2 ** (int(math.log2(max(resolution))) + 1 - num_fp16_res), 8)


def use_float16(network, blocks, shapes, num_fp16_res, architecture):
    """Checks `num_fp16_res` and gives the `blocks` (of `shapes`) at the highest resolutions NVIDIA's
    float16 policy (`mixed_float16`: the convolutions in float16, features between layers in float32)."""
    num_fp16_res = check_positive_int("num_fp16_res", num_fp16_res, minimum=0)
    if num_fp16_res and architecture != "stylegan2":
        raise ValueError(f"`num_fp16_res` applies to StyleGAN2 networks (NVIDIA's float16 recipe). Received: "
                         f"{num_fp16_res} with architecture {architecture!r}")
    if num_fp16_res and network.dtype_policy.name != "float32":
        raise ValueError(f"`num_fp16_res` needs dtype float32 (the other blocks'). Received: {network.dtype_policy.name}")
    side = float16_side(network.resolution, num_fp16_res)
    for block, shape in zip(blocks, shapes):
        if side is not None and max(shape) >= side:
            set_mixed_precision(block, "mixed_float16")
    return num_fp16_res


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
