"""The generator: mapping network + synthesis network (Karras et al. 2019, 2020)."""
import warnings

import keras
import numpy as np
from keras import ops

from keras_stylegan.layers.serialization import register
from keras_stylegan.networks.common import (
    ARCHITECTURES, check_channels, check_choice, check_positive_int, set_mixed_precision, use_float16,
)
from keras_stylegan.networks.mapping import MappingNetwork, check_psi
from keras_stylegan.networks.stylegan3 import CONFIGS as STYLEGAN3_CONFIGS, SynthesisNetwork3
from keras_stylegan.networks.synthesis import SynthesisNetwork
from keras_stylegan.utils.checks import GENERATOR_RENAMED_KEYWORDS, renamed_keyword, with_renamed_keys
from keras_stylegan.utils.shapes import parse_resolution

GENERATOR_ARCHITECTURES = ARCHITECTURES + ("stylegan3",)
# StyleGAN2 config-f; StyleGAN 2019 FFHQ has fmap_base 8192, i.e. channel_base 16384; StyleGAN3-R
# doubles T's channel_base and channel_max (NVIDIA's train.py).
DEFAULT_CHANNEL_BASE = {"stylegan": 16384, "stylegan2": 32768, "stylegan3-t": 32768, "stylegan3-r": 65536}
DEFAULT_CHANNEL_MAX = {"stylegan3-r": 1024}
DEFAULT_MAPPING_LAYERS = {"stylegan3": 2}
DEFAULT_W_AVG_BETA = {"stylegan3": 0.998}
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}  # --precision values and their Keras dtype policies


