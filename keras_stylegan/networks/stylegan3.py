"""The StyleGAN3 synthesis network (Karras et al. 2021, "Alias-Free Generative Adversarial Networks").

Fourier-feature input -> `num_layers` alias-free layers (modulated conv + filtered leaky ReLU)
-> ToRGB -> `output_scale`. Layers are named like NVIDIA's (`input`, `L0_36_512`, ...,
`L14_1024_3`; fields `affine`, `weight`, `bias`, `magnitude_ema`, `up_filter`, `down_filter`,
`freqs`, `phases`, `transform`), so converting official weights is a table. Everything NVIDIA
draws or designs when it builds a network (Fourier frequencies and phases, FIR filters) is a
stored, non-trainable weight: converted networks use the pickle's values, never re-derived ones.

StyleGAN3 has no noise inputs: `noise_mode` is accepted for API compatibility and ignored.
"""
import math

import keras
import numpy as np
from keras import ops

from keras_stylegan.layers.equalized import EqualizedDense
from keras_stylegan.layers.filtered_lrelu import design_lowpass_filter, filtered_lrelu
from keras_stylegan.layers.modulation import modulated_conv2d
from keras_stylegan.layers.noise import check_noise_mode
from keras_stylegan.layers.serialization import register
from keras_stylegan.networks.common import SQRT2, check_channels, check_positive_int
from keras_stylegan.utils.shapes import parse_resolution

CONFIGS = ("t", "r")  # StyleGAN3-T (translation equivariant) and StyleGAN3-R (also rotation)


def make_transform(translate=(0.0, 0.0), rotate=0.0):
    """The input `transform` for a translated and rotated image (NVIDIA's `gen_images.py` convention).

    The synthesis input takes the inverse of the image transform: this builds the image
    transform (rotation in degrees and translation in image widths, the unit of the Fourier
    features' coordinates, as `gen_images.py --rotate --translate`) and returns its inverse.

    Example:
    >>> make_transform().tolist() == np.eye(3).tolist()
    True
    """
    angle = math.radians(float(rotate))
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, s, float(translate[0])], [-s, c, float(translate[1])], [0.0, 0.0, 1.0]])
    return np.linalg.inv(m).astype(np.float32)


def set_input_transform(generator, translate=(0.0, 0.0), rotate=0.0):
    """Stores the input transform of a StyleGAN3 generator: later images are translated and rotated.

    What NVIDIA's `gen_images.py --translate X,Y --rotate DEG` does. Returns the matrix stored.

    Example:
    >>> g = keras_stylegan.Generator(architecture="stylegan3", resolution=16, z_dim=4, w_dim=4,
    ...                              channel_base=64, channel_max=4)
    >>> set_input_transform(g, translate=(0.1, 0), rotate=0)[0, 2].round(6)
    np.float32(-0.1)
    """
    if getattr(generator, "architecture", None) != "stylegan3":
        raise ValueError("translate/rotate need a StyleGAN3 generator (its synthesis input takes a transform); "
                         f"this one is {getattr(generator, 'architecture', type(generator).__name__)!r}")
    matrix = make_transform(translate, rotate)
    generator.synthesis.input_features.transform.assign(matrix)
    return matrix


def transform_frames(generator, ws, frames=60, translate=(0.0, 0.0), rotate=0.0):
    """Images of one `ws` panned and rotated step by step: the equivariance animation of StyleGAN3.

    Frame `i` uses `make_transform(translate * t, rotate * t)` with `t = i / (frames - 1)`, so the
    first frame is the untransformed image. Returns float images `[frames, H, W, C]` ([-1, 1] scale).

    Args:
        generator: a StyleGAN3 `Generator`.
        ws: `[1, num_ws, w_dim]` (e.g. `generator.mapping(z, psi=0.7)`).
        frames: number of frames (>= 2).
        translate: total translation `(x, y)` in image widths.
        rotate: total rotation in degrees.

    Example:
    >>> g = keras_stylegan.Generator(architecture="stylegan3", resolution=16, z_dim=4, w_dim=4,
    ...                              channel_base=64, channel_max=4)
    >>> transform_frames(g, g.mapping(np.zeros([1, 4], "float32")), frames=3, rotate=90).shape
    (3, 16, 16, 3)
    """
    if getattr(generator, "architecture", None) != "stylegan3":
        raise ValueError("transform_frames needs a StyleGAN3 generator; this one is "
                         f"{getattr(generator, 'architecture', type(generator).__name__)!r}")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
        raise ValueError(f"`frames` must be an int >= 2. Received: {frames!r}")
    steps = np.linspace(0.0, 1.0, frames)
    transforms = np.stack([make_transform((translate[0] * t, translate[1] * t), rotate * t) for t in steps])
    ws = ops.repeat(ops.convert_to_tensor(ws)[:1], frames, axis=0)
    return ops.convert_to_numpy(generator.synthesis(ws, transform=transforms))


