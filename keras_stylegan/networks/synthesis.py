"""The synthesis network ws -> image, for StyleGAN (2019) and StyleGAN2.

Blocks are named like NVIDIA's (`b4`, `b8`, ...; `const`, `conv0`, `conv1`, `torgb`,
`skip`), so converting official weights is a table.
"""
import math

import keras
from keras import ops

from keras_stylegan.layers.constant import ConstantInput
from keras_stylegan.layers.equalized import EqualizedConv2D, EqualizedDense, bias_act
from keras_stylegan.layers.modulation import AdaIN, ModulatedConv2D
from keras_stylegan.layers.noise import NoiseInjection, check_noise_mode, noise_layers
from keras_stylegan.layers.rgb import ToRGB
from keras_stylegan.layers.serialization import register
from keras_stylegan.layers.upfirdn import setup_filter, upfirdn2d, upsample2d
from keras_stylegan.networks.common import (
    ARCHITECTURES, BOX_FILTER, DEFAULT_FILTERS, SQRT2, SYNTHESIS_ARCHITECTURES, check_channels,
    check_choice, check_min_lod, check_positive_int, fused_scale_at, upscale_nearest,
)
from keras_stylegan.utils.shapes import block_name, block_shapes, channels_at, parse_resolution


def blur(x, f):
    """Same-size FIR filtering (StyleGAN 2019's blur after upsampling / before downsampling)."""
    fw = len(f)
    return upfirdn2d(x, f, padding=((fw - 1) // 2, fw // 2, (fw - 1) // 2, fw // 2))


def lerp_clip(a, b, t):
    """`a + (b - a) * clip(t, 0, 1)`: the fade-in of progressive growing."""
    return a + (b - a) * ops.clip(t, 0.0, 1.0)


@register
class ModulatedLayer(keras.layers.Layer):
    """One StyleGAN2 synthesis layer (NVIDIA's SynthesisLayer).

    `affine(w)` -> styles; modulated conv (optionally upsampling); noise; bias; leaky
    ReLU with gain sqrt(2); optional clamp.

    Args:
        filters: output channels.
        kernel_size: conv kernel size.
        up: 1 or 2.
        resample_filter: FIR taps for upsampling.
        conv_clamp: clamp of the activations (NVIDIA's `conv_clamp`).
        fused_modconv: grouped-convolution implementation of the modulated conv.

    Call arguments:
        inputs: `[x, w]`.
        noise_mode: `"random"`, `"const"` or `"none"`.
        gain: extra output gain.
        noise: explicit noise map `[N, H, W, 1]` (overrides `"random"`/`"const"`).
    """

    def __init__(self, filters, kernel_size=3, up=1, resample_filter=(1, 3, 3, 1), conv_clamp=None,
                 fused_modconv=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.up = int(up)
        self.resample_filter = [float(v) for v in resample_filter]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.fused_modconv = bool(fused_modconv)
        self.conv = ModulatedConv2D(self.filters, self.kernel_size, up=self.up,
                                    resample_filter=self.resample_filter, fused=self.fused_modconv, name="conv")
        self.noise = NoiseInjection(per_channel=False, name="noise")

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        # The affine's width is the input's channel count, known only here.
        self.affine = EqualizedDense(int(x_shape[-1]), bias_init=1.0, name="affine")
        self.affine.build(w_shape)
        self.conv.build([x_shape, (w_shape[0], x_shape[-1])])
        out_shape = self.conv.compute_output_shape([x_shape, None])
        self.noise.build(out_shape)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs, noise_mode="random", gain=1.0, noise=None):
        x, w = inputs
        x = self.conv([x, self.affine(w)])
        x = self.noise(x, noise_mode=noise_mode, noise=noise)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, "lrelu", SQRT2 * gain, clamp)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape([input_shape[0], None])

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, up=self.up,
            resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv,
        )
        return config


