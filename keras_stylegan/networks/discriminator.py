"""The discriminator, for StyleGAN (2019, progressive) and StyleGAN2 (orig/skip/resnet)."""
import math

import keras
from keras import ops

from keras_stylegan.layers.equalized import EqualizedConv2D, EqualizedDense
from keras_stylegan.layers.minibatch_stddev import MinibatchStdDev
from keras_stylegan.layers.rgb import FromRGB
from keras_stylegan.layers.serialization import register
from keras_stylegan.layers.upfirdn import downsample2d, setup_filter
from keras_stylegan.networks.common import (
    ARCHITECTURES, BOX_FILTER, DEFAULT_FILTERS, DISCRIMINATOR_ARCHITECTURES, SQRT2, check_channels, check_choice,
    check_min_lod, check_positive_int, use_float16,
)
from keras_stylegan.networks.mapping import MappingNetwork
from keras_stylegan.networks.synthesis import blur, lerp_clip
from keras_stylegan.utils.shapes import block_name, block_shapes, channels_at, parse_resolution


def _conv_kwargs(architecture, conv_clamp):
    # StyleGAN 2019 folds sqrt(2) into the weights; StyleGAN2 applies it after the activation.
    if architecture == "stylegan":
        return dict(weight_gain=SQRT2, activation_gain=1.0)
    return dict(clamp=conv_clamp)