@register
class Generator(keras.Model):
    """StyleGAN generator: `z -> mapping -> ws -> synthesis -> image`.

    Images are NHWC on the [-1, 1] scale, unclipped, like NVIDIA's. `generator.mapping`
    and `generator.synthesis` work on their own (the synthesis takes per-layer ws, so
    W+ latents work too).

    References: Karras et al. 2019, "A Style-Based Generator Architecture for GANs"
    (`architecture="stylegan"`); Karras et al. 2020, "Analyzing and Improving the Image
    Quality of StyleGAN" (`architecture="stylegan2"`); Karras et al. 2021, "Alias-Free Generative
    Adversarial Networks" (`architecture="stylegan3"`, see `keras_stylegan.networks.stylegan3`).

    Args:
        architecture: `"stylegan"` (2019: AdaIN, progressive growing), `"stylegan2"` or
            `"stylegan3"` (alias-free; square images; no noise inputs: `noise_mode` is ignored).
        resolution: int, `(height, width)` or `"WxH"`; each side a power of two
            (non-square outputs start from a non-square base, e.g. 4x2 for 2:1).
        channels: image channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
        z_dim: latent width.
        w_dim: intermediate latent width.
        num_classes: classes for conditioning (0: unconditional).
        mapping_layers: layers in the mapping network (default 8; 2 for StyleGAN3).
        mapping_lr_multiplier: learning-rate multiplier of the mapping network.
        channel_base: numerator of the channel schedule `min(channel_base // res, channel_max)`
            (default 32768 for StyleGAN2 config-f, 16384 for StyleGAN 2019). StyleGAN3 uses
            `min(channel_base / 2 / cutoff, channel_max)` (default 32768 for T, 65536 for R).
        channel_max: channel cap (default 512; 1024 for StyleGAN3-R).
        block_architecture: StyleGAN2 `"orig"`, `"skip"` (default) or `"resnet"`; StyleGAN3
            `"t"` (default: 3x3 convs) or `"r"` (1x1 convs, radially symmetric filters). The old
            name `synthesis_architecture` still works, with a `DeprecationWarning`.
        resample_filter: FIR taps (default [1,3,3,1]; StyleGAN 2019 blurs with [1,2,1]).
        conv_clamp: activation clamp (StyleGAN2-ADA and StyleGAN3 train with 256).
        fused_modconv: grouped-convolution modulated convolutions.
        fused_scale: StyleGAN 2019 fused upscaling (`"auto"`: from 128 px, as NVIDIA).
        w_avg_beta: decay of the tracked average w (default 0.995; 0.998 for StyleGAN3).
        magnitude_ema_beta: StyleGAN3: decay of each layer's tracked input magnitude while
            training (default 0.999; NVIDIA's trainer uses `0.5 ** (batch / 20000)`).
        num_fp16_res: StyleGAN2: run the convolutions of the blocks at this many highest
            resolutions (never 4x4) in float16, NVIDIA's mixed precision for GPUs (stylegan2-ada
            trains with 4; keep `conv_clamp` 256 with it). Default 0: float32.
        dtype: `"float32"` (default) or a mixed policy such as `"mixed_bfloat16"` (StyleGAN and
            StyleGAN2): the synthesis convolutions then run in bfloat16 while the mapping, the
            styles, the demodulation coefficients, normalizations and the ToRGB sum stay float32;
            images come out float32. Weights are float32 either way (see `with_precision`).

    Call arguments:
        z: `[N, z_dim]` latents.
        labels: one-hot `[N, num_classes]` or class ids `[N]` when conditional.
        psi: truncation strength (1 = off, 0 = the average image).
        truncation_cutoff: truncate only ws below this layer index (`None`: all).
        noise_mode: `"random"`, `"const"` (stored noise maps) or `"none"`.
        mix_z: a second batch of latents for style mixing.
        mix_cutoff: layer index from which the ws of `mix_z` are used.
        lod: level of detail (StyleGAN 2019 progressive growing).
        update_w_avg: update the tracked average w (training).
        update_magnitude_ema: StyleGAN3: update the layers' input magnitudes (training).
        noise: explicit noise maps, one `[N, H, W, 1]` per noise layer (see `SynthesisNetwork`).
        transform: StyleGAN3 only: the inverse image transform `[3, 3]` of the synthesis input
            (see `keras_stylegan.networks.stylegan3.make_transform`; default: the stored one).

    Example:
    >>> g = Generator(resolution=16, channels=4, z_dim=32, w_dim=32, channel_base=256, channel_max=16)
    >>> z = np.random.RandomState(0).randn(2, 32).astype("float32")
    >>> tuple(g(z, psi=0.7, noise_mode="const").shape)
    (2, 16, 16, 4)
    """

    def __init__(self, architecture="stylegan2", resolution=1024, channels=3, z_dim=512, w_dim=512, num_classes=0,
                 mapping_layers=None, mapping_lr_multiplier=0.01, channel_base=None, channel_max=None,
                 block_architecture=None, resample_filter=None, conv_clamp=None, fused_modconv=False,
                 fused_scale="auto", w_avg_beta=None, magnitude_ema_beta=None, num_fp16_res=0, **kwargs):
        block_architecture = renamed_keyword(kwargs, "synthesis_architecture", "block_architecture",
                                             block_architecture, "Generator")
        super().__init__(**kwargs)
        self.architecture = check_choice("architecture", architecture, GENERATOR_ARCHITECTURES)
        stylegan3 = self.architecture == "stylegan3"
        if block_architecture is None:
            block_architecture = "t" if stylegan3 else "skip"
        if stylegan3:
            check_choice("block_architecture", block_architecture, STYLEGAN3_CONFIGS)
            if resample_filter is not None:
                raise ValueError("`resample_filter` does not apply to StyleGAN3 (its filters are designed per layer). "
                                 f"Received: {resample_filter!r}")
        variant = f"stylegan3-{block_architecture}" if stylegan3 else self.architecture
        mapping_layers = DEFAULT_MAPPING_LAYERS.get(self.architecture, 8) if mapping_layers is None else mapping_layers
        w_avg_beta = DEFAULT_W_AVG_BETA.get(self.architecture, 0.995) if w_avg_beta is None else w_avg_beta
        channel_max = DEFAULT_CHANNEL_MAX.get(variant, 512) if channel_max is None else channel_max
        self.resolution = parse_resolution(resolution)
        self.channels = check_channels(channels)
        self.z_dim = check_positive_int("z_dim", z_dim)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.num_classes = check_positive_int("num_classes", num_classes, minimum=0)
        self.mapping_layers = check_positive_int("mapping_layers", mapping_layers)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.channel_base = DEFAULT_CHANNEL_BASE[variant] if channel_base is None else channel_base
        self.channel_max = channel_max
        self.block_architecture = block_architecture
        self.resample_filter = None if resample_filter is None else [float(v) for v in resample_filter]
        self.conv_clamp = conv_clamp
        self.fused_modconv = bool(fused_modconv)
        self.fused_scale = fused_scale
        self.w_avg_beta = w_avg_beta
        if magnitude_ema_beta is not None and not stylegan3:
            raise ValueError(f"`magnitude_ema_beta` applies to StyleGAN3 only. Received: {magnitude_ema_beta!r}")
        self.magnitude_ema_beta = magnitude_ema_beta
        if stylegan3:
            self.synthesis = SynthesisNetwork3(
                w_dim=self.w_dim, resolution=self.resolution, channels=self.channels, channel_base=self.channel_base,
                channel_max=self.channel_max, conv_kernel=1 if block_architecture == "r" else 3,
                use_radial_filters=block_architecture == "r", conv_clamp=self.conv_clamp,
                magnitude_ema_beta=0.999 if magnitude_ema_beta is None else magnitude_ema_beta, name="synthesis",
            )
        else:
            self.synthesis = SynthesisNetwork(
                w_dim=self.w_dim, resolution=self.resolution, channels=self.channels, architecture=self.architecture,
                block_architecture=self.block_architecture, channel_base=self.channel_base,
                channel_max=self.channel_max, resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
                fused_modconv=self.fused_modconv, fused_scale=self.fused_scale, name="synthesis",
            )
        self.num_ws = self.synthesis.num_ws
        blocks, shapes = ([], []) if stylegan3 else (self.synthesis.blocks, self.synthesis.block_shapes)
        self.num_fp16_res = use_float16(self, blocks, shapes, num_fp16_res, self.architecture)
        self.mapping = MappingNetwork(
            z_dim=self.z_dim, w_dim=self.w_dim, num_ws=self.num_ws, num_layers=self.mapping_layers,
            num_classes=self.num_classes, lr_multiplier=self.mapping_lr_multiplier, w_avg_beta=self.w_avg_beta,
            architecture="stylegan2" if stylegan3 else self.architecture, name="mapping",
        )
        if self.dtype_policy.compute_dtype != "float32":
            if stylegan3:
                raise ValueError(f"mixed precision is not supported for StyleGAN3 generators. Received: dtype="
                                 f"{self.dtype_policy.name!r}")
            set_mixed_precision(self.synthesis, self.dtype_policy)
            self.mapping.dtype_policy = "float32"  # latents, w_avg and truncation stay exact
            self.autocast = False  # z reaches the mapping unrounded
        self.build((None, self.z_dim))

    def build(self, input_shape=None):
        self.mapping.build()
        self.synthesis.build()
        self.built = True

    def call(self, z, labels=None, psi=1.0, truncation_cutoff=None, noise_mode="random", mix_z=None, mix_cutoff=None,
             lod=None, update_w_avg=False, noise=None, transform=None, update_magnitude_ema=False):
        check_psi(psi)
        if self.architecture == "stylegan3":
            if noise is not None or lod is not None:
                raise ValueError("StyleGAN3 has no noise inputs and no levels of detail: pass no `noise` or `lod`.")
        elif transform is not None:
            raise ValueError(f"`transform` needs a StyleGAN3 generator; this one is {self.architecture!r}.")
        elif update_magnitude_ema:
            raise ValueError(f"`update_magnitude_ema` needs a StyleGAN3 generator; this one is {self.architecture!r}.")
        ws = self.mapping(z, labels=labels, psi=psi, truncation_cutoff=truncation_cutoff, update_w_avg=update_w_avg)
        if mix_z is not None:
            if mix_cutoff is None:
                raise ValueError("`mix_cutoff` is required with `mix_z`.")
            ws = self.mix(ws, self.mapping(mix_z, labels=labels, psi=psi, truncation_cutoff=truncation_cutoff),
                          mix_cutoff)
        if self.architecture == "stylegan3":
            return self.synthesis(ws, noise_mode=noise_mode, transform=transform,
                                  update_magnitude_ema=update_magnitude_ema)
        return self.synthesis(ws, noise_mode=noise_mode, lod=lod, noise=noise)

    def with_precision(self, precision):
        """A copy of this generator computing in `precision`: `"fp32"` or `"bf16"` (`mixed_bfloat16`).

        Example:
        >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
        >>> g.with_precision("bf16").synthesis.compute_dtype
        'bfloat16'
        """
        if precision not in PRECISIONS:
            raise ValueError(f"`precision` must be one of {tuple(PRECISIONS)}. Received: {precision!r}")
        if PRECISIONS[precision] == self.dtype_policy.name:
            return self
        copy = self.__class__.from_config(dict(self.get_config(), dtype=PRECISIONS[precision]))
        copy.set_weights(self.get_weights())
        return copy

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Same as `keras_stylegan.zoo.load(preset)`: a card name, a preset directory, `hf://owner/repo`,
        `kaggle://owner/model/keras/variant`, a `.keras` file, an NVIDIA pickle or its URL.

        Example:
        >>> path = generator.save_to_preset("from_preset_example")
        >>> Generator.from_preset(path).num_ws == generator.num_ws
        True
        """
        from keras_stylegan.zoo import load

        return load(preset, **kwargs)

    def save_to_preset(self, preset_dir, discriminator=None, metadata=None, weights_dtype="float32", overwrite=False):
        """Writes this generator (and optionally its discriminator) as a preset in KerasHub's layout.

        Same as `keras_stylegan.zoo.presets.save_preset(preset_dir, self, ...)`, which describes the
        layout and arguments; `keras_stylegan.zoo.hub.upload_preset` (`kstylegan zoo upload`)
        publishes the directory on Hugging Face or Kaggle.

        Returns:
            The preset's absolute path.

        Example:
        >>> path = generator.save_to_preset("save_example", metadata={"license": "Apache-2.0"})
        >>> import os
        >>> sorted(os.listdir(path))
        ['config.json', 'metadata.json', 'model.weights.h5']
        """
        from keras_stylegan.zoo.presets import save_preset

        return save_preset(preset_dir, self, discriminator=discriminator, metadata=metadata,
                           weights_dtype=weights_dtype, overwrite=overwrite)

    @staticmethod
    def mix(ws, mix_ws, cutoff):
        """Style mixing: layers `[0, cutoff)` from `ws`, layers `[cutoff, num_ws)` from `mix_ws`."""
        layer = np.arange(ws.shape[1]).reshape(1, -1, 1)
        return ops.where(layer < ops.convert_to_tensor(cutoff), ws, mix_ws)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.resolution + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(
            architecture=self.architecture, resolution=list(self.resolution), channels=self.channels,
            z_dim=self.z_dim, w_dim=self.w_dim, num_classes=self.num_classes, mapping_layers=self.mapping_layers,
            mapping_lr_multiplier=self.mapping_lr_multiplier, channel_base=self.channel_base,
            channel_max=self.channel_max, block_architecture=self.block_architecture,
            resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv,
            fused_scale=self.fused_scale, w_avg_beta=self.w_avg_beta, magnitude_ema_beta=self.magnitude_ema_beta,
            num_fp16_res=self.num_fp16_res,
        )
        return config

    @property
    def synthesis_architecture(self):
        """Deprecated: the old name of `block_architecture`."""
        warnings.warn("Generator.synthesis_architecture is deprecated; use `block_architecture`.", DeprecationWarning,
                      stacklevel=2)
        return self.block_architecture

    @classmethod
    def from_config(cls, config):
        # Files saved before the rename (`.keras`, presets) load silently: the user wrote no old keyword.
        return super().from_config(with_renamed_keys(config, GENERATOR_RENAMED_KEYWORDS))
