"""The mapping network z -> w, with w_avg tracking and the truncation trick."""

import keras
import numpy as np
from keras import ops

from keras_stylegan.layers.equalized import EqualizedDense
from keras_stylegan.layers.normalization import normalize_2nd_moment
from keras_stylegan.layers.serialization import register
from keras_stylegan.utils.checks import check_psi
from keras_stylegan.networks.common import ARCHITECTURES, SQRT2, check_choice, check_positive_int

W_AVG_SAMPLES = 10000  # latents behind `w_statistics` (NVIDIA's projector)


def labels_to_onehot(labels, num_classes, dtype):
    """Accepts one-hot/soft labels `[N, num_classes]` or integer class ids `[N]`."""
    if labels is None:
        raise ValueError(f"This model is conditional ({num_classes} classes): pass `labels`.")
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 1 or "int" in str(labels.dtype):
        _check_class_ids(labels, num_classes)
        return ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), num_classes, dtype=dtype)
    if labels.shape[-1] != num_classes:
        raise ValueError(f"`labels` must have {num_classes} columns. Received shape: {tuple(labels.shape)}")
    return ops.cast(labels, dtype)


def _check_class_ids(labels, num_classes):
    """Class ids outside `[0, num_classes)` would one-hot to zeros (a silent zero embedding): refuse them.

    Checked when the values are known (eager calls); inside a traced function the ids are symbolic.
    """
    try:
        ids = np.asarray(ops.convert_to_numpy(labels))
    except Exception:  # a symbolic tensor (tf.function, serving): its values are not known here
        return
    if not (np.issubdtype(ids.dtype, np.integer) or np.issubdtype(ids.dtype, np.floating)):
        raise ValueError(f"`labels` must be integer class ids in [0, {num_classes}) or one-hot rows. "
                         f"Received dtype: {ids.dtype}")
    if ids.size and (not np.all(np.isfinite(ids)) or ids.min() < 0 or ids.max() >= num_classes
                     or not np.all(ids == np.round(ids))):
        bad = ids.reshape(-1)[(~np.isfinite(ids) | (ids < 0) | (ids >= num_classes) | (ids != np.round(ids)))
                              .reshape(-1)][0].item()
        raise ValueError(f"`labels` must be class ids in [0, {num_classes}) (or one-hot rows). Received: {bad!r}")