@register
class StyleLayer(keras.layers.Layer):
    """One StyleGAN (2019) synthesis layer.

    [conv (nearest upscale when `up=2`), blur] -> noise (per-channel strength) -> bias
    -> leaky ReLU -> instance norm -> AdaIN style from w. Without a conv it is the
    epilogue applied to the learned constant.

    Args:
        filters: output channels.
        kernel_size: conv kernel size.
        up: 1 or 2.
        use_conv: `False` for the layer on the constant input.
        blur_filter: FIR taps of the blur after upsampling.
        fused_scale: upscale with NVIDIA's fused transposed convolution (used from
            128x128 on in the official models).

    Call arguments:
        inputs: `[x, w]`.
        noise_mode: `"random"`, `"const"` or `"none"`.
        noise: explicit noise map `[N, H, W, 1]` (overrides `"random"`/`"const"`).
    """

    def __init__(self, filters, kernel_size=3, up=1, use_conv=True, blur_filter=(1, 2, 1), fused_scale=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.up = int(up)
        self.use_conv = bool(use_conv)
        self.blur_filter = [float(v) for v in blur_filter]
        self.fused_scale = bool(fused_scale)
        self._blur = setup_filter(self.blur_filter)
        self.conv = None
        if self.use_conv:
            self.conv = EqualizedConv2D(
                self.filters, self.kernel_size, use_bias=False, up=1 if self.fused_scale else self.up,
                resample_filter=BOX_FILTER, weight_gain=SQRT2, name="conv",
            )
        self.noise = NoiseInjection(per_channel=True, name="noise")
        self.adain = AdaIN(name="adain")

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        out_shape = tuple(x_shape[:-1]) + (self.filters,)
        if self.conv is not None:
            self.conv.build(x_shape)
            out_shape = (x_shape[0], x_shape[1] * self.up, x_shape[2] * self.up, self.filters)
        self.noise.build(out_shape)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.adain.build([out_shape, w_shape])

    def _fused_upscale_conv(self, x):
        # NVIDIA's fused upscale2d_conv2d: a stride-2 transposed conv with the 3x3 kernel
        # padded and summed into 4x4 (not the same as nearest upscale + conv: kept as is).
        w = ops.cast(self.conv.kernel, x.dtype) * self.conv._scale
        w = ops.transpose(w, (0, 1, 3, 2))
        w = ops.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
        w = w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]
        return ops.conv_transpose(x, w, strides=2, padding="same")

    def call(self, inputs, noise_mode="random", noise=None):
        x, w = inputs
        if self.conv is not None:
            x = self._fused_upscale_conv(x) if (self.fused_scale and self.up > 1) else self.conv(x)
            if self.up > 1:
                x = blur(x, self._blur)
        x = self.noise(x, noise_mode=noise_mode, noise=noise)
        x = bias_act(x, self.bias, "lrelu", gain=1.0)
        return self.adain([x, w])

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape[0]
        up = self.up if self.use_conv else 1
        return (n, None if h is None else h * up, None if w is None else w * up, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, up=self.up, use_conv=self.use_conv,
            blur_filter=self.blur_filter, fused_scale=self.fused_scale,
        )
        return config