@register
class DiscriminatorBlock(keras.layers.Layer):
    """One resolution of the discriminator (NVIDIA's DiscriminatorBlock).

    `fromrgb` (first block, every block for 'skip' and StyleGAN 2019), `conv0`, `conv1`
    (downsampling), `skip` (1x1 down-conv for 'resnet'). StyleGAN 2019 blurs with
    [1, 2, 1] before the downsampling conv.

    Args:
        tmp_filters: channels of conv0.
        out_filters: channels after downsampling.
        img_channels: image channels.
        architecture: `"stylegan"` or `"stylegan2"`.
        block_architecture: `"orig"`, `"skip"` or `"resnet"` (StyleGAN2).
        has_fromrgb: the block reads the image.
        resample_filter: FIR taps.
        conv_clamp: activation clamp.

    Call arguments:
        x: features (`None` for the first block).
        img: image at this resolution (or `None`).

    Returns `(x, img)` with `img` downsampled for 'skip', else `None`.
    """

    def __init__(self, tmp_filters, out_filters, img_channels, architecture="stylegan2",
                 block_architecture="resnet", has_fromrgb=False, resample_filter=None, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.tmp_filters = int(tmp_filters)
        self.out_filters = int(out_filters)
        self.img_channels = int(img_channels)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        self.block_architecture = check_choice("block_architecture", block_architecture, DISCRIMINATOR_ARCHITECTURES)
        self.has_fromrgb = bool(has_fromrgb)
        default = DEFAULT_FILTERS[self.architecture]
        self.resample_filter = [float(v) for v in (resample_filter or default)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self._filter = setup_filter(self.resample_filter)
        stylegan2 = self.architecture == "stylegan2"
        conv = _conv_kwargs(self.architecture, self.conv_clamp)
        self.fromrgb = FromRGB(self.tmp_filters, name="fromrgb", **conv) if self.has_fromrgb else None
        self.conv0 = EqualizedConv2D(self.tmp_filters, 3, activation="lrelu", name="conv0", **conv)
        down_filter = self.resample_filter if stylegan2 else BOX_FILTER
        self.conv1 = EqualizedConv2D(self.out_filters, 3, activation="lrelu", down=2, resample_filter=down_filter,
                                     name="conv1", **conv)
        self.skip = None
        if stylegan2 and self.block_architecture == "resnet":
            self.skip = EqualizedConv2D(self.out_filters, 1, use_bias=False, down=2,
                                        resample_filter=self.resample_filter, name="skip")

    def build(self, input_shape):
        """`input_shape`: `(x_shape or None, img_shape)`."""
        x_shape, img_shape = input_shape
        if self.fromrgb is not None:
            self.fromrgb.build(img_shape)
            x_shape = tuple(img_shape[:-1]) + (self.tmp_filters,)
        self.conv0.build(x_shape)
        tmp_shape = tuple(x_shape[:-1]) + (self.tmp_filters,)
        self.conv1.build(tmp_shape)
        if self.skip is not None:
            self.skip.build(tmp_shape)

    def call(self, x=None, img=None):
        # StyleGAN 2019 reads the image only in the first block; the others' fromrgb
        # feeds the fade-in, done by the network.
        if self.fromrgb is not None and (x is None or self.architecture == "stylegan2"):
            y = self.fromrgb(img)
            x = y if x is None else x + y
        if self.block_architecture == "skip" and self.architecture == "stylegan2":
            img = downsample2d(img, self._filter)
        else:
            img = None
        if self.skip is not None:
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=math.sqrt(0.5))
            return y + x, img
        x = self.conv0(x)
        if self.architecture == "stylegan":
            x = blur(x, self._filter)
        return self.conv1(x), img

    def get_config(self):
        config = super().get_config()
        config.update(
            tmp_filters=self.tmp_filters, out_filters=self.out_filters, img_channels=self.img_channels,
            architecture=self.architecture, block_architecture=self.block_architecture,
            has_fromrgb=self.has_fromrgb, resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
        )
        return config


@register
class DiscriminatorEpilogue(keras.layers.Layer):
    """The last (base-resolution) block: minibatch stddev, conv, dense, output.

    Features are flattened in NVIDIA's channel-major (NCHW) order so official dense
    weights load unchanged. With a class projection (`cmap_dim > 0`) the output is
    `sum(out(x) * cmap) / sqrt(cmap_dim)` (Miyato & Koyama 2018).

    Args:
        filters: channels of the conv and the hidden dense layer.
        img_channels: image channels.
        architecture: `"stylegan"` or `"stylegan2"`.
        has_fromrgb: reads the image here (StyleGAN2 'skip', StyleGAN 2019 lowest lod).
        mbstd_group_size: minibatch-stddev group size (0 disables).
        mbstd_num_channels: minibatch-stddev channels.
        dense_units: width of the hidden dense layer (default `filters`).
        cmap_dim: projection width (0: unconditional).
        conv_clamp: activation clamp.
    """

    def __init__(self, filters, img_channels, architecture="stylegan2", has_fromrgb=False, mbstd_group_size=4,
                 mbstd_num_channels=1, dense_units=None, cmap_dim=0, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.img_channels = int(img_channels)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        self.has_fromrgb = bool(has_fromrgb)
        self.mbstd_group_size = int(mbstd_group_size or 0)
        self.mbstd_num_channels = int(mbstd_num_channels)
        self.dense_units = self.filters if dense_units is None else int(dense_units)
        self.cmap_dim = int(cmap_dim)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        conv = _conv_kwargs(self.architecture, self.conv_clamp)
        dense = {k: v for k, v in conv.items() if k != "clamp"}
        self.fromrgb = FromRGB(self.filters, name="fromrgb", **conv) if self.has_fromrgb else None
        self.mbstd = None
        if self.mbstd_group_size > 0 and self.mbstd_num_channels > 0:
            self.mbstd = MinibatchStdDev(self.mbstd_group_size, self.mbstd_num_channels, name="mbstd")
        self.conv = EqualizedConv2D(self.filters, 3, activation="lrelu", name="conv", **conv)
        self.fc = EqualizedDense(self.dense_units, activation="lrelu", name="fc", **dense)
        self.out = EqualizedDense(self.cmap_dim or 1, name="out")

    def build(self, input_shape):
        x_shape, img_shape = input_shape
        if self.fromrgb is not None:
            self.fromrgb.build(img_shape)
            x_shape = tuple(img_shape[:-1]) + (self.filters,)
        if self.mbstd is not None:
            self.mbstd.build(x_shape)
            x_shape = self.mbstd.compute_output_shape(x_shape)
        self.conv.build(x_shape)
        self.fc.build((None, self.filters * x_shape[1] * x_shape[2]))
        self.out.build((None, self.dense_units))

    def call(self, x=None, img=None, cmap=None):
        if self.fromrgb is not None and img is not None:
            y = self.fromrgb(img)
            x = y if x is None else x + y
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = ops.reshape(ops.transpose(x, (0, 3, 1, 2)), (-1, self.fc.kernel.shape[0]))
        x = self.out(self.fc(x))
        if self.cmap_dim:
            x = ops.sum(x * cmap, axis=1, keepdims=True) / math.sqrt(self.cmap_dim)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, img_channels=self.img_channels, architecture=self.architecture,
            has_fromrgb=self.has_fromrgb, mbstd_group_size=self.mbstd_group_size,
            mbstd_num_channels=self.mbstd_num_channels, dense_units=self.dense_units, cmap_dim=self.cmap_dim,
            conv_clamp=self.conv_clamp,
        )
        return config


@register
class Discriminator(keras.Model):
    """Scores images as real (high) or generated (low); StyleGAN (2019) or StyleGAN2.

    StyleGAN2 uses the 'resnet' architecture by default (NVIDIA's config-e/f); 'skip'
    and 'orig' are available. StyleGAN 2019 reads the image at every resolution and
    fades between them by level of detail (`lod`) for progressive growing. Both end
    with minibatch standard deviation. Class conditioning uses a projection with a
    label mapping network, as NVIDIA's StyleGAN2-ADA.

    Args:
        architecture: `"stylegan"` or `"stylegan2"`.
        resolution: int, `(height, width)` or `"WxH"`.
        channels: image channels (1-4).
        num_classes: 0 for unconditional.
        block_architecture: StyleGAN2 `"orig"`, `"skip"` or `"resnet"`.
        channel_base: channel schedule numerator.
        channel_max: channel cap.
        mbstd_group_size: minibatch-stddev group size.
        mbstd_num_channels: minibatch-stddev channels.
        cmap_dim: projection width (default: channels at 4x4).
        mapping_layers: dense layers of the label mapping network after the class embedding
            (8 in stylegan2-ada-pytorch; 0 in the TensorFlow StyleGAN2-ADA, e.g. CIFAR-10).
        mapping_lr_multiplier: learning-rate multiplier of those layers (NVIDIA: 0.01 in
            PyTorch, 0.1 in TensorFlow).
        resample_filter: FIR taps.
        conv_clamp: activation clamp.
        num_fp16_res: StyleGAN2: run the convolutions of the blocks at this many highest
            resolutions (never the 4x4 epilogue) in float16, NVIDIA's mixed precision (default 0).

    Call arguments:
        images: `[N, H, W, C]` on the [-1, 1] scale.
        labels: one-hot `[N, num_classes]` or class ids `[N]` when conditional.
        lod: level of detail (StyleGAN 2019; default: the stored `lod` variable).
        min_lod: a Python int the caller guarantees `lod` never goes below (StyleGAN 2019):
            the blocks finer than that level only feed a faded-out branch, so they are not
            computed (the same scores, far cheaper while growing).

    Example:
    >>> d = Discriminator(resolution=16, channels=4, channel_base=256, channel_max=16)
    >>> tuple(d(np.zeros([2, 16, 16, 4], "float32")).shape)
    (2, 1)
    """

    def __init__(self, architecture="stylegan2", resolution=1024, channels=3, num_classes=0,
                 block_architecture="resnet", channel_base=32768, channel_max=512, mbstd_group_size=4,
                 mbstd_num_channels=1, cmap_dim=None, mapping_layers=8, mapping_lr_multiplier=0.01,
                 resample_filter=None, conv_clamp=None, num_fp16_res=0, **kwargs):
        super().__init__(**kwargs)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        self.resolution = parse_resolution(resolution)
        self.channels = check_channels(channels)
        self.num_classes = check_positive_int("num_classes", num_classes, minimum=0)
        self.block_architecture = check_choice("block_architecture", block_architecture, DISCRIMINATOR_ARCHITECTURES)
        self.channel_base = check_positive_int("channel_base", channel_base)
        self.channel_max = check_positive_int("channel_max", channel_max)
        self.mbstd_group_size = int(mbstd_group_size or 0)
        self.mbstd_num_channels = int(mbstd_num_channels)
        self.mapping_layers = check_positive_int("mapping_layers", mapping_layers, minimum=0)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.resample_filter = None if resample_filter is None else [float(v) for v in resample_filter]
        self.conv_clamp = conv_clamp
        shapes = block_shapes(self.resolution)[::-1]  # largest first
        base = shapes[-1]
        channels = lambda shape: channels_at(shape, self.channel_base, self.channel_max)  # noqa: E731
        self.cmap_dim = (channels(base) if cmap_dim is None else int(cmap_dim)) if self.num_classes else 0
        stylegan = self.architecture == "stylegan"
        self.blocks = []
        for i, shape in enumerate(shapes[:-1]):
            self.blocks.append(DiscriminatorBlock(
                channels(shape), channels(shapes[i + 1]), self.channels, architecture=self.architecture,
                block_architecture=self.block_architecture,
                has_fromrgb=i == 0 or stylegan or self.block_architecture == "skip",
                resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, name=block_name(shape),
            ))
        # StyleGAN 2019's last dense has the channels of "half the base resolution".
        dense_units = channels((base[0] // 2, base[1] // 2)) if stylegan else None
        self.epilogue = DiscriminatorEpilogue(
            channels(base), self.channels, architecture=self.architecture,
            has_fromrgb=stylegan or self.block_architecture == "skip" or not self.blocks,
            mbstd_group_size=self.mbstd_group_size, mbstd_num_channels=self.mbstd_num_channels,
            dense_units=dense_units, cmap_dim=self.cmap_dim, conv_clamp=self.conv_clamp, name=block_name(base),
        )
        self.mapping = None
        if self.num_classes:
            self.mapping = MappingNetwork(z_dim=0, w_dim=self.cmap_dim, num_ws=None, num_layers=self.mapping_layers,
                                          num_classes=self.num_classes, lr_multiplier=self.mapping_lr_multiplier,
                                          w_avg_beta=None, name="mapping")
        self._box = setup_filter(BOX_FILTER)
        self.num_fp16_res = use_float16(self, self.blocks, shapes[:-1], num_fp16_res, self.architecture)
        self.build((None,) + self.resolution + (self.channels,))

    @property
    def max_lod(self):
        return len(self.blocks)

    def build(self, input_shape):
        img_shape = tuple(input_shape)
        x_shape = None
        for block in self.blocks:
            block.build((x_shape, img_shape))
            img_shape = (None, img_shape[1] // 2, img_shape[2] // 2, self.channels)
            x_shape = (None, img_shape[1], img_shape[2], block.out_filters)
        self.epilogue.build((x_shape, img_shape))
        if self.mapping is not None:
            self.mapping.build()
        self.lod = None
        if self.architecture == "stylegan":
            self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", trainable=False)
        self.built = True

    def call(self, images, labels=None, lod=None, min_lod=0):
        expected = self.resolution + (self.channels,)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(f"`images` must have shape [N, {expected[0]}, {expected[1]}, {expected[2]}]. "
                             f"Received: {tuple(images.shape)}")
        img = ops.cast(images, self.compute_dtype)
        cmap = self.mapping(labels) if self.mapping is not None else None
        x = None
        if self.architecture == "stylegan2":
            for block in self.blocks:
                x, img = block(x=x, img=img)
            return self.epilogue(x=x, img=img, cmap=cmap)
        lod = ops.cast(self.lod if lod is None else lod, self.compute_dtype)
        min_lod = check_min_lod(min_lod, self.max_lod)
        fromrgb = [block.fromrgb for block in self.blocks] + [self.epilogue.fromrgb]
        for _ in range(min_lod):
            img = downsample2d(img, self._box)  # NVIDIA's downscale2d: 2x2 average
        if min_lod:
            x = fromrgb[min_lod](img)
        for i in range(min_lod, len(self.blocks)):
            x, _ = self.blocks[i](x=x, img=img)
            img = downsample2d(img, self._box)
            x = lerp_clip(x, fromrgb[i + 1](img), lod - i)
        return self.epilogue(x=x, cmap=cmap)

    def get_config(self):
        config = super().get_config()
        config.update(
            architecture=self.architecture, resolution=list(self.resolution), channels=self.channels,
            num_classes=self.num_classes, block_architecture=self.block_architecture,
            channel_base=self.channel_base, channel_max=self.channel_max, mbstd_group_size=self.mbstd_group_size,
            mbstd_num_channels=self.mbstd_num_channels, cmap_dim=self.cmap_dim if self.num_classes else None,
            mapping_layers=self.mapping_layers, mapping_lr_multiplier=self.mapping_lr_multiplier,
            resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, num_fp16_res=self.num_fp16_res,
        )
        return config