def layer_specs(resolution, channels, channel_base=32768, channel_max=512, num_layers=14, num_critical=2,
                first_cutoff=2.0, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3, margin_size=10):
    """Per-layer geometry: cutoffs and stopbands in a geometric progression (the paper's Fig. 4).

    Returns a dict of NumPy arrays of length `num_layers + 1` (index 0 is the input):
    `cutoffs`, `stopbands`, `sampling_rates`, `half_widths`, `sizes`, `channels`.
    """
    last_cutoff = resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = resolution  # the last two layers have no margin
    widths = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    widths[-1] = channels
    return dict(cutoffs=cutoffs, stopbands=stopbands, sampling_rates=sampling_rates, half_widths=half_widths,
                sizes=sizes.astype(int), channels=widths.astype(int))


def _draw_frequencies(channels, bandwidth):
    """NVIDIA's initial Fourier frequencies: directions uniform, radii concentrated inside the band."""
    freqs = np.random.randn(channels, 2)
    radii = np.sqrt(np.square(freqs).sum(axis=1, keepdims=True))
    freqs /= radii * np.exp(np.square(radii)) ** 0.25
    return (freqs * bandwidth).astype(np.float32)


def _constant(values):
    return lambda shape, dtype=None: ops.convert_to_tensor(np.asarray(values, dtype="float32").reshape(shape))