@register
class MappingNetwork(keras.layers.Layer):
    """Maps latents z (and optional class labels) to intermediate latents w (Karras et al. 2019).

    z is normalized to unit root-mean-square, then passes `num_layers` equalized dense
    layers with leaky ReLU and learning-rate multiplier 0.01. The output is broadcast
    to `num_ws` copies. `w_avg` tracks the mean w for the truncation trick
    `w_avg + psi * (w - w_avg)`, applied to layers below `truncation_cutoff` (all
    layers when it is `None`).

    Args:
        z_dim: latent width (0 for a label-only mapping, as in a conditional D).
        w_dim: intermediate latent width.
        num_ws: number of per-layer ws to broadcast to (`None`: return `[N, w_dim]`).
        num_layers: dense layers (8 in the papers; 0 for a label-only mapping whose output
            is the normalized class embedding, as in NVIDIA's conditional CIFAR-10 D).
        num_classes: class count for conditioning (0: unconditional).
        layer_units: width of the hidden layers (default `w_dim`).
        lr_multiplier: learning-rate multiplier of the dense layers.
        w_avg_beta: decay of the `w_avg` moving average (`None`: do not track).
        architecture: `"stylegan"` (sqrt(2) folded into the weights) or `"stylegan2"`
            (sqrt(2) after the activation).

    Call arguments:
        z: `[N, z_dim]` (for a label-only mapping, the labels).
        labels: one-hot `[N, num_classes]` or class ids `[N]` when conditional.
        psi: truncation strength (1 = off).
        truncation_cutoff: truncate only layers below this index.
        update_w_avg: update `w_avg` with this batch (training).

    Example:
    >>> mapping = MappingNetwork(z_dim=16, w_dim=16, num_ws=6)
    >>> tuple(mapping(np.ones([2, 16], "float32")).shape)
    (2, 6, 16)
    """

    def __init__(self, z_dim=512, w_dim=512, num_ws=18, num_layers=8, num_classes=0, layer_units=None,
                 lr_multiplier=0.01, w_avg_beta=0.995, architecture="stylegan2", **kwargs):
        super().__init__(**kwargs)
        self.z_dim = check_positive_int("z_dim", z_dim, minimum=0)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.num_ws = None if num_ws is None else check_positive_int("num_ws", num_ws)
        self.num_layers = check_positive_int("num_layers", num_layers, minimum=0)
        self.num_classes = check_positive_int("num_classes", num_classes, minimum=0)
        if self.z_dim == 0 and self.num_classes == 0:
            raise ValueError("MappingNetwork needs z_dim > 0 or num_classes > 0.")
        if self.num_layers == 0 and (self.z_dim or not self.num_classes):
            # Without dense layers the output is the w_dim-wide label embedding: z would have nowhere to go.
            raise ValueError("`num_layers=0` needs a label-only mapping (z_dim=0, num_classes > 0). "
                             f"Received: z_dim={self.z_dim}, num_classes={self.num_classes}")
        self.layer_units = self.w_dim if layer_units is None else check_positive_int("layer_units", layer_units)
        self.lr_multiplier = float(lr_multiplier)
        self.w_avg_beta = None if w_avg_beta is None else float(w_avg_beta)
        self.architecture = check_choice("architecture", architecture, ARCHITECTURES)
        if self.architecture == "stylegan":
            gains = dict(weight_gain=SQRT2, activation_gain=1.0)
        else:
            gains = dict(weight_gain=1.0, activation_gain=None)
        self.embed = None
        if self.num_classes:
            self.embed = EqualizedDense(self.w_dim, name="embed")
        self.fcs = [
            EqualizedDense(self.w_dim if i == self.num_layers - 1 else self.layer_units, activation="lrelu",
                           lr_multiplier=self.lr_multiplier, name=f"fc{i}", **gains)
            for i in range(self.num_layers)
        ]

    def build(self, input_shape=None):
        width = self.z_dim
        if self.embed is not None:
            self.embed.build((None, self.num_classes))
            width += self.w_dim
        for fc in self.fcs:
            fc.build((None, width))
            width = fc.units
        self.w_avg = self.add_weight(name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False)

    def call(self, z, labels=None, psi=1.0, truncation_cutoff=None, update_w_avg=False):
        if not self.z_dim and labels is None:
            labels = z  # a label-only mapping takes the labels as its first input
        parts = []
        if self.z_dim:
            if z.shape[-1] is not None and z.shape[-1] != self.z_dim:
                raise ValueError(f"`z` must have shape [N, {self.z_dim}]. Received: {tuple(z.shape)}")
            parts.append(normalize_2nd_moment(ops.cast(z, self.compute_dtype)))
        if self.embed is not None:
            onehot = labels_to_onehot(labels, self.num_classes, self.compute_dtype)
            parts.append(normalize_2nd_moment(self.embed(onehot)))
        x = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
        for fc in self.fcs:
            x = fc(x)
        if update_w_avg:
            self.update_w_avg(ops.mean(ops.cast(x, "float32"), axis=0))
        if self.num_ws is None:
            return x
        ws = ops.repeat(x[:, None, :], self.num_ws, axis=1)
        return self.truncate(ws, psi, truncation_cutoff)

    def update_w_avg(self, batch_mean):
        """Moves the tracked `w_avg` towards `batch_mean` (`[w_dim]`): `lerp(batch_mean, w_avg, w_avg_beta)`.

        The one place the average is updated: the call with `update_w_avg=True` and the trainer
        (which first averages the batch mean over replicas) both come here. No-op without `w_avg_beta`.
        """
        if self.w_avg_beta is not None:
            batch_mean = ops.cast(batch_mean, "float32")
            self.w_avg.assign(batch_mean + (self.w_avg - batch_mean) * self.w_avg_beta)

    def truncate(self, ws, psi=1.0, truncation_cutoff=None):
        """`w_avg + psi * (ws - w_avg)` on layers `[0, truncation_cutoff)`."""
        check_psi(psi)
        if isinstance(psi, (int, float)) and psi == 1:
            return ws
        w_avg = ops.cast(self.w_avg, ws.dtype)[None, None, :]
        psi = ops.cast(psi, ws.dtype)
        truncated = w_avg + psi * (ws - w_avg)
        if truncation_cutoff is None:
            return truncated
        layer = np.arange(ws.shape[1]).reshape(1, -1, 1)
        return ops.where(layer < truncation_cutoff, truncated, ws)

    def compute_output_shape(self, input_shape):
        if self.num_ws is None:
            return (input_shape[0], self.w_dim)
        return (input_shape[0], self.num_ws, self.w_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            z_dim=self.z_dim, w_dim=self.w_dim, num_ws=self.num_ws, num_layers=self.num_layers,
            num_classes=self.num_classes, layer_units=self.layer_units, lr_multiplier=self.lr_multiplier,
            w_avg_beta=self.w_avg_beta, architecture=self.architecture,
        )
        return config


def w_statistics(generator, num_samples=W_AVG_SAMPLES, batch_size=1000):
    """Mean and spread of w over `num_samples` latents of `generator` (NVIDIA's seed 123).

    A conditional generator's latents cycle through its classes, so the mean is over all of
    them (as the tracked `w_avg` is). Projection starts from it; encoders are centred on it.

    Returns:
        `(w_avg [w_dim], w_std)` where `w_std` is the root of the mean squared distance to `w_avg`.

    Example:
    >>> w_avg, w_std = w_statistics(generator, num_samples=64)
    >>> w_avg.shape, w_std > 0
    ((16,), True)
    """
    z = np.random.RandomState(123).randn(num_samples, generator.z_dim).astype(np.float32)
    num_classes = getattr(generator, "num_classes", 0)
    labels = np.arange(num_samples) % num_classes if num_classes else None
    ws = np.concatenate([keras.ops.convert_to_numpy(generator.mapping(
        z[i: i + batch_size], labels=None if labels is None else labels[i: i + batch_size]))[:, 0]
        for i in range(0, num_samples, batch_size)])
    w_avg = ws.mean(axis=0)
    return w_avg, float(np.sqrt(np.sum((ws - w_avg) ** 2) / num_samples))