@register
class SynthesisBlock(keras.layers.Layer):
    """One resolution of the synthesis network (NVIDIA's SynthesisBlock).

    StyleGAN2: `[const] | conv0 (up)`, `conv1`, `torgb` (every block for 'skip', last
    block otherwise), `skip` (1x1 up-conv for 'resnet'). StyleGAN 2019: `const` + its
    epilogue (`conv0` without conv) or `conv0` (up), then `conv1`; `torgb` at every
    resolution for progressive growing.

    Args:
        filters: channels of the block.
        img_channels: image channels.
        resolution: `(height, width)` of the block output.
        architecture: `"stylegan"` or `"stylegan2"`.
        block_architecture: StyleGAN2's `"orig"`, `"skip"` or `"resnet"`.
        is_first: the block starts from the learned constant.
        is_last: the block makes the final image.
        resample_filter: FIR taps.
        conv_clamp: activation clamp.
        fused_modconv: grouped-conv modulated convolutions.
        fused_scale: StyleGAN 2019 fused upscaling for this block.

    Call arguments:
        ws: `[N, num_ws_of_block, w_dim]` (StyleGAN2: `num_conv + num_torgb` ws, the
            last shared with the next block; StyleGAN 2019: 2).
        x: features from the previous block (`None` for the first).
        img: image so far (StyleGAN2 'skip'), or `None`.
        noise_mode: `"random"`, `"const"` or `"none"`.
        noise: explicit noise maps, one per conv layer (`num_conv`), or `None`.

    Returns `(x, img)`; for StyleGAN 2019 `img` is this block's ToRGB output.
    """

    def __init__(self, filters, img_channels, resolution, architecture="stylegan2", block_architecture="skip",
                 is_first=False, is_last=False, resample_filter=None, conv_clamp=None, fused_modconv=False,
                 fused_scale=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.img_channels = int(img_channels)
        self.resolution = tuple(int(r) for r in resolution)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        self.block_architecture = check_choice("block_architecture", block_architecture, SYNTHESIS_ARCHITECTURES)
        self.is_first = bool(is_first)
        self.is_last = bool(is_last)
        default = DEFAULT_FILTERS[self.architecture]
        self.resample_filter = [float(v) for v in (resample_filter or default)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.fused_modconv = bool(fused_modconv)
        self.fused_scale = bool(fused_scale)
        self._filter = setup_filter(self.resample_filter)

        stylegan2 = self.architecture == "stylegan2"
        self.const = None
        if self.is_first:
            self.const = ConstantInput(self.filters, shape=self.resolution,
                                       initializer="normal" if stylegan2 else "ones", name="const")
        if stylegan2:
            layer = dict(resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
                         fused_modconv=self.fused_modconv)
            self.conv0 = None if self.is_first else ModulatedLayer(self.filters, up=2, name="conv0", **layer)
            self.conv1 = ModulatedLayer(self.filters, name="conv1", **layer)
            has_torgb = self.is_last or self.block_architecture == "skip"
            self.torgb = ToRGB(self.img_channels, clamp=self.conv_clamp, name="torgb") if has_torgb else None
            self.skip = None
            if self.block_architecture == "resnet" and not self.is_first:
                self.skip = EqualizedConv2D(self.filters, 1, use_bias=False, up=2,
                                            resample_filter=self.resample_filter, name="skip")
        else:
            self.conv0 = StyleLayer(self.filters, up=1 if self.is_first else 2, use_conv=not self.is_first,
                                    blur_filter=self.resample_filter, fused_scale=self.fused_scale, name="conv0")
            self.conv1 = StyleLayer(self.filters, name="conv1")
            self.torgb = ToRGB(self.img_channels, modulated=False, name="torgb")
            self.skip = None

    @property
    def num_conv(self):
        return 1 if (self.is_first and self.architecture == "stylegan2") else 2

    @property
    def num_torgb(self):
        return int(self.torgb is not None and self.architecture == "stylegan2")

    def build(self, input_shape):
        """`input_shape`: `(ws_shape, x_shape or None)`."""
        ws_shape, x_shape = input_shape
        w_shape = (ws_shape[0], ws_shape[-1])
        h, w = self.resolution
        out_shape = (None, h, w, self.filters)
        if self.const is not None:
            self.const.build(w_shape)
        if self.conv0 is not None:
            self.conv0.build([out_shape if self.is_first else x_shape, w_shape])
        self.conv1.build([out_shape, w_shape])
        if self.torgb is not None:
            self.torgb.build([out_shape, w_shape] if self.architecture == "stylegan2" else out_shape)
        if self.skip is not None:
            self.skip.build(x_shape)

    def call(self, ws, x=None, img=None, noise_mode="random", noise=None):
        stylegan2 = self.architecture == "stylegan2"
        w_iter = iter(range(ws.shape[1]))
        noise = [None] * self.num_conv if noise is None else list(noise)
        if len(noise) != self.num_conv:
            raise ValueError(f"`noise` must hold {self.num_conv} maps for block {self.name}. Received: {len(noise)}")
        if self.is_first:
            x = self.const(ws)
        if stylegan2 and self.is_first:
            x = self.conv1([x, ws[:, next(w_iter)]], noise_mode=noise_mode, noise=noise[0])
        elif self.skip is not None:
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0([x, ws[:, next(w_iter)]], noise_mode=noise_mode, noise=noise[0])
            x = self.conv1([x, ws[:, next(w_iter)]], noise_mode=noise_mode, gain=math.sqrt(0.5), noise=noise[1])
            x = y + x
        else:
            x = self.conv0([x, ws[:, next(w_iter)]], noise_mode=noise_mode, noise=noise[0])
            x = self.conv1([x, ws[:, next(w_iter)]], noise_mode=noise_mode, noise=noise[1])
        if not stylegan2:
            return x, self.torgb(x)
        if img is not None:
            img = upsample2d(img, self._filter)
        if self.torgb is not None:
            y = self.torgb([x, ws[:, next(w_iter)]])
            img = y if img is None else img + y
        return x, img

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, img_channels=self.img_channels, resolution=list(self.resolution),
            architecture=self.architecture, block_architecture=self.block_architecture,
            is_first=self.is_first, is_last=self.is_last, resample_filter=self.resample_filter,
            conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv, fused_scale=self.fused_scale,
        )
        return config


@register
class SynthesisNetwork(keras.layers.Layer):
    """ws -> image: StyleGAN (2019) or StyleGAN2 synthesis.

    Channels per block follow NVIDIA's `min(channel_base // res, channel_max)`. Images
    are NHWC on the [-1, 1] scale (unclipped). For StyleGAN 2019 the output blends the
    resolutions by level of detail (`lod`; 0 = full resolution), always at full size,
    so progressive growing can fade in new blocks.

    Args:
        w_dim: width of each w.
        resolution: int, `(height, width)` or `"WxH"`; each side a power of two.
        channels: image channels (1-4).
        architecture: `"stylegan"` or `"stylegan2"`.
        block_architecture: StyleGAN2 `"orig"`, `"skip"` (default) or `"resnet"`.
        channel_base: channel schedule numerator (32768 = StyleGAN2 config-f; 16384 =
            StyleGAN 2019 FFHQ, whose `fmap_base` is half of it).
        channel_max: channel cap.
        resample_filter: FIR taps (default [1,3,3,1] StyleGAN2, [1,2,1] StyleGAN 2019).
        conv_clamp: activation clamp (StyleGAN2-ADA uses 256).
        fused_modconv: grouped-conv modulated convolutions.
        fused_scale: StyleGAN 2019 fused upscaling: `"auto"` (from 128 px), `True`, `False`.

    Call arguments:
        ws: `[N, num_ws, w_dim]`.
        noise_mode: `"random"`, `"const"` or `"none"`.
        lod: level of detail for StyleGAN 2019 (default: the stored `lod` variable).
        noise: explicit noise maps `[N, H, W, 1]`, one per noise layer in
            `synthesis_noise_layers` order (overrides `noise_mode`
            except `"none"`), e.g. noise drawn for a whole distributed batch and sliced.
        min_lod: a Python int the caller guarantees `lod` never goes below (StyleGAN 2019):
            the blocks finer than that level cannot show, so they are not computed and the
            coarser image is upscaled instead (the same result, far cheaper while growing).

    Example:
    >>> synthesis = SynthesisNetwork(w_dim=16, resolution=16, channel_base=256, channel_max=16)
    >>> tuple(synthesis(np.zeros([1, synthesis.num_ws, 16], "float32")).shape)
    (1, 16, 16, 3)
    """

    def __init__(self, w_dim=512, resolution=1024, channels=3, architecture="stylegan2", block_architecture="skip",
                 channel_base=32768, channel_max=512, resample_filter=None, conv_clamp=None, fused_modconv=False,
                 fused_scale="auto", **kwargs):
        super().__init__(**kwargs)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.resolution = parse_resolution(resolution)
        self.channels = check_channels(channels)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        self.block_architecture = check_choice("block_architecture", block_architecture, SYNTHESIS_ARCHITECTURES)
        self.channel_base = check_positive_int("channel_base", channel_base)
        self.channel_max = check_positive_int("channel_max", channel_max)
        self.resample_filter = None if resample_filter is None else [float(v) for v in resample_filter]
        self.conv_clamp = conv_clamp
        self.fused_modconv = bool(fused_modconv)
        if fused_scale not in ("auto", True, False):
            raise ValueError(f"`fused_scale` must be 'auto', True or False. Received: {fused_scale!r}")
        self.fused_scale = fused_scale
        self.block_shapes = block_shapes(self.resolution)
        self.blocks = []
        for i, shape in enumerate(self.block_shapes):
            block = SynthesisBlock(
                channels_at(shape, self.channel_base, self.channel_max), self.channels, shape,
                architecture=self.architecture, block_architecture=self.block_architecture,
                is_first=i == 0, is_last=i == len(self.block_shapes) - 1,
                resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
                fused_modconv=self.fused_modconv, fused_scale=fused_scale_at(self.fused_scale, shape),
                name=block_name(shape),
            )
            self.blocks.append(block)
        if self.architecture == "stylegan2":
            self.num_ws = sum(b.num_conv for b in self.blocks) + self.blocks[-1].num_torgb
        else:
            self.num_ws = 2 * len(self.blocks)

    def _split_noise(self, noise):
        """One list of maps per block from the flat list (or `None` for every block)."""
        if noise is None:
            return iter([None] * len(self.blocks))
        noise = list(noise)
        expected = sum(block.num_conv for block in self.blocks)
        if len(noise) != expected:
            raise ValueError(f"`noise` must hold {expected} maps (one per noise layer). Received: {len(noise)}")
        per_block, start = [], 0
        for block in self.blocks:
            per_block.append(noise[start: start + block.num_conv])
            start += block.num_conv
        return iter(per_block)

    @property
    def max_lod(self):
        return len(self.blocks) - 1

    def build(self, input_shape=None):
        x_shape = None
        for block in self.blocks:
            block.build(((None, 2 + block.num_torgb, self.w_dim), x_shape))
            x_shape = (None,) + block.resolution + (block.filters,)
        self.lod = None
        if self.architecture == "stylegan":
            self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", trainable=False)

    def call(self, ws, noise_mode="random", lod=None, noise=None, min_lod=0):
        check_noise_mode(noise_mode)
        block_noise = self._split_noise(noise)
        if ws.shape[1] is not None and (ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim):
            raise ValueError(f"`ws` must have shape [N, {self.num_ws}, {self.w_dim}]. Received: {tuple(ws.shape)}")
        ws = ops.cast(ws, "float32")  # styles are float32 under mixed precision too
        x = img = None
        w_idx = 0
        if self.architecture == "stylegan2":
            for block in self.blocks:
                block_ws = ws[:, w_idx: w_idx + block.num_conv + block.num_torgb]
                x, img = block(block_ws, x=x, img=img, noise_mode=noise_mode, noise=next(block_noise))
                w_idx += block.num_conv
            return img
        lod = self.lod if lod is None else lod
        lod = ops.cast(lod, "float32")  # the images blended by lod are float32 (ToRGB)
        min_lod = check_min_lod(min_lod, self.max_lod)
        for i, block in enumerate(self.blocks[: len(self.blocks) - min_lod]):
            x, rgb = block(ws[:, 2 * i: 2 * i + 2], x=x, noise_mode=noise_mode, noise=next(block_noise))
            if img is None:
                img = rgb
            else:  # linear structure: upscale the image so far and fade in this level
                img = upscale_nearest(img, 2)
                img = lerp_clip(rgb, img, lod - (self.max_lod - i))
        return upscale_nearest(img, 2 ** min_lod)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.resolution + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(
            w_dim=self.w_dim, resolution=list(self.resolution), channels=self.channels,
            architecture=self.architecture, block_architecture=self.block_architecture,
            channel_base=self.channel_base, channel_max=self.channel_max, resample_filter=self.resample_filter,
            conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv, fused_scale=self.fused_scale,
        )
        return config


def noise_layers_by_block(generator):
    """The `NoiseInjection` layers of each synthesis block of `generator`, smallest block first.

    This is the order in which sampling, training and the metrics draw noise maps (so a seed means
    the same maps everywhere) and the order of the synthesis network's `noise=` list.

    Example:
    >>> [len(layers) for layers in noise_layers_by_block(generator)]
    [1, 2, 2]
    """
    return [noise_layers(block) for block in getattr(generator.synthesis, "blocks", ())]  # StyleGAN3: none


def synthesis_noise_layers(generator):
    """All `NoiseInjection` layers of `generator`, flat, in `noise_layers_by_block` order."""
    return [layer for block in noise_layers_by_block(generator) for layer in block]


__all__ = ["ModulatedLayer", "StyleLayer", "SynthesisBlock", "SynthesisNetwork", "noise_layers_by_block",
           "synthesis_noise_layers"]