@register
class SynthesisInput(keras.layers.Layer):
    """Fourier features, rotated and translated by an affine of w and by the user `transform`.

    `x[n, y, x, c] = sin(2 pi (f'_c . p + phi'_c)) * a_c`, then a trainable channel mix, where
    `p` are pixel centres in units of `1 / sampling_rate`, `(f', phi')` the frequencies and phases
    after the transform, and `a_c` damps frequencies pushed out of band by the transform.

    Args:
        w_dim: width of w.
        channels: number of features.
        size: output side in pixels (square).
        sampling_rate: samples per unit length.
        bandwidth: the frequencies' radius (`cutoffs[0]`).

    Call arguments:
        w: `[N, w_dim]`.
        transform: `[3, 3]` or `[N, 3, 3]` inverse image transform (default: the stored `transform`,
            the identity unless set).

    Example:
    >>> layer = SynthesisInput(w_dim=8, channels=4, size=20, sampling_rate=16, bandwidth=2)
    >>> tuple(layer(np.ones([2, 8], "float32")).shape)
    (2, 20, 20, 4)
    """

    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth, **kwargs):
        super().__init__(**kwargs)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.channels = check_positive_int("channels", channels)
        self.size = check_positive_int("size", size)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        self.affine = EqualizedDense(4, name="affine")
        # Pixel centres of an align_corners=False grid, in units of 1 / sampling_rate.
        self._grid = ((np.arange(self.size) + 0.5 - self.size / 2) / self.sampling_rate).astype(np.float32)

    def build(self, input_shape=None):
        self.affine.build((None, self.w_dim))
        # Starts as the identity rotation with no translation (NVIDIA: weight 0, bias [1, 0, 0, 0]).
        self.affine.kernel.assign(np.zeros(self.affine.kernel.shape, "float32"))
        self.affine.bias.assign(np.array([1, 0, 0, 0], "float32"))
        self.weight = self.add_weight(name="weight", shape=(self.channels, self.channels),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.transform = self.add_weight(name="transform", shape=(3, 3), initializer=_constant(np.eye(3)),
                                         trainable=False)
        self.freqs = self.add_weight(name="freqs", shape=(self.channels, 2), trainable=False,
                                     initializer=_constant(_draw_frequencies(self.channels, self.bandwidth)))
        self.phases = self.add_weight(name="phases", shape=(self.channels,), trainable=False,
                                      initializer=_constant(np.random.rand(self.channels) - 0.5))

    def call(self, w, transform=None):
        t = self.affine(ops.cast(w, "float32"))
        t = t / ops.sqrt(ops.sum(ops.square(t[:, :2]), axis=1, keepdims=True))
        cos, sin, tx, ty = t[:, 0], t[:, 1], t[:, 2], t[:, 3]
        zero, one = ops.zeros_like(cos), ops.ones_like(cos)
        # Rotation after translation, both inverse transforms of the image: m_r @ m_t.
        learned = ops.stack([
            ops.stack([cos, -sin, -cos * tx + sin * ty], axis=1),
            ops.stack([sin, cos, -sin * tx - cos * ty], axis=1),
            ops.stack([zero, zero, one], axis=1),
        ], axis=1)
        user = self.transform if transform is None else ops.cast(transform, "float32")
        transforms = ops.matmul(learned, user)  # [N, 3, 3]
        freqs = ops.cast(self.freqs, "float32")
        phases = self.phases[None, :] + ops.einsum("cx,nx->nc", freqs, transforms[:, :2, 2])
        freqs = ops.einsum("cx,nxy->ncy", freqs, transforms[:, :2, :2])
        radius = ops.sqrt(ops.sum(ops.square(freqs), axis=2))
        amplitudes = ops.clip(1 - (radius - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth), 0, 1)
        grid = ops.convert_to_tensor(self._grid)
        x = (grid[None, None, :, None] * freqs[:, None, None, :, 0]
             + grid[None, :, None, None] * freqs[:, None, None, :, 1]
             + phases[:, None, None, :])
        x = ops.sin(x * (2 * np.pi)) * amplitudes[:, None, None, :]
        x = ops.matmul(x, ops.transpose(self.weight) / np.sqrt(self.channels))
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(w_dim=self.w_dim, channels=self.channels, size=self.size, sampling_rate=self.sampling_rate,
                      bandwidth=self.bandwidth)
        return config


@register
class SynthesisLayer3(keras.layers.Layer):
    """One alias-free layer: modulated conv, then filtered leaky ReLU (NVIDIA's StyleGAN3 SynthesisLayer).

    Weights and styles are pre-normalized before modulation; the input is scaled by
    `1 / sqrt(magnitude_ema)` (the tracked mean square of the input); the convolution pads by
    `kernel - 1` ("full"); the activation runs at `lrelu_upsampling` times the higher of the two
    sampling rates (upsampling by 2, or 4 where the sampling rate doubles) and is clamped to
    `conv_clamp`. The ToRGB layer is a 1x1 modulated conv without demodulation, bias only.

    Args:
        w_dim: width of w.
        is_torgb: the final ToRGB layer.
        is_critically_sampled: a last layer with cutoff at Nyquist (never a radial filter).
        in_channels, out_channels: feature counts.
        in_size, out_size: spatial sides (with the margin).
        in_sampling_rate, out_sampling_rate: sampling rates.
        in_cutoff, out_cutoff: cutoff frequencies of the up and down filters.
        in_half_width, out_half_width: half widths of their transition bands.
        conv_kernel: kernel size (3 for T, 1 for R; ToRGB always 1).
        filter_size: filter taps per unit of up/down factor.
        lrelu_upsampling: oversampling of the activation.
        use_radial_filters: radially symmetric 2-D down filters (StyleGAN3-R).
        conv_clamp: clamp of the activation (`None`: none).
        magnitude_ema_beta: decay of `magnitude_ema` during training.

    Call arguments:
        inputs: `[x, w]`, `x` `[N, in_size, in_size, in_channels]`, `w` `[N, w_dim]`.
        update_magnitude_ema: update `magnitude_ema` from this batch (training).
    """

    def __init__(self, w_dim, is_torgb, is_critically_sampled, in_channels, out_channels, in_size, out_size,
                 in_sampling_rate, out_sampling_rate, in_cutoff, out_cutoff, in_half_width, out_half_width,
                 conv_kernel=3, filter_size=6, lrelu_upsampling=2, use_radial_filters=False, conv_clamp=256,
                 magnitude_ema_beta=0.999, **kwargs):
        super().__init__(**kwargs)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.is_torgb = bool(is_torgb)
        self.is_critically_sampled = bool(is_critically_sampled)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.in_size = check_positive_int("in_size", in_size)
        self.out_size = check_positive_int("out_size", out_size)
        self.in_sampling_rate = float(in_sampling_rate)
        self.out_sampling_rate = float(out_sampling_rate)
        self.in_cutoff, self.out_cutoff = float(in_cutoff), float(out_cutoff)
        self.in_half_width, self.out_half_width = float(in_half_width), float(out_half_width)
        self.conv_kernel = 1 if self.is_torgb else check_positive_int("conv_kernel", conv_kernel)
        self.filter_size = check_positive_int("filter_size", filter_size)
        self.lrelu_upsampling = check_positive_int("lrelu_upsampling", lrelu_upsampling)
        self.use_radial_filters = bool(use_radial_filters)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.magnitude_ema_beta = float(magnitude_ema_beta)

        self.tmp_sampling_rate = max(self.in_sampling_rate, self.out_sampling_rate) * (
            1 if self.is_torgb else self.lrelu_upsampling)
        self.up_factor = self._factor(self.tmp_sampling_rate, self.in_sampling_rate)
        self.down_factor = self._factor(self.tmp_sampling_rate, self.out_sampling_rate)
        self.up_taps = self.filter_size * self.up_factor if self.up_factor > 1 and not self.is_torgb else 1
        self.down_taps = self.filter_size * self.down_factor if self.down_factor > 1 and not self.is_torgb else 1
        self.down_radial = self.use_radial_filters and not self.is_critically_sampled
        # Padding of the upsampled image so that the output has out_size samples, centred as in
        # the paper's Appendix C.3 (sample locations shifted by half the up factor).
        total = (self.out_size - 1) * self.down_factor + 1
        total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        total += self.up_taps + self.down_taps - 2
        lo = (total + self.up_factor) // 2
        self.padding = (lo, total - lo, lo, total - lo)
        self.affine = EqualizedDense(self.in_channels, bias_init=1.0, name="affine")

    @staticmethod
    def _factor(high, low):
        factor = int(round(high / low))
        if low * factor != high:
            raise ValueError(f"sampling rates must be integer multiples. Received: {high} and {low}")
        return factor

    def build(self, input_shape=None):
        self.affine.build((None, self.w_dim))
        k = self.conv_kernel
        self.weight = self.add_weight(name="weight", shape=(k, k, self.in_channels, self.out_channels),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")
        # "mean": under several replicas each updates from its own batch; the stored value is their mean.
        self.magnitude_ema = self.add_weight(name="magnitude_ema", shape=(), initializer="ones", trainable=False,
                                             aggregation="mean")
        self.up_filter = self.down_filter = None
        if self.up_taps > 1:
            taps = design_lowpass_filter(self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate)
            self.up_filter = self.add_weight(name="up_filter", shape=taps.shape, initializer=_constant(taps),
                                             trainable=False)
        if self.down_taps > 1:
            taps = design_lowpass_filter(self.down_taps, self.out_cutoff, self.out_half_width * 2,
                                         self.tmp_sampling_rate, radial=self.down_radial)
            self.down_filter = self.add_weight(name="down_filter", shape=taps.shape, initializer=_constant(taps),
                                               trainable=False)

    def call(self, inputs, update_magnitude_ema=False):
        x, w = inputs
        if update_magnitude_ema:
            current = ops.mean(ops.square(ops.cast(x, "float32")))
            self.magnitude_ema.assign(current + (self.magnitude_ema - current) * self.magnitude_ema_beta)
        input_gain = ops.rsqrt(self.magnitude_ema)
        styles = self.affine(ops.cast(w, "float32"))
        weight = self.weight
        if self.is_torgb:
            styles = styles / np.sqrt(self.in_channels * self.conv_kernel ** 2)
        else:  # pre-normalize (NVIDIA: over each output's kernel, and over the whole batch of styles)
            weight = weight * ops.rsqrt(ops.mean(ops.square(weight), axis=(0, 1, 2), keepdims=True))
            styles = styles * ops.rsqrt(ops.mean(ops.square(styles)))
        x = x * ops.cast(input_gain, x.dtype)
        x = modulated_conv2d(x, weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1)
        return filtered_lrelu(
            x, self.up_filter, self.down_filter, self.bias, up=self.up_factor, down=self.down_factor,
            padding=self.padding, gain=1.0 if self.is_torgb else SQRT2, slope=1.0 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.out_size, self.out_size, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            w_dim=self.w_dim, is_torgb=self.is_torgb, is_critically_sampled=self.is_critically_sampled,
            in_channels=self.in_channels, out_channels=self.out_channels, in_size=self.in_size,
            out_size=self.out_size, in_sampling_rate=self.in_sampling_rate,
            out_sampling_rate=self.out_sampling_rate, in_cutoff=self.in_cutoff, out_cutoff=self.out_cutoff,
            in_half_width=self.in_half_width, out_half_width=self.out_half_width, conv_kernel=self.conv_kernel,
            filter_size=self.filter_size, lrelu_upsampling=self.lrelu_upsampling,
            use_radial_filters=self.use_radial_filters, conv_clamp=self.conv_clamp,
            magnitude_ema_beta=self.magnitude_ema_beta,
        )
        return config


@register
class SynthesisNetwork3(keras.layers.Layer):
    """ws -> image: the StyleGAN3 synthesis network (configs T and R).

    Images are NHWC on the [-1, 1] scale, unclipped, square. `num_ws = num_layers + 2` (the
    input, each layer, ToRGB).

    Args:
        w_dim: width of each w.
        resolution: output side (a square; int, `(h, w)` or `"WxH"`).
        channels: image channels (1-4).
        channel_base: features are `min(channel_base / 2 / cutoff, channel_max)` (32768 for T,
            65536 for R in NVIDIA's recipes).
        channel_max: feature cap (512 for T, 1024 for R).
        num_layers: layers between the input and ToRGB.
        num_critical: critically sampled layers at the end.
        first_cutoff, first_stopband, last_stopband_rel: the filter schedule.
        margin_size: extra pixels around the image in the inner layers.
        output_scale: factor on the ToRGB output.
        conv_kernel: 3 (T) or 1 (R).
        filter_size, lrelu_upsampling: see `SynthesisLayer3`.
        use_radial_filters: radially symmetric down filters (R).
        conv_clamp: activation clamp (NVIDIA: 256).
        magnitude_ema_beta: decay of the layers' input magnitude averages.

    Call arguments:
        ws: `[N, num_ws, w_dim]`.
        noise_mode: accepted and ignored (StyleGAN3 has no noise inputs).
        transform: inverse image transform `[3, 3]` or `[N, 3, 3]` (see `make_transform`);
            default: the stored `input.transform` (identity unless set).
        update_magnitude_ema: update each layer's `magnitude_ema` (training).

    Example:
    >>> synthesis = SynthesisNetwork3(w_dim=8, resolution=16, channel_base=64, channel_max=4, num_layers=4)
    >>> tuple(synthesis(np.zeros([1, synthesis.num_ws, 8], "float32")).shape)
    (1, 16, 16, 3)
    """

    def __init__(self, w_dim=512, resolution=1024, channels=3, channel_base=32768, channel_max=512, num_layers=14,
                 num_critical=2, first_cutoff=2.0, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
                 margin_size=10, output_scale=0.25, conv_kernel=3, filter_size=6, lrelu_upsampling=2,
                 use_radial_filters=False, conv_clamp=256, magnitude_ema_beta=0.999, **kwargs):
        super().__init__(**kwargs)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.resolution = parse_resolution(resolution)
        if self.resolution[0] != self.resolution[1]:
            raise ValueError(f"StyleGAN3 generates square images. Received resolution: {resolution!r}")
        self.channels = check_channels(channels)
        self.channel_base = check_positive_int("channel_base", channel_base)
        self.channel_max = check_positive_int("channel_max", channel_max)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.num_critical = check_positive_int("num_critical", num_critical, minimum=0)
        if self.num_critical >= self.num_layers:
            raise ValueError(f"num_critical must be < num_layers. Received: {num_critical} and {num_layers}")
        self.first_cutoff, self.first_stopband = float(first_cutoff), float(first_stopband)
        self.last_stopband_rel = float(last_stopband_rel)
        self.margin_size = check_positive_int("margin_size", margin_size, minimum=0)
        self.output_scale = float(output_scale)
        self.conv_kernel = check_positive_int("conv_kernel", conv_kernel)
        self.filter_size = check_positive_int("filter_size", filter_size)
        self.lrelu_upsampling = check_positive_int("lrelu_upsampling", lrelu_upsampling)
        self.use_radial_filters = bool(use_radial_filters)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.magnitude_ema_beta = float(magnitude_ema_beta)
        self.num_ws = self.num_layers + 2

        side = self.resolution[0]
        spec = layer_specs(side, self.channels, self.channel_base, self.channel_max, self.num_layers,
                           self.num_critical, self.first_cutoff, self.first_stopband, self.last_stopband_rel,
                           self.margin_size)
        self.specs = spec
        self.input_features = SynthesisInput(w_dim=self.w_dim, channels=int(spec["channels"][0]), size=int(spec["sizes"][0]),
                                    sampling_rate=spec["sampling_rates"][0], bandwidth=spec["cutoffs"][0],
                                    name="input")
        self.synthesis_layers = []
        for idx in range(self.num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer3(
                w_dim=self.w_dim, is_torgb=idx == self.num_layers,
                is_critically_sampled=idx >= self.num_layers - self.num_critical,
                in_channels=int(spec["channels"][prev]), out_channels=int(spec["channels"][idx]),
                in_size=int(spec["sizes"][prev]), out_size=int(spec["sizes"][idx]),
                in_sampling_rate=int(spec["sampling_rates"][prev]), out_sampling_rate=int(spec["sampling_rates"][idx]),
                in_cutoff=spec["cutoffs"][prev], out_cutoff=spec["cutoffs"][idx],
                in_half_width=spec["half_widths"][prev], out_half_width=spec["half_widths"][idx],
                conv_kernel=self.conv_kernel, filter_size=self.filter_size, lrelu_upsampling=self.lrelu_upsampling,
                use_radial_filters=self.use_radial_filters, conv_clamp=self.conv_clamp,
                magnitude_ema_beta=self.magnitude_ema_beta,
                name=f"L{idx}_{int(spec['sizes'][idx])}_{int(spec['channels'][idx])}",
            )
            self.synthesis_layers.append(layer)

    @property
    def layer_names(self):
        return [layer.name for layer in self.synthesis_layers]

    def build(self, input_shape=None):
        self.input_features.build()
        for layer in self.synthesis_layers:
            layer.build()

    def call(self, ws, noise_mode="random", transform=None, update_magnitude_ema=False):
        check_noise_mode(noise_mode)  # validated for a uniform API, then ignored: there is no noise
        if ws.shape[1] is not None and (ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim):
            raise ValueError(f"`ws` must have shape [N, {self.num_ws}, {self.w_dim}]. Received: {tuple(ws.shape)}")
        ws = ops.cast(ws, "float32")
        x = self.input_features(ws[:, 0], transform=transform)
        for i, layer in enumerate(self.synthesis_layers):
            x = layer([x, ws[:, i + 1]], update_magnitude_ema=update_magnitude_ema)
        if self.output_scale != 1:
            x = x * self.output_scale
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.resolution + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(
            w_dim=self.w_dim, resolution=list(self.resolution), channels=self.channels,
            channel_base=self.channel_base, channel_max=self.channel_max, num_layers=self.num_layers,
            num_critical=self.num_critical, first_cutoff=self.first_cutoff, first_stopband=self.first_stopband,
            last_stopband_rel=self.last_stopband_rel, margin_size=self.margin_size, output_scale=self.output_scale,
            conv_kernel=self.conv_kernel, filter_size=self.filter_size, lrelu_upsampling=self.lrelu_upsampling,
            use_radial_filters=self.use_radial_filters, conv_clamp=self.conv_clamp,
            magnitude_ema_beta=self.magnitude_ema_beta,
        )
        return config


__all__ = ["CONFIGS", "SynthesisInput", "SynthesisLayer3", "SynthesisNetwork3", "layer_specs", "make_transform",
           "set_input_transform", "transform_frames"]
