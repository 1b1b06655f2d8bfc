"""Adaptive discriminator augmentation (ADA), as NVIDIA's stylegan2-ada `AugmentPipe` computes it.

Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"
(https://arxiv.org/abs/2006.06676). The trainer passes real and fake images through the same
`augment(images, p, seed)` before the discriminator and steers `p` with `update_p` so that the
overfitting heuristic r_t = E[sign(D(real))] stays near its target.

Every op is applied to each image independently with probability `p` and is *non-leaking*: the
identity is one of its possible outcomes (an applied x-flip flips with probability 1/2, an applied
90-degree rotation draws 0, 1, 2 or 3 quarter turns, continuous magnitudes are centred on the
identity), so for every p < 1 the generator cannot learn the augmentations as part of the data.

The ops, in NVIDIA's order, with NVIDIA's magnitudes (see `OPS` and `PIPELINES`):

- blit: x-flip, 90-degree rotations, integer translation (uniform in +-0.125 of each side, rounded).
- geom: isotropic scaling (log2 std 0.2), pre-rotation (uniform angle), anisotropic scaling (log2 std
  0.2), post-rotation, fractional translation (std 0.125 of each side). The two rotations are each
  applied with probability 1 - sqrt(1 - p), so that "some rotation" happens with probability p.
  All blit and geom ops are composed into one 3x3 matrix; the image is reflect-padded, upsampled 2x
  with the sym6 wavelet low-pass filter, resampled bilinearly and filtered back down.
- color: brightness (offset std 0.2), contrast (log2 std 0.5), luma flip, hue rotation (uniform
  angle about the luma axis), saturation (log2 std 1), composed into one 4x4 colour matrix. Values
  are in [-1, 1], so contrast and luma flip act about mid-gray (0), the same point for every image.
- filter: random gains of four frequency bands (sym2 wavelet filter bank, log2 std 1).
- noise: additive Gaussian noise with a per-image std |N(0, 0.1^2)|.
- cutout: a rectangle of half of each side set to 0.

Channels: spatial ops (blit, geom, filter, cutout) treat every channel alike, alpha included. Value
ops (color, noise) act on the colour channels and leave an alpha channel untouched. Gray images (1
channel, or 2 = gray + alpha) get brightness, contrast and luma flip (which negates the gray value),
computed as NVIDIA does for 1-channel images; hue and saturation need colour and leave gray alone.

Deliberate differences from NVIDIA: the image is always reflect-padded by the largest margin NVIDIA
allows (each side minus one pixel) instead of a margin computed from the batch's transforms, so shapes
are static (XLA) and an image's result never depends on the other images of its batch; images whose
drawn transform is a pure pixel move (identity, flips, quarter turns, integer translation) are moved
exactly instead of resampled (NVIDIA resamples them with the rest of the batch, which, sym6 not being
symmetric, also slightly low-pass filters flipped and rotated images).
For non-square images the 90-degree rotation draws 0 or 2 quarter turns (a quarter turn would
change the shape). The filter ops reflect-pad periodically, so they also work on images smaller
than the filter.
"""
import math

import numpy as np
import tensorflow as tf

OPS = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast", "lumaflip",
       "hue", "saturation", "imgfilter", "noise", "cutout")
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
PIPELINES = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": _COLOR,
    "filter": ("imgfilter",),
    "noise": ("noise",),
    "cutout": ("cutout",),
    "bg": _BLIT + _GEOM,
    "bgc": _BLIT + _GEOM + _COLOR,
    "bgcf": _BLIT + _GEOM + _COLOR + ("imgfilter",),
    "bgcfn": _BLIT + _GEOM + _COLOR + ("imgfilter", "noise"),
    "bgcfnc": _BLIT + _GEOM + _COLOR + ("imgfilter", "noise", "cutout"),
}
AUGMENTATIONS = OPS  # the name the previous version exported

# NVIDIA's magnitudes (AugmentPipe defaults).
XINT_MAX = 0.125  # integer translation range, relative to each side
SCALE_STD = 0.2  # log2 standard deviation of isotropic scaling
ROTATE_MAX = math.pi  # rotation angle range (full circle)
ANISO_STD = 0.2  # log2 standard deviation of anisotropic scaling
XFRAC_STD = 0.125  # standard deviation of fractional translation, relative to each side
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5  # log2 standard deviation
HUE_MAX = math.pi
SATURATION_STD = 1.0  # log2 standard deviation
IMGFILTER_STD = 1.0  # log2 standard deviation of each band's gain
NOISE_STD = 0.1
CUTOUT_SIZE = 0.5  # rectangle side, relative to each image side

# Low-pass filters of orthogonal wavelets (the decomposition filters, as tabulated by PyWavelets).
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)
_GEOM_PAD = len(SYM6) // 4  # margin (in pixels) the resampled grid keeps around the image
_BAND_POWER = np.array([10.0, 1.0, 1.0, 1.0]) / 13.0  # expected power per band of a 1/f spectrum
_LUMA = np.array([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)  # luma axis in homogeneous RGB


def _filter_bank():
    """Four symmetric band filters (low band first) whose sum is the identity, from sym2 (NVIDIA's bank).

    Each band splits off the high half of the previous level: band i is the lowpass applied i - 1 times
    at doubling dilations followed by the half-band highpass at the next dilation.
    """
    low = np.asarray(SYM2)
    high = low * (-1.0) ** np.arange(low.size)
    low2 = np.convolve(low, low[::-1]) / 2  # half-band low-pass (zero-phase)
    high2 = np.convolve(high, high[::-1]) / 2  # half-band high-pass, low2 + high2 = impulse
    bank = np.eye(4, 1)
    for band in range(1, 4):
        dilated = np.zeros([4, bank.shape[1] * 2 - 1])
        dilated[:, ::2] = bank
        bank = np.stack([np.convolve(row, low2) for row in dilated])
        start = (bank.shape[1] - high2.size) // 2
        bank[band, start:start + high2.size] += high2
    return bank.astype("float32")


_FILTER_BANK = _filter_bank()  # [4 bands, 43 taps]


# ---- random parameters --------------------------------------------------------------------------

def _keys(seed, op):
    """Independent stateless seeds for one op: enabling one op never changes another op's draws."""
    key = tf.random.experimental.stateless_fold_in(seed, OPS.index(op))
    return [tf.random.experimental.stateless_fold_in(key, i) for i in range(5)]


def _applied(key, batch, probability, ops, op):
    if op not in ops:
        return tf.zeros([batch], tf.bool)
    return tf.random.stateless_uniform([batch], key) < probability


# No tensor-dependent Python control flow below: skipping AutoGraph's conversion saves seconds of tracing.
@tf.autograph.experimental.do_not_convert
def draw_parameters(batch_size, p, seed, pipeline="bgc"):
    """Draws the per-image parameters of every op, as NVIDIA's `AugmentPipe` does.

    Ops not in `pipeline`, and ops not applied to an image (probability `1 - p`), get their identity
    value. `augment` applies exactly these parameters for the same `batch_size`, `p`, `seed` and
    `pipeline`.

    Args:
        batch_size: number of images (int or scalar int tensor).
        p: augmentation probability in [0, 1].
        seed: int32/int64 tensor of shape `[2]`, as for `tf.random.stateless_*` ops.
        pipeline: a name from `PIPELINES` or a sequence of names from `OPS`.

    Returns:
        A dict of tensors (leading dimension `batch_size`): `xflip` (0 or 1), `rotate90` (number of
        counter-clockwise quarter turns, 0-3, as `np.rot90`), `xint` and `xfrac` (`[batch, 2]`: x and
        y translation relative to the width and height; `xint` is rounded to whole pixels when
        applied), `scale`, `aniso` (multipliers), `rotate_pre`, `rotate_post`, `hue` (radians),
        `brightness` (offset), `contrast`, `saturation` (multipliers), `lumaflip` (0 or 1),
        `imgfilter` (`[batch, 4]` band gains), `noise` (std), `cutout_size` and `cutout_center`
        (`[batch, 2]`, relative to the image).

    Example:
    >>> import tensorflow as tf
    >>> params = draw_parameters(4, 0.0, tf.constant([1, 2]))
    >>> float(tf.reduce_max(tf.abs(params["brightness"])))
    0.0
    """
    ops = _ops(pipeline)
    batch = tf.cast(batch_size, tf.int32)
    p = tf.cast(p, tf.float32)
    params = {}

    def flag(op, key):
        return _applied(key, batch, p, ops, op)

    def normal(key, shape=None):
        return tf.random.stateless_normal([batch] if shape is None else [batch, shape], key)

    def uniform(key, low, high, shape=None):
        return tf.random.stateless_uniform([batch] if shape is None else [batch, shape], key, low, high)

    k = _keys(seed, "xflip")
    params["xflip"] = tf.where(flag("xflip", k[0]), tf.random.stateless_uniform([batch], k[1], 0, 2, tf.int32), 0)
    k = _keys(seed, "rotate90")
    params["rotate90"] = tf.where(flag("rotate90", k[0]),
                                  tf.random.stateless_uniform([batch], k[1], 0, 4, tf.int32), 0)
    k = _keys(seed, "xint")
    params["xint"] = tf.where(flag("xint", k[0])[:, None], uniform(k[1], -XINT_MAX, XINT_MAX, 2), 0.0)
    k = _keys(seed, "scale")
    params["scale"] = tf.where(flag("scale", k[0]), tf.pow(2.0, normal(k[1]) * SCALE_STD), 1.0)
    # Pre- and post-rotation each with 1 - sqrt(1 - p): P(pre or post) = p.
    k = _keys(seed, "rotate")
    p_rotate = 1.0 - tf.sqrt(tf.clip_by_value(1.0 - p, 0.0, 1.0))
    for name, apply_key, angle_key in (("rotate_pre", k[0], k[1]), ("rotate_post", k[2], k[3])):
        applied = _applied(apply_key, batch, p_rotate, ops, "rotate")
        params[name] = tf.where(applied, uniform(angle_key, -ROTATE_MAX, ROTATE_MAX), 0.0)
    k = _keys(seed, "aniso")
    params["aniso"] = tf.where(flag("aniso", k[0]), tf.pow(2.0, normal(k[1]) * ANISO_STD), 1.0)
    k = _keys(seed, "xfrac")
    params["xfrac"] = tf.where(flag("xfrac", k[0])[:, None], normal(k[1], 2) * XFRAC_STD, 0.0)
    k = _keys(seed, "brightness")
    params["brightness"] = tf.where(flag("brightness", k[0]), normal(k[1]) * BRIGHTNESS_STD, 0.0)
    k = _keys(seed, "contrast")
    params["contrast"] = tf.where(flag("contrast", k[0]), tf.pow(2.0, normal(k[1]) * CONTRAST_STD), 1.0)
    k = _keys(seed, "lumaflip")
    params["lumaflip"] = tf.where(flag("lumaflip", k[0]),
                                  tf.random.stateless_uniform([batch], k[1], 0, 2, tf.int32), 0)
    k = _keys(seed, "hue")
    params["hue"] = tf.where(flag("hue", k[0]), uniform(k[1], -HUE_MAX, HUE_MAX), 0.0)
    k = _keys(seed, "saturation")
    params["saturation"] = tf.where(flag("saturation", k[0]), tf.pow(2.0, normal(k[1]) * SATURATION_STD), 1.0)
    k = _keys(seed, "imgfilter")
    gains = tf.ones([batch, 4])
    for band in range(4):  # each band boosted/cut on its own, then the expected power is restored
        applied = _applied(tf.random.experimental.stateless_fold_in(k[0], band), batch, p, ops, "imgfilter")
        band_gain = tf.pow(2.0, normal(tf.random.experimental.stateless_fold_in(k[1], band)) * IMGFILTER_STD)
        step = tf.where((tf.range(4) == band)[None, :], tf.where(applied, band_gain, 1.0)[:, None], 1.0)
        step = step * tf.math.rsqrt(tf.reduce_sum(_BAND_POWER.astype("float32") * tf.square(step), -1, True))
        gains = gains * step
    params["imgfilter"] = gains
    k = _keys(seed, "noise")
    params["noise"] = tf.where(flag("noise", k[0]), tf.abs(normal(k[1])) * NOISE_STD, 0.0)
    k = _keys(seed, "cutout")
    params["cutout_size"] = tf.where(flag("cutout", k[0]), CUTOUT_SIZE, 0.0)
    params["cutout_center"] = uniform(k[1], 0.0, 1.0, 2)
    return params


# ---- geometric ops ------------------------------------------------------------------------------

def _matrix(rows):
    """[batch, n, n] from nested lists of [batch] tensors or numbers ([n, n] if all are numbers)."""
    ref = next((x for row in rows for x in row if isinstance(x, tf.Tensor)), None)
    if ref is None:
        return tf.constant(rows, tf.float32)
    return tf.stack([tf.stack([x + tf.zeros_like(ref) for x in row], -1) for row in rows], -2)


def _translate(tx, ty):
    return _matrix([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def _scale(sx, sy):
    return _matrix([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])


def _rotate(cos, sin):
    """Rotation by the angle with this cosine and sine (x right, y down: clockwise on screen)."""
    return _matrix([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])


def _quarter_turns(params, height, width):
    turns = params["rotate90"]
    return turns if height == width else turns - turns % 2  # odd turns would change a non-square shape


def _blit_matrix(params, height, width):
    """Output -> input pixel map of the blit ops, in pixel coordinates centred on the image.

    Ops apply to the image in the order xflip, rotate90, xint, so their inverses compose in that order.
    """
    turns = _quarter_turns(params, height, width)
    cos = tf.gather([1.0, 0.0, -1.0, 0.0], turns)  # exact quarter-turn entries, no float pi
    sin = tf.gather([0.0, 1.0, 0.0, -1.0], turns)
    flip = 1.0 - 2.0 * tf.cast(params["xflip"], tf.float32)
    shift = tf.round(params["xint"] * tf.constant([width, height], tf.float32))
    return _scale(flip, 1.0) @ _rotate(cos, sin) @ _translate(-shift[:, 0], -shift[:, 1])


def _geom_matrix(params, height, width):
    """Output -> input map of the general geometric ops (applied after blit), centred pixel coordinates."""
    scale, aniso = params["scale"], params["aniso"]
    pre, post = params["rotate_pre"], params["rotate_post"]
    shift = params["xfrac"] * tf.constant([width, height], tf.float32)
    return (_scale(1.0 / scale, 1.0 / scale) @ _rotate(tf.cos(pre), tf.sin(pre)) @ _scale(1.0 / aniso, aniso)
            @ _rotate(tf.cos(post), tf.sin(post)) @ _translate(-shift[:, 0], -shift[:, 1]))


def _reflect(index, size):
    """Mirrors out-of-range indices without repeating the edge pixel (NumPy/PyTorch "reflect" padding)."""
    period = tf.maximum(2 * size - 2, 1)
    index = tf.abs(index) % period
    return tf.where(index >= size, period - index, index)


def _centred_grid(height, width):
    """[height, width, 3] homogeneous pixel-centre coordinates (x, y, 1) with (0, 0) at the image centre."""
    ys = tf.range(height, dtype=tf.float32) - (height - 1) / 2
    xs = tf.range(width, dtype=tf.float32) - (width - 1) / 2
    y, x = tf.meshgrid(ys, xs, indexing="ij")
    return tf.stack([x, y, tf.ones_like(x)], -1)


def _gather_blit(images, matrix):
    """Exact pixel gather for matrices that map pixel centres onto pixel centres (flips, turns, shifts)."""
    height, width = images.shape[1], images.shape[2]
    source = tf.einsum("bij,hwj->bhwi", matrix, _centred_grid(height, width))
    x = _reflect(tf.cast(tf.round(source[..., 0] + (width - 1) / 2), tf.int32), width)
    y = _reflect(tf.cast(tf.round(source[..., 1] + (height - 1) / 2), tf.int32), height)
    return tf.gather_nd(images, tf.stack([y, x], -1), batch_dims=1)


def _upsample_matrix(size):
    """[2 * (3 * size - 2), size]: reflect padding by size - 1, then NVIDIA's `upsample2d` with sym6 along
    one axis (zero insertion, zero padding (6, 5), convolution with the filter times 2), as one matrix."""
    taps = 2.0 * np.asarray(SYM6) / np.sum(SYM6)
    columns = []
    for basis in np.eye(size):
        padded = np.pad(basis, size - 1, mode="reflect")
        inserted = np.stack([padded, np.zeros_like(padded)], -1).reshape(-1)  # x0, 0, x1, 0, ...
        inserted = np.pad(inserted, ((len(taps) + 1) // 2, (len(taps) - 2) // 2))
        columns.append(np.convolve(inserted, taps, mode="valid"))
    return np.stack(columns, -1).astype("float32")


def _downsample_matrix(size):
    """[size, 2 * (size + 2 * pad)]: NVIDIA's `downsample2d(..., padding=-2 * pad, flip_filter=True)` with
    sym6 along one axis (crop, correlation with the filter, every other sample), as one matrix."""
    taps = np.asarray(SYM6) / np.sum(SYM6)
    length = 2 * (size + 2 * _GEOM_PAD)
    crop = 2 * _GEOM_PAD - (len(taps) - 1) // 2  # the default "same-fraction" padding minus 2 * pad
    rows = [np.correlate(basis[crop:length - crop], taps, mode="valid")[::2] for basis in np.eye(length)]
    return np.stack(rows, -1).astype("float32")


def _bilinear(table, x, y, batch, height, width):
    """Bilinear samples at pixel-index coordinates `x`, `y` ([batch, h, w]); zeros outside the image.

    `table` holds the image as rows of channels in (x, batch, y) order, the layout `_upsample` makes.
    """
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = x - x0, y - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    xs, ys = tf.stack([x0, x0 + 1, x0, x0 + 1], -1), tf.stack([y0, y0, y0 + 1, y0 + 1], -1)
    weights = tf.stack([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy], -1)
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    weights = weights * tf.cast(inside, weights.dtype)  # zero padding, as grid_sample's default
    image = tf.reshape(tf.range(batch), [-1, 1, 1, 1])
    index = (tf.clip_by_value(xs, 0, width - 1) * batch + image) * height + tf.clip_by_value(ys, 0, height - 1)
    taps = tf.gather(table, index)  # one gather: [batch, h, w, 4, channels]
    return tf.einsum("bhwt,bhwtc->bhwc", weights, taps)


def _upsample(images, rows, cols):
    """`rows @ image @ cols^T` per channel as two large matrix products; returns [(x, batch, y), channels]."""
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(tf.transpose(images, [1, 0, 2, 3]), [height, -1])  # [h, (b, w, c)]
    flat = tf.reshape(tf.matmul(rows, flat), [rows.shape[0], batch, width, channels])
    flat = tf.reshape(tf.transpose(flat, [2, 1, 0, 3]), [width, -1])  # [w, (b, out_h, c)]
    return tf.reshape(tf.matmul(cols, flat), [-1, channels])  # channels stay innermost: no big transpose


def _separable(images, rows, cols):
    """`rows @ image @ cols^T` for every channel of every image, as two large matrix products."""
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    out_height, out_width = rows.shape[0], cols.shape[0]
    flat = tf.reshape(tf.transpose(images, [0, 1, 3, 2]), [-1, width])  # [b * h * c, w]
    flat = tf.matmul(flat, cols, transpose_b=True)  # [b * h * c, out_w]
    flat = tf.reshape(tf.transpose(tf.reshape(flat, [batch, height, -1]), [1, 0, 2]), [height, -1])
    flat = tf.matmul(rows, flat)  # [out_h, b * c * out_w]
    return tf.transpose(tf.reshape(flat, [out_height, batch, channels, out_width]), [1, 0, 3, 2])


def _resample(images, matrix):
    """Applies the output -> input maps `matrix` ([batch, 3, 3], centred pixels) as NVIDIA's AugmentPipe.

    Reflect padding, 2x upsampling with sym6, bilinear sampling of a grid covering the image plus
    `_GEOM_PAD` pixels on each side, and sym6 downsampling back to the image size.
    """
    height, width = images.shape[1], images.shape[2]
    # Padding by NVIDIA's largest margin (size - 1) keeps shapes static; padding and upsampling (and
    # later downsampling) are fixed linear maps per axis, so each is one matrix product.
    rows, cols = tf.constant(_upsample_matrix(height)), tf.constant(_upsample_matrix(width))
    upsampled = _upsample(images, rows, cols)
    # The map in the 2x grid: NVIDIA's half-pixel shift matches the phase of the even-length filter.
    matrix = (_translate(-0.5, -0.5) @ _scale(2.0, 2.0) @ matrix @ _scale(0.5, 0.5) @ _translate(0.5, 0.5))
    grid = _centred_grid(2 * (height + 2 * _GEOM_PAD), 2 * (width + 2 * _GEOM_PAD))
    source = tf.einsum("bij,hwj->bhwi", matrix, grid)
    x = source[..., 0] + (cols.shape[0] - 1) / 2
    y = source[..., 1] + (rows.shape[0] - 1) / 2
    sampled = _bilinear(upsampled, x, y, tf.shape(images)[0], rows.shape[0], cols.shape[0])
    rows, cols = tf.constant(_downsample_matrix(height)), tf.constant(_downsample_matrix(width))
    return _separable(sampled, rows, cols)


def _geometric(images, params, ops):
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(f"geometric augmentations need a static height and width. Received shape: "
                         f"{images.shape}")
    blit = _blit_matrix(params, height, width)
    gathered = _gather_blit(images, blit)
    if not set(_GEOM) & set(ops):
        return gathered
    exact = ((params["scale"] == 1.0) & (params["aniso"] == 1.0) & (params["rotate_pre"] == 0.0)
             & (params["rotate_post"] == 0.0) & tf.reduce_all(params["xfrac"] == 0.0, -1))
    matrix = blit @ _geom_matrix(params, height, width)
    # Resampling only when some image needs it: at small p most batches skip it entirely.
    resampled = tf.cond(tf.reduce_all(exact), lambda: gathered, lambda: _resample(images, matrix))
    return tf.where(exact[:, None, None, None], gathered, resampled)


# ---- colour ops ---------------------------------------------------------------------------------

def _color_matrix(params):
    """NVIDIA's [batch, 4, 4] homogeneous colour matrix: brightness, contrast, luma flip, hue, saturation."""
    b, c = params["brightness"], params["contrast"]
    luma = tf.constant(_LUMA, tf.float32)
    outer = luma[:, None] * luma[None, :]
    eye = tf.eye(4)
    eye_rgb = tf.constant(np.diag([1.0, 1.0, 1.0, 0.0]), tf.float32)
    brightness = _matrix([[1.0, 0.0, 0.0, b], [0.0, 1.0, 0.0, b], [0.0, 0.0, 1.0, b], [0.0, 0.0, 0.0, 1.0]])
    contrast = _matrix([[c, 0.0, 0.0, 0.0], [0.0, c, 0.0, 0.0], [0.0, 0.0, c, 0.0], [0.0, 0.0, 0.0, 1.0]])
    flip = eye - 2.0 * outer * tf.cast(params["lumaflip"], tf.float32)[:, None, None]  # Householder reflection
    # Rodrigues' rotation about the luma axis v: I + sin [v]x + (1 - cos) (v v^T - I) on the RGB block.
    theta = params["hue"][:, None, None]
    v = _LUMA[:3]
    cross = tf.constant([[0.0, -v[2], v[1], 0.0], [v[2], 0.0, -v[0], 0.0], [-v[1], v[0], 0.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0]], tf.float32)
    hue = eye + tf.sin(theta) * cross + (1.0 - tf.cos(theta)) * (outer - eye_rgb)
    # Scaling orthogonal to the luma axis; written as I + (s - 1) (...) so that s = 1 is exactly I.
    saturation = eye + (params["saturation"][:, None, None] - 1.0) * (eye_rgb - outer)
    return saturation @ hue @ flip @ contrast @ brightness


def _color(images, params, num_color):
    color, alpha = images[..., :num_color], images[..., num_color:]
    if num_color == 3:
        matrix = _color_matrix(params)
        color = tf.einsum("bij,bhwj->bhwi", matrix[:, :3, :3], color) + matrix[:, None, None, :3, 3]
    else:
        # NVIDIA's gray rule (the mean of the colour matrix's RGB rows applied to (g, g, g, 1), without hue
        # and saturation) reduces to this: contrast * (+-1) * (g + brightness).
        sign = 1.0 - 2.0 * tf.cast(params["lumaflip"], tf.float32)
        gain, offset = params["contrast"] * sign, params["brightness"]
        color = (color + offset[:, None, None, None]) * gain[:, None, None, None]
    return tf.concat([color, alpha], -1)


# ---- image-space filtering and corruptions ------------------------------------------------------

def _filter_matrices(taps, size):
    """[batch, size, size] matrices applying per-image symmetric `taps` with reflect padding along one axis."""
    half = _FILTER_BANK.shape[1] // 2
    offsets = tf.range(size)[:, None] + tf.range(_FILTER_BANK.shape[1])[None, :] - half
    one_hot = tf.one_hot(_reflect(offsets, size), size)  # [out, tap, in]
    return tf.einsum("bt,oti->boi", taps, one_hot)


def _imgfilter(images, params):
    taps = params["imgfilter"] @ tf.constant(_FILTER_BANK)  # [batch, 43]
    rows = _filter_matrices(taps, tf.shape(images)[1])
    cols = _filter_matrices(taps, tf.shape(images)[2])
    return tf.einsum("bij,bjwc,bkw->bikc", rows, images, cols)


def _noise(images, params, num_color, seed):
    color, alpha = images[..., :num_color], images[..., num_color:]
    key = _keys(seed, "noise")[2]
    noise = tf.random.stateless_normal(tf.shape(color), key) * params["noise"][:, None, None, None]
    return tf.concat([color + noise, alpha], -1)


def _cutout(images, params):
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    size, center = params["cutout_size"], params["cutout_center"]

    def inside(length, center):  # [batch, length]: pixel centres within the rectangle along one axis
        coord = (tf.cast(tf.range(length), tf.float32) + 0.5) / tf.cast(length, tf.float32)
        return tf.abs(coord[None, :] - center[:, None]) < size[:, None] / 2

    hole = inside(height, center[:, 1])[:, :, None] & inside(width, center[:, 0])[:, None, :]
    return images * tf.cast(~hole, images.dtype)[..., None]


# ---- public API ---------------------------------------------------------------------------------

def _ops(pipeline):
    if isinstance(pipeline, str):
        if pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {sorted(PIPELINES)} or a sequence of names from {OPS}. "
                             f"Received: {pipeline!r}")
        return PIPELINES[pipeline]
    ops = tuple(pipeline)
    unknown = [name for name in ops if name not in OPS]
    if unknown:
        raise ValueError(f"pipeline ops must be names from {OPS}. Received: {unknown}")
    return ops


@tf.autograph.experimental.do_not_convert
def augment(images, p, seed, pipeline="bgc"):
    """Applies ADA's augmentations, each to each image independently with probability `p`.

    NVIDIA's `AugmentPipe` with the probability multipliers of its named pipeline (see the module
    docstring for the ops, their order, magnitudes and channel rules). Deterministic given `seed`,
    differentiable w.r.t. `images`, usable with an unknown batch size inside `tf.function`, XLA and a
    distribution strategy's replica function (under XLA, TensorFlow's stateless RNG draws other
    numbers for the same seed than without it). At p = 0 the output equals the input exactly.

    Args:
        images: float tensor `[batch, height, width, channels]` in [-1, 1], channels 1 (gray), 2 (gray +
            alpha), 3 (RGB) or 4 (RGBA). Channels, height and width must be static.
        p: scalar in [0, 1] (number or tensor): the probability of each augmentation.
        seed: int32/int64 tensor of shape `[2]`, as for `tf.random.stateless_*` ops.
        pipeline: a name from `PIPELINES` (NVIDIA's presets: `"blit"`, `"geom"`, `"color"`,
            `"filter"`, `"noise"`, `"cutout"`, `"bg"`, `"bgc"`, `"bgcf"`, `"bgcfn"`, `"bgcfnc"`) or a
            sequence of op names from `OPS`. The default `"bgc"` is NVIDIA's default; it has no cutout.

    Returns:
        A tensor of the same shape and dtype as `images`.

    Example:
    >>> import tensorflow as tf
    >>> x = tf.random.uniform([2, 8, 8, 3], -1.0, 1.0)
    >>> augment(x, p=0.5, seed=tf.constant([1, 2])).shape
    TensorShape([2, 8, 8, 3])
    >>> bool(tf.reduce_all(augment(x, p=0.0, seed=tf.constant([1, 2]), pipeline="bgcfnc") == x))
    True
    """
    ops = _ops(pipeline)
    if isinstance(p, (int, float)) and not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]. Received: {p}")
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"images must be [batch, height, width, channels] with 1 to 4 channels. "
                         f"Received shape: {images.shape}")
    dtype = images.dtype
    images = tf.cast(images, tf.float32)
    num_color = 3 if images.shape[-1] >= 3 else 1
    params = draw_parameters(tf.shape(images)[0], p, seed, ops)
    if set(_BLIT + _GEOM) & set(ops):
        images = _geometric(images, params, ops)
    if set(_COLOR) & set(ops):
        images = _color(images, params, num_color)
    if "imgfilter" in ops:
        images = _imgfilter(images, params)
    if "noise" in ops:
        images = _noise(images, params, num_color, seed)
    if "cutout" in ops:
        images = _cutout(images, params)
    return tf.cast(images, dtype)


def update_p(p, real_sign_mean, num_images, target=0.6, speed_kimg=500.0):
    """ADA's controller: nudges `p` toward keeping E[sign(D(real))] at `target`.

    p_new = clip(p + sign(real_sign_mean - target) * num_images / (speed_kimg * 1000), 0, 1), so `p` can
    go from 0 to 1 in `speed_kimg` thousand images.

    Args:
        p: the current probability (number or scalar tensor).
        real_sign_mean: mean of sign(D(real)) over the images seen since the last update.
        num_images: number of real images seen since the last update.
        target: the wanted value of `real_sign_mean` (0.6 in the paper).
        speed_kimg: thousands of images for `p` to move by 1.

    Returns:
        The new `p` as a float32 scalar tensor.

    Example:
    >>> round(float(update_p(0.0, real_sign_mean=0.9, num_images=4000)), 6)
    0.008
    """
    if isinstance(speed_kimg, (int, float)) and speed_kimg <= 0:
        raise ValueError(f"speed_kimg must be positive. Received: {speed_kimg}")
    step = tf.sign(tf.cast(real_sign_mean, tf.float32) - target) * tf.cast(num_images, tf.float32)
    return tf.clip_by_value(tf.cast(p, tf.float32) + step / (speed_kimg * 1000.0), 0.0, 1.0)
